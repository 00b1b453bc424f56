/**
 * Pending writes: one row per task while a superstep runs, one row per
 * checkpoint once it is over.
 *
 * A router step fans out dozens of `Send`s; stored one row each (as the stock
 * saver does) the keys (thread, checkpoint, task ids, task path) outweighed the
 * values, and each small value deflated poorly. While a superstep runs, each
 * task's `putWrites` stores its writes in a row of its own. Once the next
 * checkpoint is written, `packWrites` folds a checkpoint's task rows into one
 * (`task_id` empty), deflated together: the tasks of a step write the same
 * keys and much the same values (deliveries carry the same orders), which one
 * deflate stream shares and per-task streams cannot (bench/RESULTS.md gives
 * the table's bytes).
 *
 * Semantics are the stock saver's: a regular write is stored once per
 * (task, index) and a later call never replaces it; a special write (error,
 * interrupt, resume, scheduled; negative index) replaces its earlier value.
 * Writes may still arrive for a packed checkpoint (LangGraph does not wait for
 * every `putWrites` before the next `put`, and a replay writes to an old
 * checkpoint): they go to task rows as before, which win over the packed
 * row's entry for the same (task, slot) and are folded in by the next pack.
 *
 * Task rows live in a table of their own, `checkpoint_task_writes`, and packed
 * rows in `checkpoint_writes`. In one rowid table, the task rows a pack deleted
 * left holes in pages that appends never fill again (a quarter of the table's
 * bytes at 10,000 input events); on their own, task rows come and go within a
 * few pages that SQLite reuses, and packed rows are appended densely. Files
 * from before the split may hold task rows in `checkpoint_writes`: reads look
 * in both tables, and the next pack of their checkpoint moves them.
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
import { dictionaryOf } from "./dictionaries.js";
import { FAST_DEFLATE, baseType, decodeValue, encodeText, encodeValue, storedJsonText } from "./codec.js";

const COLUMNS_SQL = `
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL DEFAULT '',
  checkpoint_id TEXT NOT NULL,
  -- Empty for the checkpoint's packed row (see packWrites).
  task_id TEXT NOT NULL,
  -- 0 for the task's regular writes; a special write's own (negative) index.
  slot INTEGER NOT NULL,
  task_path TEXT NOT NULL DEFAULT '',
  -- ',a,b,': the channels written, to select a channel's writes without decoding others.
  channels TEXT NOT NULL,
  type TEXT NOT NULL,
  value BLOB,
  PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, slot)`;

export const WRITES_SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoint_writes (${COLUMNS_SQL});
CREATE TABLE IF NOT EXISTS checkpoint_task_writes (${COLUMNS_SQL});`;

/** The tables that hold pending writes: packed rows, then task rows. */
export const WRITES_TABLES = ["checkpoint_writes", "checkpoint_task_writes"] as const;

/** One stored write: its index within the task and its channel and value. */
type Entry = [idx: number, channel: string, value: unknown];

/** The `task_id` of a checkpoint's packed row: LangGraph's task ids are never empty. */
const PACKED = "";
const PACKED_TYPE = "packed";
/** A packed row's value is a list of these: one per task row it replaced. */
type PackedTask = [taskId: string, taskPath: string, slot: number, entries: Entry[]];

export interface WriteRow {
  checkpoint_id: string;
  task_id: string;
  slot: number;
  task_path: string;
  type: string;
  value: Uint8Array | string | null;
}

export interface WriteKey {
  threadId: string;
  ns: string;
  checkpointId: string;
}

function channelList(channels: Iterable<string>): string {
  return `,${[...new Set(channels)].join(",")},`;
}

function channelsOf(entries: Entry[]): string[] {
  return entries.map(([, channel]) => channel);
}

function taskKey(taskId: string, slot: number): string {
  return `${taskId}\u0000${slot}`;
}

const COLUMNS = "checkpoint_id, task_id, slot, task_path, channels, type, value";
const INSERT_COLUMNS = "(thread_id, checkpoint_ns, checkpoint_id, task_id, slot, task_path, channels, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/** A query over both tables, `where` applied to each (its parameters are given once per table). */
function fromBothTables(where: string): string {
  return WRITES_TABLES.map((table) => `SELECT ${COLUMNS} FROM ${table} WHERE ${where}`).join(" UNION ALL ");
}

interface WriteStatements {
  select: Database.Statement;
  selectCheckpoint: Database.Statement;
  insertTask: Database.Statement;
  insertPacked: Database.Statement;
  delete: Database.Statement[];
}

