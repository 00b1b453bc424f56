/**
 * The decider: `decide(world, item) -> events` and `evolve(world, event)`.
 *
 * Input events and agent proposals go in; facts come out. Every state change
 * is caused by a fact in the log, so folding `evolve` over the log rebuilds the
 * world, and folding `decide` over the inputs rebuilds the facts (rule 9).
 *
 * Both services run this same fold over the same items, and each publishes
 * only the facts it owns (`OWNER`). Decisions that depend on both services'
 * data (an order needs stock; a stock count correction needs reservations)
 * are therefore made in log order without a lock or an extra superstep.
 */
import {
  derivedId,
  isInputEvent,
  systemEvent,
  type EventOf,
  type OrderStatus,
  type StoreEvent,
  type StoredInputEvent,
  type SystemEvent,
  type SystemEventType,
} from "./events.js";
import { applyStockDelta, initialStock, lowStockTransition, stockViolation, type StockDelta } from "./inventory.js";
import { customerLookup, foreignIdIn, grantRefund, orderTotalCents, unitsToShip } from "./orders.js";
import { isLowStock, needsApproval } from "./rules.js";
import { PROPOSAL_SCOPES, ProposalData, isAgentName, type Proposal, type ProposalType } from "./proposals.js";
import { draftOf, read, write, type Approval, type Draft, type Order, type StockLevel, type World } from "./world.js";

export type ServiceName = "order_service" | "inventory_service";

/** The single writer of each fact type: orders and approvals on one side, products and stock on the other. */
export const OWNER: Record<SystemEventType, ServiceName> = {
  OrderConfirmed: "order_service",
  OrderRejected: "order_service",
  OrderStatusChanged: "order_service",
  RefundRequested: "order_service",
  ApprovalRequested: "order_service",
  RefundProcessed: "order_service",
  RefundRejected: "order_service",
  ReplyDrafted: "order_service",
  PolicyChanged: "order_service",
  ProductListed: "inventory_service",
  InventoryUpdated: "inventory_service",
  LowStockAlert: "inventory_service",
  ReorderRequested: "inventory_service",
  ReorderClosed: "inventory_service",
  PostDrafted: "inventory_service",
  PromotionPaused: "inventory_service",
  PromotionResumed: "inventory_service",
};

export type ConflictKind = "rule" | "scope" | "stale" | "invalid";

/** A rejected write or proposal: who, what and why (docs/architecture.md). */
export interface Conflict {
  id: string;
  at: string;
  /** Who asked: an agent, or the source of an input event. */
  by: string;
  /** The input event or proposal that was refused. */
  eventId: string;
  eventType: string;
  kind: ConflictKind;
  /** `order:<id>`, `inventory:<sku>`, ... when one entity is concerned. */
  entity?: string;
  reason: string;
  /** The agent task that proposed it, so a stale proposal can be retried. */
  taskId?: string;
  /** Who refused it: a service, or the agent runtime (a tool call outside the agent's scope). */
  owner: ServiceName | "agent_runtime";
}

export interface Decision {
  facts: SystemEvent[];
  conflicts: Conflict[];
}

export type DecisionItem = { kind: "event"; event: StoreEvent } | { kind: "proposal"; proposal: Proposal };

const NO_DECISION: Decision = { facts: [], conflicts: [] };

// ---------------------------------------------------------------- evolve

