/**
 * marketing_agent: drafts posts for new products and pauses a product's
 * promotion while it is low on stock, resuming it when stock recovers.
 * Subscribes to ProductAdded, LowStockAlert and InventoryUpdated.
 */
import { agentNode, type AgentDeps, type AgentSpec } from "../agents/runtime.js";
import { MARKETING_INSTRUCTIONS } from "../agents/marketing/prompts.js";
import { marketingTools } from "../agents/marketing/tools.js";

export const MARKETING_AGENT: AgentSpec = { agent: "marketing_agent", instructions: MARKETING_INSTRUCTIONS, tools: marketingTools };

export function marketingAgentNode(deps: AgentDeps = {}) {
  return agentNode(MARKETING_AGENT, deps);
}
