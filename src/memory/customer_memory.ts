/**
 * The knowledge store in the run: the router remembers the customer-facing
 * facts of new events, and gives each support delivery the customer's facts
 * closest to their message.
 *
 * The search runs in the router because only a node that holds the state
 * knows the branch's log: a fact counts only if its event is in this branch
 * before the trigger (after a rollback or a replay the store still holds
 * facts of abandoned branches and of the future). The agent's
 * `search_customer_history` tool then ranks within that pool.
 */
import type { BaseStore } from "@langchain/langgraph";
import { embeddingsFromConfig, type FactEmbeddings } from "./embeddings.js";
import type { Delivery } from "./context.js";
import { factsOf, recall, remember } from "./knowledge.js";
import { ordersById, readLog, type StoreLog } from "../persistence/store_log.js";
import type { State } from "../state.js";

/** The router's cursor for facts already remembered. */
export const KNOWLEDGE_CURSOR = "knowledge";
/** Facts a support delivery carries: the pool its history search ranks within. */
export const HISTORY_POOL = 20;

export interface KnowledgeRun {
  store: BaseStore;
  embeddings: FactEmbeddings;
  /** Keeps stores that share one knowledge store apart: the thread id. */
  scope?: string;
}

/** The knowledge run of a node, or undefined when the graph runs without a store. */
export function knowledgeRun(
  runtime: { store?: BaseStore; configurable?: Record<string, unknown> } | undefined,
  embeddings: () => FactEmbeddings,
): KnowledgeRun | undefined {
  if (!runtime?.store) return undefined;
  const threadId = runtime.configurable?.thread_id;
  return { store: runtime.store, embeddings: embeddings(), scope: typeof threadId === "string" ? threadId : undefined };
}

/** Remembers the facts of events after the cursor; returns the cursor update. */
export async function rememberNewFacts(state: Pick<State, "cursors" | "catalog">, log: StoreLog, kb: KnowledgeRun): Promise<Record<string, number>> {
  const from = state.cursors[KNOWLEDGE_CURSOR] ?? 0;
  if (log.at.length <= from) return {};
  const events = (await readLog(log, { from })).map((e) => e.event);
  // Refund facts name their customer through the order: load the orders the new events name.
  const orders = await ordersById(
    log,
    events.flatMap((e) => {
      const orderId = (e.data as { orderId?: unknown }).orderId;
      return typeof orderId === "string" ? [orderId] : [];
    }),
  );
  await remember(kb.store, factsOf(events, { orders, catalog: state.catalog }), kb.embeddings, kb.scope);
  return { [KNOWLEDGE_CURSOR]: log.at.length };
}

/** Fills each support delivery's history pool with the customer's facts closest to the message, from this branch only. */
export async function attachHistory(deliveries: readonly Delivery[], log: StoreLog, kb: KnowledgeRun): Promise<void> {
  for (const delivery of deliveries) {
    const trigger = delivery.trigger;
    if (trigger.type !== "CustomerMessage") continue;
    // A fact counts when its event is in this branch's log before the message.
    const inBranch = async (eventIds: readonly string[]) => {
      const found = await log.store.findIds(log.threadId, { branch: log.at.branch, length: Math.min(delivery.position, log.at.length) }, eventIds);
      return new Set(found.keys());
    };
    delivery.context.history = await recall(kb.store, {
      customerId: trigger.data.customerId,
      query: trigger.data.text,
      k: HISTORY_POOL,
      inBranch,
      embeddings: kb.embeddings,
      scope: kb.scope,
    });
  }
}

/** Embeddings chosen once per graph, on first use (the config is read then, not at import). */
export function lazyEmbeddings(given?: FactEmbeddings): () => FactEmbeddings {
  let embeddings = given;
  return () => (embeddings ??= embeddingsFromConfig());
}