/** Applies one fact to a draft. Input events change nothing by themselves: their facts do. */
export function evolve(draft: Draft, event: StoreEvent): void {
  switch (event.type) {
    case "ProductListed": {
      const { sku, ...rest } = event.data;
      write(draft, "catalog", sku, { sku, ...rest });
      write(draft, "promotions", sku, "active");
      return;
    }
    case "InventoryUpdated": {
      const { sku, onHand, reserved, returned, available, version } = event.data;
      const wasLow = read(draft, "inventory", sku)?.lowStock ?? false;
      const reorderPoint = read(draft, "catalog", sku)?.reorderPoint ?? 0;
      // The alert re-arms with the update that lifts stock above the point; a LowStockAlert sets it.
      write(draft, "inventory", sku, { onHand, reserved, returned, available, version, lowStock: wasLow && isLowStock({ available }, { reorderPoint }) });
      return;
    }
    case "LowStockAlert": {
      const stock = read(draft, "inventory", event.data.sku);
      if (stock) write(draft, "inventory", event.data.sku, { ...stock, lowStock: true });
      return;
    }
    case "OrderConfirmed":
    case "OrderRejected": {
      const confirmed = event.type === "OrderConfirmed";
      // Literal lines, not `{ ...l, refundedQty: 0 }`: V8 gave each spread copy of an event's line a hidden class of its own.
      const lines = confirmed ? event.data.lines.map((l) => ({ sku: l.sku, qty: l.qty, unitPriceCents: l.unitPriceCents, refundedQty: 0 })) : [];
      write(draft, "orders", event.data.orderId, {
        orderId: event.data.orderId,
        customerId: event.data.customerId,
        lines,
        status: confirmed ? "confirmed" : "rejected",
        paidCents: confirmed ? event.data.paidCents : 0,
        refundedCents: 0,
        version: event.data.version,
        placedAt: event.at,
        ...(confirmed ? {} : { rejectionReason: event.data.reason }),
      });
      return;
    }
    case "OrderStatusChanged": {
      const order = read(draft, "orders", event.data.orderId);
      if (order) write(draft, "orders", order.orderId, { ...order, status: event.data.to, version: event.data.version });
      return;
    }
    case "RefundProcessed": {
      const order = read(draft, "orders", event.data.orderId);
      if (order) {
        const lines = order.lines.map((l) => (l.sku === event.data.sku ? { ...l, refundedQty: l.refundedQty + event.data.qty } : l));
        write(draft, "orders", order.orderId, { ...order, lines, refundedCents: order.refundedCents + event.data.amountCents, version: event.data.version });
      }
      if (event.data.approvalId) settleApproval(draft, event.data.approvalId, "approved", event.data.decidedBy, event.data.reason);
      return;
    }
    case "RefundRejected":
      if (event.data.approvalId) settleApproval(draft, event.data.approvalId, "denied", event.data.decidedBy, event.data.reason);
      return;
    case "ApprovalRequested": {
      const order = read(draft, "orders", event.data.orderId);
      const { approvalId, ...rest } = event.data;
      write(draft, "approvals", approvalId, {
        id: approvalId,
        kind: "refund",
        customerId: order?.customerId ?? "",
        ...rest,
        status: "pending",
        requestedAt: event.at,
        eventId: event.id,
      });
      return;
    }
    case "ReorderRequested":
      write(draft, "reorders", event.data.sku, { sku: event.data.sku, qty: event.data.qty, eventId: event.id, at: event.at });
      return;
    case "ReorderClosed":
      write(draft, "reorders", event.data.sku, null);
      return;
    case "PostDrafted":
      write(draft, "posts", event.data.postId, { ...event.data, at: event.at });
      return;
    case "PromotionPaused":
      write(draft, "promotions", event.data.sku, "paused");
      return;
    case "PromotionResumed":
      write(draft, "promotions", event.data.sku, "active");
      return;
    case "PolicyChanged":
      draft.policy = { ...draft.policy, ...event.data };
      return;
    case "RefundRequested":
    case "ReplyDrafted":
    case "ProductAdded":
    case "OrderPlaced":
    case "OrderShipped":
    case "OrderDelivered":
    case "OrderCancelled":
    case "CustomerMessage":
    case "StockReceived":
    case "StockAdjusted":
    case "ReturnRestocked":
    case "ApprovalDecided":
      return;
    default: {
      const exhaustive: never = event;
      throw new Error(`evolve: unhandled event ${JSON.stringify(exhaustive)}`);
    }
  }
}

function settleApproval(draft: Draft, approvalId: string, status: "approved" | "denied", decidedBy: string | undefined, reason: string): void {
  const approval = read(draft, "approvals", approvalId);
  if (approval) write(draft, "approvals", approvalId, { ...approval, status, ...(decidedBy ? { decidedBy } : {}), decisionReason: reason });
}

