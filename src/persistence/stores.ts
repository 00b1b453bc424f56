/**
 * Stores: one per LangGraph thread, named by people and addressed by the
 * UUIDv5 of the name (the LangGraph server requires UUID thread ids).
 */
import type Database from "better-sqlite3";
import { v5 as uuidv5 } from "uuid";

/** Fixed namespace for store names, so every process derives the same thread id. */
const STORE_NAMESPACE = "5d8f0c5e-0b8e-4f7a-9a51-6f1f3c2b7e10";

export function threadIdFor(storeName: string): string {
  return uuidv5(storeName, STORE_NAMESPACE);
}

export function validateStoreName(name: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? undefined : `invalid store name '${name}': use 1-64 letters, digits, '.', '_' or '-'`;
}

export interface StoreRecord {
  name: string;
  threadId: string;
  createdAt: string;
  /** What created it: `ingest`, `demo`, `import`. The demo only ever replaces its own stores. */
  origin: string;
}

const COLUMNS = "name, thread_id AS threadId, created_at AS createdAt, origin";

export function ensureStoreTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS shopstate_stores (
    name TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'ingest'
  )`);
}

export function registerStore(db: Database.Database, name: string, origin = "ingest", now: Date = new Date()): StoreRecord {
  ensureStoreTable(db);
  db.prepare("INSERT OR IGNORE INTO shopstate_stores (name, thread_id, created_at, origin) VALUES (?, ?, ?, ?)").run(
    name,
    threadIdFor(name),
    now.toISOString(),
    origin,
  );
  return findStore(db, name) as StoreRecord;
}

export function listStores(db: Database.Database): (StoreRecord & { checkpoints: number })[] {
  ensureStoreTable(db);
  const hasCheckpoints = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").get() !== undefined;
  const count = hasCheckpoints ? "(SELECT COUNT(*) FROM checkpoints c WHERE c.thread_id = s.thread_id AND c.checkpoint_ns = '')" : "0";
  return db.prepare(`SELECT ${COLUMNS}, ${count} AS checkpoints FROM shopstate_stores s ORDER BY name`).all() as (StoreRecord & { checkpoints: number })[];
}

export function findStore(db: Database.Database, name: string): StoreRecord | undefined {
  ensureStoreTable(db);
  return db.prepare(`SELECT ${COLUMNS} FROM shopstate_stores WHERE name = ?`).get(name) as StoreRecord | undefined;
}

export function forgetStore(db: Database.Database, name: string): void {
  ensureStoreTable(db);
  db.prepare("DELETE FROM shopstate_stores WHERE name = ?").run(name);
}
