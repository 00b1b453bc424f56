/**
 * The one place the eval builds a store: the real store graph, compiled on
 * a fresh MemorySaver, with the model under test injected into every agent.
 * Its log and orders live in a private in-memory event store.
 */
import { MemorySaver } from "@langchain/langgraph";
import type { Callbacks } from "@langchain/core/callbacks/manager";
import type { AgentDeps } from "../agents/runtime.js";
import type { StoreEvent } from "../domain/events.js";
import type { Order } from "../domain/world.js";
import { compileStoreGraph } from "../graph.js";
import { EMPTY_LOG } from "../persistence/event_store.js";
import { memoryEventStore } from "../persistence/sqlite_event_store.js";
import { allOrders, storeLog, wholeLog } from "../persistence/store_log.js";
import type { State } from "../state.js";

/** Supersteps one eval run may take (a world of a few dozen events needs far fewer). */
const EVAL_RECURSION_LIMIT = 2_000;

export interface RunOptions {
  callbacks?: Callbacks;
  metadata?: Record<string, unknown>;
  tags?: string[];
}

/** The store after a run: its state, and its log and orders from its event store. */
export interface EvalSnapshot {
  state: State;
  events: StoreEvent[];
  orders: Record<string, Order>;
}

export interface EvalStore {
  /** Appends input events and runs the team until quiet (or until a refund waits for a person); the store after. */
  ingest(inbox: readonly unknown[], options?: RunOptions): Promise<EvalSnapshot>;
}

export function openEvalStore(agents: AgentDeps, storeName = "eval"): EvalStore {
  const events = memoryEventStore();
  const graph = compileStoreGraph({ checkpointer: new MemorySaver(), events, agents });
  return {
    ingest: async (inbox, options = {}) => {
      const state = (await graph.invoke(
        { inbox: [...inbox] },
        { configurable: { thread_id: storeName }, recursionLimit: EVAL_RECURSION_LIMIT, ...options, metadata: { store: storeName, ...options.metadata } },
      )) as State;
      const log = storeLog(events, storeName, state.log ?? EMPTY_LOG);
      return { state, events: await wholeLog(log), orders: await allOrders(log) };
    },
  };
}
