/**
 * The one place where the benchmark builds stores and reads what it measures
 * from them: a store session on each saver it compares, the store's event log,
 * its checkpoint ids and the bytes its database takes. When the core's API
 * changes (an event store beside the checkpoints), this file is the one to fix.
 *
 * Savers:
 * - `ours`: the CLI's default, our saver on a SQLite file (`openStore`);
 * - `stock`: the stock `SqliteSaver` on a SQLite file;
 * - `postgres`: the stock `PostgresSaver` on a PostgreSQL database;
 *   both given the store's serializer (`FastJsonPlusSerializer`, the stock
 *   one with a faster load path and the same bytes), as docs/deploy.md advises;
 * - `memory`: `MemorySaver` (the knowledge store in an in-memory SQLite database).
 */
import { join } from "node:path";
import { MemorySaver, type BaseCheckpointSaver } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type pg from "pg";
import type { StoreEvent } from "../src/domain/events.js";
import { compileStoreGraph } from "../src/graph.js";
import { KB_ITEMS_TABLE, KB_NAMESPACES_TABLE, SqliteStore } from "../src/memory/sqlite_store.js";
import { sqliteMeta } from "../src/persistence/backend.js";
import { connectPostgres } from "../src/persistence/postgres.js";
import { openDatabase } from "../src/persistence/sqlite.js";
import { registerStore, threadIdFor } from "../src/persistence/stores.js";
import { sqliteEventStore } from "../src/persistence/sqlite_event_store.js";
import { wholeLog } from "../src/persistence/store_log.js";
import { FastJsonPlusSerializer } from "../src/persistence/serde.js";
import type { State } from "../src/state.js";
import type { ApprovalRequest } from "../src/nodes/approval_gate.js";
import { decideApprovals, ingestLines, logOf, openStore, pausedAtGate, type InputLine, type StoreSession } from "../src/store.js";

export const SAVER_KINDS = ["ours", "stock", "postgres", "memory"] as const;
export type SaverKind = (typeof SAVER_KINDS)[number];

export const SAVER_LABELS: Record<SaverKind, string> = {
  ours: "ours (SQLite, the CLI's default)",
  stock: "stock SqliteSaver",
  postgres: "stock PostgresSaver",
  memory: "MemorySaver",
};

/** The store name every benchmark store has (the CLI's `--thread`). */
export const BENCH_STORE = "bench";