// ---------------------------------------------------------------- decide

/** What one input event or proposal leads to, given the world so far. */
export function decide(draft: Draft, item: DecisionItem): Decision {
  if (item.kind === "proposal") return decideProposal(draft, item.proposal);
  return isInputEvent(item.event) ? decideInput(draft, item.event) : NO_DECISION;
}

/**
 * Folds `decide` and `evolve` over items in order: each decision sees every
 * earlier one. Returns the draft (the world after) and everything decided.
 */
export function decideAll(world: World, items: Iterable<DecisionItem>): { draft: Draft; facts: SystemEvent[]; conflicts: Conflict[] } {
  const draft = draftOf(world);
  const facts: SystemEvent[] = [];
  const conflicts: Conflict[] = [];
  for (const item of items) {
    // A policy change enters the log as a fact from configuration: it only evolves.
    if (item.kind === "event" && !isInputEvent(item.event)) {
      evolve(draft, item.event);
      continue;
    }
    const decision = decide(draft, item);
    for (const fact of decision.facts) {
      evolve(draft, fact);
      facts.push(fact);
    }
    conflicts.push(...decision.conflicts);
  }
  return { draft, facts, conflicts };
}

type Emit = (fact: SystemEvent) => void;

/** When a product comes without a reorder quantity: enough to lift stock well clear of the reorder point. */
export function defaultReorderQty(reorderPoint: number): number {
  return Math.max(1, reorderPoint * 2);
}

