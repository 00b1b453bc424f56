/**
 * Selective context (docs/agents.md): an agent sees the triggering event, the
 * entities it concerns and its own memory, never the whole log.
 */
import type { StoreEvent } from "../domain/events.js";
import { ordersByCustomer } from "../domain/orders.js";
import type { AgentName } from "../domain/proposals.js";
import type { Order, Product, PromotionStatus, Reorder, StockLevel } from "../domain/world.js";
import { eventLog, type MemoryNote, type State } from "../state.js";
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
  context: AgentContext;
  /** The newest notes of this agent's private memory (no other agent's). */
  memory: MemoryNote[];
}

/** How many of a customer's orders a support task sees. */
export const CUSTOMER_ORDERS_IN_CONTEXT = 10;
/** How many events before the trigger count as "recent" for sales figures (bounded work per delivery). */
export const RECENT_SALES_WINDOW = 500;
/** How many memory notes travel with a delivery. */
export const MEMORY_NOTES_IN_CONTEXT = 10;

type World = Pick<State, "orders" | "catalog" | "inventory" | "promotions" | "reorders">;

/** `log` (the event log holding the trigger) gives the recent sales of the trigger's SKU. */
export function buildContext(world: World, trigger: StoreEvent, log?: readonly StoreEvent[]): AgentContext {
  const data = trigger.data as { sku?: string; orderId?: string; customerId?: string };
  const orders: Order[] = [];
  if (trigger.type === "CustomerMessage") {
    orders.push(...customerOrders(world.orders, trigger.data.customerId, trigger.data.orderId));
  } else if (data.orderId && world.orders[data.orderId]) {
    orders.push(world.orders[data.orderId]);
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
    recentSales: data.sku && log ? { [data.sku]: recentSales(log, trigger.id, data.sku) } : {},
    history: [],
  };
}

/** Confirmed units of `sku` in the window of events before `triggerId` (the whole window if it is not in `log`). */
export function recentSales(log: readonly StoreEvent[], triggerId: string, sku: string): SalesWindow {
  const position = eventLog.positionOf(log, triggerId);
  const end = position < 0 ? log.length : position;
  const sales: SalesWindow = { units: 0, orders: 0 };
  for (let i = Math.max(0, end - RECENT_SALES_WINDOW); i < end; i++) {
    const event = log[i];
    if (event.type !== "OrderConfirmed") continue;
    const line = event.data.lines.find((l) => l.sku === sku);
    if (!line) continue;
    sales.units += line.qty;
    sales.orders += 1;
  }
  return sales;
}

/** The customer's newest orders, the one they named first. Never another customer's. */
function customerOrders(orders: Record<string, Order>, customerId: string, named?: string): Order[] {
  const mine = [...(ordersByCustomer(orders).get(customerId) ?? [])];
  mine.sort((a, b) => (a.placedAt === b.placedAt ? (a.orderId < b.orderId ? 1 : -1) : a.placedAt < b.placedAt ? 1 : -1));
  const first = named ? mine.filter((o) => o.orderId === named) : [];
  return [...first, ...mine.filter((o) => o.orderId !== named)].slice(0, CUSTOMER_ORDERS_IN_CONTEXT);
}
