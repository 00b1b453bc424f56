/**
 * The SQLite file behind every store: one connection, pragmas set on purpose,
 * the official SqliteSaver on top.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Checkpoint, CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";

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
 * The official SqliteSaver, with the store's name written into every
 * checkpoint's metadata (SPEC §6), so a raw checkpoint says whose it is.
 */
export class StoreSaver extends SqliteSaver {
  constructor(
    db: Database.Database,
    private readonly names: ReadonlyMap<string, string>,
  ) {
    super(db);
  }

  override put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata): Promise<RunnableConfig> {
    const store = this.names.get(String(config.configurable?.thread_id));
    return super.put(config, checkpoint, store ? ({ ...metadata, store } as CheckpointMetadata) : metadata);
  }
}

/** A saver that names checkpoints of the given thread ids (thread id -> store name). */
export function sqliteSaver(db: Database.Database, names: ReadonlyMap<string, string> = new Map()): SqliteSaver {
  return new StoreSaver(db, names);
}
