/**
 * The one place the eval builds a store: the real store graph, compiled on
 * a fresh MemorySaver, with the model under test injected into every agent.
 * When the core's graph API changes (an event store beside the checkpointer),
 * this is the function to change.
 */
import { MemorySaver } from "@langchain/langgraph";
import type { Callbacks } from "@langchain/core/callbacks/manager";
import type { AgentDeps } from "../agents/runtime.js";
import { compileStoreGraph } from "../graph.js";
import type { State } from "../state.js";

/** Supersteps one eval run may take (a world of a few dozen events needs far fewer). */
const EVAL_RECURSION_LIMIT = 2_000;

export interface RunOptions {
  callbacks?: Callbacks;
  metadata?: Record<string, unknown>;
  tags?: string[];
}

export interface EvalStore {
  /** Appends input events and runs the team until quiet (or until a refund waits for a person); the state after. */
  ingest(inbox: readonly unknown[], options?: RunOptions): Promise<State>;
}

export function openEvalStore(agents: AgentDeps, storeName = "eval"): EvalStore {
  const graph = compileStoreGraph({ checkpointer: new MemorySaver(), agents });
  return {
    ingest: async (inbox, options = {}) =>
      (await graph.invoke({ inbox: [...inbox] }, { configurable: { thread_id: storeName }, recursionLimit: EVAL_RECURSION_LIMIT, ...options, metadata: { store: storeName, ...options.metadata } })) as State,
  };
}
