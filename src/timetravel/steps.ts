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
import type Database from "better-sqlite3";
import type { StateSnapshot } from "@langchain/langgraph";
import type { StoreGraph } from "../graph.js";
import type { State } from "../state.js";
import type { ShopstateSaver } from "../persistence/saver.js";
import { diffStates, summariseStep } from "./diff.js";

/** One checkpoint's history line, less what the checkpoint row itself says (id, parent, step, source, time). */
export interface StepRecord {
  /** The nodes that wrote this checkpoint (one per task), or `input` / `rollback` / `update`. */
  writers: string[];
  /** Time of the triggering event: the newest event the step appended, else the newest in the log. */
  at?: string;
  summary: string;
  /** Nodes that run next from here (empty at the end of a run). */
  next: string[];
}

/** Checkpoints recorded after one run at most; older missing ones are computed when read. */
const MAX_RECORDED_PER_RUN = 500;
const HEADER_PAGE = 50;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_steps (
  thread_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (thread_id, checkpoint_id)
) WITHOUT ROWID;`;

const ready = new WeakSet<Database.Database>();
function ensureTable(db: Database.Database): void {
  if (ready.has(db)) return;
  db.exec(SCHEMA);
  ready.add(db);
}

/** The stored records of some checkpoints of a thread (those that have one). */
export function storedSteps(db: Database.Database, threadId: string, checkpointIds: readonly string[]): Map<string, StepRecord> {
  ensureTable(db);
  const found = new Map<string, StepRecord>();
  if (checkpointIds.length === 0) return found;
  const rows = db
    .prepare("SELECT s.checkpoint_id AS id, s.record FROM json_each(?) j CROSS JOIN shopstate_steps s ON s.thread_id = ? AND s.checkpoint_id = j.value")
    .all(JSON.stringify(checkpointIds), threadId) as { id: string; record: string }[];
  for (const row of rows) found.set(row.id, JSON.parse(row.record) as StepRecord);
  return found;
}

export function storeSteps(db: Database.Database, threadId: string, records: ReadonlyMap<string, StepRecord>): void {
  if (records.size === 0) return;
  ensureTable(db);
  const insert = db.prepare("INSERT OR REPLACE INTO shopstate_steps (thread_id, checkpoint_id, record) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (const [id, record] of records) insert.run(threadId, id, JSON.stringify(record));
  })();
}

/** Removes the records of checkpoints that are gone (after a prune or a deleted store). */
export function forgetSteps(db: Database.Database, threadId: string, checkpointIds?: readonly string[]): void {
  ensureTable(db);
  if (checkpointIds === undefined) db.prepare("DELETE FROM shopstate_steps WHERE thread_id = ?").run(threadId);
  else db.prepare("DELETE FROM shopstate_steps WHERE thread_id = ? AND checkpoint_id IN (SELECT value FROM json_each(?))").run(threadId, JSON.stringify(checkpointIds));
}

/** A checkpoint's record from its state snapshot and its parent's. */
export function describeStep(snapshot: StateSnapshot, parent: StateSnapshot | undefined): StepRecord {
  const values = snapshot.values as State;
  const parentValues = parent?.values as State | undefined;
  const source = String(snapshot.metadata?.source ?? "");
  const writers = writersOf(source, parent, parentValues, values);
  return {
    writers,
    at: eventTime(parentValues, values),
    // An input checkpoint holds the run's input as pending writes, not yet in the state.
    summary: source === "input" ? "input: a run starts" : summariseStep(parentValues, values, writers),
    next: [...snapshot.next],
  };
}

/** Computes the records of checkpoints by loading their states (and their parents'), sharing loads between neighbours. */
export async function computeSteps(graph: StoreGraph, threadId: string, checkpoints: readonly { checkpointId: string; parentId?: string }[]): Promise<Map<string, StepRecord>> {
  const loaded = new Map<string, StateSnapshot>();
  const load = async (id: string) => {
    let snapshot = loaded.get(id);
    if (!snapshot) loaded.set(id, (snapshot = await graph.getState({ configurable: { thread_id: threadId, checkpoint_ns: "", checkpoint_id: id } })));
    return snapshot;
  };
  const records = new Map<string, StepRecord>();
  for (const { checkpointId, parentId } of checkpoints) records.set(checkpointId, describeStep(await load(checkpointId), parentId ? await load(parentId) : undefined));
  return records;
}

/** The part of a backend's `StoreMeta` that holds step records (named here, so this module does not import the backends that import it). */
export interface StepTable {
  storedSteps(threadId: string, checkpointIds: readonly string[]): Promise<Map<string, StepRecord>>;
  storeSteps(threadId: string, records: ReadonlyMap<string, StepRecord>): Promise<void>;
}

/**
 * Records the lines of the checkpoints a run just wrote: the newest ones back
 * to the first already recorded (at most `MAX_RECORDED_PER_RUN`). Their states
 * are still in the saver's memory, so this is cheap next to the run.
 */
export async function recordNewSteps(session: { meta: StepTable; saver: ShopstateSaver; graph: StoreGraph; threadId: string }): Promise<void> {
  const pending: { checkpointId: string; parentId?: string }[] = [];
  let before: string | undefined;
  while (pending.length < MAX_RECORDED_PER_RUN) {
    const headers = await session.saver.listHeaders(session.threadId, { limit: HEADER_PAGE, before });
    const known = await session.meta.storedSteps(session.threadId, headers.map((h) => h.checkpointId));
    const fresh = headers.findIndex((h) => known.has(h.checkpointId));
    pending.push(...headers.slice(0, fresh < 0 ? headers.length : fresh));
    if (fresh >= 0 || headers.length < HEADER_PAGE) break;
    before = headers[headers.length - 1].checkpointId;
  }
  // Oldest first: each one's parent was usually just loaded.
  await session.meta.storeSteps(session.threadId, await computeSteps(session.graph, session.threadId, pending.slice(0, MAX_RECORDED_PER_RUN).reverse()));
}

/**
 * Who wrote a checkpoint: the parent's tasks ran and produced it. An update
 * that changes nothing is a rollback (`updateState` on a past checkpoint).
 */
function writersOf(source: string, parent: StateSnapshot | undefined, parentValues: State | undefined, values: State): string[] {
  if (source === "input") return ["input"];
  // LangGraph's `__start__` task is the step that takes a run's input.
  if (source === "loop") return parent ? parent.tasks.map((t) => (t.name === "__start__" ? "start" : t.name)) : [];
  if (source === "update") {
    if (!parentValues) return ["update"];
    const diff = diffStates(parentValues, values);
    const same = diff.entities.length === 0 && diff.events.added.length === 0 && diff.events.removed.length === 0;
    return [same ? "rollback" : "update"];
  }
  return source ? [source] : [];
}

function eventTime(parentValues: State | undefined, values: State): string | undefined {
  const log = values.events ?? [];
  const added = log.slice(parentValues?.events?.length ?? 0);
  const times = (added.length > 0 ? added : log.slice(-1)).map((e) => e.at);
  return times.length > 0 ? times.reduce((a, b) => (a > b ? a : b)) : undefined;
}
