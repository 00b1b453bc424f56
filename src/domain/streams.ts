/**
 * Entity streams: which streams an event belongs to. An order's stream holds
 * every event that names the order; a SKU's, every event that names the SKU
 * (order lines included); a customer's, every event that names the customer;
 * an approval's, its request and its outcome. The event store indexes events
 * by these keys, so an order is decided from its own stream (docs/architecture.md).
 */
import type { StoreEvent } from "./events.js";

export type StreamKind = "order" | "sku" | "customer" | "approval";

export function streamKey(kind: StreamKind, id: string): string {
  return `${kind}:${id}`;
}

/** The streams an event belongs to, without duplicates. */
export function streamsOf(event: StoreEvent): string[] {
  const data = event.data as { orderId?: unknown; sku?: unknown; customerId?: unknown; approvalId?: unknown; lines?: unknown };
  const keys = new Set<string>();
  const add = (kind: StreamKind, id: unknown) => {
    if (typeof id === "string" && id.length > 0) keys.add(streamKey(kind, id));
  };
  add("order", data.orderId);
  add("sku", data.sku);
  add("customer", data.customerId);
  add("approval", data.approvalId);
  if (Array.isArray(data.lines)) for (const line of data.lines as { sku?: unknown }[]) add("sku", line?.sku);
  return [...keys];
}
