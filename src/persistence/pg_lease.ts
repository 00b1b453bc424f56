/**
 * One writer per store on PostgreSQL (docs/reliability.md): a session-level advisory lock
 * per store, held on a connection of its own for the whole write.
 *
 * Why an advisory lock rather than the lease row SQLite uses: PostgreSQL
 * releases it the moment the holder's connection ends, so a crashed or killed
 * writer frees its store at once (no expiry to wait out, no renewal timer
 * that a stalled event loop could miss), and a holder that is alive keeps it
 * however long its run takes. The holder names itself in its connection's
 * `application_name`, so a refused writer can say who holds the store.
 */
import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import pg from "pg";
import { LeaseBusyError, LeaseLostError, type WriteLease } from "./lease.js";

/** First key of every shopstate advisory lock, so ours never meet another application's. */
export const LOCK_NAMESPACE = 0x5e0b57a7 | 0;
/** Second key of the lock that serialises table set-up across processes. */
export const SETUP_LOCK_KEY = 0;

/** A store's lock key: 32 bits of the thread id's hash, never 0, the set-up lock's (a collision only makes two stores share a writer). */
export function lockKeyOf(threadId: string): number {
  return createHash("sha256").update(threadId).digest().readInt32BE(0) || 1;
}

const POLL_MS = 100;

/**
 * Takes the store's lock on a new connection, waiting up to `waitMs`.
 * The connection stays open (and the lock held) until `release`.
 */
export async function acquirePgLease(connection: pg.ClientConfig, store: string, threadId: string, waitMs: number): Promise<WriteLease> {
  const holder = `shopstate pid ${process.pid} on ${hostname()} (${randomUUID().slice(0, 8)})`;
  const client = new pg.Client({ ...connection, application_name: holder.slice(0, 63) });
  await client.connect();
  // A dropped connection frees the lock on the server, so a second writer could join: the lease is lost and the run must
  // stop (the error listener also keeps the error from crashing the process).
  const lost = new AbortController();
  let released = false;
  const lose = (why: string) => {
    if (!released && !lost.signal.aborted) lost.abort(new LeaseLostError(store, why));
  };
  client.on("error", (error) => lose(`its lock connection to PostgreSQL failed (${error.message}), which frees the lock`));
  client.on("end", () => lose("its lock connection to PostgreSQL ended, which frees the lock"));
  const key = lockKeyOf(threadId);
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [LOCK_NAMESPACE, key]);
      if (rows[0].ok) break;
      if (Date.now() >= deadline) throw new LeaseBusyError(store, await holderOf(client, key));
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    holder,
    lost: lost.signal,
    async release() {
      released = true;
      // Ending the session releases the lock, even if the unlock query fails.
      await client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_NAMESPACE, key]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Who holds a store's lock, from the holder's connection name (or its server pid when it set none). */
async function holderOf(client: pg.Client, key: number): Promise<string> {
  const { rows } = await client.query<{ name: string | null; pid: number }>(
    `SELECT a.application_name AS name, l.pid FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ($1::int)::oid AND l.objid = ($2::int)::oid AND l.objsubid = 2 LIMIT 1`,
    [LOCK_NAMESPACE, key],
  );
  if (rows.length === 0) return "a writer that has just finished";
  return rows[0].name || `PostgreSQL backend pid ${rows[0].pid}`;
}
