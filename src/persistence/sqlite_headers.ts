/**
 * Checkpoint headers (id, parent, metadata, time; no state) straight from a
 * SQLite file's `checkpoints` table, the layout the stock `SqliteSaver` and our
 * saver share. History and refs page through these, so a page costs the same
 * at any depth on either saver: `saver.list` would load every state of the page.
 */
import type Database from "better-sqlite3";
import type { CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { decodeValue, metadataText } from "./codec.js";
import { dictionaryOf } from "./dictionaries.js";
import { FastJsonPlusSerializer } from "./serde.js";

/** A checkpoint without its state. */
export interface CheckpointHeader {
  checkpointId: string;
  parentId?: string;
  metadata: CheckpointMetadata;
  /** The checkpoint's `ts`, as `StateSnapshot.createdAt` gives it. */
  createdAt?: string;
}

interface HeaderRow {
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  type: string | null;
  /** The time, read by SQLite from a plain JSON checkpoint (the stock saver's, which holds the whole state). */
  ts: string | null;
  /** The encoded checkpoint, when SQLite cannot read its time (our saver's, compressed and small). */
  checkpoint: Uint8Array | string | null;
  metadata: Uint8Array | string | null;
}

const COLUMNS = `checkpoint_id, parent_checkpoint_id, type, metadata,
  CASE WHEN type = 'json' THEN json_extract(CAST(checkpoint AS TEXT), '$.ts') END AS ts,
  CASE WHEN type = 'json' THEN NULL ELSE checkpoint END AS checkpoint`;

/** Headers of a thread's root checkpoints, newest first: `limit` of them, older than `before` when given. */
export function sqliteCheckpointHeaders(db: Database.Database) {
  const serde = new FastJsonPlusSerializer();
  let newest: Database.Statement<[string, number], HeaderRow> | undefined;
  let older: Database.Statement<[string, string, number], HeaderRow> | undefined;
  return async (threadId: string, options: { limit: number; before?: string }): Promise<CheckpointHeader[]> => {
    // Prepared on first use: the stock saver creates its tables when it is first used, not when it is made.
    if (!newest && !db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").get()) return [];
    newest ??= db.prepare(`SELECT ${COLUMNS} FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT ?`);
    older ??= db.prepare(
      `SELECT ${COLUMNS} FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id < ? ORDER BY checkpoint_id DESC LIMIT ?`,
    );
    const rows = options.before === undefined ? newest.all(threadId, options.limit) : older.all(threadId, options.before, options.limit);
    const headers: CheckpointHeader[] = [];
    for (const row of rows) {
      const ts = row.ts ?? ((await decodeValue(serde, row.type ?? "json", row.checkpoint, dictionaryOf("checkpoint"))) as { ts?: string } | undefined)?.ts;
      headers.push({
        checkpointId: row.checkpoint_id,
        parentId: row.parent_checkpoint_id ?? undefined,
        metadata: (await serde.loadsTyped("json", row.metadata === null ? "" : metadataText(row.metadata))) as CheckpointMetadata,
        createdAt: ts ?? undefined,
      });
    }
    return headers;
  };
}
