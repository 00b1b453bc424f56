/**
 * Selective context (docs/agents.md): an agent sees the triggering event, the
 * entities it concerns and its own memory, never the whole log.
 */
import type { StoreEvent } from "../domain/events.js";
import { streamKey } from "../domain/streams.js";
import type { AgentName } from "../domain/proposals.js";
import type { Order, Product, PromotionStatus, Reorder, StockLevel } from "../domain/world.js";
import type { LogPointer } from "../persistence/event_store.js";
import { orderById, ordersOfCustomer, readLog, type StoreLog } from "../persistence/store_log.js";
import type { MemoryNote, State } from "../state.js";
import type { RecalledFact } from "./facts.js";

export interface AgentContext {
  /** Orders the event concerns; for a customer message, the customer's newest orders. */
  orders: Order[];
  products: Product[];
  stock: Record<string, StockLevel>;
  promotions: Record<string, PromotionStatus>;
  openReorders: Record<string, Reorder>;
  /** Units sold recently per SKU of the trigger (confirmed orders in the events just before it). */
  recentSales: Record<string, SalesWindow>;
  /**
   * The customer's facts from the knowledge store, a pool the support agent
   * ranks against its query (`search_customer_history`). Filled by the router
   * for customer messages when the graph has a store (customer_memory.ts).
   */
  history: RecalledFact[];
}

export interface SalesWindow {
  /** Units in confirmed orders among the last `RECENT_SALES_WINDOW` events before the trigger. */
  units: number;
  orders: number;
}

/** What an agent task receives: its trigger, its context and its own memory. */
export interface Delivery {
  taskId: string;
  agent: AgentName;
  attempt: number;
  trigger: StoreEvent;
  /** The trigger's position in the log. */
  position: number;
  /** The log the delivery was planned on (its tools read older orders there). */
  log?: LogPointer;
  context: AgentContext;
  /** The text of the newest notes of this agent's private memory (no other agent's), without their tool calls. */
  memory: Pick<MemoryNote, "at" | "eventId" | "note">[];
}

/** How many of a customer's orders a support task sees. */
export const CUSTOMER_ORDERS_IN_CONTEXT = 10;
/** How many events before the trigger count as "recent" for sales figures (bounded work per delivery). */
export const RECENT_SALES_WINDOW = 500;
/**
 * How many memory notes travel with a delivery: what the prompt shows, no
 * more. Each delivery is a `Send` that the checkpoint stores, and a step hands
 * out dozens; the notes' tool calls stay in the memory channel.
 */
export const MEMORY_NOTES_IN_CONTEXT = 3;

type World = Pick<State, "catalog" | "inventory" | "promotions" | "reorders">;

/**
 * The context of one delivery: the orders it concerns (from their streams in
 * the event store), the products and stock they name, and the recent sales of
 * the trigger's SKU (from the SKU's stream, before the trigger's position).
 */
export async function buildContext(world: World, log: StoreLog, trigger: StoreEvent, position: number): Promise<AgentContext> {
  const data = trigger.data as { sku?: string; orderId?: string; customerId?: string };
  const orders: Order[] = [];
  if (trigger.type === "CustomerMessage") {
    orders.push(...(await customerOrders(log, trigger.data.customerId, trigger.data.orderId)));
  } else if (data.orderId) {
    const order = await orderById(log, data.orderId);
    if (order) orders.push(order);
  }
  const skus = new Set<string>(orders.flatMap((o) => o.lines.map((l) => l.sku)));
  if (data.sku) skus.add(data.sku);
  const pick = <T>(map: Record<string, T>) => Object.fromEntries([...skus].filter((s) => map[s] !== undefined).map((s) => [s, map[s]]));
  return {
    orders,
    products: [...skus].map((s) => world.catalog[s]).filter((p): p is Product => p !== undefined),
    stock: pick(world.inventory),
    promotions: pick(world.promotions),
    openReorders: pick(world.reorders),
    recentSales: data.sku ? { [data.sku]: await recentSales(log, position, data.sku) } : {},
    history: [],
  };
}

/** Confirmed units of `sku` in the window of events before log position `before`. */
export async function recentSales(log: StoreLog, before: number, sku: string): Promise<SalesWindow> {
  const confirmed = await readLog(log, {
    stream: streamKey("sku", sku),
    types: ["OrderConfirmed"],
    from: Math.max(0, before - RECENT_SALES_WINDOW),
    to: before,
  });
  const sales: SalesWindow = { units: 0, orders: 0 };
  for (const { event } of confirmed) {
    if (event.type !== "OrderConfirmed") continue;
    const line = event.data.lines.find((l) => l.sku === sku);
    if (!line) continue;
    sales.units += line.qty;
    sales.orders += 1;
  }
  return sales;
}

/** The customer's newest orders, the one they named first. Never another customer's. */
async function customerOrders(log: StoreLog, customerId: string, named?: string): Promise<Order[]> {
  const { orders: newest } = await ordersOfCustomer(log, customerId, { limit: CUSTOMER_ORDERS_IN_CONTEXT });
  const namedOrder = named ? (newest.find((o) => o.orderId === named) ?? (await orderById(log, named))) : undefined;
  const first = namedOrder && namedOrder.customerId === customerId ? [namedOrder] : [];
  return [...first, ...newest.filter((o) => o.orderId !== named)].slice(0, CUSTOMER_ORDERS_IN_CONTEXT);
}
