/**
 * support_agent: answers customer messages, asks for refunds (the amount is
 * computed by order_service) and drafts replies. Sees only the customer's own
 * orders. Subscribes to CustomerMessage.
 */
import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { formatCents } from "../../domain/money.js";
import type { Delivery } from "../../memory/context.js";
import type { Update } from "../../state.js";
import { runAgent, type AgentOutcome, type ProposalDraft } from "../runtime.js";
import { readSupportMessage } from "./intent.js";

export function replyMessageId(triggerId: string): string {
  return `msg-${triggerId}-reply`;
}

/** The rule-based clerk behind the support agent's interface. */
export function supportClerk(delivery: Delivery): AgentOutcome {
  const trigger = delivery.trigger;
  if (trigger.type !== "CustomerMessage") return { proposals: [], note: `ignored ${trigger.type}` };
  const { customerId, text, orderId } = trigger.data;
  const { orders, products } = delivery.context;
  const intent = readSupportMessage(text, orderId, orders, products);
  const proposals: ProposalDraft[] = [];
  const nameOf = (sku: string) => products.find((p) => p.sku === sku)?.name ?? sku;
  let reply: string;
  let note: string;

  switch (intent.kind) {
    case "manipulation":
      reply = "I can only help with your own orders under our refund policy. Tell me the order number and what went wrong, and I'll look into it.";
      note = "declined: message tried to override instructions";
      break;
    case "refund": {
      if (!intent.order || !intent.line) {
        reply = `I'm sorry to hear that. So I can help, please tell me ${intent.missing.join(" and ")}.`;
        note = `refund unclear: missing ${intent.missing.join(", ")}`;
        break;
      }
      const { order, line } = intent;
      const refundable = line.qty - line.refundedQty;
      if (refundable <= 0) {
        reply = `The ${nameOf(line.sku)} on order ${order.orderId} has already been refunded in full.`;
        note = `refund declined: ${order.orderId} ${line.sku} already refunded`;
        break;
      }
      const qty = Math.min(intent.qty ?? refundable, refundable);
      proposals.push({
        type: "RefundRequested",
        data: { orderId: order.orderId, sku: line.sku, qty, reason: intent.reason, note: text.slice(0, 200) },
        basedOn: [{ entity: `order:${order.orderId}`, version: order.version }],
      });
      reply = `I've asked for a refund of ${qty} x ${nameOf(line.sku)} on order ${order.orderId} (${formatCents(qty * line.unitPriceCents)} at most). Larger refunds are checked by a person; you'll hear from us either way.`;
      note = `refund requested: ${order.orderId} ${line.sku} x${qty} (${intent.reason})`;
      break;
    }
    case "status":
    case "cancel":
      if (!intent.order) {
        reply = "Could you tell me your order number so I can check?";
        note = `${intent.kind}: no order found`;
        break;
      }
      reply =
        intent.kind === "status"
          ? `Order ${intent.order.orderId} is ${intent.order.status}.`
          : intent.order.status === "confirmed"
            ? `Order ${intent.order.orderId} has not shipped yet; I've passed your cancellation request to the warehouse team.`
            : `Order ${intent.order.orderId} is already ${intent.order.status}, so it can't be cancelled; I can help with a return instead.`;
      note = `${intent.kind}: ${intent.order.orderId} is ${intent.order.status}`;
      break;
    case "unclear":
      reply = "Thanks for your message. Could you tell me your order number and how I can help?";
      note = "unclear message: asked for details";
      break;
    default: {
      const exhaustive: never = intent.kind;
      throw new Error(`unhandled intent ${String(exhaustive)}`);
    }
  }
  if (intent.namedForeignOrder) note += "; named an order that is not theirs";
  const replyOrder = intent.order?.orderId;
  proposals.push({ type: "ReplyDrafted", data: { customerId, ...(replyOrder ? { orderId: replyOrder } : {}), messageId: replyMessageId(trigger.id), text: reply } });
  return { proposals, note };
}

/** The transcript gets the customer's message and the drafted reply, with ids from the event. */
function transcript(delivery: Delivery, outcome: AgentOutcome): Update {
  const trigger = delivery.trigger;
  if (trigger.type !== "CustomerMessage") return {};
  const reply = outcome.proposals.find((p) => p.type === "ReplyDrafted")?.data as { text: string } | undefined;
  const messages: BaseMessage[] = [new HumanMessage({ id: `msg-${trigger.id}`, content: trigger.data.text, name: safeName(trigger.data.customerId) })];
  if (reply) messages.push(new AIMessage({ id: replyMessageId(trigger.id), content: reply.text, name: "support_agent" }));
  return { messages };
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

export function supportAgent(delivery: Delivery): Promise<Update> {
  return runAgent(delivery, supportClerk, (outcome) => transcript(delivery, outcome));
}
