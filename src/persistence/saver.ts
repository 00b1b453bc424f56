/**
 * Our SQLite checkpointer, built on the official `SqliteSaver`'s layout and
 * storing channel values the way the PostgreSQL saver does.
 *
 * Why not the stock saver: it re-serialises every channel value into every
 * checkpoint row, rebuilds delta channels by walking ancestors one `getTuple`
 * at a time, and revives every value through an async per-node reviver. On a
 * store that is one long thread, all three grow with its history.
 *
 * Layout (one SQLite file, beside the stores' other tables):
 * - `checkpoints`: the stock table; the checkpoint blob no longer holds
 *   `channel_values`, and `delta_seeds` says, for every channel without a stored
 *   value there, the nearest ancestor that has one (see `getDeltaChannelHistory`).
 * - `checkpoint_blobs`: one row per (thread, namespace, channel, version),
 *   written only when the version is new (`newVersions`); the thread is its
 *   integer key in `checkpoint_threads` (`blobThread`). Delta-channel
 *   snapshots are stored as the difference from the channel's previous snapshot
 *   (`snapshots.ts`), so they cost what they add.
 * - `checkpoint_writes`: pending writes, one row per task while a superstep
 *   runs (in `checkpoint_task_writes`), packed into one row per checkpoint
 *   when the next is written (`writes.ts`).
 *   The `Send`s a step queues are stored once: the next checkpoint's
 *   `__pregel_tasks` value points at the writes that hold them (`SENDS_OF`).
 * Values of more than a few dozen bytes are deflated, with a preset
 * dictionary per column (`codec.ts`, `dictionaries.ts`).
 *
 * Channel versions are strings unique per branch (`<counter>.<random>`, as the
 * PostgreSQL saver does), so a blob found for a checkpoint's version is that
 * checkpoint's value even after forks.
 *
 * Decoded snapshots are remembered (a small LRU): the next run of the graph
 * gets the log it wrote last time without reading it back, which is what keeps
 * the cost per event flat. Values handed out are shared, so nothing may mutate
 * them (our reducers never do).
 */
import type Database from "better-sqlite3";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  DeltaSnapshot,
  TASKS,
  compareWritesSortKeys,
  copyCheckpoint,
  isDeltaSnapshot,
  maxChannelVersion,
  writesSortKey,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { FastJsonPlusSerializer } from "./serde.js";
import { applySnapshotDiffs, diffSnapshot, type SnapshotDiff } from "./snapshots.js";
import { baseType, decodeJsonColumn, decodeValue, encodeJsonColumn, encodeTagged, encodeValue, metadataText, storedText } from "./codec.js";
import { dictionaryOf } from "./dictionaries.js";
import { WRITES_SCHEMA, WRITES_TABLES, decodeWrites, loadWrites, packWrites, storeWrites, type WriteRow } from "./writes.js";

/** The name the validation suite runs us under (it skips tests by saver name). */
export const SAVER_NAME = "shopstate-sqlite-saver";

/** Blob types beyond the serializer's own (`json`, `bytes`). An emptied channel's version, in files written before such versions got no row. */
const EMPTY = "empty";
const SNAPSHOT_FULL = "snapshot";
const SNAPSHOT_DIFF = "snapshot-diff";
/**
 * A `__pregel_tasks` value stored as the id of the parent checkpoint whose
 * pending writes hold the same sends, in the same order. Deliveries carry
 * their context, so the sends are the largest writes of a run; stored whole
 * they were a fifth of the channel values' bytes. Used only when the value's
 * sends are the very objects this saver stored as the parent's writes, all of
 * them: so the writes hold exactly the value (a parent written by another
 * process, or a send written again, stores the value whole).
 */
const SENDS_OF = "sends-of";

/**
 * A diff chain is cut (the next snapshot stored whole) once its diffs weigh
 * more than the whole snapshot it starts from, or it has this many links. So
 * rebuilding a snapshot reads at most about twice its own size, and whole
 * snapshots of a growing log cost at most as much as the log (each one is
 * paid for by as many bytes of diffs).
 */
const MAX_DIFF_CHAIN = 1000;
/** Decoded snapshots kept in memory (each shares its items with the live state). */
const SNAPSHOT_CACHE_SIZE = 64;
/**
 * Whole snapshots kept decoded, by their stored (deflated) bytes. A diff chain
 * starts from one of them, so keeping them makes a cold checkpoint cost its
 * diffs. Only snapshots read back are kept: a run never needs the ones it
 * writes (it diffs against its latest), and keeping those would hold old
 * versions of every map for the whole run. Every channel is bounded, so a
 * whole snapshot is small and cheap to read again; decoded, an entry takes
 * about 14 times its stored bytes, and the 8 MiB this once was (when a
 * snapshot could hold the whole log) filled with every snapshot an ingest read
 * back: the heap after 10,000 input events was 1.84 times that after 1,000.
 */
const WHOLE_SNAPSHOT_CACHE_BYTES = 256 * 2 ** 10;
/** list() decodes this many checkpoints at a time. */
const LIST_PAGE = 50;
/** Lineage entries (versions and seeds per checkpoint) kept for the next `put`. */
const LINEAGE_CACHE_SIZE = 256;

/** How channel values and snapshot diffs are deflated. */
const BLOBS = () => ({ dictionary: dictionaryOf("blobs") });

/** Nearest ancestor with a stored value of a channel: [checkpoint id, version], or null if none. */
type Seed = [string, string] | null;
type Seeds = Record<string, Seed>;

