/**
 * What `history` says about each checkpoint (who wrote it, when, a one-line
 * summary, what runs next), computed once and kept beside the checkpoints:
 * in the SQLite file by this module's functions, in PostgreSQL by
 * `persistence/postgres.ts` (the same table); callers go through `StoreMeta`.
 *
 * Computing it needs the checkpoint's state and its parent's (a diff of the
 * two), which at depth means loading two cold states per line. A checkpoint
 * never changes, so neither does its line: a run records the lines of the
 * checkpoints it writes as it writes them (`recordRunSteps`, from LangGraph's
 * `checkpoints` stream, which carries each one's values and tasks, so no
 * state is read back, on any saver), and `history` computes any line still
 * missing (checkpoints of older versions, forks, rollbacks, a failed run's) on
 * first read and stores it. A history page then reads checkpoint headers and
 * these rows, never a state.
 *
 * Rows are keyed by checkpoint id (UUIDv6, unique across branches); a pruned
 * checkpoint's row is removed with it (`forgetSteps`).
 */
import type { StateSnapshot } from "@langchain/langgraph";
import type { StoreGraph } from "../graph.js";
import type { State } from "../state.js";
import type { StoreMeta } from "../persistence/backend.js";
import type { StepRecord } from "../persistence/steps_table.js";

export type { StepRecord };
import { EMPTY_LOG, type EventStore } from "../persistence/event_store.js";
import { readLog, storeLog, type StoreLog } from "../persistence/store_log.js";
import { diffStates, summariseStep, type DiffSide } from "./diff.js";
import { checkpointConfig, checkpointIdOf } from "./refs.js";

/** LangGraph's mark of a `Send` task in a task's path (`PUSH` in its constants, not exported). */
const PUSH = "__pregel_push";

/** Where a step's log lives: the store's event store and thread. */
export interface StepLog {
  events: EventStore;
  threadId: string;
}

/**
 * What a line is computed from: a checkpoint's values, metadata and the tasks
 * that run from it (a `StateSnapshot`, or a `checkpoints` stream event).
 */
export type StepSnapshot = Pick<StateSnapshot, "values" | "metadata" | "next"> & { tasks: readonly { name: string }[] };

/** A checkpoint's record from its state snapshot and its parent's. */
export async function describeStep(snapshot: StepSnapshot, parent: StepSnapshot | undefined, where: StepLog): Promise<StepRecord> {
  const side = (s: StepSnapshot) => ({ values: s.values as State, log: storeLog(where.events, where.threadId, (s.values as State).log ?? EMPTY_LOG) });
  const source = String(snapshot.metadata?.source ?? "");
  const current = side(snapshot);
  const before = parent ? side(parent) : undefined;
  const writers = await writersOf(source, parent, before, current);
  return {
    writers,
    at: await eventTime(before?.log, current.log),
    // An input checkpoint holds the run's input as pending writes, not yet in the state.
    summary: source === "input" ? "input: a run starts" : await summariseStep(before, current, writers),
    next: [...snapshot.next],
  };
}

/**
 * Computes the records of checkpoints from their states and their parents',
 * loading each state once (neighbours share loads); `known` holds states in
 * hand already (a run's streamed checkpoints), which are not loaded again.
 */
export async function computeSteps(
  session: StepLog & { graph: StoreGraph },
  checkpoints: readonly { checkpointId: string; parentId?: string }[],
  known: ReadonlyMap<string, StepSnapshot> = new Map(),
): Promise<Map<string, StepRecord>> {
  const loaded = new Map(known);
  const load = async (id: string) => {
    let snapshot = loaded.get(id);
    if (!snapshot) loaded.set(id, (snapshot = await session.graph.getState(checkpointConfig(session.threadId, id))));
    return snapshot;
  };
  const records = new Map<string, StepRecord>();
  for (const { checkpointId, parentId } of checkpoints)
    records.set(checkpointId, await describeStep(await load(checkpointId), parentId ? await load(parentId) : undefined, session));
  return records;
}

