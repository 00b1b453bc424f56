/**
 * Replay and what-if (docs/time-travel.md, the LangGraph way): re-run a run from one of
 * its past checkpoints with `invoke(null, pastConfig)`, which forks a new
 * branch from it, and compare the outcome with the original branch. With
 * nothing changed the outcome is the same state (the team is deterministic);
 * a what-if forks at a checkpoint, feeds changed input and diffs the result
 * against the branch it left.
 */
import { INTERRUPT } from "@langchain/langgraph";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { State } from "../state.js";
import { ingestLines, type IngestOptions, type InputLine } from "../app/ingest.js";
import { withLease } from "../app/lease.js";
import type { RunOptions } from "../app/run.js";
import { logOf, type StoreSession } from "../app/session.js";
import { UsageError } from "../errors.js";
import { diffStates, type StateDiff } from "./diff.js";
import { checkpointConfig, checkpointIdOf, headTuple, resolveRef } from "./refs.js";
import { rollback } from "./rollback.js";

export interface ReplayResult {
  /** The checkpoint the run was re-run from. */
  from: string;
  /** Where that run ended on the original branch (the head's branch), if REF is on it. */
  original?: string;
  /** Where the re-run ended: the new head. */
  replayed: string;
  /** Original -> replayed; empty when the replay reproduced the original. */
  diff?: StateDiff;
  /** The same entities, tasks and events as the original (undefined without an original). */
  equivalent?: boolean;
  /**
   * Every channel equal byte for byte. Needs a saver that returns a step's
   * writes in the order the run applied them; the stock SqliteSaver does not,
   * so the two services' facts of one step may swap places in the log.
   */
  identical?: boolean;
}

/**
 * Re-runs the run that REF is part of, from REF. REF must be inside a run
 * (nodes still to run from it): an `input` checkpoint or a step of a run.
 */
export async function replayFrom(session: StoreSession, ref: string, options: RunOptions): Promise<ReplayResult> {
  return withLease(session, options.waitMs, async (lost) => {
    const target = await resolveRef(session, ref);
    const past = await session.graph.getState(target.config);
    if (past.next.length === 0) {
      throw new UsageError(
        `checkpoint ${target.checkpointId} is at the end of a run, so there is nothing to re-run from it; pick a checkpoint inside a run (history shows the 'input' step that starts each run)`,
      );
    }
    const originalId = await endOfRunOnHeadBranch(session, target.checkpointId);
    const original = originalId ? ((await session.graph.getState(checkpointConfig(session.threadId, originalId))).values as State) : undefined;
    // The run is re-decided under the policy it ran with, so a replay never records a PolicyChanged of its own.
    const threshold = (original ?? (past.values as State)).policy?.approvalThresholdCents ?? options.approvalThresholdCents;
    // A re-run that pauses at the approval gate returns its interrupt beside the values; the original's pause is compared without it.
    const { [INTERRUPT]: _pause, ...replayedValues } = (await session.graph.invoke(null, {
      ...target.config,
      signal: lost,
      recursionLimit: options.maxSteps,
      context: { approvalThresholdCents: threshold, model: undefined },
    })) as State & { [INTERRUPT]?: unknown };
    const replayed = checkpointIdOf((await headTuple(session))?.config) as string;
    if (!original) return { from: target.checkpointId, replayed };
    const identical = JSON.stringify(original) === JSON.stringify(replayedValues);
    const diff = await diffStates({ values: original, log: logOf(session, original) }, { values: replayedValues, log: logOf(session, replayedValues) });
    const equivalent = diff.entities.length === 0 && diff.events.added.length === 0 && diff.events.removed.length === 0;
    return { from: target.checkpointId, original: originalId, replayed, equivalent, identical, diff };
  });
}

/**
 * The last checkpoint of the run that `checkpointId` belongs to, on the
 * head's branch: walking back from the head, the checkpoint just before the
 * next run's `input` (or the head itself), or the checkpoint where the run
 * paused at the approval gate: the resume that followed (`approve`) was
 * another run, with a person's decisions a replay cannot know. Undefined when
 * the checkpoint is not an ancestor of the head.
 */
async function endOfRunOnHeadBranch(session: StoreSession, checkpointId: string): Promise<string | undefined> {
  let tuple: CheckpointTuple | undefined = await headTuple(session);
  let endOfRun: string | undefined;
  while (tuple) {
    const id = checkpointIdOf(tuple.config) as string;
    if (endOfRun === undefined || pausedAt(tuple)) endOfRun = id;
    if (id === checkpointId) return endOfRun === id ? undefined : endOfRun;
    // A new run (or a rollback) starts here, so the run before it ends at the parent.
    if (tuple.metadata?.source === "input" || tuple.metadata?.source === "update") endOfRun = undefined;
    tuple = tuple.parentConfig ? await session.saver.getTuple(tuple.parentConfig) : undefined;
  }
  return undefined;
}

/** Whether a run paused at this checkpoint: a task's interrupt is stored among its writes. */
function pausedAt(tuple: CheckpointTuple): boolean {
  return tuple.pendingWrites?.some(([, channel]) => channel === INTERRUPT) ?? false;
}

export interface WhatIfResult {
  /** The branch the what-if left, and its head. */
  originalHead: string;
  /** The fork made at REF. */
  fork: string;
  /** The head after running the changed input. */
  head: string;
  /** Original head -> what-if head. */
  diff: StateDiff;
}

/**
 * A what-if: fork at REF, run `lines` (the original input with something
 * changed) on the fork, and diff the outcome against the original head. The
 * original branch stays in history; `rollback` returns to it.
 */
export async function whatIf(session: StoreSession, ref: string, lines: InputLine[], options: IngestOptions): Promise<WhatIfResult> {
  const originalHead = checkpointIdOf((await headTuple(session))?.config);
  if (!originalHead) throw new UsageError(`store '${session.name}' has no checkpoints yet`);
  const original = (await session.graph.getState(checkpointConfig(session.threadId, originalHead))).values as State;
  const { newHead } = await rollback(session, ref, options.waitMs);
  const result = await ingestLines(session, lines, options);
  const after = (await session.graph.getState(checkpointConfig(session.threadId, result.checkpointId))).values as State;
  return {
    originalHead,
    fork: newHead,
    head: result.checkpointId,
    diff: await diffStates({ values: original, log: logOf(session, original) }, { values: after, log: logOf(session, after) }),
  };
}
