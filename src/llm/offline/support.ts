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
import { readSupportMessage } from "./intent.js";
import { call, final, parsed, resultsOf, type Step, type Transcript } from "./steps.js";

export interface SupportDecision {
  /** The order the message is about, if known. */
  order?: Order;
  refund?: { orderId: string; sku: string; qty: number; reason: RefundReason };
  reply: string;
  /** One line for the task result ("declined: …" for a manipulation attempt). */
  note: string;
}

/** The decision for one message, given the customer's orders (newest first) and their products. */
export function decideSupport(text: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): SupportDecision {
  const intent = readSupportMessage(text, orderIdField, orders, products);
  const nameOf = (sku: string) => products.find((p) => p.sku === sku)?.name ?? sku;
  const decision = ((): SupportDecision => {
    switch (intent.kind) {
      case "manipulation":
        return {
          reply: "I can only help with your own orders under our refund policy. Tell me the order number and what went wrong, and I'll look into it.",
          note: "declined: message tried to override instructions",
        };
      case "refund": {
        if (!intent.order || !intent.line) {
          return { ...(intent.order ? { order: intent.order } : {}), reply: `I'm sorry to hear that. So I can help, please tell me ${intent.missing.join(" and ")}.`, note: `refund unclear: missing ${intent.missing.join(", ")}` };
        }
        const { order, line } = intent;
        const refundable = line.qty - line.refundedQty;
        if (refundable <= 0) {
          return { order, reply: `The ${nameOf(line.sku)} on order ${order.orderId} has already been refunded in full.`, note: `refund declined: ${order.orderId} ${line.sku} already refunded` };
        }
        const qty = Math.min(intent.qty ?? refundable, refundable);
        return {
          order,
          refund: { orderId: order.orderId, sku: line.sku, qty, reason: intent.reason },
          reply: `I've asked for a refund of ${qty} x ${nameOf(line.sku)} on order ${order.orderId} (${formatCents(qty * line.unitPriceCents)} at most). Larger refunds are checked by a person; you'll hear from us either way.`,
          note: `refund requested: ${order.orderId} ${line.sku} x${qty} (${intent.reason})`,
        };
      }
      case "status":
      case "cancel": {
        const order = intent.order;
        if (!order) return { reply: "Could you tell me your order number so I can check?", note: `${intent.kind}: no order found` };
        const reply =
          intent.kind === "status"
            ? `Order ${order.orderId} is ${order.status}.`
            : order.status === "confirmed"
              ? `Order ${order.orderId} has not shipped yet; I've passed your cancellation request to the warehouse team.`
              : `Order ${order.orderId} is already ${order.status}, so it can't be cancelled; I can help with a return instead.`;
        return { order, reply, note: `${intent.kind}: ${order.orderId} is ${order.status}` };
      }
      case "unclear":
        return { reply: "Thanks for your message. Could you tell me your order number and how I can help?", note: "unclear message: asked for details" };
      default: {
        const exhaustive: never = intent.kind;
        throw new Error(`unhandled intent ${String(exhaustive)}`);
      }
    }
  })();
  if (intent.namedForeignOrder) decision.note += "; named an order that is not theirs";
  return decision;
}

/** The next step of the support clerk, from the transcript so far. */
export function supportStep(transcript: Transcript): Step {
  const { trigger, context } = transcript;
  if (trigger.type !== "CustomerMessage") return final(`ignored ${trigger.type}`);
  const { text, orderId } = trigger.data;

  // Orders as the lookups returned them (fresh) replace the prompt's copies.
  const lookups = resultsOf(transcript, "lookup_order");
  const looked = lookups.map((r) => parsed<{ order: Order }>(r)?.order).filter((o): o is Order => o !== undefined);
  const orders = context.orders.map((o) => looked.find((l) => l.orderId === o.orderId) ?? o);
  const decision = decideSupport(text, orderId, orders, context.products);

  if (decision.order && !lookups.some((r) => r.args.orderId === decision.order?.orderId)) return call("lookup_order", { orderId: decision.order.orderId });
  if (!decision.order && !decision.note.startsWith("declined") && resultsOf(transcript, "search_customer_history").length === 0) {
    return call("search_customer_history", { query: text.slice(0, 200) });
  }
  // A refused request is not repeated as is; a refused request for something else (a bad call) does not count.
  const refunds = resultsOf(transcript, "request_refund");
  const wanted = decision.refund;
  const asked = wanted ? refunds.filter((r) => JSON.stringify(r.args) === JSON.stringify(wanted)) : [];
  if (wanted && asked.length === 0) return call("request_refund", { ...wanted });
  const refused = asked.find((r) => !r.ok);
  const replies = resultsOf(transcript, "draft_reply");
  if (replies.length === 0) {
    const reply = refused ? "I couldn't request that refund just now. Could you confirm the order number and which product it is about?" : decision.reply;
    return call("draft_reply", { text: reply, ...(decision.order ? { orderId: decision.order.orderId } : {}) });
  }
  return final(refused ? `refund refused by the tool: ${refused.content.replace(/^error:\s*/, "")}` : decision.note);
}
