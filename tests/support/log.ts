/**
 * Reading a test graph's log and orders. The log and the orders are not in the
 * state: they are in the event store the graph was built with, at the pointer
 * a checkpoint's values hold.
 */
import type { StoreEvent } from "../../src/domain/events.js";
import type { Order } from "../../src/domain/world.js";
import { EMPTY_LOG, type EventStore, type LogPointer } from "../../src/persistence/event_store.js";
import { memoryEventStore } from "../../src/persistence/sqlite_event_store.js";
import { allOrders, storeLog, wholeLog } from "../../src/persistence/store_log.js";

/** An event store and the thread a test graph runs on, with readers for a checkpoint's values. */
export function testLog(threadId = "t", events: EventStore = memoryEventStore()) {
  const at = (values: { log?: LogPointer }) => storeLog(events, threadId, values.log ?? EMPTY_LOG);
  return {
    events,
    threadId,
    at,
    /** The whole log the values point at. */
    eventsOf: (values: { log?: LogPointer }): Promise<StoreEvent[]> => wholeLog(at(values)),
    /** Every order at those values, folded from the event store. */
    ordersOf: (values: { log?: LogPointer }): Promise<Record<string, Order>> => allOrders(at(values)),
  };
}
