/** `shopstate stores --delete` and `shopstate prune`: removing a store, or old checkpoints of one. */
import { UsageError } from "../errors.js";
import { PruneError, pruneCheckpoints, type PruneOptions, type PruneResult } from "../persistence/prune.js";
import { ShopstateSaver } from "../persistence/saver.js";
import { withLease } from "./lease.js";
import type { StoreSession } from "./session.js";

/** Deletes a store: its checkpoints, its history in the event store, its name, tags and history lines. */
export async function deleteStore(session: StoreSession, waitMs?: number): Promise<void> {
  // All under the lease: a writer that got in between would write to a store whose name, tags or history lines are going.
  await withLease(session, waitMs, async () => {
    await session.saver.deleteThread(session.threadId);
    await session.events.deleteThread(session.threadId);
    await session.meta.forgetStore(session.name);
    await session.meta.forgetTags(session.threadId);
    await session.meta.forgetSteps(session.threadId);
  });
}

/** Removes the store's old checkpoints (never tagged ones) and reclaims the space; see persistence/prune.ts. The event store keeps every event. */
export async function pruneStore(session: StoreSession, options: PruneOptions, waitMs?: number): Promise<PruneResult> {
  const { saver, db } = session;
  if (!(saver instanceof ShopstateSaver) || !db) {
    throw new UsageError(`prune works on SQLite stores only (it rewrites our SQLite saver's snapshots); store '${session.name}' is in ${session.meta.where}`);
  }
  return withLease(session, waitMs, async () => {
    try {
      return await pruneCheckpoints(db, saver, session.graph, session.threadId, options);
    } catch (error) {
      if (error instanceof PruneError) throw new UsageError(error.message);
      throw error;
    }
  });
}
