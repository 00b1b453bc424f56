/**
 * A store opened on a SQLite file or on PostgreSQL (DATABASE_URL): its graph,
 * its thread, its event store and its checkpointer. Opening is all this module
 * does; the commands are in the modules beside it.
 */
import type Database from "better-sqlite3";
import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph";
import type { RunnableConfig } from "@langchain/core/runnables";
import { UsageError } from "../errors.js";
import { compileStoreGraph, type StoreGraph } from "../graph.js";
import { SqliteStore } from "../memory/sqlite_store.js";
import { sqliteMeta, type StoreMeta } from "../persistence/backend.js";
import { EMPTY_LOG, type EventStore, type LogPointer } from "../persistence/event_store.js";
import type { PostgresBackend } from "../persistence/postgres.js";
import { openDatabase, sqliteSaver } from "../persistence/sqlite.js";
import { sqliteEventStore } from "../persistence/sqlite_event_store.js";
import { storeLog, type StoreLog } from "../persistence/store_log.js";
import { threadIdFor, validateStoreName, type StoreRecord } from "../persistence/stores.js";

export interface StoreSession {
  name: string;
  threadId: string;
  /** The store registry, write lease, tags and history lines (SQLite tables or PostgreSQL ones). */
  meta: StoreMeta;
  /** The SQLite connection, on a store opened on a SQLite file (prune and the benchmark need it). */
  db?: Database.Database;
  saver: BaseCheckpointSaver;
  /** The history: every event of every branch, beside the checkpoints. */
  events: EventStore;
  /** The agents' knowledge store (customer facts), beside the checkpoints. */
  knowledge: BaseStore;
  graph: StoreGraph;
  /** The thread's config. The saver writes the store name into every checkpoint's metadata. */
  config: RunnableConfig;
  close(): void | Promise<void>;
}

/** A store opened on its SQLite file. */
export type SqliteStoreSession = StoreSession & { db: Database.Database; close(): void };

/** Refuses a store name that is not allowed, as a usage error saying why. */
export function assertStoreName(name: string): void {
  const problem = validateStoreName(name);
  if (problem) throw new UsageError(problem);
}

/** Where the stores live: a SQLite file, or PostgreSQL when DATABASE_URL is set. */
export type StoreLocation = { dbPath: string; databaseUrl?: undefined } | { databaseUrl: string };

/** Opens a store where the configuration says (PostgreSQL with a URL, else the SQLite file); `close` releases it all. */
export async function openStoreAt(location: StoreLocation, name: string): Promise<StoreSession> {
  if (location.databaseUrl === undefined) return openStore(location.dbPath, name);
  assertStoreName(name);
  // Loaded here: a process on a SQLite file does not load the PostgreSQL client.
  const { connectPostgres } = await import("../persistence/postgres.js");
  const backend = await connectPostgres(location.databaseUrl);
  const session = openPostgresStore(backend, name);
  return { ...session, close: () => backend.close() };
}

/**
 * A store on a PostgreSQL connection that several stores share (a worker's):
 * closing the session leaves the connection open.
 */
export function openPostgresStore(backend: PostgresBackend, name: string): StoreSession {
  assertStoreName(name);
  const threadId = threadIdFor(name);
  backend.saver.names.set(threadId, name);
  return {
    name,
    threadId,
    meta: backend.meta,
    saver: backend.saver,
    events: backend.events,
    knowledge: backend.knowledge,
    graph: compileStoreGraph({ checkpointer: backend.saver, store: backend.knowledge, events: backend.events }),
    config: { configurable: { thread_id: threadId } },
    close: () => undefined,
  };
}

export function openStore(dbPath: string, name: string): SqliteStoreSession {
  assertStoreName(name);
  const db = openDatabase(dbPath);
  const threadId = threadIdFor(name);
  const saver = sqliteSaver(db, new Map([[threadId, name]]));
  // The log and the customer knowledge base live in the same file, in their own tables.
  const events = sqliteEventStore(db);
  const knowledge = new SqliteStore(db);
  return {
    name,
    threadId,
    meta: sqliteMeta(db, dbPath, { checkpointsInFile: true }),
    db,
    saver,
    events,
    knowledge,
    graph: compileStoreGraph({ checkpointer: saver, store: knowledge, events }),
    config: { configurable: { thread_id: threadId } },
    close: () => {
      db.close();
    },
  };
}

export function storeRecord(session: StoreSession): Promise<StoreRecord | undefined> {
  return session.meta.findStore(session.name);
}

/** The store's log as a checkpoint's values point at it. */
export function logOf(session: Pick<StoreSession, "events" | "threadId">, values: { log?: LogPointer }): StoreLog {
  return storeLog(session.events, session.threadId, values.log ?? EMPTY_LOG);
}

/**
 * Refuses a store written before the event store existed (its log and orders
 * were channels of its checkpoints): this version cannot read it, and says how
 * to move it across (docs/upgrading.md).
 */
export async function assertCurrentLayout(session: StoreSession): Promise<void> {
  const head = await session.saver.getTuple(session.config);
  const channels = head?.checkpoint.channel_versions ?? {};
  if (!("events" in channels) || "log" in channels) return;
  throw new UsageError(
    `store '${session.name}' (${session.meta.where}) was written by a shopstate older than the event store: its log is inside its checkpoints, which this version does not read. ` +
      `Move it across: with the older version, 'shopstate events --json --thread ${session.name} > ${session.name}.json'; with this one, 'shopstate import ${session.name}.json --thread ${session.name}-v2' (docs/upgrading.md)`,
  );
}