function decideInput(draft: Draft, event: StoredInputEvent): Decision {
  const facts: SystemEvent[] = [];
  const emit: Emit = (fact) => facts.push(fact);
  const refuse = (owner: ServiceName, reason: string, entity?: string): Decision => ({
    facts: [],
    conflicts: [
      { id: derivedId(event.id, "Conflict"), at: event.at, by: event.source, eventId: event.id, eventType: event.type, kind: "rule", entity, reason, owner },
    ],
  });
  switch (event.type) {
    case "ProductAdded": {
      const { sku, name, priceCents, initialStock: units, reorderPoint, reorderQty } = event.data;
      if (read(draft, "catalog", sku)) return refuse("inventory_service", `SKU ${sku} already exists`, `inventory:${sku}`);
      const listed = systemEvent(
        "ProductListed",
        { sku, name, priceCents, reorderPoint, reorderQty: reorderQty ?? defaultReorderQty(reorderPoint) },
        event,
        "inventory_service",
      );
      emit(listed);
      changeStock(draft, event, sku, { onHand: units }, "product added", emit, reorderPoint);
      return { facts, conflicts: [] };
    }
    case "OrderPlaced": {
      const { orderId, customerId } = event.data;
      if (read(draft, "orders", orderId)) return refuse("order_service", `order ${orderId} already exists`, `order:${orderId}`);
      const shortfalls: string[] = [];
      const lines = event.data.lines.map(({ sku, qty }) => {
        const product = read(draft, "catalog", sku);
        const available = read(draft, "inventory", sku)?.available ?? 0;
        if (!product) shortfalls.push(`unknown SKU ${sku}`);
        else if (qty > available) shortfalls.push(`${sku}: ordered ${qty}, available ${available}`);
        return { sku, qty, unitPriceCents: product?.priceCents ?? 0 };
      });
      if (shortfalls.length > 0) {
        emit(
          systemEvent("OrderRejected", { orderId, customerId, reason: `insufficient stock (${shortfalls.join("; ")})`, version: 1 }, event, "order_service"),
        );
        return { facts, conflicts: [] };
      }
      emit(systemEvent("OrderConfirmed", { orderId, customerId, lines, paidCents: orderTotalCents(lines), version: 1 }, event, "order_service"));
      for (const line of lines) changeStock(draft, event, line.sku, { reserved: line.qty }, `reserved for ${orderId}`, emit);
      return { facts, conflicts: [] };
    }
    case "OrderShipped":
    case "OrderDelivered":
    case "OrderCancelled": {
      const order = read(draft, "orders", event.data.orderId);
      if (!order) return refuse("order_service", `unknown order ${event.data.orderId}`, `order:${event.data.orderId}`);
      const to: OrderStatus = event.type === "OrderShipped" ? "shipped" : event.type === "OrderDelivered" ? "delivered" : "cancelled";
      const from: OrderStatus = to === "delivered" ? "shipped" : "confirmed";
      if (order.status !== from) {
        const when = to === "cancelled" ? "only confirmed, unshipped orders can be cancelled" : `only ${from} orders can become ${to}`;
        return refuse("order_service", `order ${order.orderId} is ${order.status}; ${when}`, `order:${order.orderId}`);
      }
      if (to === "shipped") {
        // Shipping takes units out of onHand and reserved; refuse it whole if any line would break rule 1.
        const problem = order.lines.map((l) => stockProblem(draft, l.sku, { onHand: -unitsToShip(l), reserved: -unitsToShip(l) })).find((p) => p !== undefined);
        if (problem) return refuse("order_service", `shipping ${order.orderId} refused: ${problem} (rule 1)`, `order:${order.orderId}`);
      }
      if (to === "cancelled") cancelOrder(draft, event, order, emit);
      else emit(systemEvent("OrderStatusChanged", { orderId: order.orderId, from, to, version: order.version + 1 }, event, "order_service"));
      if (to === "shipped") {
        for (const line of order.lines) {
          const units = unitsToShip(line);
          if (units > 0) changeStock(draft, event, line.sku, { onHand: -units, reserved: -units }, `shipped ${order.orderId}`, emit);
        }
      }
      return { facts, conflicts: [] };
    }
    case "CustomerMessage":
      return NO_DECISION;
    case "StockReceived": {
      const { sku, qty } = event.data;
      if (!read(draft, "catalog", sku)) return refuse("inventory_service", `unknown SKU ${sku}`, `inventory:${sku}`);
      changeStock(draft, event, sku, { onHand: qty }, "stock received", emit);
      const reorder = read(draft, "reorders", sku);
      if (reorder) emit(systemEvent("ReorderClosed", { sku, reorderId: reorder.eventId }, event, "inventory_service"));
      return { facts, conflicts: [] };
    }
    case "StockAdjusted": {
      const { sku, delta, reason } = event.data;
      if (!read(draft, "catalog", sku)) return refuse("inventory_service", `unknown SKU ${sku}`, `inventory:${sku}`);
      const problem = changeStock(draft, event, sku, { onHand: delta }, `adjusted: ${reason}`, emit);
      return problem ? refuse("inventory_service", `adjustment of ${delta} refused: ${problem} (rule 1)`, `inventory:${sku}`) : { facts, conflicts: [] };
    }
    case "ReturnRestocked": {
      const { sku, qty } = event.data;
      const stock = read(draft, "inventory", sku);
      if (!stock) return refuse("inventory_service", `unknown SKU ${sku}`, `inventory:${sku}`);
      if (qty > stock.returned) return refuse("inventory_service", `cannot restock ${qty} of ${sku}: only ${stock.returned} returned`, `inventory:${sku}`);
      changeStock(draft, event, sku, { returned: -qty, onHand: qty }, "return restocked", emit);
      return { facts, conflicts: [] };
    }
    case "ApprovalDecided": {
      const approval = read(draft, "approvals", event.data.approvalId);
      if (!approval) return refuse("order_service", `unknown approval ${event.data.approvalId}`);
      if (approval.status !== "pending") return refuse("order_service", `approval ${approval.id} was already ${approval.status}`, `approval:${approval.id}`);
      decideApproval(draft, event, approval, emit);
      return { facts, conflicts: [] };
    }
    default: {
      const exhaustive: never = event;
      throw new Error(`decide: unhandled input ${JSON.stringify(exhaustive)}`);
    }
  }
}

/**
 * Changes one SKU's stock and emits InventoryUpdated (and LowStockAlert on a
 * downward crossing). Emits nothing and returns the reason if rule 1 would break.
 */
