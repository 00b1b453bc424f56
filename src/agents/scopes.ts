/**
 * Which tools belong to which agent. The runtime offers an agent only its
 * own tools; a call to another agent's tool is a scope conflict, never an
 * effect (docs/RULES.md rule 12).
 */
import type { AgentName, ProposalType } from "../domain/proposals.js";

export const AGENT_TOOLS = {
  support_agent: ["lookup_order", "search_customer_history", "request_refund", "draft_reply"],
  inventory_agent: ["read_stock", "request_reorder"],
  marketing_agent: ["read_product", "draft_post", "pause_promotion", "resume_promotion"],
} as const satisfies Record<AgentName, readonly string[]>;

export type ToolName = (typeof AGENT_TOOLS)[AgentName][number];

/** The event each proposal tool drafts; the other tools only read. */
export const TOOL_PROPOSES: Partial<Record<ToolName, ProposalType>> = {
  request_refund: "RefundRequested",
  draft_reply: "ReplyDrafted",
  request_reorder: "ReorderRequested",
  draft_post: "PostDrafted",
  pause_promotion: "PromotionPaused",
  resume_promotion: "PromotionResumed",
};

/** The agent a tool belongs to, or undefined for a name no agent has. */
export function toolOwner(name: string): AgentName | undefined {
  for (const [agent, tools] of Object.entries(AGENT_TOOLS) as [AgentName, readonly string[]][]) if (tools.includes(name)) return agent;
  return undefined;
}
