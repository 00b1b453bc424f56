/**
 * What `history` says about each checkpoint (who wrote it, when, a one-line
 * summary, what runs next), computed once and kept beside the checkpoints:
 * in the SQLite file by this module's functions, in PostgreSQL by
 * `persistence/postgres.ts` (the same table); callers go through `StoreMeta`.
 *
 * Computing it needs the checkpoint's state and its parent's (a diff of the
 * two), which at depth means loading two cold states per line. A checkpoint
 * never changes, so neither does its line: the run that writes checkpoints
 * records theirs right after it (`recordNewSteps`, called by the store's
 * runs), and `history` computes any line still missing (checkpoints of older
 * versions, forks, rollbacks) on first read and stores it. A history page then
 * reads checkpoint headers and these rows, never a state.
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
import type { ShopstateSaver } from "../persistence/saver.js";
import { EMPTY_LOG, type EventStore } from "../persistence/event_store.js";
import { readLog, storeLog, type StoreLog } from "../persistence/store_log.js";
import { diffStates, summariseStep, type DiffSide } from "./diff.js";

/** Checkpoints recorded after one run at most; older missing ones are computed when read. */
const MAX_RECORDED_PER_RUN = 500;
const HEADER_PAGE = 50;

/** Where a step's log lives: the store's event store and thread. */
export interface StepLog {
  events: EventStore;
  threadId: string;
}

/** A checkpoint's record from its state snapshot and its parent's. */
export async function describeStep(snapshot: StateSnapshot, parent: StateSnapshot | undefined, where: StepLog): Promise<StepRecord> {
  const side = (s: StateSnapshot) => ({ values: s.values as State, log: storeLog(where.events, where.threadId, (s.values as State).log ?? EMPTY_LOG) });
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

/** Computes the records of checkpoints by loading their states (and their parents'), sharing loads between neighbours. */
export async function computeSteps(
  session: StepLog & { graph: StoreGraph },
  checkpoints: readonly { checkpointId: string; parentId?: string }[],
): Promise<Map<string, StepRecord>> {
  const loaded = new Map<string, StateSnapshot>();
  const load = async (id: string) => {
    let snapshot = loaded.get(id);
    if (!snapshot)
      loaded.set(id, (snapshot = await session.graph.getState({ configurable: { thread_id: session.threadId, checkpoint_ns: "", checkpoint_id: id } })));
    return snapshot;
  };
  const records = new Map<string, StepRecord>();
  for (const { checkpointId, parentId } of checkpoints)
    records.set(checkpointId, await describeStep(await load(checkpointId), parentId ? await load(parentId) : undefined, session));
  return records;
}

/**
 * Records the lines of the checkpoints a run just wrote: the newest ones back
 * to the first already recorded (at most `MAX_RECORDED_PER_RUN`). Their states
 * are still in the saver's memory, so this is cheap next to the run.
 */
export async function recordNewSteps(session: StepLog & { meta: StoreMeta; saver: ShopstateSaver; graph: StoreGraph }): Promise<void> {
  const pending: { checkpointId: string; parentId?: string }[] = [];
  let before: string | undefined;
  while (pending.length < MAX_RECORDED_PER_RUN) {
    const headers = await session.saver.listHeaders(session.threadId, { limit: HEADER_PAGE, before });
    const known = await session.meta.storedSteps(
      session.threadId,
      headers.map((h) => h.checkpointId),
    );
    const fresh = headers.findIndex((h) => known.has(h.checkpointId));
    pending.push(...headers.slice(0, fresh < 0 ? headers.length : fresh));
    if (fresh >= 0 || headers.length < HEADER_PAGE) break;
    before = headers[headers.length - 1].checkpointId;
  }
  // Oldest first: each one's parent was usually just loaded.
  await session.meta.storeSteps(session.threadId, await computeSteps(session, pending.slice(0, MAX_RECORDED_PER_RUN).reverse()));
}

/**
 * Who wrote a checkpoint: the parent's tasks ran and produced it. An update
 * that changes nothing is a rollback (`updateState` on a past checkpoint).
 */
async function writersOf(source: string, parent: StateSnapshot | undefined, before: DiffSide | undefined, current: DiffSide): Promise<string[]> {
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