function changeStock(
  draft: Draft,
  cause: { id: string; at: string },
  sku: string,
  delta: StockDelta,
  reason: string,
  emit: Emit,
  reorderPoint = read(draft, "catalog", sku)?.reorderPoint ?? 0,
): string | undefined {
  const problem = stockProblem(draft, sku, delta);
  if (problem) return problem;
  const after = applyStockDelta(read(draft, "inventory", sku) ?? initialStock(), delta);
  const { stock, alert } = lowStockTransition(after, reorderPoint);
  const { onHand, reserved, returned, available, version } = stock;
  emit(systemEvent("InventoryUpdated", { sku, onHand, reserved, returned, available, version, reason }, cause, "inventory_service", sku));
  if (alert) emit(systemEvent("LowStockAlert", { sku, available, reorderPoint }, cause, "inventory_service", sku));
  return undefined;
}

/** Why a stock change would break rule 1, or undefined. */
function stockProblem(draft: Draft, sku: string, delta: StockDelta): string | undefined {
  const before: StockLevel = read(draft, "inventory", sku) ?? initialStock();
  return stockViolation(applyStockDelta(before, delta));
}

function pendingApprovals(draft: Draft, orderId: string): Approval[] {
  const found = new Map<string, Approval>();
  for (const approval of Object.values(draft.base.approvals)) if (approval.orderId === orderId) found.set(approval.id, approval);
  for (const [id, approval] of draft.changes.approvals) if (approval && approval.orderId === orderId) found.set(id, approval);
  return [...found.values()].filter((a) => a.status === "pending");
}

function cancelOrder(draft: Draft, cause: StoredInputEvent, order: Order, emit: Emit): void {
  for (const approval of pendingApprovals(draft, order.orderId)) {
    emit(
      systemEvent(
        "RefundRejected",
        { orderId: order.orderId, sku: approval.sku, approvalId: approval.id, reason: "order cancelled; the whole order is refunded" },
        cause,
        "order_service",
        approval.id,
      ),
    );
  }
  const status = systemEvent(
    "OrderStatusChanged",
    { orderId: order.orderId, from: order.status, to: "cancelled", version: order.version + 1 },
    cause,
    "order_service",
  );
  emit(status);
  let units = 0;
  for (const line of order.lines) {
    const release = unitsToShip(line);
    units += release;
    if (release > 0) changeStock(draft, cause, line.sku, { reserved: -release }, `released: ${order.orderId} cancelled`, emit);
  }
  const amountCents = order.paidCents - order.refundedCents;
  if (amountCents > 0) {
    emit(
      systemEvent(
        "RefundProcessed",
        { orderId: order.orderId, qty: units, amountCents, reason: "order cancelled", version: order.version + 2 },
        cause,
        "order_service",
      ),
    );
  }
}

/** Applies a granted refund of an order line: money back, and the units released or expected back. */
function refund(
  draft: Draft,
  cause: { id: string; at: string },
  order: Order,
  grant: { sku: string; qty: number; amountCents: number; reason: string; returnsGoods: boolean; approvalId?: string; decidedBy?: string },
  emit: Emit,
): void {
  const { sku, qty, amountCents, reason, approvalId, decidedBy } = grant;
  emit(
    systemEvent(
      "RefundProcessed",
      {
        orderId: order.orderId,
        sku,
        qty,
        amountCents,
        reason,
        version: order.version + 1,
        ...(approvalId ? { approvalId } : {}),
        ...(decidedBy ? { decidedBy } : {}),
      },
      cause,
      "order_service",
    ),
  );
  if (order.status === "confirmed") changeStock(draft, cause, sku, { reserved: -qty }, `released: refund on ${order.orderId}`, emit);
  else if (grant.returnsGoods) changeStock(draft, cause, sku, { returned: qty }, `returned: refund on ${order.orderId}`, emit);
}

