/**
 * support_agent: answers customer messages, asks for refunds (the amount is
 * computed by order_service) and drafts replies. Sees only the customer's own
 * orders and history. Subscribes to CustomerMessage.
 */
import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import type { Delivery } from "../../memory/context.js";
import type { Update } from "../../state.js";
import { agentNode, type AgentDeps, type AgentOutcome, type AgentSpec } from "../runtime.js";
import { SUPPORT_INSTRUCTIONS } from "./prompts.js";
import { replyMessageId, supportTools } from "./tools.js";

export { replyMessageId } from "./tools.js";

export const SUPPORT_AGENT: AgentSpec = { agent: "support_agent", instructions: SUPPORT_INSTRUCTIONS, tools: supportTools };

/** The transcript gets the customer's message and the drafted reply, with ids from the event. */
export function transcript(delivery: Delivery, outcome: AgentOutcome): Update {
  const trigger = delivery.trigger;
  if (trigger.type !== "CustomerMessage") return {};
  const reply = outcome.proposals.find((p) => p.type === "ReplyDrafted")?.data as { text?: unknown } | undefined;
  const messages: BaseMessage[] = [new HumanMessage({ id: `msg-${trigger.id}`, content: trigger.data.text, name: safeName(trigger.data.customerId) })];
  if (typeof reply?.text === "string") messages.push(new AIMessage({ id: replyMessageId(trigger.id), content: reply.text, name: "support_agent" }));
  return { messages };
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

export function supportAgentNode(deps: AgentDeps = {}) {
  return agentNode(SUPPORT_AGENT, deps, transcript);
}
