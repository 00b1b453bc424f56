/**
 * Order and refund rules (docs/RULES.md rules 2, 3 and 4) as pure functions on an
 * order and the approvals that hold part of it.
 */
import type { Approval, Order, OrderLine } from "./world.js";

export function orderTotalCents(lines: readonly Pick<OrderLine, "qty" | "unitPriceCents">[]): number {
  return lines.reduce((sum, line) => sum + line.qty * line.unitPriceCents, 0);
}

/** Units of a line still shippable: refunded units were released from the reservation. */
export function unitsToShip(line: OrderLine): number {
  return line.qty - line.refundedQty;
}

/** Units of `sku` held by pending approvals of this order (rule 3 counts them as taken). */
export function heldQty(approvals: Iterable<Approval>, orderId: string, sku: string): number {
  let held = 0;
  for (const approval of approvals) if (approval.status === "pending" && approval.orderId === orderId && approval.sku === sku) held += approval.qty;
  return held;
}

export function heldCents(approvals: Iterable<Approval>, orderId: string): number {
  let held = 0;
  for (const approval of approvals) if (approval.status === "pending" && approval.orderId === orderId) held += approval.amountCents;
  return held;
}

export type RefundGrant = { ok: true; qty: number; amountCents: number; line: OrderLine } | { ok: false; reason: string };

/**
 * Rule 3: how much of a requested refund the order allows. The amount comes
 * from the order (unit price x quantity), never from the request.
 */
export function grantRefund(order: Order, sku: string, requestedQty: number, approvals: Iterable<Approval>): RefundGrant {
  if (order.status === "rejected" || order.status === "cancelled")
    return { ok: false, reason: `order ${order.orderId} is ${order.status}; nothing was paid or everything was refunded` };
  const line = order.lines.find((l) => l.sku === sku);
  if (!line) return { ok: false, reason: `order ${order.orderId} has no line for ${sku}` };
  const pending = [...approvals];
  const held = heldQty(pending, order.orderId, sku);
  const remainingQty = line.qty - line.refundedQty - held;
  const remainingCents = order.paidCents - order.refundedCents - heldCents(pending, order.orderId);
  const qty = Math.min(requestedQty, remainingQty, Math.floor(remainingCents / Math.max(1, line.unitPriceCents)));
  if (qty <= 0) {
    const parts = [`${line.refundedQty} of ${line.qty} already refunded`];
    if (held > 0) parts.push(`${held} awaiting approval`);
    return { ok: false, reason: `nothing left to refund for ${sku} on order ${order.orderId} (${parts.join(", ")})` };
  }
  return { ok: true, qty, amountCents: qty * line.unitPriceCents, line };
}

/** Rule 3 on one order, or undefined when it holds. */
export function orderViolation(order: Order): string | undefined {
  for (const line of order.lines) {
    if (line.refundedQty < 0 || line.refundedQty > line.qty) return `line ${line.sku}: refundedQty ${line.refundedQty} outside 0..${line.qty}`;
  }
  if (order.refundedCents < 0 || order.refundedCents > order.paidCents) return `refundedCents ${order.refundedCents} outside 0..${order.paidCents}`;
  if (order.status !== "rejected" && order.paidCents !== orderTotalCents(order.lines))
    return `paidCents ${order.paidCents} is not the order total ${orderTotalCents(order.lines)}`;
  return undefined;
}

/**
 * Whose ids a text names: every run of id characters in it ("ORD-2." and
 * "(ORD-2)" name ORD-2), as written, upper- or lower-cased (the support tools
 * match ids without regard to case). Returns the first order id or customer
 * id that belongs to a customer other than `customerId` (docs/RULES.md rule 11: a reply
 * never contains another customer's data).
 */
export function foreignIdIn(text: string, customerId: string, orders: CustomerLookup): string | undefined {
  const own = customerId.toLowerCase();
  for (const id of idsIn(text)) {
    const owner = orders.ownerOfOrder(id);
    if ((owner !== undefined && owner !== customerId) || (id.toLowerCase() !== own && orders.isCustomer(id))) return id;
  }
  return undefined;
}

/** Every run of id characters in a text, less trailing punctuation ("ORD-2." names ORD-2). */
function idsIn(text: string): string[] {
  return (text.match(/[A-Za-z0-9][A-Za-z0-9._:~@#/+-]*/g) ?? []).map((token) => token.replace(/[._:~@#/+-]+$/, ""));
}

/** Every id a text may name, in each spelling `foreignIdIn` tries: what to look up before judging a reply. */
export function idTokens(text: string): string[] {
  return [...new Set(idsIn(text).flatMap(spellings))];
}

/** Who owns an order, and whether a customer id exists, for an id as a text writes it. */
export interface CustomerLookup {
  ownerOfOrder(id: string): string | undefined;
  isCustomer(id: string): boolean;
}

const spellings = (id: string) => [id, id.toUpperCase(), id.toLowerCase()];

/**
 * Lookups in an orders map plus orders created on top of it in this round,
 * in time independent of the number of orders: the map's per-customer index
 * is the one the router already built for the round's customer messages.
 */
export function customerLookup(orders: Record<string, Order>, changed: Iterable<Order | null> = []): CustomerLookup {
  const fresh = new Map<string, Order>();
  for (const order of changed) if (order) fresh.set(order.orderId, order);
  const freshCustomers = new Set([...fresh.values()].map((o) => o.customerId));
  return {
    ownerOfOrder: (id) => {
      for (const key of spellings(id)) {
        const order = fresh.get(key) ?? (Object.hasOwn(orders, key) ? orders[key] : undefined);
        if (order) return order.customerId;
      }
      return undefined;
    },
    isCustomer: (id) => spellings(id).some((key) => freshCustomers.has(key) || ordersByCustomer(orders).has(key)),
  };
}

const customerIndexes = new WeakMap<Record<string, Order>, Map<string, Order[]>>();

/**
 * Orders grouped by customer, built once per orders map. The map is
 * immutable (a step that changes an order makes a new one), and a router step
 * builds the contexts of all its customer messages from the same map, so one
 * pass serves them all instead of one scan of every order per message; the
 * services deciding the replies that follow read the same map and reuse it.
 */
export function ordersByCustomer(orders: Record<string, Order>): Map<string, Order[]> {
  let index = customerIndexes.get(orders);
  if (!index) {
    index = new Map();
    for (const order of Object.values(orders)) {
      const list = index.get(order.customerId);
      if (list) list.push(order);
      else index.set(order.customerId, [order]);
    }
    customerIndexes.set(orders, index);
  }
  return index;
}
