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
 * Each node is a module of `src/nodes/`. Every node that reads or appends the
 * log gets the event store here; the state carries only the pointer. Exported as a builder: the CLI compiles it
 * with SQLite, tests with MemorySaver, and the LangGraph server with its own
 * checkpointer.
 */
import { setMaxListeners } from "node:events";
import { END, START, StateGraph, type BaseCheckpointSaver, type BaseStore } from "@langchain/langgraph";
import { boundDeltaSnapshots } from "./config.js";
import { approvalGateNode, APPROVAL_GATE } from "./nodes/approval_gate.js";
import { inventoryAgentNode } from "./nodes/inventory_agent.js";
import { marketingAgentNode } from "./nodes/marketing_agent.js";
import type { AgentDeps } from "./agents/runtime.js";
import { supportAgentNode } from "./nodes/support_agent.js";
import { ingestNode, StoreContextSchema } from "./nodes/ingest.js";
import type { FactEmbeddings } from "./memory/embeddings.js";
import { lazyEmbeddings } from "./memory/customer_memory.js";
import { routerNode } from "./nodes/router.js";
import type { EventStore } from "./persistence/event_store.js";
import { memoryEventStore } from "./persistence/sqlite_event_store.js";
import { inventoryServiceNode } from "./nodes/inventory_service.js";
import { orderServiceNode } from "./nodes/order_service.js";
import { MAX_SUPERSTEPS_WITHOUT_SNAPSHOT, StoreInput, StoreState } from "./state.js";

// A batch fans out one task per (event, agent) in one superstep, and LangGraph
// adds an abort listener per task to the run's signal: raise Node's warning
// threshold (10) so a busy batch does not print MaxListenersExceededWarning.
setMaxListeners(1_000);

export interface BuildOptions {
  /**
   * The event store holding the log (a table beside the checkpoints). Default:
   * a private in-memory one, for a graph compiled with MemorySaver in a test.
   */
  events?: EventStore;
  /** The agents' models, retry policy, budgets and history search (defaults from config). */
  agents?: AgentDeps;
  /** Embeddings of the customer knowledge base (default from config: OpenAI with a key, else local). */
  embeddings?: FactEmbeddings;
}

export function buildStoreGraph({ events = memoryEventStore(), agents = {}, embeddings }: BuildOptions = {}) {
  boundDeltaSnapshots(MAX_SUPERSTEPS_WITHOUT_SNAPSHOT);
  return new StateGraph({ state: StoreState, input: StoreInput, context: StoreContextSchema })
    .addNode("ingest", ingestNode(events))
    .addNode("order_service", orderServiceNode(events))
    .addNode("inventory_service", inventoryServiceNode(events))
    .addNode("router", routerNode(events, lazyEmbeddings(embeddings)), { ends: ["support_agent", "inventory_agent", "marketing_agent", APPROVAL_GATE] })
    .addNode("support_agent", supportAgentNode({ events, ...agents }))
    .addNode("inventory_agent", inventoryAgentNode(agents))
    .addNode("marketing_agent", marketingAgentNode(agents))
    .addNode(APPROVAL_GATE, approvalGateNode(events), { ends: ["ingest", END] })
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
