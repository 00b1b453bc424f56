/**
 * The SQLite file behind every store: one connection, pragmas set on purpose,
 * our checkpointer (`saver.ts`) on top.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ShopstateSaver } from "./saver.js";

/** How long a writer waits for another connection's short transaction before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 10_000;

export function openDatabase(path: string): Database.Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // WAL lets readers run beside one writer; NORMAL is durable across process
  // crashes in WAL mode (only an OS crash can lose the newest transactions).
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}

/**
 * The store's checkpointer, writing the store's name into every checkpoint's
 * metadata (SPEC §6), so a raw checkpoint says whose it is (thread id -> store name).
 */
export function sqliteSaver(db: Database.Database, names: ReadonlyMap<string, string> = new Map()): ShopstateSaver {
  return new ShopstateSaver(db, names);
}
