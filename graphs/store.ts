/**
 * The store team for `langgraph.json` (Studio and the LangGraph server).
 * Compiled without a checkpointer: the server supplies its own.
 */
import { compileStoreGraph } from "../src/graph.js";

export const graph = compileStoreGraph();