/** A checkpoint as LangGraph's `checkpoints` stream reports it while a run writes it. */
export interface RunCheckpoint extends StepSnapshot {
  tasks: readonly { name: string; path?: readonly unknown[] }[];
  config: { configurable?: Record<string, unknown> };
  parentConfig?: { configurable?: Record<string, unknown> };
}

/**
 * Records the lines of the checkpoints a run wrote, from what the run
 * streamed. The stream repeats the checkpoint a run resumes from (recorded
 * already, or computed when read); the first new checkpoint's parent is read
 * from the saver when the stream does not hold it.
 */
export async function recordRunSteps(session: StepLog & { meta: StoreMeta; graph: StoreGraph }, checkpoints: readonly RunCheckpoint[]): Promise<void> {
  const inOrder = asStateReads(session.graph);
  const streamed = new Map<string, StepSnapshot>();
  const parents = new Map<string, string | undefined>();
  for (const c of checkpoints) {
    const id = checkpointIdOf(c.config);
    if (!id) continue;
    streamed.set(id, inOrder(c));
    parents.set(id, checkpointIdOf(c.parentConfig));
  }
  const recorded = await session.meta.storedSteps(session.threadId, [...streamed.keys()]);
  const fresh = [...streamed.keys()].filter((id) => !recorded.has(id)).map((id) => ({ checkpointId: id, parentId: parents.get(id) }));
  await session.meta.storeSteps(session.threadId, await computeSteps(session, fresh, streamed));
}

/**
 * A streamed checkpoint's tasks in the order `getState` lists them, so a
 * recorded line equals one computed later: `Send` tasks first as sent, then
 * the nodes in the graph's order (a running loop lists the triggered nodes by name).
 */
function asStateReads(graph: StoreGraph): (c: RunCheckpoint) => StepSnapshot {
  const rank = new Map(Object.keys(graph.nodes).map((name, i) => [name, i]));
  const key = (t: RunCheckpoint["tasks"][number]) => (t.path?.[0] === PUSH ? -1 : (rank.get(t.name) ?? rank.size));
  return (c) => {
    const tasks = c.tasks
      .map((t, i) => ({ t, i }))
      .sort((a, b) => key(a.t) - key(b.t) || a.i - b.i)
      .map(({ t }) => t);
    return { values: c.values, metadata: c.metadata, tasks, next: tasks.map((t) => t.name) };
  };
}

/**
 * Who wrote a checkpoint: the parent's tasks ran and produced it. An update
 * that changes nothing is a rollback (`updateState` on a past checkpoint).
 */
async function writersOf(source: string, parent: StepSnapshot | undefined, before: DiffSide | undefined, current: DiffSide): Promise<string[]> {
  if (source === "input") return ["input"];
  // LangGraph's `__start__` task is the step that takes a run's input.
  if (source === "loop") return parent ? parent.tasks.map((t) => (t.name === "__start__" ? "start" : t.name)) : [];
  if (source === "update") {
    if (!before) return ["update"];
    const diff = await diffStates(before, current);
    const same = diff.entities.length === 0 && diff.events.added.length === 0 && diff.events.removed.length === 0;
    return [same ? "rollback" : "update"];
  }
  return source ? [source] : [];
}

/** Time of the triggering event: the newest event the step appended, else the newest in the log. */
async function eventTime(before: StoreLog | undefined, current: StoreLog): Promise<string | undefined> {
  const from = before && before.at.branch === current.at.branch ? Math.min(before.at.length, current.at.length) : current.at.length;
  const added = from < current.at.length ? await readLog(current, { from }) : await readLog(current, { descending: true, limit: 1 });
  const times = added.map((e) => e.event.at);
  return times.length > 0 ? times.reduce((a, b) => (a > b ? a : b)) : undefined;
}
