/**
 * support_agent: answers customer messages, asks for refunds (the amount is
 * computed by order_service) and drafts replies. Sees only the customer's own
 * orders and history. Subscribes to CustomerMessage.
 */
import { HumanMessage } from "@langchain/core/messages";
import type { Delivery } from "../memory/context.js";
import type { Update } from "../state.js";
import { agentNode, type AgentDeps, type AgentSpec } from "../agents/runtime.js";
import { SUPPORT_INSTRUCTIONS } from "../agents/support/prompts.js";
import { supportTools } from "../agents/support/tools.js";

export { replyMessageId } from "../agents/support/tools.js";

export const SUPPORT_AGENT: AgentSpec = { agent: "support_agent", instructions: SUPPORT_INSTRUCTIONS, tools: supportTools };

/**
 * The transcript gets the customer's message, with an id from the event. The
 * reply is only a draft here: order_service adds it to the transcript when it
 * accepts the ReplyDrafted proposal, so a refused reply is never shown.
 */
export function transcript(delivery: Delivery): Update {
  const trigger = delivery.trigger;
  if (trigger.type !== "CustomerMessage") return {};
  return { messages: [new HumanMessage({ id: `msg-${trigger.id}`, content: trigger.data.text, name: safeName(trigger.data.customerId) })] };
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

export function supportAgentNode(deps: AgentDeps = {}) {
  return agentNode(SUPPORT_AGENT, deps, transcript);
}
