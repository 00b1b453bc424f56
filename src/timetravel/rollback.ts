/**
 * Writes to a store's timeline: naming a checkpoint, and rolling back by
 * forking a new head from a past checkpoint. Nothing is ever deleted: the old
 * branch stays in history and another rollback returns to it. Both take the
 * store's write lease, like ingest.
 */
import type { State } from "../state.js";
import { withLease } from "../app/lease.js";
import type { StoreSession } from "../app/session.js";
import { UsageError } from "../errors.js";
import type { GraphTimeline } from "./history.js";
import { checkpointIdOf, headTuple, resolveRef, threadConfig } from "./refs.js";
import { TagExistsError, tagLabelProblem, type Tag } from "./tags.js";

export interface RollbackResult {
  /** The checkpoint rolled back to. */
  from: string;
  /** The new head: a child of `from` with exactly its state. */
  newHead: string;
  /** The head before the rollback, to return to it with another rollback. */
  previousHead?: string;
}

/**
 * Forks a new head from REF: `updateState` on the past checkpoint's config
 * with no values writes a child checkpoint that holds REF's state unchanged
 * (every channel, the event log and cursors included, and the same pending
 * nodes). The next ingest builds on it.
 */
export async function rollback(session: StoreSession, ref: string, waitMs?: number): Promise<RollbackResult> {
  return withLease(session, waitMs, async () => {
    const target = await resolveRef(session, ref);
    const previousHead = checkpointIdOf((await headTuple(session))?.config);
    const forked = await session.graph.updateState(target.config, undefined);
    return { from: target.checkpointId, newHead: checkpointIdOf(forked) as string, previousHead };
  });
}

/** Names the checkpoint REF (default: the head) in this store. */
export async function tagCheckpoint(session: StoreSession, label: string, ref = "head", waitMs?: number): Promise<Tag> {
  const problem = tagLabelProblem(label);
  if (problem) throw new UsageError(problem);
  return withLease(session, waitMs, async () => {
    const target = await resolveRef(session, ref);
    try {
      return await session.meta.addTag(session.threadId, label, target.checkpointId);
    } catch (error) {
      // A taken name is a usage error (exit 2), like any other bad argument.
      if (error instanceof TagExistsError) throw new UsageError(error.message);
      throw error;
    }
  });
}

export interface PointInTime {
  values: State;
  checkpointId: string;
  /** Nodes still to run from this checkpoint (empty at the end of a run). */
  next: string[];
}

/** The state at REF, or at the head when no reference is given. */
export async function stateAt(timeline: GraphTimeline, ref?: string): Promise<PointInTime> {
  const config = ref === undefined ? threadConfig(timeline.threadId) : (await resolveRef(timeline, ref)).config;
  const snapshot = await timeline.graph.getState(config);
  return { values: snapshot.values as State, checkpointId: checkpointIdOf(snapshot.config) ?? "", next: [...snapshot.next] };
}
