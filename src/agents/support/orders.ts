/**
 * The support agent's way to a customer's orders beyond the newest few its
 * delivery carries: one reader, paged newest first, over the orders' streams
 * in the event store at the delivery's log pointer (`logOrderReader`).
 */
import { streamKey } from "../../domain/streams.js";
import type { Order, Product } from "../../domain/world.js";
import { orderById, ordersOfCustomer as ordersOfCustomerInLog, readLog, type StoreLog } from "../../persistence/store_log.js";

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
 * The customer's orders in the store's log at the task's pointer, each folded
 * from its stream in the event store: pages newest first (by when the order
 * was placed in the log), one order by id, products from their listing.
 */
export function logOrderReader(log: StoreLog): CustomerOrders {
  /** The order's id as the log spells it (ids are matched without regard to case). */
  const logged = async (orderId: string): Promise<string | undefined> => {
    const spellings = [...new Set([orderId.trim(), orderId.trim().toUpperCase(), orderId.trim().toLowerCase()])];
    const found = await log.store.existingStreams(
      log.threadId,
      log.at,
      spellings.map((id) => streamKey("order", id)),
    );
    return spellings.find((id) => found.has(streamKey("order", id)));
  };
  return {
    products: async (skus) => {
      const products: Product[] = [];
      for (const sku of new Set(skus)) {
        const listed = (await readLog(log, { stream: streamKey("sku", sku), types: ["ProductListed"], limit: 1 }))[0]?.event;
        if (listed?.type === "ProductListed") products.push({ ...listed.data });
      }
      return products;
    },
    page: async (customerId, { before, limit }) => {
      let to: number | undefined;
      if (before !== undefined) {
        const id = await logged(before);
        const placed = id ? (await readLog(log, { stream: streamKey("order", id), types: ["OrderPlaced"], limit: 1 }))[0] : undefined;
        // An unknown cursor, or another customer's order, gives an empty page rather than the newest orders again.
        if (!placed || (placed.event.data as { customerId?: string }).customerId !== customerId) return [];
        to = placed.position;
      }
      return (await ordersOfCustomerInLog(log, customerId, { limit, before: to })).orders;
    },
    get: async (customerId, orderId) => {
      const id = await logged(orderId);
      const order = id ? await orderById(log, id) : undefined;
      return order?.customerId === customerId ? order : undefined;
    },
  };
}
