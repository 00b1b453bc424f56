/**
 * The store team as one StateGraph. One round:
 *
 *   ingest -> order_service + inventory_service -> router -> agents (Send, in parallel)
 *                      ^                                          |
 *                      +------------------------------------------+
 *
 * The services decide inputs and proposals; the router hands each agent the
 * events it subscribes to; agents propose; the loop ends when nothing is left.
 * Exported as a builder: the CLI compiles it with SQLite, tests with
 * MemorySaver, and the LangGraph server with its own checkpointer.
 */
import { setMaxListeners } from "node:events";
import { END, START, StateGraph, type BaseCheckpointSaver, type BaseStore } from "@langchain/langgraph";
import { inventoryAgent } from "./agents/inventory/node.js";
import { marketingAgent } from "./agents/marketing/node.js";
import { supportAgent } from "./agents/support/node.js";
import { ingest, StoreContextSchema } from "./ingest.js";
import { router } from "./routing.js";
import { inventoryService } from "./services/inventory_service.js";
import { orderService } from "./services/order_service.js";
import { createStoreState, StoreState } from "./state.js";

// A batch fans out one task per (event, agent) in one superstep, and LangGraph
// adds an abort listener per task to the run's signal: raise Node's warning
// threshold (10) so a busy batch does not print MaxListenersExceededWarning.
setMaxListeners(1_000);

export function buildStoreGraph(state: typeof StoreState = StoreState) {
  return new StateGraph(state, StoreContextSchema)
    .addNode("ingest", ingest)
    .addNode("order_service", orderService)
    .addNode("inventory_service", inventoryService)
    .addNode("router", router, { ends: ["support_agent", "inventory_agent", "marketing_agent", END] })
    .addNode("support_agent", supportAgent)
    .addNode("inventory_agent", inventoryAgent)
    .addNode("marketing_agent", marketingAgent)
    .addEdge(START, "ingest")
    .addEdge("ingest", "order_service")
    .addEdge("ingest", "inventory_service")
    .addEdge(["order_service", "inventory_service"], "router")
    .addEdge("support_agent", "order_service")
    .addEdge("support_agent", "inventory_service")
    .addEdge("inventory_agent", "order_service")
    .addEdge("inventory_agent", "inventory_service")
    .addEdge("marketing_agent", "order_service")
    .addEdge("marketing_agent", "inventory_service");
}

export interface CompileOptions {
  checkpointer?: BaseCheckpointSaver | false;
  store?: BaseStore;
  /** Delta channels' snapshot cadence; the default suits our SQLite saver (see state.ts). */
  snapshotFrequency?: number;
}

export function compileStoreGraph(options: CompileOptions = {}) {
  const state = options.snapshotFrequency === undefined ? StoreState : createStoreState(options.snapshotFrequency);
  return buildStoreGraph(state).compile({ checkpointer: options.checkpointer, store: options.store, name: "store" });
}

export type StoreGraph = ReturnType<typeof compileStoreGraph>;