/** What `storeWrites` and `packWrites` run, prepared once per connection: they run once per task and checkpoint, and preparing costs more than running. */
const statements = new WeakMap<Database.Database, WriteStatements>();

function writeStatements(db: Database.Database): WriteStatements {
  let prepared = statements.get(db);
  if (!prepared) {
    prepared = {
      select: db.prepare(fromBothTables("thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? AND task_id = ? AND slot = ?")),
      selectCheckpoint: db.prepare(fromBothTables("thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?")),
      insertTask: db.prepare(`INSERT OR REPLACE INTO checkpoint_task_writes ${INSERT_COLUMNS}`),
      insertPacked: db.prepare(`INSERT OR REPLACE INTO checkpoint_writes ${INSERT_COLUMNS}`),
      delete: WRITES_TABLES.map((table) =>
        db.prepare(`DELETE FROM ${table} WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? AND task_id = ? AND slot = ?`),
      ),
    };
    statements.set(db, prepared);
  }
  return prepared;
}

/**
 * A packed row's tasks, revived; with `channels`, only the writes to those.
 * A packed row holds every channel a step wrote (the router's sends with their
 * deliveries, the agents' messages), so a read of one channel (a delta
 * channel's history, a checkpoint's sends) picks its writes from the plain
 * JSON first and revives only them.
 */
async function packedTasks(serde: SerializerProtocol, row: WriteRow, channels?: ReadonlySet<string>): Promise<PackedTask[]> {
  if (!channels) return (await decodeValue(serde, row.type, row.value, dictionaryOf("writes"), "json")) as PackedTask[];
  const kept: PackedTask[] = [];
  for (const [taskId, taskPath, slot, entries] of JSON.parse(storedJsonText(row.type, row.value, dictionaryOf("writes"))) as PackedTask[]) {
    const wanted = entries.filter(([, channel]) => channels.has(channel));
    if (wanted.length > 0) kept.push([taskId, taskPath, slot, wanted]);
  }
  return kept.length === 0 ? [] : ((await serde.loadsTyped("json", JSON.stringify(kept))) as PackedTask[]);
}

/** A write `storeWrites` stored, with its index within the task. */
export type StoredWrite = Entry;

/** Stores one task's writes at a checkpoint; returns the ones it stored (a repeated regular write is not). */
export async function storeWrites(
  db: Database.Database,
  serde: SerializerProtocol,
  at: WriteKey,
  writes: PendingWrite[],
  taskId: string,
  taskPath: string,
): Promise<StoredWrite[]> {
  const allSpecial = writes.every(([channel]) => channel in WRITES_IDX_MAP);
  const regular: Entry[] = [];
  const special: Entry[] = [];
  writes.forEach(([channel, value], i) => {
    const idx = WRITES_IDX_MAP[channel] ?? i;
    (idx < 0 ? special : regular).push([idx, channel, value]);
  });
  const { select, insertTask } = writeStatements(db);
  const key = [at.threadId, at.ns, at.checkpointId] as const;
  let packed: Map<string, Entry[]> | undefined;
  /** What is stored for this task in a slot: its own row, else the checkpoint's packed row. */
  const storedEntries = async (slot: number): Promise<Entry[] | undefined> => {
    const own = select.get(...key, taskId, slot, ...key, taskId, slot) as WriteRow | undefined;
    if (own) return (await decodeValue(serde, own.type, own.value, dictionaryOf("writes"))) as Entry[];
    if (!packed) {
      const row = select.get(...key, PACKED, 0, ...key, PACKED, 0) as WriteRow | undefined;
      packed = new Map((row ? await packedTasks(serde, row) : []).map(([id, , slot, entries]) => [taskKey(id, slot), entries]));
    }
    return packed.get(taskKey(taskId, slot));
  };
  const rows: [number, Entry[]][] = [];
  const stored: Entry[] = [];
  if (regular.length > 0) {
    // A repeated call adds only indexes not stored yet.
    const kept = (await storedEntries(0)) ?? [];
    const known = new Set(kept.map(([idx]) => idx));
    const added = regular.filter(([idx]) => !known.has(idx));
    if (added.length > 0) rows.push([0, [...kept, ...added]]);
    stored.push(...added);
  }
  for (const entry of special) {
    if (!allSpecial && (await storedEntries(entry[0])) !== undefined) continue;
    rows.push([entry[0], [entry]]);
    stored.push(entry);
  }
  const encoded = await Promise.all(
    rows.map(async ([slot, entries]) => ({
      slot,
      entries,
      value: await encodeValue(serde, entries, { dictionary: dictionaryOf("writes"), level: FAST_DEFLATE }),
    })),
  );
  db.transaction(() => {
    for (const { slot, entries, value } of encoded) insertTask.run(...key, taskId, slot, taskPath, channelList(channelsOf(entries)), value.type, value.bytes);
  })();
  return stored;
}

