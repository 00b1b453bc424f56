/**
 * Tags: names people give checkpoints ("before-sale", "good"), kept in the
 * same database as the checkpoints so they survive restarts (here the SQLite
 * file's table; `persistence/postgres.ts` keeps the same one). A label is
 * unique per store (thread). The prune command reads `taggedCheckpointIds`
 * so a tagged checkpoint is never deleted.
 */
import type Database from "better-sqlite3";

export interface Tag {
  label: string;
  checkpointId: string;
  createdAt: string;
}

export function ensureTagTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS shopstate_tags (
    thread_id TEXT NOT NULL,
    label TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (thread_id, label)
  )`);
}

/**
 * Why a label cannot be a tag, or undefined. A label starts with a letter and
 * is never `head`, so it cannot be mistaken for `head~N` or read as a number.
 */
export function tagLabelProblem(label: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9._-]{0,63}$/.test(label)) return `invalid tag '${label}': use 1-64 letters, digits, '.', '_' or '-', starting with a letter`;
  if (/^head$/i.test(label)) return "'head' is a reference to the newest checkpoint and cannot be a tag";
  return undefined;
}

export class TagExistsError extends Error {
  override name = "TagExistsError";
  constructor(
    readonly label: string,
    readonly checkpointId: string,
  ) {
    super(`tag '${label}' already names checkpoint ${checkpointId} (tags are unique per store; pick another name)`);
  }
}

/** Names a checkpoint. Refuses a label already in use in the thread. */
export function addTag(db: Database.Database, threadId: string, label: string, checkpointId: string, now: Date = new Date()): Tag {
  ensureTagTable(db);
  const existing = findTag(db, threadId, label);
  if (existing) throw new TagExistsError(label, existing.checkpointId);
  const createdAt = now.toISOString();
  db.prepare("INSERT INTO shopstate_tags (thread_id, label, checkpoint_id, created_at) VALUES (?, ?, ?, ?)").run(threadId, label, checkpointId, createdAt);
  return { label, checkpointId, createdAt };
}

export function findTag(db: Database.Database, threadId: string, label: string): Tag | undefined {
  ensureTagTable(db);
  return db
    .prepare("SELECT label, checkpoint_id AS checkpointId, created_at AS createdAt FROM shopstate_tags WHERE thread_id = ? AND label = ?")
    .get(threadId, label) as Tag | undefined;
}

export function listTags(db: Database.Database, threadId: string): Tag[] {
  ensureTagTable(db);
  return db
    .prepare("SELECT label, checkpoint_id AS checkpointId, created_at AS createdAt FROM shopstate_tags WHERE thread_id = ? ORDER BY created_at, label")
    .all(threadId) as Tag[];
}

/** Checkpoints that must never be pruned: every tagged one of the thread. */
export function taggedCheckpointIds(db: Database.Database, threadId: string): Set<string> {
  ensureTagTable(db);
  const rows = db.prepare("SELECT checkpoint_id AS checkpointId FROM shopstate_tags WHERE thread_id = ?").all(threadId) as { checkpointId: string }[];
  return new Set(rows.map((r) => r.checkpointId));
}

/** Drops a deleted store's tags with it. */
export function forgetTags(db: Database.Database, threadId: string): void {
  ensureTagTable(db);
  db.prepare("DELETE FROM shopstate_tags WHERE thread_id = ?").run(threadId);
}
