/**
 * The job queue of shopstate's worker processes, a table in the same
 * PostgreSQL as the stores. A job is one batch of input lines for one store.
 *
 * - A worker claims a job with `SELECT ... FOR UPDATE SKIP LOCKED` and keeps
 *   the row locked, in an open transaction, while it runs it; it marks the
 *   job done in that transaction. A worker that dies mid-job rolls back, so
 *   the job is simply queued again; running it twice is harmless, because
 *   ingesting events already in the log is a no-op (docs/events.md).
 * - Jobs of one store run in the order they were queued: only a store's
 *   oldest unfinished job can be claimed, and a failed job holds its store's
 *   later ones back (the order of a store's input is part of its meaning).
 *   Different stores' jobs run in parallel on different workers.
 */
import type pg from "pg";
import type { InputLine } from "../store.js";

export type JobStatus = "queued" | "done" | "failed";

export interface Job {
  id: number;
  store: string;
  source: string;
  lines: InputLine[];
  attempts: number;
}

export interface JobRow {
  id: number;
  store: string;
  source: string;
  status: JobStatus;
  attempts: number;
  worker: string | null;
  error: string | null;
  events: number;
}

/** Attempts before a job is marked failed (and holds its store's later jobs back). */
export const MAX_ATTEMPTS = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_jobs (
  id BIGSERIAL PRIMARY KEY,
  store TEXT NOT NULL,
  source TEXT NOT NULL,
  lines TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  worker TEXT,
  error TEXT,
  result TEXT,
  queued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS shopstate_jobs_open ON shopstate_jobs (store, id) WHERE status <> 'done';`;

export async function ensureJobTable(db: pg.Pool | pg.PoolClient): Promise<void> {
  await db.query(SCHEMA);
}

/** Queues batches of input lines for a store, in order, in one transaction. */
export async function enqueueJobs(pool: pg.Pool, store: string, source: string, batches: readonly InputLine[][]): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const ids: number[] = [];
    for (const batch of batches) {
      const { rows } = await client.query<{ id: string }>("INSERT INTO shopstate_jobs (store, source, lines) VALUES ($1, $2, $3) RETURNING id", [store, source, JSON.stringify(batch)]);
      ids.push(Number(rows[0].id));
    }
    await client.query("COMMIT");
    return ids;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A claimed job: its row stays locked until `done` or `failed` ends the claim. */
export interface Claim {
  job: Job;
  done(result: unknown): Promise<void>;
  /** Gives the job back (or marks it failed after MAX_ATTEMPTS) with the reason. */
  failed(reason: string): Promise<void>;
  /** Gives the job back without counting an attempt (its store was busy: the job itself did not fail). */
  retry(reason: string): Promise<void>;
}

/** A job row's lines, or why they are not a job's lines (the row was written by something other than `enqueueJobs`). */
function parseJobLines(text: string): InputLine[] | string {
  let lines: unknown;
  try {
    lines = JSON.parse(text);
  } catch (error) {
    return `its lines are not valid JSON (${(error as Error).message}); the job cannot run: delete it or queue its input again`;
  }
  const wellFormed = Array.isArray(lines) && lines.every((l) => typeof l === "object" && l !== null && typeof (l as InputLine).text === "string" && typeof (l as InputLine).line === "number");
  return wellFormed ? (lines as InputLine[]) : "its lines are not a list of {line, text} objects; the job cannot run: delete it or queue its input again";
}

/** PostgreSQL text cannot hold NUL, and an error message may quote input that does. */
function storableText(text: string): string {
  return text.replaceAll("\u0000", "\\u0000");
}

/**
 * Claims the oldest runnable job: the oldest unfinished job of a store that
 * no other worker holds. Undefined when there is none right now.
 */
export async function claimJob(pool: pg.Pool, worker: string): Promise<Claim | undefined> {
  const client = await pool.connect();
  let open = false;
  let released = false;
  try {
    await client.query("BEGIN");
    open = true;
    const { rows } = await client.query<{ id: string; store: string; source: string; lines: string; attempts: number }>(
      `SELECT j.id, j.store, j.source, j.lines, j.attempts FROM shopstate_jobs j
       WHERE j.status = 'queued' AND j.id = (SELECT min(o.id) FROM shopstate_jobs o WHERE o.store = j.store AND o.status <> 'done')
       ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    if (rows.length === 0) {
      await client.query("ROLLBACK");
      client.release();
      return undefined;
    }
    const row = rows[0];
    const lines = parseJobLines(row.lines);
    if (typeof lines === "string") {
      // No attempt could ever run it, and it would crash every worker that claims it: failed at once, for a person to see.
      await client.query("UPDATE shopstate_jobs SET status = 'failed', attempts = attempts + 1, worker = $2, error = $3 WHERE id = $1", [row.id, worker, `job ${row.id}: ${lines}`]);
      await client.query("COMMIT");
      open = false;
      client.release();
      released = true;
      return await claimJob(pool, worker);
    }
    const job: Job = { id: Number(row.id), store: row.store, source: row.source, lines, attempts: row.attempts };
    let ended = false;
    const finish = async (sql: string, params: unknown[]) => {
      if (ended) throw new Error(`job ${job.id}: its claim has already ended (the connection that held it is gone)`);
      ended = true;
      try {
        await client.query(sql, params);
        await client.query("COMMIT");
      } catch (error) {
        // The transaction is aborted and still holds the job's row: destroy the connection (the server rolls back and the
        // job is queued again) rather than hand it back to the pool, where the next query would fail and the row stay locked.
        client.release(error as Error);
        throw error;
      }
      client.release();
    };
    return {
      job,
      done: (result) => finish("UPDATE shopstate_jobs SET status = 'done', attempts = attempts + 1, worker = $2, result = $3, error = NULL, finished_at = now() WHERE id = $1", [job.id, worker, JSON.stringify(result)]),
      retry: (reason) => finish("UPDATE shopstate_jobs SET worker = $2, error = $3 WHERE id = $1", [job.id, worker, storableText(reason)]),
      failed: (reason) =>
        finish("UPDATE shopstate_jobs SET status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE 'queued' END, attempts = attempts + 1, worker = $2, error = $4 WHERE id = $1", [
          job.id,
          worker,
          MAX_ATTEMPTS,
          storableText(reason),
        ]),
    };
  } catch (error) {
    if (released) throw error;
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
    throw error;
  }
}

/**
 * Jobs a worker may still run: waiting or running (a running job stays
 * `queued` until its worker commits it), less those a failed job of their
 * store holds back, which wait for a person, not for a worker.
 */
export async function runnableJobCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM shopstate_jobs j
     WHERE j.status = 'queued' AND NOT EXISTS (SELECT 1 FROM shopstate_jobs f WHERE f.store = j.store AND f.status = 'failed' AND f.id < j.id)`,
  );
  return Number(rows[0].n);
}

/** Every job, oldest first, optionally of one store. */
export async function listJobs(pool: pg.Pool, store?: string): Promise<JobRow[]> {
  // Lines counted here, not with json_array_length in SQL: a row whose lines are not JSON would make the whole listing fail.
  const { rows } = await pool.query<Omit<JobRow, "id" | "events"> & { id: string; lines: string }>(
    `SELECT id, store, source, status, attempts, worker, error, lines FROM shopstate_jobs
     WHERE $1::text IS NULL OR store = $1 ORDER BY id`,
    [store ?? null],
  );
  return rows.map(({ lines, ...r }) => {
    const parsed = parseJobLines(lines);
    return { ...r, id: Number(r.id), events: typeof parsed === "string" ? 0 : parsed.length };
  });
}