/**
 * Folds a checkpoint's task rows into its packed row, once its superstep is
 * over (the saver calls it when the next checkpoint is written). The stored
 * JSON is moved as text, never revived. Rows of another serializer type
 * (bytes) stay as they are.
 */
export function packWrites(db: Database.Database, at: WriteKey): void {
  const { selectCheckpoint, insertPacked, delete: remove } = writeStatements(db);
  const key = [at.threadId, at.ns, at.checkpointId] as const;
  const rows = selectCheckpoint.all(...key, ...key) as (WriteRow & { channels: string })[];
  const loose = rows.filter((row) => row.task_id !== PACKED && baseType(row.type) === "json");
  if (loose.length === 0) return;
  const tasks = new Map<string, string>();
  const channels: string[] = [];
  const packedRow = rows.find((row) => row.task_id === PACKED);
  if (packedRow) {
    for (const task of JSON.parse(storedJsonText(packedRow.type, packedRow.value, dictionaryOf("writes"))) as PackedTask[])
      tasks.set(taskKey(task[0], task[2]), JSON.stringify(task));
    channels.push(...packedRow.channels.split(","));
  }
  // A task row wins over the packed entry for its (task, slot): it was written later.
  for (const row of loose) {
    tasks.set(
      taskKey(row.task_id, row.slot),
      `[${JSON.stringify(row.task_id)},${JSON.stringify(row.task_path)},${row.slot},${storedJsonText(row.type, row.value, dictionaryOf("writes"))}]`,
    );
    channels.push(...row.channels.split(","));
  }
  const stored = encodeText(`[${[...tasks.values()].join(",")}]`, PACKED_TYPE, { dictionary: dictionaryOf("writes") });
  db.transaction(() => {
    insertPacked.run(...key, PACKED, 0, "", channelList(channels.filter((c) => c !== "")), stored.type, stored.bytes);
    for (const row of loose) for (const statement of remove) statement.run(...key, row.task_id, row.slot);
  })();
}

/**
 * Decodes the rows of one or more checkpoints into pending writes in
 * `writesSortKey` order (task path, task id, index), optionally only those of
 * some channels.
 */
export async function decodeWrites(serde: SerializerProtocol, rows: WriteRow[], channels?: ReadonlySet<string>): Promise<CheckpointPendingWrite[]> {
  const tasks = new Map<string, { taskId: string; taskPath: string; entries: Entry[] }>();
  // Packed rows first: a task row wins over the packed entry for the same (task, slot).
  for (const row of rows) {
    if (row.task_id !== PACKED) continue;
    for (const [taskId, taskPath, slot, entries] of await packedTasks(serde, row, channels))
      tasks.set(`${row.checkpoint_id}\u0000${taskKey(taskId, slot)}`, { taskId, taskPath, entries });
  }
  for (const row of rows) {
    if (row.task_id === PACKED) continue;
    const entries = (await decodeValue(serde, row.type, row.value, dictionaryOf("writes"))) as Entry[];
    tasks.set(`${row.checkpoint_id}\u0000${taskKey(row.task_id, row.slot)}`, { taskId: row.task_id, taskPath: row.task_path, entries });
  }
  const keyed: { key: ReturnType<typeof writesSortKey>; write: CheckpointPendingWrite }[] = [];
  for (const { taskId, taskPath, entries } of tasks.values()) {
    for (const [idx, channel, value] of entries) {
      if (channels && !channels.has(channel)) continue;
      keyed.push({ key: writesSortKey(taskPath, taskId, idx), write: [taskId, channel, value] });
    }
  }
  keyed.sort((a, b) => compareWritesSortKeys(a.key, b.key));
  return keyed.map(({ write }) => write);
}

/** A checkpoint's pending writes in `writesSortKey` order. */
export async function loadWrites(db: Database.Database, serde: SerializerProtocol, at: WriteKey, channel?: string): Promise<CheckpointPendingWrite[]> {
  const params = [at.threadId, at.ns, at.checkpointId, ...(channel ? [`%,${channel},%`] : [])];
  const rows = db
    .prepare(fromBothTables(`thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?${channel ? " AND channels LIKE ?" : ""}`))
    .all(...params, ...params) as WriteRow[];
  return decodeWrites(serde, rows, channel ? new Set([channel]) : undefined);
}