export interface BenchStore {
  kind: SaverKind;
  session: StoreSession;
  /** The SQLite file, on the SQLite savers (the CLI can open it). */
  dbPath?: string;
  /** The PostgreSQL pool, on the PostgreSQL saver. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

/**
 * Opens an empty store on one saver: a SQLite file in `dir`, or the PostgreSQL
 * database at `databaseUrl`. Every saver runs the same graph; the event store
 * is in the same database as the checkpoints (in memory for MemorySaver).
 */
export async function openBenchStore(kind: SaverKind, dir: string, databaseUrl?: string): Promise<BenchStore> {
  const threadId = threadIdFor(BENCH_STORE);
  const config = { configurable: { thread_id: threadId } };
  if (kind === "ours") {
    const dbPath = join(dir, "bench.db");
    const session = openStore(dbPath, BENCH_STORE);
    return { kind, session, dbPath, close: async () => session.close() };
  }
  if (kind === "postgres") {
    if (!databaseUrl) throw new Error("the postgres saver needs a database URL (bench/run.ts starts a throwaway server)");
    const backend = await connectPostgres(databaseUrl);
    const saver = new PostgresSaver(backend.pool, new FastJsonPlusSerializer());
    const graph = compileStoreGraph({ checkpointer: saver, store: backend.knowledge, events: backend.events });
    const session: StoreSession = {
      name: BENCH_STORE,
      threadId,
      meta: backend.meta,
      saver,
      events: backend.events,
      knowledge: backend.knowledge,
      graph,
      config,
      close: () => backend.close(),
    };
    await backend.meta.registerStore(BENCH_STORE, "bench");
    return { kind, session, pool: backend.pool, close: () => backend.close() };
  }
  const dbPath = kind === "memory" ? undefined : join(dir, "bench.db");
  const db = openDatabase(dbPath ?? ":memory:");
  const saver: BaseCheckpointSaver = kind === "stock" ? new SqliteSaver(db, new FastJsonPlusSerializer()) : new MemorySaver();
  registerStore(db, BENCH_STORE, "bench");
  const knowledge = new SqliteStore(db);
  const events = sqliteEventStore(db);
  const graph = compileStoreGraph({ checkpointer: saver, store: knowledge, events });
  const session: StoreSession = {
    name: BENCH_STORE,
    threadId,
    meta: sqliteMeta(db, dbPath ?? ":memory:", { checkpointsInFile: kind === "stock" }),
    db,
    saver,
    events,
    knowledge,
    graph,
    config,
    close: () => void db.close(),
  };
  return { kind, session, dbPath, close: async () => void db.close() };
}

/** What every benchmark run decides with: the offline model, a $100 approval threshold. */
export const RUN = { approvalThresholdCents: 10_000, maxSteps: 10_000 };

/**
 * Ingests one batch of input lines as `shopstate ingest` does (lease,
 * restart-safe loop). When the run pauses at the approval gate, a person
 * approves every refund it shows (`shopstate approve`), as someone working the
 * queue would: pending approvals are working set (docs/event-store.md), and a
 * queue nobody works grows the state with every refund. `leaveApprovals`
 * leaves them pending instead (the next batch resumes the run with no decisions).
 */
export async function ingestBatch(store: BenchStore, lines: InputLine[], options: { leaveApprovals?: boolean } = {}): Promise<void> {
  const { session } = store;
  await ingestLines(session, lines, { ...RUN, batchSize: lines.length, source: "bench" });
  if (options.leaveApprovals) return;
  const snapshot = await session.graph.getState(session.config);
  if (!pausedAtGate(snapshot)) return;
  const shown = snapshot.tasks.flatMap((t) => t.interrupts.flatMap((i) => (i.value as ApprovalRequest).pendingApprovals));
  await decideApprovals(
    session,
    shown.map((a) => ({ approvalId: a.id, decision: "approved", by: "bench", reason: "the queue is worked at every pause" })),
    RUN,
  );
}

/** The store's event log at its head, in order. */
export async function readLog(store: BenchStore): Promise<StoreEvent[]> {
  const values = (await store.session.graph.getState(store.session.config)).values as State;
  return wholeLog(logOf(store.session, values));
}

/** Events in a state's log: the length its log pointer names (a thread's values on the server included); undefined without one. */
export function logLengthOf(values: unknown): number | undefined {
  const length = (values as { log?: { length?: unknown } } | undefined)?.log?.length;
  return typeof length === "number" ? length : undefined;
}

/** The ids of the store's root-namespace checkpoints, oldest first. */
export async function checkpointIds(store: BenchStore): Promise<string[]> {
  const { session } = store;
  if (store.pool) {
    const { rows } = await store.pool.query<{ id: string }>(
      `SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id COLLATE "C"`,
      [session.threadId],
    );
    return rows.map((r) => r.id);
  }
  if (store.kind === "memory") {
    const saved = (session.saver as MemorySaver).storage[session.threadId]?.[""] ?? {};
    return Object.keys(saved).sort();
  }
  const rows = session
    .db!.prepare("SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id")
    .all(session.threadId) as { id: string }[];
  return rows.map((r) => r.id);
}

/** Bytes the store takes, whole and in parts. */
export interface StorageBytes {
  /** Everything: checkpoints, event store, knowledge store, history lines, registry, indexes. */
  whole: number;
  checkpoints: number;
  knowledge: number;
  /** What is neither: the event store, history lines, tags, the registry. */
  other: number;
  /** Each table with its indexes (a MemorySaver's checkpoints as `MemorySaver`). */
  tables: Record<string, number>;
}

const SQLITE_CHECKPOINT_TABLES = ["checkpoints", "checkpoint_writes", "checkpoint_task_writes", "checkpoint_blobs", "writes"];
const SQLITE_KNOWLEDGE_TABLES = [KB_ITEMS_TABLE, KB_NAMESPACES_TABLE];
const PG_CHECKPOINT_TABLES = ["checkpoints", "checkpoint_writes", "checkpoint_blobs", "checkpoint_migrations", "shopstate_task_paths"];

/**
 * SQLite: the pages of every table and index (dbstat), so free pages are not
 * counted. PostgreSQL: `pg_total_relation_size` (table, indexes, TOAST) of
 * every table in the public schema. MemorySaver: the bytes of its serialized
 * checkpoints and writes, with the knowledge store's SQLite tables.
 */
export async function storageBytes(store: BenchStore): Promise<StorageBytes> {
  if (store.pool) {
    const { rows } = await store.pool.query<{ name: string; bytes: string }>(
      "SELECT tablename AS name, pg_total_relation_size(format('%I.%I', schemaname, tablename)) AS bytes FROM pg_tables WHERE schemaname = 'public'",
    );
    return split(
      rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) })),
      PG_CHECKPOINT_TABLES,
      (name) => name.startsWith("store"),
    );
  }
  const db = store.session.db!;
  const rows = db
    .prepare("SELECT s.tbl_name AS name, COALESCE(SUM(d.pgsize), 0) AS bytes FROM sqlite_master s JOIN dbstat d ON d.name = s.name GROUP BY s.tbl_name")
    .all() as { name: string; bytes: number }[];
  const schema = db.prepare("SELECT COALESCE(SUM(pgsize), 0) AS bytes FROM dbstat WHERE name = 'sqlite_schema' OR name = 'sqlite_master'").get() as {
    bytes: number;
  };
  const parts = split([...rows, { name: "sqlite_schema", bytes: schema.bytes }], SQLITE_CHECKPOINT_TABLES, (name) => SQLITE_KNOWLEDGE_TABLES.includes(name));
  if (store.kind !== "memory") return parts;
  const saver = store.session.saver as MemorySaver;
  let checkpoints = 0;
  for (const namespaces of Object.values(saver.storage)) {
    for (const saved of Object.values(namespaces))
      for (const [checkpoint, metadata] of Object.values(saved)) checkpoints += checkpoint.byteLength + metadata.byteLength;
  }
  for (const writes of Object.values(saver.writes)) for (const [, , value] of Object.values(writes)) checkpoints += value.byteLength;
  return {
    whole: parts.knowledge + parts.other + checkpoints,
    checkpoints,
    knowledge: parts.knowledge,
    other: parts.other,
    tables: { ...parts.tables, MemorySaver: checkpoints },
  };
}

function split(rows: { name: string; bytes: number }[], checkpointTables: string[], isKnowledge: (name: string) => boolean): StorageBytes {
  const sum = (keep: (name: string) => boolean) => rows.filter((r) => keep(r.name)).reduce((s, r) => s + r.bytes, 0);
  const checkpoints = sum((n) => checkpointTables.includes(n));
  const knowledge = sum((n) => !checkpointTables.includes(n) && isKnowledge(n));
  const whole = sum(() => true);
  return { whole, checkpoints, knowledge, other: whole - checkpoints - knowledge, tables: Object.fromEntries(rows.map((r) => [r.name, r.bytes])) };
}
