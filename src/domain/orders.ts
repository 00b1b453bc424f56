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
