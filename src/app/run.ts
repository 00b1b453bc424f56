/**
 * Running the store graph on a store's thread: one run, and finishing a run
 * a killed process or the step limit left behind. Every command that runs the
 * graph goes through here (inside withLease).
 */
import { Command, GraphRecursionError, INTERRUPT, type StateSnapshot } from "@langchain/langgraph";
import { APPROVAL_GATE } from "../nodes/approval_gate.js";
import type { State } from "../state.js";
import { recordRunSteps, type RunCheckpoint } from "../timetravel/steps.js";
import type { StoreSession } from "./session.js";

export interface RunOptions {
  approvalThresholdCents: number;
  maxSteps: number;
  /** How long to wait for another writer of the same store. */
  waitMs?: number;
  /**
   * When checkpoints reach the disk (LangGraph's `durability`). Default "sync":
   * each is written before the next superstep starts, so a killed process loses
   * at most the step in flight; the other modes are for measuring its cost.
   */
  durability?: "sync" | "async" | "exit";
}

export interface RunOutcome {
  values: State;
  stepLimitHit: boolean;
  /** The run ended paused at the approval gate. */
  paused: boolean;
}

/** Resuming the approval gate with no decisions: its approvals stay pending. */
export const LEAVE_PENDING = new Command({ resume: { decisions: [] } });

/** Whether the thread is paused at the approval gate, waiting for decisions. */
export function pausedAtGate(snapshot: StateSnapshot): boolean {
  return snapshot.tasks.some((t) => t.name === APPROVAL_GATE && t.interrupts.length > 0);
}

/**
 * Whether the head checkpoint has a superstep to finish. Not `snapshot.next`:
 * it leaves out tasks whose writes were saved, so a process killed after every
 * task of a step finished but before the step's checkpoint would look done,
 * and that step's writes would never be applied (found by `npm run chaos`).
 */
export function unfinished(snapshot: StateSnapshot): boolean {
  return snapshot.tasks.length > 0;
}

/** One graph run on the store's thread; `lost` (the write lease's signal) stops it at its next step. */
export async function runGraph(session: StoreSession, input: Partial<State> | Command | null, options: RunOptions, lost?: AbortSignal): Promise<RunOutcome> {
  const checkpoints: RunCheckpoint[] = [];
  const outcome = await invokeGraph(session, input, options, checkpoints, lost);
  // The run's checkpoints get their history lines from what the run streamed (a failed run's get them when read).
  // With durability "exit" only the last checkpoint is saved: the others have no line to keep.
  if (options.durability !== "exit") await recordRunSteps(session, checkpoints);
  return outcome;
}

/**
 * `graph.invoke`, streaming the checkpoints beside the values: what `invoke`
 * returns (the last values, with the run's interrupts) and, in `checkpoints`,
 * every checkpoint the run wrote, as LangGraph saved it.
 */
async function invokeGraph(
  session: StoreSession,
  input: Partial<State> | Command | null,
  options: RunOptions,
  checkpoints: RunCheckpoint[],
  lost?: AbortSignal,
): Promise<RunOutcome> {
  try {
    const stream = await session.graph.stream(input as never, {
      ...session.config,
      signal: lost,
      // See RunOptions.durability and docs/reliability.md.
      durability: options.durability ?? "sync",
      recursionLimit: options.maxSteps,
      // Every traced run of this invocation (agents' model calls included) is searchable by store (docs/eval.md).
      metadata: { store: session.name },
      context: { approvalThresholdCents: options.approvalThresholdCents, model: undefined },
      streamMode: ["values", "checkpoints"],
    });
    let values: State | undefined;
    let interrupts = 0;
    for await (const [mode, chunk] of stream as AsyncIterable<[string, unknown]>) {
      if (mode === "checkpoints") checkpoints.push(chunk as RunCheckpoint);
      else if (chunk && typeof chunk === "object" && INTERRUPT in chunk) interrupts += (chunk[INTERRUPT] as unknown[]).length;
      else values = chunk as State;
    }
    return { values: values ?? ((await session.graph.getState(session.config)).values as State), stepLimitHit: false, paused: interrupts > 0 };
  } catch (error) {
    // A lost lease's abort is reported by withLease, with why.
    if (!(error instanceof GraphRecursionError)) throw error;
    return { values: (await session.graph.getState(session.config)).values as State, stepLimitHit: true, paused: false };
  }
}

/**
 * Runs a paused or interrupted run to its end: a run paused at the approval
 * gate is resumed with no decisions (its approvals stay pending), any other
 * is continued from its last checkpoint. Returns whether it hit the step limit.
 */
export async function finishPendingRun(session: StoreSession, options: RunOptions, lost?: AbortSignal): Promise<boolean> {
  const snapshot = await session.graph.getState(session.config);
  if (!unfinished(snapshot)) return false;
  return (await runGraph(session, pausedAtGate(snapshot) ? LEAVE_PENDING : null, options, lost)).stepLimitHit;
}

/**
 * Continues a run that stopped before its end (a killed process, the step
 * limit) from its last checkpoint, with `invoke(null)`: tasks whose writes
 * were saved are not run again. A pause at the approval gate is left as it is.
 */
export async function finishInterruptedRun(
  session: StoreSession,
  options: RunOptions,
  lost?: AbortSignal,
): Promise<{ stepLimitHit: boolean; paused: boolean; values: State }> {
  const snapshot = await session.graph.getState(session.config);
  const values = snapshot.values as State;
  if (!unfinished(snapshot) || pausedAtGate(snapshot)) return { stepLimitHit: false, paused: pausedAtGate(snapshot), values };
  const outcome = await runGraph(session, null, options, lost);
  return { stepLimitHit: outcome.stepLimitHit, paused: outcome.paused, values: outcome.values };
}

/** The store's state values at its head (or an empty state if it has none). */
export async function headValues(session: StoreSession): Promise<{ values: State; checkpointId: string }> {
  const snapshot = await session.graph.getState(session.config);
  return { values: snapshot.values as State, checkpointId: String(snapshot.config.configurable?.checkpoint_id ?? "") };
}
