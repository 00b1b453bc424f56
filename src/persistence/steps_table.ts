/**
 * The stored history lines of checkpoints (`shopstate_steps`), in the SQLite
 * file; PostgreSQL holds the same table (`postgres.ts`). Callers go through
 * `StoreMeta`. What a line says is computed in `timetravel/steps.ts`.
 */
import type Database from "better-sqlite3";
import { decodeTaggedJson, encodeTagged } from "./codec.js";
import { dictionaryOf } from "./dictionaries.js";

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

/** A record as stored: JSON, deflated with the column's dictionary when that shortens it (`encodeTagged`). */
export function encodeStepRecord(record: StepRecord): Buffer | string {
  return encodeTagged(JSON.stringify(record), dictionaryOf("steps"));
}

/** A stored record: JSON text (every row before the dictionary, and short ones since), or a tagged BLOB. */
export function decodeStepRecord(stored: Uint8Array | string): StepRecord {
  return JSON.parse(decodeTaggedJson(stored, dictionaryOf("steps"), "shopstate_steps: a history line")) as StepRecord;
}

/**
 * A rowid table: lines are a few hundred bytes, and a WITHOUT ROWID table
 * (which this was) keeps rows in its key's b-tree, whose pages SQLite splits
 * in half as rows are appended, leaving them about half empty; a rowid table
 * fills its pages when rows are appended.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_steps (
  thread_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  -- JSON text, or a tagged BLOB (encodeStepRecord).
  record TEXT NOT NULL,
  PRIMARY KEY (thread_id, checkpoint_id)
);`;

function isWithoutRowid(db: Database.Database): boolean {
  const table = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'shopstate_steps'").get() as { sql: string } | undefined;
  return table !== undefined && /WITHOUT\s+ROWID/i.test(table.sql);
}

/** Moves the lines of a file written with the WITHOUT ROWID table into the new one (once; IMMEDIATE, so two processes cannot both do it). */
const migrate = (db: Database.Database) =>
  db.transaction(() => {
    if (!isWithoutRowid(db)) return;
    db.exec(`ALTER TABLE shopstate_steps RENAME TO shopstate_steps_without_rowid;
      ${SCHEMA}
      INSERT INTO shopstate_steps (thread_id, checkpoint_id, record) SELECT thread_id, checkpoint_id, record FROM shopstate_steps_without_rowid;
      DROP TABLE shopstate_steps_without_rowid;`);
  });

const ready = new WeakSet<Database.Database>();
function ensureTable(db: Database.Database): void {
  if (ready.has(db)) return;
  if (isWithoutRowid(db)) migrate(db).immediate();
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
    .all(JSON.stringify(checkpointIds), threadId) as { id: string; record: Uint8Array | string }[];
  for (const row of rows) found.set(row.id, decodeStepRecord(row.record));
  return found;
}

export function storeSteps(db: Database.Database, threadId: string, records: ReadonlyMap<string, StepRecord>): void {
  if (records.size === 0) return;
  ensureTable(db);
  const insert = db.prepare("INSERT OR REPLACE INTO shopstate_steps (thread_id, checkpoint_id, record) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (const [id, record] of records) insert.run(threadId, id, encodeStepRecord(record));
  })();
}

/** Removes the records of checkpoints that are gone (after a prune or a deleted store). */
export function forgetSteps(db: Database.Database, threadId: string, checkpointIds?: readonly string[]): void {
  ensureTable(db);
  if (checkpointIds === undefined) db.prepare("DELETE FROM shopstate_steps WHERE thread_id = ?").run(threadId);
  else
    db.prepare("DELETE FROM shopstate_steps WHERE thread_id = ? AND checkpoint_id IN (SELECT value FROM json_each(?))").run(
      threadId,
      JSON.stringify(checkpointIds),
    );
}
