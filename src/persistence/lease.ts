/**
 * One writer per store (docs/reliability.md): a lease row per thread in the same SQLite
 * file. A writer takes it in a short transaction, renews it while it works
 * and drops it when done; no write transaction is held across a run, so
 * writers of different stores never wait for each other for long.
 *
 * A writer killed with SIGKILL cannot drop its lease. Rather than block a
 * restart for the rest of the TTL, a lease whose holder is a process on this
 * host that no longer exists is taken over at once (a pid now held by a
 * process that started at another time than the holder counts as gone: the
 * pid was reused), and one whose holder still runs here is never taken; a holder on another host (the file on a
 * shared disk) is trusted until its lease expires.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";

export const LEASE_TTL_MS = 15_000;

export class LeaseBusyError extends Error {
  override name = "LeaseBusyError";
  constructor(
    readonly store: string,
    readonly holder: string,
    /** When the holder's lease runs out; undefined for a lock held as long as its holder's write (PostgreSQL). */
    readonly expiresAt?: string,
    /** The lease ran out but its holder, on this host, is still running. */
    overdue = false,
  ) {
    const until =
      expiresAt === undefined
        ? "it holds the store until its write ends"
        : overdue
          ? `its lease ran out at ${expiresAt} but that process is still running`
          : `its lease runs until ${expiresAt}`;
    super(`store '${store}' is being written by another process (${holder}); ${until}. Wait for it to finish, or pass --wait SECONDS to wait.`);
  }
}

/** A writer's lease ran out from under it (another writer may now be in): its work must stop. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(
    readonly store: string,
    why: string,
  ) {
    super(
      `lost the write lease of store '${store}': ${why}; the write stopped at its last checkpoint, and the next command resumes from there as after a crash`,
    );
  }
}

/** A held write lease, on either backend: one writer per store (docs/reliability.md). */
export interface WriteLease {
  readonly holder: string;
  /** Aborts, with a LeaseLostError as its reason, if the lease is lost while held; the holder's work must then stop. */
  readonly lost: AbortSignal;
  release(): void | Promise<void>;
}

/** The SQLite lease: lost when taken over, or not renewed before it ran out; released synchronously. */
export type Lease = WriteLease & { release(): void };

/** Who holds a lease: a readable label, and the process (its id and start time) and host to check it is still alive. */
interface Holder {
  label: string;
  pid: number;
  started: string | undefined;
  host: string;
}

interface LeaseRow {
  holder: string;
  pid: number | null;
  started: string | null;
  host: string | null;
  expiresAt: number;
}

function ensureLeaseTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS shopstate_leases (
    thread_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    pid INTEGER,
    host TEXT,
    started TEXT
  )`);
  // Files from before the takeover of dead holders have no pid/host columns, and older ones no start time.
  const columns = new Set((db.prepare("PRAGMA table_info(shopstate_leases)").all() as { name: string }[]).map((c) => c.name));
  for (const [column, type] of [
    ["pid", "INTEGER"],
    ["host", "TEXT"],
    ["started", "TEXT"],
  ] as const) {
    if (columns.has(column)) continue;
    try {
      db.exec(`ALTER TABLE shopstate_leases ADD COLUMN ${column} ${type}`);
    } catch (error) {
      // Another process opening the same old file added it first.
      if (!/duplicate column/i.test((error as Error).message)) throw error;
    }
  }
}

/**
 * Where a pid means something: the host name, plus the pid namespace on Linux,
 * so two containers that share a host name (host networking) and the file
 * never judge each other's pids.
 */
export function thisHost(): string {
  try {
    return `${hostname()} ${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    return hostname();
  }
}

/** Whether a process with this id exists on this machine (EPERM: it exists but is someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * When a process started, to tell it from a later one given the same pid: on Linux, field 22 of /proc/PID/stat (clock
 * ticks after boot). Undefined where there is no /proc or no such process.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2, the command name, is in parentheses and may hold spaces and parentheses: count from the last ')', field 3 on.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether the lease's holder process still runs: its pid exists and, when both start times are known, started when the holder did. */
