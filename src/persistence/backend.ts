/**
 * What a store keeps beside its checkpoints: the registry of store names, the
 * per-store write lease, tags and stored history lines. The SQLite file holds
 * them in its own tables (synchronous, on the store's connection); PostgreSQL
 * holds the same tables (`postgres.ts`). Callers go through this seam, so the
 * CLI, time travel and the workers read the same on either.
 */
import type Database from "better-sqlite3";
import { forgetSteps, storedSteps, storeSteps, type StepRecord } from "./steps_table.js";
import { addTag, findTag, forgetTags, listTags, type Tag } from "../timetravel/tags.js";
import { acquireLease, type WriteLease } from "./lease.js";
import { sqliteCheckpointHeaders, type CheckpointHeader } from "./sqlite_headers.js";
import { findStore, forgetStore, listStores, registerStore, type StoreRecord } from "./stores.js";

export interface StoreMeta {
  /** Where the stores live, for messages: the SQLite path, or the PostgreSQL URL without its password. */
  readonly where: string;
  registerStore(name: string, origin?: string): Promise<StoreRecord>;
  findStore(name: string): Promise<StoreRecord | undefined>;
  listStores(): Promise<(StoreRecord & { checkpoints: number })[]>;
  forgetStore(name: string): Promise<void>;
  /** Takes the store's write lease, waiting up to `waitMs` for another writer; refuses with LeaseBusyError after that. */
  acquireLease(store: string, threadId: string, waitMs: number): Promise<WriteLease>;
  addTag(threadId: string, label: string, checkpointId: string): Promise<Tag>;
  findTag(threadId: string, label: string): Promise<Tag | undefined>;
  listTags(threadId: string): Promise<Tag[]>;
  forgetTags(threadId: string): Promise<void>;
  storedSteps(threadId: string, checkpointIds: readonly string[]): Promise<Map<string, StepRecord>>;
  storeSteps(threadId: string, records: ReadonlyMap<string, StepRecord>): Promise<void>;
  forgetSteps(threadId: string): Promise<void>;
  /** Checkpoint headers (no states), newest first, when the backend reads them without loading states. */
  listHeaders?(threadId: string, options: { limit: number; before?: string }): Promise<CheckpointHeader[]>;
}

/**
 * The SQLite file's tables, through the synchronous functions that own them.
 * `checkpointsInFile`: the file's `checkpoints` table holds the store's
 * checkpoints (our saver's or the stock SqliteSaver's), so history reads their
 * headers from it without loading states.
 */
export function sqliteMeta(db: Database.Database, where: string, options: { checkpointsInFile?: boolean } = {}): StoreMeta {
  return {
    where,
    registerStore: async (name, origin) => registerStore(db, name, origin),
    findStore: async (name) => findStore(db, name),
    listStores: async () => listStores(db),
    forgetStore: async (name) => forgetStore(db, name),
    acquireLease: (store, threadId, waitMs) => acquireLease(db, store, threadId, waitMs),
    addTag: async (threadId, label, checkpointId) => addTag(db, threadId, label, checkpointId),
    findTag: async (threadId, label) => findTag(db, threadId, label),
    listTags: async (threadId) => listTags(db, threadId),
    forgetTags: async (threadId) => forgetTags(db, threadId),
    storedSteps: async (threadId, ids) => storedSteps(db, threadId, ids),
    storeSteps: async (threadId, records) => storeSteps(db, threadId, records),
    forgetSteps: async (threadId) => forgetSteps(db, threadId),
    ...(options.checkpointsInFile ? { listHeaders: sqliteCheckpointHeaders(db) } : {}),
  };
}

/** Labels by checkpoint id, for history. */
export async function tagsByCheckpoint(meta: StoreMeta, threadId: string): Promise<Map<string, string[]>> {
  const byCheckpoint = new Map<string, string[]>();
  for (const tag of await meta.listTags(threadId)) byCheckpoint.set(tag.checkpointId, [...(byCheckpoint.get(tag.checkpointId) ?? []), tag.label]);
  return byCheckpoint;
}
