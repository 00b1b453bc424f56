/**
 * One store's log as a graph node (or a reader) sees it: the event store, the
 * store's thread and the pointer of the checkpoint in hand. Entities that left
 * the state are folded from their own streams here: an order from the events
 * that name it, emmett-style (`project` over the stream), an approval likewise.
 */
import type { StoreEvent } from "../domain/events.js";
import { streamKey } from "../domain/streams.js";
import { project } from "../domain/verify.js";
import type { Approval, Order } from "../domain/world.js";
import type { EventQuery, EventStore, LogPointer, LoggedEvent } from "./event_store.js";

export interface StoreLog {
  readonly store: EventStore;
  readonly threadId: string;
  readonly at: LogPointer;
}

export function storeLog(store: EventStore, threadId: string, at: LogPointer): StoreLog {
  return { store, threadId, at };
}

export async function readLog(log: StoreLog, query?: EventQuery): Promise<LoggedEvent[]> {
  return log.store.read(log.threadId, log.at, query);
}

/** Every event of the log, oldest first (verify, replay, export: the readers that need it whole). */
export async function wholeLog(log: StoreLog): Promise<StoreEvent[]> {
  return (await readLog(log)).map((e) => e.event);
}

export async function streamEvents(log: StoreLog, stream: string, query: Omit<EventQuery, "stream"> = {}): Promise<StoreEvent[]> {
  return (await readLog(log, { ...query, stream })).map((e) => e.event);
}

/** The orders with these ids that exist in the log, each folded from its own stream. */
export async function ordersById(log: StoreLog, ids: Iterable<string>): Promise<Record<string, Order>> {
  const orders: Record<string, Order> = {};
  for (const id of new Set(ids)) {
    const order = project(await streamEvents(log, streamKey("order", id))).orders[id];
    if (order) orders[id] = order;
  }
  return orders;
}

export async function orderById(log: StoreLog, id: string): Promise<Order | undefined> {
  return (await ordersById(log, [id]))[id];
}

/** A customer's orders, newest first: `limit` of them, placed before log position `before` when given (paging). */
export async function ordersOfCustomer(
  log: StoreLog,
  customerId: string,
  page: { limit: number; before?: number },
): Promise<{ orders: Order[]; next?: number }> {
  const placed = await readLog(log, {
    stream: streamKey("customer", customerId),
    types: ["OrderPlaced"],
    descending: true,
    limit: page.limit,
    to: page.before,
  });
  const ids = placed.map((p) => (p.event.data as { orderId: string }).orderId);
  const byId = await ordersById(log, ids);
  const orders = ids.map((id) => byId[id]).filter((o): o is Order => o !== undefined);
  return { orders, ...(placed.length === page.limit ? { next: placed[placed.length - 1].position } : {}) };
}

/** An approval folded from its stream (its request and outcome), whatever its status. */
export async function approvalById(log: StoreLog, approvalId: string): Promise<Approval | undefined> {
  const events = await streamEvents(log, streamKey("approval", approvalId));
  const request = events.find((e) => e.type === "ApprovalRequested");
  if (!request) return undefined;
  // The request's order gives the approval its customer.
  const orderEvents = await streamEvents(log, streamKey("order", (request.data as { orderId: string }).orderId), { to: log.at.length });
  return project([...orderEvents.filter((e) => e.type === "OrderConfirmed"), ...events]).approvals[approvalId];
}

/** Whether any event of the log belongs to this stream (an order or customer that exists). */
export async function streamExists(log: StoreLog, stream: string): Promise<boolean> {
  return (await readLog(log, { stream, limit: 1 })).length > 0;
}

/** The event types that change an order (what `evolve` reads for one). */
const ORDER_FACTS = ["OrderConfirmed", "OrderRejected", "OrderStatusChanged", "RefundProcessed"] as const;

/** Every order of the store at this log, folded from the order facts (read by type, not the whole log). */
export async function allOrders(log: StoreLog): Promise<Record<string, Order>> {
  return project((await readLog(log, { types: ORDER_FACTS })).map((e) => e.event)).orders;
}