function decideApproval(draft: Draft, cause: EventOf<"ApprovalDecided">, approval: Approval, emit: Emit): void {
  const { decision, by, reason } = cause.data;
  const order = read(draft, "orders", approval.orderId);
  if (decision === "denied" || !order) {
    const why = decision === "denied" ? `denied by ${by}${reason ? `: ${reason}` : ""}` : `order ${approval.orderId} no longer exists`;
    emit(
      systemEvent(
        "RefundRejected",
        { orderId: approval.orderId, sku: approval.sku, approvalId: approval.id, reason: why, decidedBy: by },
        cause,
        "order_service",
      ),
    );
    return;
  }
  // Re-check rule 3 without this approval's own hold.
  const others = pendingApprovals(draft, order.orderId).filter((a) => a.id !== approval.id);
  const grant = grantRefund(order, approval.sku, approval.qty, others);
  if (!grant.ok || grant.qty < approval.qty) {
    const why = grant.ok ? `only ${grant.qty} of ${approval.qty} units are still refundable` : grant.reason;
    emit(
      systemEvent(
        "RefundRejected",
        { orderId: order.orderId, sku: approval.sku, approvalId: approval.id, reason: `approved by ${by} but ${why}`, decidedBy: by },
        cause,
        "order_service",
      ),
    );
    return;
  }
  const returnsGoods = approval.reason !== "not_delivered";
  refund(
    draft,
    cause,
    order,
    {
      sku: approval.sku,
      qty: grant.qty,
      amountCents: grant.amountCents,
      reason: `approved by ${by}${reason ? `: ${reason}` : ""}`,
      returnsGoods,
      approvalId: approval.id,
      decidedBy: by,
    },
    emit,
  );
}

// ---------------------------------------------------------------- proposals

