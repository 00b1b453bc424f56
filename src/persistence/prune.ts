/**
 * Retention: removes a store's old checkpoints and gives the space back.
 *
 * What stays: the newest checkpoints (`keepLast`) or those from a given one on
 * (`before`), and every tagged checkpoint, whatever its age. The head is always
 * kept, so the event log, which every checkpoint holds whole, stays complete.
 *
 * A kept checkpoint must still load on its own:
 * - channel values are blobs keyed by version, shared by the checkpoints that
 *   have that version; a blob stays while any kept checkpoint refers to it;
 * - a snapshot stored as a diff whose base would go is rewritten whole first
 *   (the "full snapshot at the oldest checkpoint kept");
 * - a delta channel with no stored value at an oldest kept checkpoint (rebuilt
 *   from ancestors' writes, which are going) gets a whole snapshot of the value
 *   it has there, computed before anything is deleted;
 * - a kept checkpoint whose parent goes becomes a root.
 * Then VACUUM returns the freed pages to the file system.
 */
import type Database from "better-sqlite3";
import { isDeltaSnapshot, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { forgetSteps } from "./steps_table.js";
import { taggedCheckpointIds } from "../timetravel/tags.js";
import type { StoreGraph } from "../graph.js";
import { decodeValue } from "./codec.js";
import { dictionaryOf } from "./dictionaries.js";
import { WRITES_TABLES } from "./writes.js";
import type { ShopstateSaver } from "./saver.js";

export interface PruneOptions {
  /** Keep this many newest checkpoints (at least 1). */
  keepLast?: number;
  /** Remove the checkpoints older than this one (a full checkpoint id of the store). */
  before?: string;
}

export interface PruneResult {
  removed: number;
  kept: number;
  /** Tagged checkpoints kept although older than the cut. */
  keptTagged: number;
  bytesBefore: number;
  bytesAfter: number;
}

export class PruneError extends Error {
  override name = "PruneError";
}

/** Bytes of the database file and its WAL, once the WAL is written back. */
export function databaseBytes(db: Database.Database): number {
  db.pragma("wal_checkpoint(TRUNCATE)");
  const pages = db.pragma("page_count", { simple: true }) as number;
  const size = db.pragma("page_size", { simple: true }) as number;
  return pages * size;
}

interface Row {
  id: string;
  parent: string | null;
}

/** Which checkpoints of the thread's root namespace go, by the options. */
function checkpointsToRemove(ids: string[], tagged: Set<string>, options: PruneOptions): { remove: string[]; keptTagged: number } {
  let cut: number;
  if (options.keepLast !== undefined) {
    if (!Number.isInteger(options.keepLast) || options.keepLast < 1)
      throw new PruneError(`--keep-last must be a whole number of at least 1, got ${options.keepLast}`);
    cut = Math.max(0, ids.length - options.keepLast);
  } else if (options.before !== undefined) {
    cut = ids.indexOf(options.before);
    if (cut < 0)
      throw new PruneError(`--before: no checkpoint '${options.before}' in this store; pass a full checkpoint id (shopstate state --json shows the head's)`);
  } else throw new PruneError("prune needs --keep-last N or --before CHECKPOINT_ID");
  const older = ids.slice(0, cut);
  const remove = older.filter((id) => !tagged.has(id));
  return { remove, keptTagged: older.length - remove.length };
}

export async function pruneCheckpoints(
  db: Database.Database,
  saver: ShopstateSaver,
  graph: StoreGraph,
  threadId: string,
  options: PruneOptions,
): Promise<PruneResult> {
  saver.setup();
  const ns = "";
  const bytesBefore = databaseBytes(db);
  const rows = db
    .prepare("SELECT checkpoint_id AS id, parent_checkpoint_id AS parent FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id")
    .all(threadId, ns) as Row[];
  const tagged = taggedCheckpointIds(db, threadId);
  const { remove, keptTagged } = checkpointsToRemove(
    rows.map((r) => r.id),
    tagged,
    options,
  );
  const removed = new Set(remove);
  const kept = rows.filter((r) => !removed.has(r.id));
  if (removed.size === 0) return { removed: 0, kept: kept.length, keptTagged, bytesBefore, bytesAfter: bytesBefore };

  // Blobs the kept checkpoints refer to, and the oldest kept ones (their parent goes).
  const keptVersions = new Map<string, Set<string>>();
  const roots: { id: string; versions: Checkpoint["channel_versions"] }[] = [];
  const readCheckpoint = db.prepare("SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?");
  for (const row of kept) {
    const stored = readCheckpoint.get(threadId, ns, row.id) as { type: string | null; checkpoint: Uint8Array };
    const checkpoint = (await decodeValue(saver.serde, stored.type ?? "json", stored.checkpoint, dictionaryOf("checkpoint"))) as Checkpoint;
    for (const [channel, version] of Object.entries(checkpoint.channel_versions)) {
      let versions = keptVersions.get(channel);
      if (!versions) keptVersions.set(channel, (versions = new Set()));
      versions.add(String(version));
    }
    if (row.parent !== null && removed.has(row.parent)) roots.push({ id: row.id, versions: checkpoint.channel_versions });
  }

  // Before deleting: every value an oldest kept checkpoint rebuilds from ancestors is stored whole at it.
  for (const root of roots) {
    const tuple = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: root.id } });
    const snapshot = await graph.getState({ configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: root.id } });
    const values = snapshot.values as Record<string, unknown>;
    for (const [channel, version] of Object.entries(root.versions)) {
      if ((graph.channels[channel] as { lc_graph_name?: string } | undefined)?.lc_graph_name !== "DeltaChannel") continue;
      if (tuple && Object.prototype.hasOwnProperty.call(tuple.checkpoint.channel_values, channel)) continue;
      if (!Object.prototype.hasOwnProperty.call(values, channel)) continue;
      const value = values[channel];
      await saver.storeSnapshot(threadId, ns, channel, String(version), isDeltaSnapshot(value) ? value.value : value);
    }
  }
  const thread = saver.blobThread(threadId);
  // Diff chains that would lose their base start whole at the oldest blob kept.
  const blobs = db
    .prepare("SELECT channel, version, base_version AS base FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ? AND base_version IS NOT NULL")
    .all(thread, ns) as {
    channel: string;
    version: string;
    base: string;
  }[];
  for (const blob of blobs) {
    const versions = keptVersions.get(blob.channel);
    if (versions?.has(blob.version) && !versions.has(blob.base)) await saver.materializeSnapshot(threadId, ns, blob.channel, blob.version);
  }

  // Sends kept checkpoints read from the writes about to go.
  await saver.materializeSends(threadId, ns, removed);
  db.transaction(() => {
    const deleteCheckpoint = db.prepare("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?");
    const deleteWrites = WRITES_TABLES.map((table) => db.prepare(`DELETE FROM ${table} WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?`));
    for (const id of removed) {
      deleteCheckpoint.run(threadId, ns, id);
      for (const statement of deleteWrites) statement.run(threadId, ns, id);
    }
    db.prepare(
      `UPDATE checkpoints SET parent_checkpoint_id = NULL WHERE thread_id = ? AND checkpoint_ns = ? AND parent_checkpoint_id IS NOT NULL
       AND parent_checkpoint_id NOT IN (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ?)`,
    ).run(threadId, ns, threadId, ns);
    // Blobs no kept checkpoint refers to (kept diffs now start from kept blobs).
    const allBlobs = db.prepare("SELECT channel, version FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ?").all(thread, ns) as {
      channel: string;
      version: string;
    }[];
    const deleteBlob = db.prepare("DELETE FROM checkpoint_blobs WHERE thread = ? AND checkpoint_ns = ? AND channel = ? AND version = ?");
    for (const blob of allBlobs) if (!keptVersions.get(blob.channel)?.has(blob.version)) deleteBlob.run(thread, ns, blob.channel, blob.version);
  })();
  // History lines of removed checkpoints, and of roots whose line was a step from a removed parent.
  const keptRoots = (
    db.prepare("SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND parent_checkpoint_id IS NULL").all(threadId, ns) as {
      id: string;
    }[]
  ).map((r) => r.id);
  forgetSteps(db, threadId, [...removed, ...keptRoots]);
  await saver.rebuildSeeds(threadId, ns);
  saver.forgetThread(threadId);
  db.exec("VACUUM");
  return { removed: removed.size, kept: kept.length, keptTagged, bytesBefore, bytesAfter: databaseBytes(db) };
}