interface Lineage {
  versions: ChannelVersions;
  /** One entry per known channel that has no stored value at this checkpoint. */
  seeds: Seeds;
}

interface CheckpointRow {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  type: string | null;
  checkpoint: Uint8Array | string;
  metadata: Uint8Array | string;
  /** JSON, deflated when long (`encodeJsonColumn`). */
  delta_seeds: Uint8Array | string | null;
}

interface BlobRow {
  channel: string;
  version: string;
  type: string;
  blob: Uint8Array | string | null;
  base_version: string | null;
}

interface CachedSnapshot {
  value: unknown;
  /** How many diffs lead from a whole snapshot to this one. */
  depth: number;
  /** Stored bytes of that whole snapshot, and of the diffs after it. */
  fullBytes: number;
  chainBytes: number;
}

/** A Map used as a small LRU. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly limit: number) {}
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as K);
  }
  deleteWhere(test: (key: K) => boolean): void {
    for (const key of [...this.map.keys()]) if (test(key)) this.map.delete(key);
  }
}

/** An LRU bounded by the total weight of its entries rather than their number. */
class WeightedLru<K, V> {
  private readonly map = new Map<K, { value: V; weight: number }>();
  private total = 0;
  constructor(private readonly budget: number) {}
  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (!entry) return undefined;
    this.map.delete(key);
    this.map.set(key, entry);
    return entry.value;
  }
  set(key: K, value: V, weight: number): void {
    this.delete(key);
    if (weight > this.budget) return;
    this.map.set(key, { value, weight });
    this.total += weight;
    for (const [oldest, entry] of this.map) {
      if (this.total <= this.budget) break;
      this.map.delete(oldest);
      this.total -= entry.weight;
    }
  }
  private delete(key: K): void {
    const entry = this.map.get(key);
    if (!entry) return;
    this.map.delete(key);
    this.total -= entry.weight;
  }
  deleteWhere(test: (key: K) => boolean): void {
    for (const key of [...this.map.keys()]) if (test(key)) this.delete(key);
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL DEFAULT '',
  checkpoint_id TEXT NOT NULL,
  parent_checkpoint_id TEXT,
  type TEXT,
  checkpoint BLOB,
  metadata BLOB,
  PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
);
-- Blob rows carry a thread's integer key rather than its 36-character id (see BLOBS_SCHEMA).
CREATE TABLE IF NOT EXISTS checkpoint_threads (
  thread INTEGER PRIMARY KEY,
  thread_id TEXT NOT NULL UNIQUE
);
-- list() of a thread across namespaces, newest first.
CREATE INDEX IF NOT EXISTS checkpoints_thread_id ON checkpoints (thread_id, checkpoint_id);
`;

/**
 * One row per stored channel version. A store's thread writes some 20,000 of
 * them per 10,000 input events, most a few dozen bytes, so the key is most of
 * a row: the thread is its integer key in `checkpoint_threads`, written once.
 */
const BLOBS_SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoint_blobs (
  thread INTEGER NOT NULL,
  checkpoint_ns TEXT NOT NULL DEFAULT '',
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  type TEXT NOT NULL,
  blob BLOB,
  base_version TEXT,
  PRIMARY KEY (thread, checkpoint_ns, channel, version)
);`;

/** Moves a file's blobs from the layout with the thread id in every row to the integer key (once; IMMEDIATE, so two processes cannot both do it). */
const migrateBlobs = (db: Database.Database) =>
  db.transaction(() => {
    if (!columnsOf(db, "checkpoint_blobs").has("thread_id")) return;
    db.exec(`INSERT OR IGNORE INTO checkpoint_threads (thread_id) SELECT DISTINCT thread_id FROM checkpoint_blobs;
      ALTER TABLE checkpoint_blobs RENAME TO checkpoint_blobs_by_thread_id;
      ${BLOBS_SCHEMA}
      INSERT INTO checkpoint_blobs (thread, checkpoint_ns, channel, version, type, blob, base_version)
        SELECT t.thread, b.checkpoint_ns, b.channel, b.version, b.type, b.blob, b.base_version
        FROM checkpoint_blobs_by_thread_id b JOIN checkpoint_threads t ON t.thread_id = b.thread_id ORDER BY b.rowid;
      DROP TABLE checkpoint_blobs_by_thread_id;`);
  });

