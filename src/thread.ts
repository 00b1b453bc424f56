/**
 * The store a graph run belongs to: its thread. One store is one thread; the
 * event store keys every event by it.
 */
import type { RunnableConfig } from "@langchain/core/runnables";

/** Thread of a run made without a checkpointer (nothing to resume; its events are keyed apart). */
export const NO_THREAD = "no-thread";

export function threadIdOf(config: Pick<RunnableConfig, "configurable"> | undefined): string {
  const threadId = config?.configurable?.thread_id;
  return typeof threadId === "string" && threadId.length > 0 ? threadId : NO_THREAD;
}