function decideProposal(draft: Draft, proposal: Proposal): Decision {
  const type = proposal.type as ProposalType;
  // Own keys only: a proposal typed "__proto__" or "constructor" must not find Object.prototype's members and slip past every service.
  const owner: ServiceName = Object.hasOwn(OWNER, type) ? OWNER[type as SystemEventType] : "order_service";
  const conflict = (kind: Conflict["kind"], reason: string, entity?: string): Decision => ({
    facts: [],
    conflicts: [
      {
        id: derivedId(proposal.id, "Conflict"),
        at: proposal.at,
        by: proposal.agent,
        eventId: proposal.id,
        eventType: proposal.type,
        kind,
        entity,
        reason,
        taskId: proposal.taskId,
        owner,
      },
    ],
  });
  if (!isAgentName(proposal.agent) || !PROPOSAL_SCOPES[proposal.agent].includes(type)) {
    return conflict(
      "scope",
      `${proposal.agent} may not propose ${proposal.type} (allowed: ${isAgentName(proposal.agent) ? PROPOSAL_SCOPES[proposal.agent].join(", ") : "nothing"})`,
    );
  }
  const parsed = ProposalData[type].safeParse(proposal.data);
  if (!parsed.success) return conflict("invalid", `malformed ${type}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
  for (const ref of proposal.basedOn) {
    const current = entityVersion(draft, ref.entity);
    if (current !== ref.version)
      return conflict("stale", `${ref.entity} changed (version ${ref.version} -> ${current ?? "none"}) since the proposal was made`, ref.entity);
  }
  const accepted = {
    id: proposal.id,
    type,
    at: proposal.at,
    source: proposal.agent,
    causationId: proposal.causationId,
    v: 1 as const,
    data: parsed.data,
  } as unknown as SystemEvent;
  const facts: SystemEvent[] = [];
  const emit: Emit = (fact) => facts.push(fact);
  const data = parsed.data as never;
  switch (type) {
    case "RefundRequested": {
      const request = data as EventOf<"RefundRequested">["data"];
      const order = read(draft, "orders", request.orderId);
      if (!order) return conflict("rule", `unknown order ${request.orderId}`, `order:${request.orderId}`);
      emit(accepted);
      const grant = grantRefund(order, request.sku, request.qty, pendingApprovals(draft, order.orderId));
      if (!grant.ok) {
        emit(systemEvent("RefundRejected", { orderId: order.orderId, sku: request.sku, reason: grant.reason }, accepted, "order_service"));
      } else if (needsApproval(grant.amountCents, draft.policy)) {
        const approvalId = approvalIdFor(accepted.id);
        emit(
          systemEvent(
            "ApprovalRequested",
            { approvalId, orderId: order.orderId, sku: request.sku, qty: grant.qty, amountCents: grant.amountCents, reason: request.reason },
            accepted,
            "order_service",
          ),
        );
      } else {
        const reason = grant.qty < request.qty ? `${request.reason}; ${grant.qty} of ${request.qty} requested units were refundable` : request.reason;
        refund(
          draft,
          accepted,
          order,
          { sku: request.sku, qty: grant.qty, amountCents: grant.amountCents, reason, returnsGoods: request.reason !== "not_delivered" },
          emit,
        );
      }
      return { facts, conflicts: [] };
    }
    case "ReplyDrafted": {
      const reply = data as EventOf<"ReplyDrafted">["data"];
      const order = reply.orderId ? read(draft, "orders", reply.orderId) : undefined;
      if (order && order.customerId !== reply.customerId)
        return conflict("rule", `reply to ${reply.customerId} concerns order ${order.orderId} of another customer`, `order:${order.orderId}`);
      // Whatever the model was talked into writing, a reply never names another customer or their orders.
      const foreign = foreignIdIn(reply.text, reply.customerId, customerLookup(draft.base.orders, draft.changes.orders.values()));
      if (foreign !== undefined)
        return conflict(
          "rule",
          `reply to ${reply.customerId} names ${foreign}, which belongs to another customer`,
          reply.orderId ? `order:${reply.orderId}` : undefined,
        );
      emit(accepted);
      return { facts, conflicts: [] };
    }
    case "ReorderRequested": {
      const { sku } = data as EventOf<"ReorderRequested">["data"];
      if (!read(draft, "catalog", sku)) return conflict("rule", `unknown SKU ${sku}`, `inventory:${sku}`);
      const open = read(draft, "reorders", sku);
      if (open) return conflict("rule", `a reorder for ${sku} is already open (${open.eventId}); at most one per SKU (rule 7)`, `inventory:${sku}`);
      emit(accepted);
      return { facts, conflicts: [] };
    }
    case "PostDrafted": {
      const { sku } = data as EventOf<"PostDrafted">["data"];
      const promotion = read(draft, "promotions", sku);
      if (promotion === undefined) return conflict("rule", `unknown SKU ${sku}`, `inventory:${sku}`);
      if (promotion === "paused") return conflict("rule", `the promotion of ${sku} is paused; no posts promote it (rule 6)`, `inventory:${sku}`);
      emit(accepted);
      return { facts, conflicts: [] };
    }
    case "PromotionPaused":
    case "PromotionResumed": {
      const { sku } = data as EventOf<"PromotionPaused">["data"];
      const promotion = read(draft, "promotions", sku);
      if (promotion === undefined) return conflict("rule", `unknown SKU ${sku}`, `inventory:${sku}`);
      const wanted = type === "PromotionPaused" ? "paused" : "active";
      if (promotion === wanted) return conflict("rule", `the promotion of ${sku} is already ${wanted}`, `inventory:${sku}`);
      emit(accepted);
      return { facts, conflicts: [] };
    }
    default: {
      const exhaustive: never = type;
      return conflict("scope", `unknown proposal type ${String(exhaustive)}`);
    }
  }
}

/** `evt-043>RefundRequested` -> `apr-evt-043`: short, stable, derived from the request. */
export function approvalIdFor(refundRequestId: string): string {
  return `apr-${refundRequestId
    .replace(">RefundRequested", "")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/-+$/, "")}`;
}

/** The current version of an entity reference (`order:<id>`, `inventory:<sku>`). */
export function entityVersion(draft: Draft, entity: string): number | undefined {
  const [kind, key] = splitEntity(entity);
  if (kind === "order") return read(draft, "orders", key)?.version;
  if (kind === "inventory") return read(draft, "inventory", key)?.version;
  return undefined;
}

function splitEntity(entity: string): [string, string] {
  const at = entity.indexOf(":");
  return at < 0 ? [entity, ""] : [entity.slice(0, at), entity.slice(at + 1)];
}
