/**
 * The offline support clerk: what a careful clerk does with a customer
 * message, one tool call at a time — look the order up, request the refund
 * the message justifies (never more than the line, never an amount from the
 * message), then draft one reply. Unclear messages get a reply asking for
 * what is missing, and no refund.
 */
import type { RefundReason } from "../../domain/events.js";
import { formatCents } from "../../domain/money.js";
import type { Order, Product } from "../../domain/world.js";
import { CUSTOMER_ORDERS_IN_CONTEXT } from "../../memory/context.js";
import { readSupportMessage } from "./intent.js";
import { call, final, parsed, resultsOf, type Step, type Transcript } from "./steps.js";

export interface RefundRequest {
  orderId: string;
  sku: string;
  qty: number;
  reason: RefundReason;
}

export interface SupportDecision {
  /** The order the message is about, if known. */
  order?: Order;
  /** Every line to refund, in the order the customer named them. */
  refunds: RefundRequest[];
  reply: string;
  /** One line for the task result ("declined: …" for a manipulation attempt). */
  note: string;
  /** The message asks about an order the given orders do not settle (older orders might). */
  unresolved: boolean;
}

/** The decision for one message, given the customer's orders (newest first) and their products. */
export function decideSupport(text: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): SupportDecision {
  const intent = readSupportMessage(text, orderIdField, orders, products);
  const nameOf = (sku: string) => products.find((p) => p.sku === sku)?.name ?? sku;
  const decision = ((): Omit<SupportDecision, "unresolved"> => {
    switch (intent.kind) {
      case "manipulation":
        return {
          refunds: [],
          reply: "I can only help with your own orders under our refund policy. Tell me the order number and what went wrong, and I'll look into it.",
          note: "declined: message tried to override instructions",
        };
      case "refund": {
        if (intent.items.length === 0) {
          return {
            ...(intent.order ? { order: intent.order } : {}),
            refunds: [],
            reply: `I'm sorry to hear that. So I can help, please tell me ${intent.missing.join(" and ")}.`,
            note: `refund unclear: missing ${intent.missing.join(", ")}`,
          };
        }
        const refunds: RefundRequest[] = [];
        const said: string[] = [];
        const notes: string[] = [];
        for (const { order, line, qty: asked } of intent.items) {
          const refundable = line.qty - line.refundedQty;
          if (refundable <= 0) {
            said.push(`the ${nameOf(line.sku)} on order ${order.orderId} has already been refunded in full`);
            notes.push(`${order.orderId} ${line.sku} already refunded`);
            continue;
          }
          const qty = Math.min(asked ?? refundable, refundable);
          refunds.push({ orderId: order.orderId, sku: line.sku, qty, reason: intent.reason });
          said.push(`${qty} x ${nameOf(line.sku)} on order ${order.orderId} (${formatCents(qty * line.unitPriceCents)} at most)`);
          notes.push(`${order.orderId} ${line.sku} x${qty} (${intent.reason})`);
        }
        const order = intent.items[0].order;
        if (refunds.length === 0) return { order, refunds, reply: `${capitalise(said.join("; "))}.`, note: `refund declined: ${notes.join(", ")}` };
        return {
          order,
          refunds,
          reply: `I've asked for a refund of ${said.join(" and ")}. Larger refunds are checked by a person; you'll hear from us either way.`,
          note: `refund requested: ${notes.join(", ")}`,
        };
      }
      case "status":
      case "cancel": {
        const order = intent.order;
        if (!order) return { refunds: [], reply: "Could you tell me your order number so I can check?", note: `${intent.kind}: no order found` };
        const reply =
          intent.kind === "status"
            ? `Order ${order.orderId} is ${order.status}.`
            : order.status === "confirmed"
              ? `Order ${order.orderId} has not shipped yet; I've passed your cancellation request to the warehouse team.`
              : `Order ${order.orderId} is already ${order.status}, so it can't be cancelled; I can help with a return instead.`;
        return { order, refunds: [], reply, note: `${intent.kind}: ${order.orderId} is ${order.status}` };
      }
      case "unclear":
        return {
          refunds: [],
          reply: "Thanks for your message. Could you tell me your order number and how I can help?",
          note: "unclear message: asked for details",
        };
      default: {
        const exhaustive: never = intent.kind;
        throw new Error(`unhandled intent ${String(exhaustive)}`);
      }
    }
  })();
  if (intent.namedForeignOrder) decision.note += "; named an order that is not theirs";
  return { ...decision, unresolved: intent.unresolved };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** How many pages of older orders the clerk reads before it gives up looking. */
const MAX_ORDER_PAGES = 5;

interface OrderPageResult {
  orders: Order[];
  next: string | null;
}

/** The next step of the support clerk, from the transcript so far. */
export function supportStep(transcript: Transcript): Step {
  const { trigger, context } = transcript;
  if (trigger.type !== "CustomerMessage") return final(`ignored ${trigger.type}`);
  const { text, orderId } = trigger.data;

  // Orders as the lookups returned them (fresh) replace the prompt's copies; older pages come after the context's.
  const lookups = resultsOf(transcript, "lookup_order");
  const looked = lookups.map((r) => parsed<{ order: Order; products?: { sku: string; name: string }[] }>(r)).filter((r) => r !== undefined);
  const pages = resultsOf(transcript, "list_customer_orders").map((r) => parsed<OrderPageResult & { orders: (Order & { lines: { name?: string }[] })[] }>(r));
  const older = pages.flatMap((p) => p?.orders ?? []).filter((o) => !context.orders.some((c) => c.orderId === o.orderId));
  const fresh = (o: Order) => looked.find((l) => l.order.orderId === o.orderId)?.order ?? o;
  const orders = [...context.orders, ...older].map(fresh);
  const products = [...context.products];
  for (const order of older) {
    for (const line of order.lines as (Order["lines"][number] & { name?: string })[]) {
      if (line.name && !products.some((p) => p.sku === line.sku))
        products.push({ sku: line.sku, name: line.name, priceCents: line.unitPriceCents, reorderPoint: 0, reorderQty: 1 });
    }
  }
  const decision = decideSupport(text, orderId, orders, products);

  // The context holds only the newest orders: what it does not settle may be in older ones.
  const lastPage = pages.at(-1);
  const more = pages.length === 0 ? context.orders.length >= CUSTOMER_ORDERS_IN_CONTEXT : lastPage?.next !== null && lastPage !== undefined;
  if (decision.unresolved && more && pages.length < MAX_ORDER_PAGES && !decision.note.startsWith("declined")) {
    const oldest = orders.at(-1);
    return call("list_customer_orders", { ...(oldest ? { before: oldest.orderId } : {}), limit: 20 });
  }

  const about = [...new Set([decision.order?.orderId, ...decision.refunds.map((r) => r.orderId)].filter((id): id is string => id !== undefined))];
  const unlooked = about.find((id) => !lookups.some((r) => r.args.orderId === id));
  if (unlooked) return call("lookup_order", { orderId: unlooked });
  if (!decision.order && !decision.note.startsWith("declined") && resultsOf(transcript, "search_customer_history").length === 0) {
    return call("search_customer_history", { query: text.slice(0, 200) });
  }
  // A refused request is not repeated as is; a refused request for something else (a bad call) does not count.
  const refunds = resultsOf(transcript, "request_refund");
  const asked = (wanted: RefundRequest) => refunds.filter((r) => JSON.stringify(r.args) === JSON.stringify(wanted));
  const next = decision.refunds.find((wanted) => asked(wanted).length === 0);
  if (next) return call("request_refund", { ...next });
  const refused = decision.refunds.map((wanted) => asked(wanted).find((r) => !r.ok)).find((r) => r !== undefined);
  const replies = resultsOf(transcript, "draft_reply");
  if (replies.length === 0) {
    const reply = refused ? "I couldn't request that refund just now. Could you confirm the order number and which product it is about?" : decision.reply;
    return call("draft_reply", { text: reply, ...(decision.order ? { orderId: decision.order.orderId } : {}) });
  }
  return final(refused ? `refund refused by the tool: ${refused.content.replace(/^error:\s*/, "")}` : decision.note);
}
