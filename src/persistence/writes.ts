/**
 * Pending writes, one row per task and `putWrites` call rather than one per
 * write.
 *
 * A router step fans out dozens of `Send`s; stored one row each (as the stock
 * saver does) the keys (thread, checkpoint, task ids, task path) outweighed the
 * values, and each small value deflated poorly. One row per task keeps the keys
 * once and deflates the task's writes together.
 *
 * Semantics are the stock saver's: a regular write is stored once per
 * (task, index) and a later call never replaces it; a special write (error,
 * interrupt, resume, scheduled; negative index) replaces its earlier value.
 */
import type Database from "better-sqlite3";
import {
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  writesSortKey,
  type CheckpointPendingWrite,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { decodeValue, encodeValue } from "./codec.js";

export const WRITES_SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoint_writes (
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL DEFAULT '',
  checkpoint_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  -- 0 for the task's regular writes; a special write's own (negative) index.
  slot INTEGER NOT NULL,
  task_path TEXT NOT NULL DEFAULT '',
  -- ',a,b,': the channels written, to select a channel's writes without decoding others.
  channels TEXT NOT NULL,
  type TEXT NOT NULL,
  value BLOB,
  PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, slot)
);`;

/** One stored write: its index within the task and its channel and value. */
type Entry = [idx: number, channel: string, value: unknown];

export interface WriteRow {
  checkpoint_id: string;
  task_id: string;
  task_path: string;
  type: string;
  value: Uint8Array | string | null;
}

export interface WriteKey {
  threadId: string;
  ns: string;
  checkpointId: string;
}

function channelList(entries: Entry[]): string {
  return `,${[...new Set(entries.map(([, channel]) => channel))].join(",")},`;
}

interface WriteStatements {
  select: Database.Statement;
  upsert: Database.Statement;
}

/** What `storeWrites` runs, prepared once per connection: it runs once per task, and preparing costs more than running. */
const statements = new WeakMap<Database.Database, WriteStatements>();

function writeStatements(db: Database.Database): WriteStatements {
  let prepared = statements.get(db);
  if (!prepared) {
    prepared = {
      select: db.prepare(
        "SELECT checkpoint_id, task_id, task_path, type, value FROM checkpoint_writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? AND task_id = ? AND slot = ?",
      ),
      upsert: db.prepare(
        "INSERT OR REPLACE INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, slot, task_path, channels, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
    };
    statements.set(db, prepared);
  }
  return prepared;
}

/** Stores one task's writes at a checkpoint. */
export async function storeWrites(
  db: Database.Database,
  serde: SerializerProtocol,
  at: WriteKey,
  writes: PendingWrite[],
  taskId: string,
  taskPath: string,
): Promise<void> {
  const allSpecial = writes.every(([channel]) => channel in WRITES_IDX_MAP);
  const regular: Entry[] = [];
  const special: Entry[] = [];
  writes.forEach(([channel, value], i) => {
    const idx = WRITES_IDX_MAP[channel] ?? i;
    (idx < 0 ? special : regular).push([idx, channel, value]);
  });
  const { select, upsert } = writeStatements(db);
  const rows: [number, Entry[]][] = [];
  if (regular.length > 0) {
    // A repeated call adds only indexes not stored yet.
    const existing = select.get(at.threadId, at.ns, at.checkpointId, taskId, 0) as WriteRow | undefined;
    const kept = existing ? ((await decodeValue(serde, existing.type, existing.value)) as Entry[]) : [];
    const known = new Set(kept.map(([idx]) => idx));
    const added = regular.filter(([idx]) => !known.has(idx));
    if (added.length > 0) rows.push([0, [...kept, ...added]]);
  }
  for (const entry of special) {
    if (!allSpecial && select.get(at.threadId, at.ns, at.checkpointId, taskId, entry[0])) continue;
    rows.push([entry[0], [entry]]);
  }
  const encoded = await Promise.all(rows.map(async ([slot, entries]) => ({ slot, entries, stored: await encodeValue(serde, entries) })));
  db.transaction(() => {
    for (const { slot, entries, stored } of encoded)
      upsert.run(at.threadId, at.ns, at.checkpointId, taskId, slot, taskPath, channelList(entries), stored.type, stored.bytes);
  })();
}

/**
 * Decodes the rows of one checkpoint into pending writes in `writesSortKey`
 * order (task path, task id, index), optionally only those of some channels.
 */
export async function decodeWrites(serde: SerializerProtocol, rows: WriteRow[], channels?: ReadonlySet<string>): Promise<CheckpointPendingWrite[]> {
  const keyed: { key: ReturnType<typeof writesSortKey>; write: CheckpointPendingWrite }[] = [];
  for (const row of rows) {
    const entries = (await decodeValue(serde, row.type, row.value)) as Entry[];
    for (const [idx, channel, value] of entries) {
      if (channels && !channels.has(channel)) continue;
      keyed.push({ key: writesSortKey(row.task_path, row.task_id, idx), write: [row.task_id, channel, value] });
    }
  }
  keyed.sort((a, b) => compareWritesSortKeys(a.key, b.key));
  return keyed.map(({ write }) => write);
}

/** A checkpoint's pending writes in `writesSortKey` order. */
export async function loadWrites(db: Database.Database, serde: SerializerProtocol, at: WriteKey, channel?: string): Promise<CheckpointPendingWrite[]> {
  const rows = db
    .prepare(
      `SELECT checkpoint_id, task_id, task_path, type, value FROM checkpoint_writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?${channel ? " AND channels LIKE ?" : ""}`,
    )
    .all(at.threadId, at.ns, at.checkpointId, ...(channel ? [`%,${channel},%`] : [])) as WriteRow[];
  return decodeWrites(serde, rows, channel ? new Set([channel]) : undefined);
}