function holderAlive(row: LeaseRow & { pid: number }): boolean {
  if (!processAlive(row.pid)) return false;
  if (row.started === null) return true;
  const started = processStartTime(row.pid);
  return started === undefined || started === row.started;
}

/** Labels of the leases this process holds now (its pid may have belonged to a killed writer before it). */
const heldHere = new Set<string>();

/**
 * Whether another writer holds the lease. A holder on this host is asked
 * directly: held while its process lives, even past the TTL (a writer starved
 * of CPU for 15 s must not be joined by a second one), free once it is gone
 * (killed; if the pid is now ours, unless this process took that lease). A
 * holder elsewhere holds it until expiry.
 */
function heldByOther(row: LeaseRow, me: Holder, now: number): boolean {
  if (row.holder === me.label) return false;
  if (row.host === me.host && row.pid !== null) return row.pid === me.pid ? heldHere.has(row.holder) : holderAlive({ ...row, pid: row.pid });
  return row.expiresAt > now;
}

function tryAcquire(db: Database.Database, threadId: string, me: Holder, now: number): { ok: true } | { ok: false; holder: string; expiresAt: number } {
  // IMMEDIATE: the write lock is taken before the read, so no other writer slips in between (and busy_timeout applies).
  return db
    .transaction(() => {
      const row = db.prepare("SELECT holder, pid, started, host, expires_at AS expiresAt FROM shopstate_leases WHERE thread_id = ?").get(threadId) as
        LeaseRow | undefined;
      if (row && heldByOther(row, me, now)) return { ok: false as const, holder: row.holder, expiresAt: row.expiresAt };
      db.prepare(
        `INSERT INTO shopstate_leases (thread_id, holder, expires_at, pid, host, started) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(thread_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, pid = excluded.pid, host = excluded.host, started = excluded.started`,
      ).run(threadId, me.label, now + LEASE_TTL_MS, me.pid, me.host, me.started ?? null);
      return { ok: true as const };
    })
    .immediate();
}

/** Takes the store's lease, waiting up to `waitMs` for another writer to finish; renews it every `renewEveryMs` (tests shorten it). */
export async function acquireLease(db: Database.Database, store: string, threadId: string, waitMs = 0, renewEveryMs = LEASE_TTL_MS / 3): Promise<Lease> {
  ensureLeaseTable(db);
  const me: Holder = {
    label: `pid ${process.pid} on ${hostname()} (${randomUUID().slice(0, 8)})`,
    pid: process.pid,
    started: processStartTime(process.pid),
    host: thisHost(),
  };
  const deadline = Date.now() + waitMs;
  for (;;) {
    const attempt = tryAcquire(db, threadId, me, Date.now());
    if (attempt.ok) break;
    if (Date.now() >= deadline) throw new LeaseBusyError(store, attempt.holder, new Date(attempt.expiresAt).toISOString(), attempt.expiresAt <= Date.now());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let expiresAt = Date.now() + LEASE_TTL_MS;
  const lost = new AbortController();
  const lose = (why: string) => {
    clearInterval(renew);
    lost.abort(new LeaseLostError(store, why));
  };
  const renew = setInterval(() => {
    const now = Date.now();
    try {
      const { changes } = db
        .prepare("UPDATE shopstate_leases SET expires_at = ? WHERE thread_id = ? AND holder = ?")
        .run(now + LEASE_TTL_MS, threadId, me.label);
      if (changes === 0) lose("its row no longer names this writer (another process took the store over)");
      else expiresAt = now + LEASE_TTL_MS;
    } catch (error) {
      // A renewal that cannot get the file (busy past busy_timeout) is retried at the next tick while the lease lasts; once it
      // has run out unrenewed, a writer on another host may take the store, so this one stops.
      if (now >= expiresAt) lose(`it could not be renewed before it ran out (${(error as Error).message})`);
    }
  }, renewEveryMs);
  renew.unref();
  heldHere.add(me.label);
  return {
    holder: me.label,
    lost: lost.signal,
    release() {
      clearInterval(renew);
      heldHere.delete(me.label);
      db.prepare("DELETE FROM shopstate_leases WHERE thread_id = ? AND holder = ?").run(threadId, me.label);
    },
  };
}
