/**
 * One writer per store (SPEC §6): a lease row per thread in the same SQLite
 * file. A writer takes it in a short transaction, renews it while it works
 * and drops it when done; a crashed writer's lease simply expires. Writers of
 * different stores never wait for each other.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";

export const LEASE_TTL_MS = 15_000;

export class LeaseBusyError extends Error {
  override name = "LeaseBusyError";
  constructor(
    readonly store: string,
    readonly holder: string,
    readonly expiresAt: string,
  ) {
    super(`store '${store}' is being written by another process (${holder}); its lease runs until ${expiresAt}. Wait for it to finish, or pass --wait SECONDS to wait.`);
  }
}

export interface Lease {
  readonly holder: string;
  release(): void;
}

function ensureLeaseTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS shopstate_leases (
    thread_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  )`);
}

function tryAcquire(db: Database.Database, threadId: string, holder: string, now: number): { ok: true } | { ok: false; holder: string; expiresAt: number } {
  return db
    .transaction(() => {
      const row = db.prepare("SELECT holder, expires_at AS expiresAt FROM shopstate_leases WHERE thread_id = ?").get(threadId) as { holder: string; expiresAt: number } | undefined;
      if (row && row.holder !== holder && row.expiresAt > now) return { ok: false as const, ...row };
      db.prepare("INSERT INTO shopstate_leases (thread_id, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(thread_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at").run(threadId, holder, now + LEASE_TTL_MS);
      return { ok: true as const };
    })
    .immediate();
}

/** Takes the store's lease, waiting up to `waitMs` for another writer to finish. */
export async function acquireLease(db: Database.Database, store: string, threadId: string, waitMs = 0): Promise<Lease> {
  ensureLeaseTable(db);
  const holder = `pid ${process.pid} on ${hostname()} (${randomUUID().slice(0, 8)})`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const attempt = tryAcquire(db, threadId, holder, Date.now());
    if (attempt.ok) break;
    if (Date.now() >= deadline) throw new LeaseBusyError(store, attempt.holder, new Date(attempt.expiresAt).toISOString());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const renew = setInterval(() => {
    db.prepare("UPDATE shopstate_leases SET expires_at = ? WHERE thread_id = ? AND holder = ?").run(Date.now() + LEASE_TTL_MS, threadId, holder);
  }, LEASE_TTL_MS / 3);
  renew.unref();
  return {
    holder,
    release() {
      clearInterval(renew);
      db.prepare("DELETE FROM shopstate_leases WHERE thread_id = ? AND holder = ?").run(threadId, holder);
    },
  };
}