function columnsOf(db: Database.Database, table: string): Set<string> {
  return new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

function byteLength(data: Uint8Array | string | null): number {
  if (data === null) return 0;
  return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
}

function hasStoredValue(lineage: Lineage, channel: string): boolean {
  return lineage.versions[channel] !== undefined && !Object.prototype.hasOwnProperty.call(lineage.seeds, channel);
}

/** A checkpoint's seeds from its parent's lineage, given which channels have a stored value at the checkpoint. */
function computeSeeds(
  versions: ChannelVersions,
  parent: { id: string; lineage: Lineage } | undefined,
  hasValue: (channel: string, version: string | number | undefined) => boolean,
): Seeds {
  const seeds: Seeds = {};
  const channels = new Set([...Object.keys(versions), ...Object.keys(parent?.lineage.seeds ?? {}), ...Object.keys(parent?.lineage.versions ?? {})]);
  for (const channel of channels) {
    if (hasValue(channel, versions[channel])) continue;
    if (parent && hasStoredValue(parent.lineage, channel)) seeds[channel] = [parent.id, String(parent.lineage.versions[channel])];
    else seeds[channel] = parent?.lineage.seeds[channel] ?? null;
  }
  return seeds;
}

export class ShopstateSaver extends BaseCheckpointSaver {
  private isSetup = false;
  private readonly snapshots = new Lru<string, CachedSnapshot>(SNAPSHOT_CACHE_SIZE);
  /** Whole snapshots (the starts of diff chains), by stored bytes. */
  private readonly wholeSnapshots = new WeightedLru<string, CachedSnapshot>(WHOLE_SNAPSHOT_CACHE_BYTES);
  /** Newest snapshot version decoded or written per (thread, namespace, channel): the base of the next diff. */
  private readonly latestSnapshot = new Map<string, { version: string; snapshot: CachedSnapshot }>();
  private readonly lineages = new Lru<string, Lineage>(LINEAGE_CACHE_SIZE);
  /** Thread id -> its key in `checkpoint_blobs` (`blobThread`). */
  private readonly blobThreads = new Map<string, number>();
  /** The sends stored as pending writes of the checkpoints this saver wrote, by task and index (see `SENDS_OF`). */
  private readonly sendsWritten = new Lru<string, Map<string, { sortKey: ReturnType<typeof writesSortKey>; value: unknown }>>(LINEAGE_CACHE_SIZE);

  constructor(
    readonly db: Database.Database,
    /** Thread id -> store name, written into every checkpoint's metadata (docs/architecture.md). */
    private readonly names: ReadonlyMap<string, string> = new Map(),
    serde: SerializerProtocol = new FastJsonPlusSerializer(),
  ) {
    super(serde);
  }

  /** Creates the tables and indexes (idempotent). Refuses a file the stock SqliteSaver wrote. */
  setup(): void {
    if (this.isSetup) return;
    if (this.sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'writes'").get() !== undefined) {
      throw new Error(
        `${this.db.name}: this database was written by the stock SqliteSaver (it has its 'writes' table), whose rows this checkpointer does not read; ingest the events again into a new database file (shopstate events --json on the old version exports them)`,
      );
    }
    this.db.exec(SCHEMA);
    this.db.function("shopstate_metadata", { deterministic: true }, (stored) => metadataText(stored as Uint8Array | string));
    if (columnsOf(this.db, "checkpoint_blobs").has("thread_id")) migrateBlobs(this.db).immediate();
    this.db.exec(BLOBS_SCHEMA);
    if (!columnsOf(this.db, "checkpoints").has("delta_seeds")) this.db.exec("ALTER TABLE checkpoints ADD COLUMN delta_seeds TEXT");
    this.db.exec(WRITES_SCHEMA);
    this.isSetup = true;
  }

  // ------------------------------------------------------------------ versions

  /**
   * `<counter>.<random>`: ordered like the counter, unique per branch. A stock
   * numeric version keeps counting as a number. LangGraph accepts string
   * versions (the PostgreSQL saver uses them), but `compile()` is typed for
   * `BaseCheckpointSaver<number>`, hence the declared type.
   */
  override getNextVersion(current: number | undefined): number {
    const previous = current as number | string | undefined;
    if (typeof previous === "number") return previous + 1;
    const counter = previous === undefined ? 0 : Number.parseInt(previous.split(".")[0], 10);
    return `${String(counter + 1).padStart(12, "0")}.${Math.random().toString(36).slice(2, 10).padEnd(8, "0")}` as unknown as number;
  }

  // ------------------------------------------------------------------ writing

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    this.setup();
    if (!config.configurable) throw new Error("ShopstateSaver.put: the config has no 'configurable' field; pass { configurable: { thread_id } }.");
    const threadId = config.configurable.thread_id as string | undefined;
    if (!threadId) throw new Error("ShopstateSaver.put: missing 'thread_id' in config.configurable.");
    const ns = (config.configurable.checkpoint_ns as string | undefined) ?? "";
    const parentId = config.configurable.checkpoint_id as string | undefined;

    const prepared = copyCheckpoint(checkpoint);
    const values = prepared.channel_values;
    const store = this.names.get(String(threadId));
    const fullMetadata = store ? ({ ...metadata, store } as CheckpointMetadata) : metadata;

    const blobRows: [string, string, string, Uint8Array | null, string | null][] = [];
    const stored = new Set<string>();
    for (const [channel, version] of Object.entries(newVersions ?? {})) {
      const key = String(version);
      // An emptied channel stores nothing: a version without a row has no value.
      if (!Object.prototype.hasOwnProperty.call(values, channel)) continue;
      stored.add(channel);
      const value = values[channel];
      if (channel === TASKS && parentId && this.holdsWrittenSends(this.key(threadId, ns, parentId), value))
        blobRows.push([channel, key, SENDS_OF, Buffer.from(parentId, "utf8"), null]);
      else if (isDeltaSnapshot(value)) blobRows.push(await this.snapshotRow(threadId, ns, channel, key, value.value));
      else {
        const encoded = await encodeValue(this.serde, value, BLOBS());
        blobRows.push([channel, key, encoded.type, encoded.bytes, null]);
      }
    }

    const lineage: Lineage = { versions: prepared.channel_versions, seeds: await this.seedsFor(threadId, ns, prepared, parentId, stored) };
    const { type, bytes: serializedCheckpoint } = await encodeValue(
      this.serde,
      { ...prepared, channel_values: {} },
      { dictionary: dictionaryOf("checkpoint") },
    );
    // list() filters on it in SQL through `shopstate_metadata` (setup).
    const serializedMetadata = encodeTagged((await this.serde.dumpsTyped(fullMetadata))[1], dictionaryOf("metadata"));
    const insertBlob = this.sql(
      "INSERT OR IGNORE INTO checkpoint_blobs (thread, checkpoint_ns, channel, version, type, blob, base_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    const insertCheckpoint = this.sql(
      "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata, delta_seeds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.db.transaction(() => {
      const thread = blobRows.length > 0 ? this.blobThread(threadId, true) : -1;
      for (const row of blobRows) insertBlob.run(thread, ns, ...row);
      insertCheckpoint.run(
        threadId,
        ns,
        prepared.id,
        parentId ?? null,
        type,
        serializedCheckpoint,
        serializedMetadata,
        encodeJsonColumn(lineage.seeds, dictionaryOf("seeds")),
      );
    })();
    this.lineages.set(this.key(threadId, ns, prepared.id), lineage);
    this.sendsWritten.set(this.key(threadId, ns, prepared.id), new Map());
    // The parent's superstep is over: its task rows become one.
    if (parentId) packWrites(this.db, { threadId, ns, checkpointId: parentId });
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: prepared.id } };
  }

  /** A snapshot blob: the difference from the channel's previous snapshot when that is smaller, else whole. */
  private async snapshotRow(
    threadId: string,
    ns: string,
    channel: string,
    version: string,
    value: unknown,
  ): Promise<[string, string, string, Uint8Array | null, string | null]> {
    const channelKey = this.key(threadId, ns, channel);
    const base = this.latestSnapshot.get(channelKey);
    // The base must still be stored: another process may have pruned it since we read it.
    const baseStored =
      base !== undefined &&
      this.sql("SELECT 1 FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ? AND channel = ? AND version = ?").get(
        this.blobThread(threadId),
        ns,
        channel,
        base.version,
      ) !== undefined;
    const diff = base && baseStored && base.snapshot.depth < MAX_DIFF_CHAIN ? diffSnapshot(base.snapshot.value, value) : undefined;
    if (diff && base) {
      const stored = await encodeValue(this.serde, diff, BLOBS(), SNAPSHOT_DIFF);
      const { depth, fullBytes, chainBytes } = base.snapshot;
      if (chainBytes + stored.bytes.byteLength <= fullBytes) {
        this.rememberSnapshot(threadId, ns, channel, version, { value, depth: depth + 1, fullBytes, chainBytes: chainBytes + stored.bytes.byteLength });
        return [channel, version, stored.type, stored.bytes, base.version];
      }
    }
    const stored = await encodeValue(this.serde, value, BLOBS(), SNAPSHOT_FULL);
    this.rememberSnapshot(threadId, ns, channel, version, { value, depth: 0, fullBytes: stored.bytes.byteLength, chainBytes: 0 });
    return [channel, version, stored.type, stored.bytes, null];
  }

  /**
   * For each channel with no value stored at this checkpoint, the nearest
   * ancestor that has one: the parent if it stored one, else the parent's own
   * pointer. Computed once here so reads never walk to find it.
   */
  private async seedsFor(threadId: string, ns: string, checkpoint: Checkpoint, parentId: string | undefined, stored: Set<string>): Promise<Seeds> {
    const parent = parentId ? await this.lineageOf(threadId, ns, parentId) : undefined;
    return computeSeeds(checkpoint.channel_versions, parentId && parent ? { id: parentId, lineage: parent } : undefined, (channel, version) => {
      if (stored.has(channel)) return true;
      // Unchanged since the parent, which had a stored value: the same blob.
      const parentVersion = parent?.versions[channel];
      return version !== undefined && parentVersion !== undefined && hasStoredValue(parent as Lineage, channel) && String(parentVersion) === String(version);
    });
  }

  private async lineageOf(threadId: string, ns: string, checkpointId: string): Promise<Lineage | undefined> {
    const key = this.key(threadId, ns, checkpointId);
    const cached = this.lineages.get(key);
    if (cached) return cached;
    const row = this.sql("SELECT type, checkpoint, delta_seeds FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?").get(
      threadId,
      ns,
      checkpointId,
    ) as Pick<CheckpointRow, "type" | "checkpoint" | "delta_seeds"> | undefined;
    if (!row) return undefined;
    const parsed = (await decodeValue(this.serde, row.type ?? "json", row.checkpoint, dictionaryOf("checkpoint"))) as Partial<Checkpoint>;
    const versions = parsed.channel_versions ?? {};
    const lineage = { versions, seeds: (row.delta_seeds === null ? {} : decodeJsonColumn(row.delta_seeds, dictionaryOf("seeds"))) as Seeds };
    this.lineages.set(key, lineage);
    return lineage;
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    this.setup();
    if (!config.configurable) throw new Error("ShopstateSaver.putWrites: the config has no 'configurable' field.");
    const threadId = config.configurable.thread_id as string | undefined;
    const checkpointId = config.configurable.checkpoint_id as string | undefined;
    if (!threadId) throw new Error("ShopstateSaver.putWrites: missing 'thread_id' in config.configurable.");
    if (!checkpointId) throw new Error("ShopstateSaver.putWrites: missing 'checkpoint_id' in config.configurable.");
    const ns = (config.configurable.checkpoint_ns as string | undefined) ?? "";
    const stored = await storeWrites(this.db, this.serde, { threadId, ns, checkpointId }, writes, taskId, taskPath);
    const sends = this.sendsWritten.get(this.key(threadId, ns, checkpointId));
    for (const [idx, channel, value] of stored)
      if (channel === TASKS) sends?.set(`${taskId}\u0000${idx}`, { sortKey: writesSortKey(taskPath, taskId, idx), value });
  }

  /** Whether a `__pregel_tasks` value is exactly the sends stored as a checkpoint's writes, in LangGraph's order. */
  private holdsWrittenSends(checkpointKey: string, value: unknown): boolean {
    const written = this.sendsWritten.get(checkpointKey);
    if (!written || !Array.isArray(value) || value.length === 0 || value.length !== written.size) return false;
    const ordered = [...written.values()].sort((a, b) => compareWritesSortKeys(a.sortKey, b.sortKey));
    return ordered.every((send, i) => send.value === value[i]);
  }

  /** The sends a `SENDS_OF` value points at. */
  private async sendsOf(threadId: string, ns: string, checkpointId: string): Promise<unknown[]> {
    return (await loadWrites(this.db, this.serde, { threadId, ns, checkpointId }, TASKS)).map(([, , value]) => value);
  }

  override async deleteThread(threadId: string): Promise<void> {
    this.setup();
    this.db.transaction(() => {
      for (const table of ["checkpoints", ...WRITES_TABLES]) this.sql(`DELETE FROM ${table} WHERE thread_id = ?`).run(threadId);
      this.sql("DELETE FROM checkpoint_blobs WHERE thread = ?").run(this.blobThread(threadId));
    })();
    this.forgetThread(threadId);
  }

  /** Drops what this process remembers of a thread (after deleting or pruning its rows). */
  forgetThread(threadId: string): void {
    const prefix = `${threadId}\u0000`;
    this.snapshots.deleteWhere((key) => key.startsWith(prefix));
    this.wholeSnapshots.deleteWhere((key) => key.startsWith(prefix));
    this.lineages.deleteWhere((key) => key.startsWith(prefix));
    this.sendsWritten.deleteWhere((key) => key.startsWith(prefix));
    for (const key of [...this.latestSnapshot.keys()]) if (key.startsWith(prefix)) this.latestSnapshot.delete(key);
  }

  /**
   * A thread's key in `checkpoint_blobs`; a thread keeps it for good, so it is
   * cached. A thread that never stored a blob has none: reads get -1, which
   * matches no row, and `put` makes one.
   */
  blobThread(threadId: string, create = false): number {
    const cached = this.blobThreads.get(threadId);
    if (cached !== undefined) return cached;
    if (create) this.sql("INSERT OR IGNORE INTO checkpoint_threads (thread_id) VALUES (?)").run(threadId);
    const row = this.sql("SELECT thread FROM checkpoint_threads WHERE thread_id = ?").get(threadId) as { thread: number } | undefined;
    if (row) this.blobThreads.set(threadId, row.thread);
    return row?.thread ?? -1;
  }

  // ------------------------------------------------------------------ reading

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    this.setup();
    const threadId = config.configurable?.thread_id as string | undefined;
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? "";
    const checkpointId = config.configurable?.checkpoint_id as string | undefined;
    if (threadId === undefined) return undefined;
    const row = (
      checkpointId
        ? this.sql("SELECT * FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?").get(threadId, ns, checkpointId)
        : this.sql("SELECT * FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1").get(threadId, ns)
    ) as CheckpointRow | undefined;
    if (!row) return undefined;
    const tuple = await this.tupleFromRow(row);
    if (checkpointId) tuple.config = config;
    return tuple;
  }

  override async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    this.setup();
    const { limit, before, filter } = options ?? {};
    const threadId = config.configurable?.thread_id as string | undefined;
    const ns = config.configurable?.checkpoint_ns as string | undefined;
    const checkpointId = config.configurable?.checkpoint_id as string | undefined;
    const where: string[] = [];
    const args: unknown[] = [];
    if (threadId) {
      where.push("thread_id = ?");
      args.push(threadId);
    }
    if (ns !== undefined && ns !== null) {
      where.push("checkpoint_ns = ?");
      args.push(ns);
    }
    if (checkpointId) {
      where.push("checkpoint_id = ?");
      args.push(checkpointId);
    }
    const beforeId = before?.configurable?.checkpoint_id as string | undefined;
    if (beforeId !== undefined) {
      where.push("checkpoint_id < ?");
      args.push(beforeId);
    }
    for (const [key, value] of Object.entries(filter ?? {})) {
      if (value === undefined) continue;
      where.push("jsonb(shopstate_metadata(metadata))->? = ?");
      args.push(`$.${key}`, JSON.stringify(value));
    }
    let sql = `SELECT * FROM checkpoints${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY checkpoint_id DESC`;
    if (limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(Number(limit)))}`;
    // Rows first: better-sqlite3 cannot run the blob queries while a statement is still iterating.
    const rows = this.sql(sql).all(...args) as CheckpointRow[];
    // Decoded oldest first, so each snapshot is rebuilt from the previous one's
    // (remembered) value instead of from its whole base; yielded newest first.
    for (let start = 0; start < rows.length; start += LIST_PAGE) {
      const page = rows.slice(start, start + LIST_PAGE);
      const tuples: CheckpointTuple[] = [];
      for (let i = page.length - 1; i >= 0; i--) tuples[i] = await this.tupleFromRow(page[i]);
      yield* tuples;
    }
  }

  private async tupleFromRow(row: CheckpointRow): Promise<CheckpointTuple> {
    const { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpointId, parent_checkpoint_id: parentId } = row;
    const type = row.type ?? "json";
    const checkpoint = (await decodeValue(this.serde, type, row.checkpoint, dictionaryOf("checkpoint"))) as Checkpoint;
    checkpoint.channel_values = { ...(checkpoint.channel_values ?? {}), ...(await this.loadChannelValues(threadId, ns, checkpoint.channel_versions ?? {})) };
    if (checkpoint.v < 4 && parentId) await this.migratePendingSends(checkpoint, threadId, ns, parentId);
    const metadata = (await this.serde.loadsTyped("json", metadataText(row.metadata))) as CheckpointMetadata;
    if (row.delta_seeds !== null)
      this.lineages.set(this.key(threadId, ns, checkpointId), {
        versions: checkpoint.channel_versions,
        seeds: decodeJsonColumn(row.delta_seeds, dictionaryOf("seeds")) as Seeds,
      });
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpointId } },
      checkpoint,
      metadata,
      pendingWrites: await loadWrites(this.db, this.serde, { threadId, ns, checkpointId }),
    };
    if (parentId) tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: parentId } };
    return tuple;
  }

  /** The stored value of every channel version that has one, in one query. */
  private async loadChannelValues(threadId: string, ns: string, versions: ChannelVersions): Promise<Record<string, unknown>> {
    const entries = Object.entries(versions);
    if (entries.length === 0) return {};
    const wanted = JSON.stringify(Object.fromEntries(entries.map(([channel, version]) => [channel, String(version)])));
    const rows = this.db
      .prepare(
        // CROSS JOIN keeps json_each outside: one primary-key lookup per channel, never a scan.
        `SELECT b.channel, b.version, b.type, b.blob, b.base_version FROM json_each(?) j
         CROSS JOIN checkpoint_blobs b ON b.thread = ? AND b.checkpoint_ns = ? AND b.channel = j.key AND b.version = j.value`,
      )
      .all(wanted, this.blobThread(threadId), ns) as BlobRow[];
    const values: Record<string, unknown> = {};
    for (const row of rows) {
      if (row.type === EMPTY) continue;
      values[row.channel] = await this.blobValue(threadId, ns, row);
    }
    return values;
  }

  private async blobValue(threadId: string, ns: string, row: BlobRow): Promise<unknown> {
    if (row.type === SENDS_OF) return this.sendsOf(threadId, ns, storedText(row.blob));
    const type = baseType(row.type);
    if (type === SNAPSHOT_FULL || type === SNAPSHOT_DIFF)
      return new DeltaSnapshot((await this.snapshotValue(threadId, ns, row.channel, row.version, row)).value);
    return decodeValue(this.serde, row.type, row.blob, dictionaryOf("blobs"));
  }

  /** A snapshot blob's own JSON: a whole value or a diff. */
  private decodeSnapshot(row: BlobRow): Promise<unknown> {
    return decodeValue(this.serde, row.type, row.blob, dictionaryOf("blobs"), "json");
  }

  /**
   * A snapshot's value: from memory, or rebuilt from the nearest whole (or
   * remembered) snapshot it extends and the diffs after it.
   */
  private async snapshotValue(threadId: string, ns: string, channel: string, version: string, known?: BlobRow): Promise<CachedSnapshot> {
    const cached = this.cachedSnapshot(threadId, ns, channel, version);
    if (cached) return cached;
    const select = this.sql(
      "SELECT channel, version, type, blob, base_version FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ? AND channel = ? AND version = ?",
    );
    // Newest first: this snapshot, the one it extends, ... down to a whole or remembered one.
    const chain: BlobRow[] = [];
    let base: CachedSnapshot | undefined;
    const thread = this.blobThread(threadId);
    let row = known ?? (select.get(thread, ns, channel, version) as BlobRow | undefined);
    for (;;) {
      if (!row)
        throw new Error(
          `checkpoint blob missing: channel '${channel}' of thread ${threadId}; a stored snapshot diff refers to a snapshot that is no longer stored`,
        );
      if (baseType(row.type) !== SNAPSHOT_DIFF || row.base_version === null) {
        base = { value: await this.decodeSnapshot(row), depth: 0, fullBytes: byteLength(row.blob), chainBytes: 0 };
        // Other checkpoints' snapshots of this channel likely start from the same whole one.
        this.wholeSnapshots.set(this.key(threadId, ns, channel, row.version), base, base.fullBytes);
        break;
      }
      chain.push(row);
      base = this.cachedSnapshot(threadId, ns, channel, row.base_version);
      if (base) break;
      row = select.get(thread, ns, channel, row.base_version) as BlobRow | undefined;
    }
    if (chain.length === 0) {
      this.rememberSnapshot(threadId, ns, channel, version, base);
      return base;
    }
    const diffs = await Promise.all(chain.reverse().map((r) => this.decodeSnapshot(r) as Promise<SnapshotDiff>));
    const snapshot = {
      value: applySnapshotDiffs(base.value, diffs),
      depth: base.depth + diffs.length,
      fullBytes: base.fullBytes,
      chainBytes: base.chainBytes + chain.reduce((sum, r) => sum + byteLength(r.blob), 0),
    };
    this.rememberSnapshot(threadId, ns, channel, version, snapshot);
    return snapshot;
  }

  private cachedSnapshot(threadId: string, ns: string, channel: string, version: string): CachedSnapshot | undefined {
    const key = this.key(threadId, ns, channel, version);
    return this.snapshots.get(key) ?? this.wholeSnapshots.get(key);
  }

  private rememberSnapshot(threadId: string, ns: string, channel: string, version: string, snapshot: CachedSnapshot): void {
    this.snapshots.set(this.key(threadId, ns, channel, version), snapshot);
    this.latestSnapshot.set(this.key(threadId, ns, channel), { version, snapshot });
  }

  /** Checkpoints older than format 4 kept pending sends in the parent's writes. */
  private async migratePendingSends(checkpoint: Checkpoint, threadId: string, ns: string, parentId: string): Promise<void> {
    const sends = await loadWrites(this.db, this.serde, { threadId, ns, checkpointId: parentId }, TASKS);
    checkpoint.channel_values ??= {};
    checkpoint.channel_values[TASKS] = sends.map(([, , value]) => value);
    checkpoint.channel_versions[TASKS] =
      Object.keys(checkpoint.channel_versions).length > 0 ? maxChannelVersion(...Object.values(checkpoint.channel_versions)) : this.getNextVersion(undefined);
  }

  /**
   * Per channel: the value stored at the nearest ancestor that has one (the
   * seed) and every write on the path from there to the target, oldest first.
   * The seed's location comes from the parent's `delta_seeds`; the path and
   * its writes come from one recursive query.
   */
  override async getDeltaChannelHistory(options: { config: RunnableConfig; channels: string[] }): Promise<Record<string, DeltaChannelHistory>> {
    this.setup();
    const { config, channels } = options;
    if (channels.length === 0) return {};
    const threadId = config.configurable?.thread_id as string | undefined;
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? "";
    const empty = () => Object.fromEntries(channels.map((channel) => [channel, { writes: [] }])) as Record<string, DeltaChannelHistory>;
    if (threadId === undefined) return empty();
    const target = (
      config.configurable?.checkpoint_id
        ? this.sql("SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?").get(
            threadId,
            ns,
            config.configurable.checkpoint_id,
          )
        : this.sql(
            "SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1",
          ).get(threadId, ns)
    ) as { checkpoint_id: string; parent_checkpoint_id: string | null } | undefined;
    if (!target?.parent_checkpoint_id) return empty();
    const parentId = target.parent_checkpoint_id;
    const parent = await this.lineageOf(threadId, ns, parentId);
    if (!parent) return empty();

    const seeds: Record<string, Seed> = {};
    for (const channel of channels) {
      const hasValue = parent.versions[channel] !== undefined && !Object.prototype.hasOwnProperty.call(parent.seeds, channel);
      seeds[channel] = hasValue ? [parentId, String(parent.versions[channel])] : (parent.seeds[channel] ?? null);
    }
    // Walk up to the oldest seed; a channel with none walks to the root.
    const seedIds = Object.values(seeds).map((seed) => seed?.[0] ?? null);
    const stopAt = seedIds.includes(null) ? "" : (seedIds as string[]).reduce((oldest, id) => (id < oldest ? id : oldest));
    const channelFilter = channels.map(() => "w.channels LIKE ?").join(" OR ");
    // Each table joined on its own primary key (a join on a UNION ALL of both would read every write of the thread).
    const writesOf = (table: string, join: string) =>
      `SELECT path.id, path.depth, w.checkpoint_id, w.task_id, w.slot, w.task_path, w.type, w.value FROM path
       ${join} ${table} w ON w.thread_id = ? AND w.checkpoint_ns = ? AND w.checkpoint_id = path.id AND (${channelFilter})`;
    const joinParams = [threadId, ns, ...channels.map((channel) => `%,${channel},%`)];
    const rows = this.db
      .prepare(
        `WITH RECURSIVE path(id, depth) AS (
           SELECT ?, 0
           UNION ALL
           SELECT c.parent_checkpoint_id, path.depth + 1 FROM path
           JOIN checkpoints c ON c.thread_id = ? AND c.checkpoint_ns = ? AND c.checkpoint_id = path.id
           WHERE path.id <> ? AND c.parent_checkpoint_id IS NOT NULL
         )
         ${writesOf("checkpoint_writes", "LEFT JOIN")}
         UNION ALL ${writesOf("checkpoint_task_writes", "JOIN")}
         ORDER BY path.depth DESC`,
      )
      .all(parentId, threadId, ns, stopAt, ...joinParams, ...joinParams) as (WriteRow & { id: string; depth: number })[];
    const depthOf = new Map(rows.map((r) => [r.id, r.depth]));
    // Oldest checkpoint first; within one, the order live execution applied the writes in.
    const byDepth = new Map<number, WriteRow[]>();
    for (const row of rows) {
      if (row.task_id === null) continue;
      const step = byDepth.get(row.depth);
      if (step) step.push(row);
      else byDepth.set(row.depth, [row]);
    }
    const steps: { depth: number; writes: CheckpointPendingWrite[] }[] = [];
    for (const [depth, stepRows] of byDepth) steps.push({ depth, writes: await decodeWrites(this.serde, stepRows, new Set(channels)) });

    const result: Record<string, DeltaChannelHistory> = {};
    for (const channel of channels) {
      const seed = seeds[channel];
      const seedDepth = seed ? (depthOf.get(seed[0]) ?? Infinity) : Infinity;
      const writes = steps.filter((step) => step.depth <= seedDepth).flatMap((step) => step.writes.filter(([, ch]) => ch === channel));
      const entry: DeltaChannelHistory = { writes };
      if (seed) {
        const value = await this.seedValue(threadId, ns, seed[0], channel, seed[1]);
        if (value !== undefined) entry.seed = value;
      }
      result[channel] = entry;
    }
    return result;
  }

  /** The value stored for a channel at a checkpoint: a blob, or a stock row's inline value. */
  private async seedValue(threadId: string, ns: string, checkpointId: string, channel: string, version: string): Promise<unknown> {
    const row = this.sql(
      "SELECT channel, version, type, blob, base_version FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ? AND channel = ? AND version = ?",
    ).get(this.blobThread(threadId), ns, channel, version) as BlobRow | undefined;
    return row && row.type !== EMPTY ? this.blobValue(threadId, ns, row) : undefined;
  }

  // ------------------------------------------------------------------ maintenance (prune)

  /** Rewrites a stored snapshot whole, so it no longer needs the snapshots its diff chain went through. */
  async materializeSnapshot(threadId: string, ns: string, channel: string, version: string): Promise<void> {
    this.setup();
    const { value } = await this.snapshotValue(threadId, ns, channel, version);
    const stored = await encodeValue(this.serde, value, BLOBS(), SNAPSHOT_FULL);
    this.db
      .prepare("UPDATE checkpoint_blobs SET type = ?, blob = ?, base_version = NULL WHERE thread = ? AND checkpoint_ns = ? AND channel = ? AND version = ?")
      .run(stored.type, stored.bytes, this.blobThread(threadId), ns, channel, version);
    this.rememberSnapshot(threadId, ns, channel, version, { value, depth: 0, fullBytes: stored.bytes.byteLength, chainBytes: 0 });
  }

  /** Stores whole every `SENDS_OF` value that points at one of these checkpoints, before their writes are deleted. */
  async materializeSends(threadId: string, ns: string, checkpointIds: ReadonlySet<string>): Promise<void> {
    this.setup();
    const thread = this.blobThread(threadId);
    const rows = this.sql("SELECT channel, version, type, blob, base_version FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ? AND type = ?").all(
      thread,
      ns,
      SENDS_OF,
    ) as BlobRow[];
    const update = this.sql("UPDATE checkpoint_blobs SET type = ?, blob = ? WHERE thread = ? AND checkpoint_ns = ? AND channel = ? AND version = ?");
    for (const row of rows) {
      if (!checkpointIds.has(storedText(row.blob))) continue;
      const stored = await encodeValue(this.serde, await this.blobValue(threadId, ns, row), BLOBS());
      update.run(stored.type, stored.bytes, thread, ns, row.channel, row.version);
    }
  }

  /** Stores a whole snapshot of a channel at a version that has no stored value yet. */
  async storeSnapshot(threadId: string, ns: string, channel: string, version: string, value: unknown): Promise<void> {
    this.setup();
    const stored = await encodeValue(this.serde, value, BLOBS(), SNAPSHOT_FULL);
    this.db
      .prepare("INSERT OR REPLACE INTO checkpoint_blobs (thread, checkpoint_ns, channel, version, type, blob, base_version) VALUES (?, ?, ?, ?, ?, ?, NULL)")
      .run(this.blobThread(threadId, true), ns, channel, version, stored.type, stored.bytes);
  }

  /** Recomputes every checkpoint's `delta_seeds` of a thread from the blobs now stored (after checkpoints were removed). */
  async rebuildSeeds(threadId: string, ns: string): Promise<void> {
    this.setup();
    this.lineages.deleteWhere((key) => key.startsWith(`${threadId}\u0000`));
    const stored = new Set(
      (
        this.sql("SELECT channel, version FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ? AND type <> 'empty'").all(
          this.blobThread(threadId),
          ns,
        ) as {
          channel: string;
          version: string;
        }[]
      ).map((b) => `${b.channel}\u0000${b.version}`),
    );
    const rows = this.db
      .prepare("SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id")
      .all(threadId, ns) as Pick<CheckpointRow, "checkpoint_id" | "parent_checkpoint_id" | "type" | "checkpoint">[];
    const lineages = new Map<string, Lineage>();
    const update = this.sql("UPDATE checkpoints SET delta_seeds = ? WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?");
    const updates: [string | Uint8Array, string][] = [];
    for (const row of rows) {
      const checkpoint = (await decodeValue(this.serde, row.type ?? "json", row.checkpoint, dictionaryOf("checkpoint"))) as Checkpoint;
      const parentLineage = row.parent_checkpoint_id ? lineages.get(row.parent_checkpoint_id) : undefined;
      const parent = row.parent_checkpoint_id && parentLineage ? { id: row.parent_checkpoint_id, lineage: parentLineage } : undefined;
      const seeds = computeSeeds(
        checkpoint.channel_versions,
        parent,
        (channel, version) => version !== undefined && stored.has(`${channel}\u0000${String(version)}`),
      );
      lineages.set(row.checkpoint_id, { versions: checkpoint.channel_versions, seeds });
      updates.push([encodeJsonColumn(seeds, dictionaryOf("seeds")), row.checkpoint_id]);
    }
    this.db.transaction(() => {
      for (const [seeds, id] of updates) update.run(seeds, threadId, ns, id);
    })();
  }

  /** Prepared statements, kept: preparing one costs more than running it. */
  private readonly statements = new Map<string, Database.Statement>();
  private sql(source: string): Database.Statement {
    let statement = this.statements.get(source);
    if (!statement) this.statements.set(source, (statement = this.db.prepare(source)));
    return statement;
  }

  private key(...parts: string[]): string {
    return parts.join("\u0000");
  }
}
