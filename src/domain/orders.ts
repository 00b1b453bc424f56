/**
 * Order and refund rules (SPEC §5 rules 2, 3 and 4) as pure functions on an
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
  if (order.status === "rejected" || order.status === "cancelled") return { ok: false, reason: `order ${order.orderId} is ${order.status}; nothing was paid or everything was refunded` };
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
  if (order.status !== "rejected" && order.paidCents !== orderTotalCents(order.lines)) return `paidCents ${order.paidCents} is not the order total ${orderTotalCents(order.lines)}`;
  return undefined;
}

/**
 * Whose ids a text names: every run of id characters in it ("ORD-2." and
 * "(ORD-2)" name ORD-2), matched without regard to case as the support tools
 * match them, against the orders given. Returns the first order id or
 * customer id that belongs to a customer other than `customerId` (SPEC §5: a
 * reply never contains another customer's data).
 */
export function foreignIdIn(text: string, customerId: string, orders: CustomerIndex): string | undefined {
  const own = customerId.toLowerCase();
  for (const token of text.match(/[A-Za-z0-9][A-Za-z0-9._:~@#/+-]*/g) ?? []) {
    // "ORD-2." ends a sentence: the id is what comes before the trailing punctuation.
    const id = token.replace(/[._:~@#/+-]+$/, "");
    const key = id.toLowerCase();
    const owner = orders.ownerOfOrder(key);
    if ((owner !== undefined && owner.toLowerCase() !== own) || (key !== own && orders.isCustomer(key))) return id;
  }
  return undefined;
}

/** Lookups by lower-cased id: the customer of an order, and whether a customer id exists. */
export interface CustomerIndex {
  ownerOfOrder(lowerOrderId: string): string | undefined;
  isCustomer(lowerCustomerId: string): boolean;
}

const customerIndexes = new WeakMap<Record<string, Order>, { owners: Map<string, string>; customers: Set<string> }>();

/**
 * The index of an orders map plus orders changed on top of it. The map is
 * immutable (a step that changes an order makes a new one), so its index is
 * built once, on the first reply a service decides against it.
 */
export function customerIndex(orders: Record<string, Order>, changed: Iterable<Order | null> = []): CustomerIndex {
  let index = customerIndexes.get(orders);
  if (!index) {
    index = { owners: new Map(), customers: new Set() };
    for (const order of Object.values(orders)) {
      index.owners.set(order.orderId.toLowerCase(), order.customerId);
      index.customers.add(order.customerId.toLowerCase());
    }
    customerIndexes.set(orders, index);
  }
  const { owners, customers } = index;
  const extraOwners = new Map<string, string>();
  for (const order of changed) if (order) extraOwners.set(order.orderId.toLowerCase(), order.customerId);
  const extraCustomers = new Set([...extraOwners.values()].map((c) => c.toLowerCase()));
  return {
    ownerOfOrder: (id) => extraOwners.get(id) ?? owners.get(id),
    isCustomer: (id) => customers.has(id) || extraCustomers.has(id),
  };
}
