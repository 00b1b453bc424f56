/**
 * The store team as one StateGraph. One round:
 *
 *   ingest -> order_service + inventory_service -> router -> agents (Send, in parallel)
 *                      ^                                          |
 *                      +------------------------------------------+
 *
 * The services decide inputs and proposals; the router hands each agent the
 * events it subscribes to; agents propose. When nothing is left the router
 * goes to `approval_gate`, which ends the run, or pauses it (interrupt) when
 * new refunds wait for a person and sends their decisions back to `ingest`.
 * Exported as a builder: the CLI compiles it with SQLite, tests with
 * MemorySaver, and the LangGraph server with its own checkpointer.
 */
import { setMaxListeners } from "node:events";
import { END, START, StateGraph, type BaseCheckpointSaver, type BaseStore } from "@langchain/langgraph";
import { approvalGate, APPROVAL_GATE } from "./approval_gate.js";
import { inventoryAgentNode } from "./agents/inventory/node.js";
import { marketingAgentNode } from "./agents/marketing/node.js";
import type { AgentDeps } from "./agents/runtime.js";
import { supportAgentNode } from "./agents/support/node.js";
import { ingest, StoreContextSchema } from "./ingest.js";
import type { FactEmbeddings } from "./memory/embeddings.js";
import { lazyEmbeddings } from "./memory/customer_memory.js";
import { routerNode } from "./routing.js";
import { inventoryService } from "./services/inventory_service.js";
import { orderService } from "./services/order_service.js";
import { createStoreState, StoreInput, StoreState } from "./state.js";

// A batch fans out one task per (event, agent) in one superstep, and LangGraph
// adds an abort listener per task to the run's signal: raise Node's warning
// threshold (10) so a busy batch does not print MaxListenersExceededWarning.
setMaxListeners(1_000);

export interface BuildOptions {
  /** The agents' models, retry policy, budgets and history search (defaults from config). */
  agents?: AgentDeps;
  /** Embeddings of the customer knowledge base (default from config: OpenAI with a key, else local). */
  embeddings?: FactEmbeddings;
  /** Delta channels' snapshot cadence; the default suits our SQLite saver (see state.ts). */
  snapshotFrequency?: number;
}

export function buildStoreGraph({ agents = {}, embeddings, snapshotFrequency }: BuildOptions = {}) {
  const state = snapshotFrequency === undefined ? StoreState : createStoreState(snapshotFrequency);
  return new StateGraph({ state, input: StoreInput, context: StoreContextSchema })
    .addNode("ingest", ingest)
    .addNode("order_service", orderService)
    .addNode("inventory_service", inventoryService)
    .addNode("router", routerNode(lazyEmbeddings(embeddings)), { ends: ["support_agent", "inventory_agent", "marketing_agent", APPROVAL_GATE] })
    .addNode("support_agent", supportAgentNode(agents))
    .addNode("inventory_agent", inventoryAgentNode(agents))
    .addNode("marketing_agent", marketingAgentNode(agents))
    .addNode(APPROVAL_GATE, approvalGate, { ends: ["ingest", END] })
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

export interface CompileOptions extends BuildOptions {
  checkpointer?: BaseCheckpointSaver | false;
  /** The knowledge store (the CLI's SqliteStore; the LangGraph server brings its own). Without one, agents get no history. */
  store?: BaseStore;
}

export function compileStoreGraph(options: CompileOptions = {}) {
  return buildStoreGraph(options).compile({ checkpointer: options.checkpointer, store: options.store, name: "store" });
}

export type StoreGraph = ReturnType<typeof compileStoreGraph>;
