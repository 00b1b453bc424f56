/**
 * inventory_agent alone, for debugging it in Studio on one trigger event: the
 * world from a batch of input events, one task, each model answer and tool
 * result a step (src/agents/debug_graph.ts). Compiled without a checkpointer.
 */
import { compileAgentGraph } from "../src/agents/debug_graph.js";
import { INVENTORY_AGENT } from "../src/nodes/inventory_agent.js";

export const graph = compileAgentGraph(INVENTORY_AGENT);
