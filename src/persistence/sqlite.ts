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

/**
 * SQLite's page cache per connection, in KiB. better-sqlite3 builds SQLite
 * with 16 MiB, which a store fills as its file grows (all of a 5 MiB file at
 * 1,000 input events, 16 MiB of a 50 MiB one at 10,000): the largest part of
 * the benchmark's resident memory growing with the history that was not the
 * log. Our saver keeps the decoded states a run needs in memory, so a run
 * rereads few pages, and those come from the OS's file cache; 4 MiB holds
 * the indexes' inner pages. Ingest took the same time with either size.
 */
export const PAGE_CACHE_KIB = 4096;

/**
 * How much of the file SQLite reads through a memory map rather than a read
 * call per page. A cold CLI process reads pages scattered over the file (an
 * order's stream, the checkpoint it resumes from) that its small page cache
 * has never held; mapped, they come straight from the OS's file cache,
 * without a system call and a copy each. The cold-ingest rows of
 * bench/RESULTS.md measure it.
 */
export const MMAP_BYTES = 256 * 2 ** 20;

/**
 * Pages of a new file, in bytes (SQLite's default is 4096; a file keeps the
 * size it was made with). A checkpoint row or packed writes row is one to two
 * KiB, and a page holds a whole number of them: two such rows leave a good
 * part of a 4 KiB page unused, and the larger the page, the smaller that part.
 */
export const PAGE_SIZE = 8192;

export function openDatabase(path: string): Database.Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // Takes effect only while the file is empty, so before WAL mode writes its header.
  db.pragma(`page_size = ${PAGE_SIZE}`);
  // WAL lets readers run beside one writer; NORMAL is durable across process
  // crashes in WAL mode (only an OS crash can lose the newest transactions).
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  return db;
}

/**
 * The store's checkpointer, writing the store's name into every checkpoint's
 * metadata (docs/architecture.md), so a raw checkpoint says whose it is (thread id -> store name).
 */
export function sqliteSaver(db: Database.Database, names: ReadonlyMap<string, string> = new Map()): ShopstateSaver {
  return new ShopstateSaver(db, names);
}
