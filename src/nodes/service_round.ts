/**
 * What both services do each round: fold the decider over the same new items
 * (input events since their cursor, then queued proposals) and keep what each
 * owns. Running the same pure fold, they agree without talking to each other:
 * both append the round's facts to the log in the same order (the second
 * append finds them there and is a no-op, see persistence/event_store.ts),
 * and each publishes only its own entities.
 *
 * Orders are not in the state: the round loads the ones its items name from
 * their streams in the event store, and decides on that world.
 */
import { decideAll, OWNER, type Conflict, type DecisionItem, type ServiceName } from "../domain/decide.js";
import { isInputEvent, type SystemEvent } from "../domain/events.js";
import { streamKey } from "../domain/streams.js";
import { draftOf, patchesOf, type Approval, type Draft, type Order, type World } from "../domain/world.js";
import { idTokens } from "../domain/orders.js";
import { approvalById, ordersById, ordersOfCustomer, readLog, type StoreLog } from "../persistence/store_log.js";
import type { LogPointer } from "../persistence/event_store.js";
import type { State, TaskOp, Update } from "../state.js";

/** Both services share one cursor: they always decide the same items together. */
export const SERVICES_CURSOR = "services";

export interface ServiceRound {
  draft: Draft;
  /** The round's new facts, in log order. */
  facts: SystemEvent[];
  conflicts: Conflict[];
  /** The log with this round's facts. */
  log: LogPointer;
  decidedProposals: string[];
}

export type ServiceState = Pick<
  State,
  "log" | "cursors" | "proposals" | "catalog" | "inventory" | "approvals" | "promotions" | "reorders" | "posts" | "policy"
>;

/** Services' facts in the log: order_service's first, then inventory_service's, each in decision order. */
const SERVICE_ORDER: readonly ServiceName[] = ["order_service", "inventory_service"];

export async function decideRound(state: ServiceState, log: StoreLog): Promise<ServiceRound | undefined> {
  const from = state.cursors[SERVICES_CURSOR] ?? 0;
  const items: DecisionItem[] = [];
  for (const { event } of await readLog(log, { from })) {
    // The services' own facts are already applied; inputs and policy changes are new.
    if (isInputEvent(event) || event.type === "PolicyChanged") items.push({ kind: "event", event });
  }
  for (const proposal of state.proposals) items.push({ kind: "proposal", proposal });
  if (items.length === 0 && from >= log.at.length) return undefined;
  const world = await worldFor(state, log, items);
  const { draft, facts, conflicts } = items.length > 0 ? decideAll(world, items) : { draft: draftOf(world), facts: [], conflicts: [] };
  const logged = await log.store.findIds(
    log.threadId,
    log.at,
    facts.map((f) => f.id),
  );
  const newFacts = SERVICE_ORDER.flatMap((service) => facts.filter((f) => OWNER[f.type] === service && !logged.has(f.id)));
  const pointer = await log.store.append(log.threadId, log.at, newFacts);
  return { draft, facts: newFacts, conflicts, log: pointer, decidedProposals: state.proposals.map((p) => p.id) };
}

/**
 * The world a round decides on: the state's entities, plus the orders and
 * approvals its items name (an approval brings its order), folded from their
 * streams, and no others: pending approvals pile up in a store nobody works,
 * and loading all their orders made every round grow with them. A reply's text names
 * ids too: the orders and customers it might name are loaded, so the rule that
 * a reply never names another customer's data sees them.
 */
export async function worldFor(state: ServiceState, log: StoreLog, items: readonly DecisionItem[]): Promise<World> {
  const orderIds = new Set<string>();
  const approvals: Record<string, Approval> = { ...state.approvals };
  const customers = new Set<string>();
  for (const item of items) {
    const data = (item.kind === "event" ? item.event.data : item.proposal.data) as { orderId?: unknown; approvalId?: unknown; text?: unknown } | null;
    if (!data || typeof data !== "object") continue;
    if (typeof data.orderId === "string") orderIds.add(data.orderId);
    if (typeof data.approvalId === "string") {
      const approval = approvals[data.approvalId] ?? (await approvalById(log, data.approvalId));
      if (approval) {
        approvals[approval.id] = approval;
        orderIds.add(approval.orderId);
      }
    }
    if (item.kind === "proposal" && item.proposal.type === "ReplyDrafted" && typeof data.text === "string") {
      const tokens = idTokens(data.text);
      const named = await log.store.existingStreams(
        log.threadId,
        log.at,
        tokens.flatMap((t) => [streamKey("order", t), streamKey("customer", t)]),
      );
      for (const t of tokens) {
        if (named.has(streamKey("order", t))) orderIds.add(t);
        if (named.has(streamKey("customer", t))) customers.add(t);
      }
    }
  }
  const orders: Record<string, Order> = await ordersById(log, orderIds);
  // A customer counts as one when they have an order: load their newest.
  for (const customerId of customers) for (const order of (await ordersOfCustomer(log, customerId, { limit: 1 })).orders) orders[order.orderId] = order;
  const { catalog, inventory, promotions, reorders, posts, policy } = state;
  return { catalog, inventory, orders, approvals, promotions, reorders, posts, policy };
}

/** The part of a round that `service` publishes: the log pointer, its conflicts, its channels. */
export function publish<C extends "catalog" | "inventory" | "approvals" | "promotions" | "reorders" | "posts">(
  service: ServiceName,
  round: ServiceRound,
  channels: readonly C[],
): Update {
  const patches = patchesOf(round.draft);
  // Decided approvals leave the state: their stream keeps them.
  patches.approvals = Object.fromEntries(Object.entries(patches.approvals).map(([id, a]) => [id, a && a.status === "pending" ? a : null]));
  const conflicts = round.conflicts.filter((c) => c.owner === service);
  const retries: TaskOp[] = conflicts
    .filter((c) => c.kind === "stale" && c.taskId)
    .map((c) => ({ op: "fail", taskId: c.taskId as string, error: `stale proposal: ${c.reason}`, retry: true }));
  const update: Update = {
    log: round.log,
    recentEvents: round.facts,
    cursors: { [SERVICES_CURSOR]: round.log.length },
  };
  for (const channel of channels) if (Object.keys(patches[channel]).length > 0) (update as Record<string, unknown>)[channel] = patches[channel];
  if (conflicts.length > 0) update.conflicts = conflicts;
  if (retries.length > 0) update.tasks = retries;
  if (round.decidedProposals.length > 0) update.proposals = { dequeue: round.decidedProposals };
  return update;
}
