/**
 * The support agent's tools. Read tools see only the delivery's selective
 * context (the customer's own orders and history); proposal tools draft
 * events for order_service, which computes every amount and decides.
 */
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { RefundReason } from "../../domain/events.js";
import { formatCents } from "../../domain/money.js";
import type { Order } from "../../domain/world.js";
import { recordDraft, ToolRefusal, type AgentSession } from "../session.js";

/** How many history items a search returns. */
export const HISTORY_RESULTS = 5;

export function replyMessageId(triggerId: string): string {
  return `msg-${triggerId}-reply`;
}

/** How many orders one page of `list_customer_orders` holds at most. */
export const ORDERS_PER_PAGE = 20;

/**
 * The customer's own order with this id (any case): one of the delivery's,
 * else an older one of theirs; or a refusal that does not say whose it is.
 */
async function ownOrder(session: AgentSession, orderId: string): Promise<Order> {
  const wanted = orderId.trim().toLowerCase();
  const order =
    session.delivery.context.orders.find((o) => o.orderId.toLowerCase() === wanted) ??
    (await session.customerOrders.get(customerMessage(session).customerId, orderId));
  if (!order) throw new ToolRefusal(`order ${orderId} is not among this customer's orders`);
  return order;
}

function customerMessage(session: AgentSession): { customerId: string; text: string } {
  const trigger = session.delivery.trigger;
  if (trigger.type !== "CustomerMessage") throw new ToolRefusal(`the trigger is a ${trigger.type}, not a customer message`);
  return trigger.data;
}

// The tools' argument schemas, built once (see inventory/tools.ts).
const LookupOrderArgs = z.object({ orderId: z.string().min(1).describe("The order id, e.g. ORD-1001") });
const ListOrdersArgs = z.object({
  before: z.string().min(1).optional().describe("Only orders older than this order id of the customer's"),
  limit: z.number().int().min(1).max(ORDERS_PER_PAGE).optional().describe(`Orders per page (at most ${ORDERS_PER_PAGE})`),
});
const SearchHistoryArgs = z.object({ query: z.string().min(1).max(500).describe("Words to look for, e.g. 'mug refund' or an order id") });
const RequestRefundArgs = z.object({
  orderId: z.string().min(1).describe("The customer's order the refund is for"),
  sku: z.string().min(1).describe("The SKU of the order line, e.g. SKU-MUG"),
  qty: z.number().int().positive().describe("Units to refund (at most what is left to refund on the line)"),
  reason: RefundReason.describe("Why: damaged, wrong_item, not_delivered, not_as_described, changed_mind or other"),
});
const DraftReplyArgs = z.object({
  text: z.string().min(1).max(4000).describe("The reply to the customer, in plain words"),
  orderId: z.string().min(1).optional().describe("The customer's order the reply is about, if any"),
});

export function supportTools(session: AgentSession) {
  const { products } = session.delivery.context;
  /** Names of the SKUs: the delivery's products, else the catalogue's (an older order's products are not in the context). */
  const namesOf = async (skus: readonly string[]) => {
    const known = new Map(products.map((p) => [p.sku, p.name]));
    const rest = skus.filter((s) => !known.has(s));
    if (rest.length > 0) for (const p of await session.customerOrders.products(rest)) known.set(p.sku, p.name);
    return (sku: string) => known.get(sku) ?? sku;
  };

  const lookupOrder = tool(
    async ({ orderId }) => {
      const order = await ownOrder(session, orderId);
      const nameOf = await namesOf(order.lines.map((l) => l.sku));
      return JSON.stringify({ order, products: order.lines.map((l) => ({ sku: l.sku, name: nameOf(l.sku) })) });
    },
    {
      name: "lookup_order",
      description: "Look up one of the customer's orders: status, lines (SKU, quantity, unit price, units already refunded) and version.",
      schema: LookupOrderArgs,
    },
  );

  const listOrders = tool(
    async ({ before, limit }) => {
      const { customerId } = customerMessage(session);
      const orders = await session.customerOrders.page(customerId, { ...(before ? { before } : {}), limit: limit ?? ORDERS_PER_PAGE });
      const next = orders.length === (limit ?? ORDERS_PER_PAGE) ? orders.at(-1)?.orderId : undefined;
      const nameOf = await namesOf([...new Set(orders.flatMap((o) => o.lines.map((l) => l.sku)))]);
      const page = orders.map((o) => ({ ...o, lines: o.lines.map((l) => ({ ...l, name: nameOf(l.sku) })) }));
      return JSON.stringify({ orders: page, next: next ?? null });
    },
    {
      name: "list_customer_orders",
      description: `Page through this customer's orders, newest first (the context holds only the newest few). Give 'before' (an order id, e.g. the oldest one you have) to get older ones; 'next' is the cursor for the page after, null at the end.`,
      schema: ListOrdersArgs,
    },
  );

  const searchHistory = tool(
    async ({ query }) => {
      const facts = await session.searchHistory(session.delivery, query, HISTORY_RESULTS);
      return JSON.stringify(facts.map(({ eventId, kind, text, at, orderId }) => ({ eventId, kind, text, at, ...(orderId ? { orderId } : {}) })));
    },
    {
      name: "search_customer_history",
      description: `Search this customer's past orders, refunds and replies by words; returns at most ${HISTORY_RESULTS} items, best first.`,
      schema: SearchHistoryArgs,
    },
  );

  const requestRefund = tool(
    async ({ orderId, sku, qty, reason }) => {
      const { text } = customerMessage(session);
      const order = await ownOrder(session, orderId);
      const line = order.lines.find((l) => l.sku.toLowerCase() === sku.trim().toLowerCase());
      if (!line) throw new ToolRefusal(`order ${order.orderId} has no line for ${sku} (lines: ${order.lines.map((l) => l.sku).join(", ")})`);
      // The task's first refund of an order carries the version it saw; a second line of that order cannot (the first
      // one changes the version), and rule 3 still caps it against the order as it then is.
      const earlier = session.drafts.some((d) => d.type === "RefundRequested" && (d.data as { orderId?: string }).orderId === order.orderId);
      recordDraft(session, {
        type: "RefundRequested",
        data: { orderId: order.orderId, sku: line.sku, qty, reason, note: text.slice(0, 200) },
        basedOn: earlier ? [] : [{ entity: `order:${order.orderId}`, version: order.version }],
      });
      const refundable = Math.max(0, line.qty - line.refundedQty);
      return `requested: refund of ${qty} x ${line.sku} on ${order.orderId} (${reason}). order_service computes the amount (at most ${formatCents(Math.min(qty, refundable) * line.unitPriceCents)}) and refunds above the approval threshold wait for a person.`;
    },
    {
      name: "request_refund",
      description: "Ask order_service to refund units of one line of the customer's order. You never give an amount: the service computes it from the order.",
      schema: RequestRefundArgs,
    },
  );

  const draftReply = tool(
    async ({ text, orderId }) => {
      const { customerId } = customerMessage(session);
      const order = orderId === undefined ? undefined : await ownOrder(session, orderId);
      recordDraft(
        session,
        {
          type: "ReplyDrafted",
          data: { customerId, ...(order ? { orderId: order.orderId } : {}), messageId: replyMessageId(session.delivery.trigger.id), text },
        },
        { replace: true },
      );
      return "drafted: the reply will be sent when the task completes (a later draft replaces it)";
    },
    {
      name: "draft_reply",
      description: "Draft the reply to the customer's message. Call it once you know what to say; a later call replaces the draft.",
      schema: DraftReplyArgs,
    },
  );

  return [lookupOrder, listOrders, searchHistory, requestRefund, draftReply];
}
