/**
 * inventory_agent: keeps shelves stocked. On a LowStockAlert it asks for a
 * reorder unless one is open (rule 7 is enforced by inventory_service too).
 * Subscribes to LowStockAlert and StockReceived.
 */
import { agentNode, type AgentDeps, type AgentSpec } from "../agents/runtime.js";
import { INVENTORY_INSTRUCTIONS } from "../agents/inventory/prompts.js";
import { inventoryTools } from "../agents/inventory/tools.js";

export const INVENTORY_AGENT: AgentSpec = { agent: "inventory_agent", instructions: INVENTORY_INSTRUCTIONS, tools: inventoryTools };

export function inventoryAgentNode(deps: AgentDeps = {}) {
  return agentNode(INVENTORY_AGENT, deps);
}
