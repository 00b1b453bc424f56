/**
 * The support agent's way to a customer's orders beyond the newest few its
 * delivery carries: one reader, paged newest first. Today it reads the
 * store's `orders` channel (the state at the start of the task's step); when
 * orders move to per-order event streams, `storeOrderReader` is the one
 * function to re-point.
 */
import type { Order, Product } from "../../domain/world.js";

/** Where LangGraph puts a task's channel reader in its config (`CONFIG_KEY_READ`, not exported by the package). */
const CONFIG_KEY_READ = "__pregel_read";

export interface OrderPage {
  /** Only orders older than this one (an order id of the customer's); newest first from there. */
  before?: string;
  limit: number;
}

export interface CustomerOrders {
  /** A page of the customer's orders, newest first. */
  page(customerId: string, page: OrderPage): Order[] | Promise<Order[]>;
  /** The customer's order with this id (any case), or undefined if there is none or it is not theirs. */
  get(customerId: string, orderId: string): Order | undefined | Promise<Order | undefined>;
  /** The catalogue entries of these SKUs (the names an older order's lines need). */
  products(skus: readonly string[]): Product[] | Promise<Product[]>;
}

/** Newest first: later `placedAt`, then the larger id (the order the delivery's context uses). */
export function newestFirst(a: Order, b: Order): number {
  if (a.placedAt !== b.placedAt) return a.placedAt < b.placedAt ? 1 : -1;
  return a.orderId < b.orderId ? 1 : a.orderId > b.orderId ? -1 : 0;
}

/** A page of `customerId`'s orders among `orders`, newest first, starting after `before`. */
export function ordersOfCustomer(orders: Iterable<Order>, customerId: string, { before, limit }: OrderPage): Order[] {
  const mine = [...orders].filter((o) => o.customerId === customerId).sort(newestFirst);
  const start = before === undefined ? 0 : mine.findIndex((o) => o.orderId.toLowerCase() === before.trim().toLowerCase()) + 1;
  // An unknown cursor gives an empty page rather than the newest orders again.
  if (before !== undefined && start === 0) return [];
  return mine.slice(start, start + limit);
}

/** Orders held in memory (tests, and the delivery's own orders when no store is at hand). */
export function ordersIn(orders: readonly Order[], catalog: readonly Product[] = []): CustomerOrders {
  return {
    products: (skus) => catalog.filter((p) => skus.includes(p.sku)),
    page: (customerId, page) => ordersOfCustomer(orders, customerId, page),
    get: (customerId, orderId) => orders.find((o) => o.customerId === customerId && o.orderId.toLowerCase() === orderId.trim().toLowerCase()),
  };
}

/**
 * The store's orders as the running task sees them, read through the task's
 * config (LangGraph's channel read, the same one its state reads use); undefined
 * outside a graph run.
 */
export function storeOrderReader(configurable: Record<string, unknown> | undefined): CustomerOrders | undefined {
  const read = configurable?.[CONFIG_KEY_READ];
  if (typeof read !== "function") return undefined;
  const orders = (): Record<string, Order> => (read("orders", false) as Record<string, Order> | undefined) ?? {};
  const catalog = (): Record<string, Product> => (read("catalog", false) as Record<string, Product> | undefined) ?? {};
  return {
    products: (skus) => skus.map((sku) => catalog()[sku]).filter((p): p is Product => p !== undefined),
    page: (customerId, page) => ordersOfCustomer(Object.values(orders()), customerId, page),
    get: (customerId, orderId) => {
      const all = orders();
      const order = all[orderId.trim()] ?? Object.values(all).find((o) => o.orderId.toLowerCase() === orderId.trim().toLowerCase());
      return order?.customerId === customerId ? order : undefined;
    },
  };
}
