/**
 * shopstate's jobs on graphile-worker (docs/deploy.md, "Scaling the
 * workers"). A job is one batch of input lines for one store; the engine's
 * tables live in the `graphile_worker` schema of the stores' database.
 *
 * - Each store has a named queue, `store:NAME`: the engine runs a queue's jobs
 *   one at a time, and different queues in parallel.
 * - Jobs are queued with strictly increasing `run_at` (the engine orders by
 *   priority, then `run_at`, with no tie-break on id), so a store's jobs are
 *   taken in the order they were queued.
 * - A retried job is pushed back by the engine's exponential backoff, and the
 *   engine would then run the store's next job before it; the task holds such
 *   a job back itself (`holdBack` in run.ts), so a store's input is ingested
 *   in order whatever fails.
 *
 * The engine's public SQL (`add_job`, `force_unlock_workers`) is used where it
 * has one; reading a job's payload and marking the job at hand as failed for
 * good need its `_private_jobs` table, so the dependency is pinned (~0.17.3).
 */
import { Logger, runMigrations } from "graphile-worker";
import type pg from "pg";
import { z } from "zod";
import { LOCK_NAMESPACE, SETUP_LOCK_KEY } from "../persistence/pg_lease.js";
import type { InputLine } from "../store.js";

/** The engine's task that ingests a job's lines into its store. */
export const INGEST_TASK = "shopstate_ingest";

/**
 * Attempts before a job has failed for good. Retries back off exponentially
 * (e^attempt seconds, the engine's rule): the last of 8 attempts comes about
 * 30 minutes after the first, so a store kept busy that long fails its job
 * rather than waiting forever.
 */
export const MAX_ATTEMPTS = 8;

const SCHEMA = "graphile_worker";

export function queueOf(store: string): string {
  return `store:${store}`;
}

/** The store a queue belongs to ("(none)" for a job added by hand outside any store's queue). */
export function storeOfQueue(queue: string | null): string {
  return queue?.startsWith("store:") ? queue.slice("store:".length) : "(none)";
}

export const JobPayload = z.object({
  store: z.string().min(1),
  source: z.string(),
  lines: z.array(z.object({ line: z.number().int(), text: z.string() })),
});
export type JobPayload = z.infer<typeof JobPayload>;

/**
 * A job's payload, or why it cannot be one. The engine stores payloads as
 * JSON, so a job added by hand (`graphile_worker.add_job`) may hold any JSON.
 */
export function parsePayload(payload: unknown): JobPayload | string {
  const parsed = JobPayload.safeParse(payload);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(the payload)"}: ${i.message}`).join("; ");
  return `its payload is not a job's input ({store, source, lines: [{line, text}]}): ${problems}; the job cannot run: delete it or queue its input again`;
}

/**
 * Creates the engine's schema on first use (its migrations), under the same
 * advisory lock as shopstate's own tables, so workers starting at once do not
 * race to create it.
 */
export async function ensureQueue(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_NAMESPACE, SETUP_LOCK_KEY]);
    try {
      await runMigrations({ connectionString: pool.options.connectionString, maxPoolSize: 1, logger: quietLogger });
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_NAMESPACE, SETUP_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

/** Queues batches of input lines for a store, in order, in one transaction; returns the job ids. */
export async function enqueueJobs(pool: pg.Pool, store: string, source: string, batches: readonly InputLine[][]): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const ids: number[] = [];
    for (const lines of batches) {
      const payload: JobPayload = { store, source, lines: [...lines] };
      // clock_timestamp(), not now(): now() is the transaction's start, the same for every job of this batch.
      const { rows } = await client.query<{ id: string }>(
        `SELECT (${SCHEMA}.add_job($1, $2::json, queue_name := $3, run_at := clock_timestamp(), max_attempts := $4)).id`,
        [INGEST_TASK, JSON.stringify(payload), queueOf(store), MAX_ATTEMPTS],
      );
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

/** `running`: a worker has it; `queued`: waiting (for its turn or, with an error, for its retry); `failed`: given up, waits for a person. */
export type JobStatus = "queued" | "running" | "failed";

export interface JobRow {
  id: number;
  store: string;
  source: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  /** The engine's id of the worker process running it (while running). */
  worker: string | null;
  /** The last attempt's error. */
  error: string | null;
  /** When it may run next (a retry is pushed back). */
  runAt: string;
  /** Input lines in the job. */
  events: number;
}

/**
 * The jobs still in the queue, oldest first, optionally of one store. A job
 * that succeeded is gone: the engine deletes it (the store's history shows
 * what it ingested).
 */
export async function listJobs(pool: pg.Pool, store?: string): Promise<JobRow[]> {
  // The line count is taken on the server, so the lines themselves never leave it; the store is its queue's name.
  const { rows } = await pool.query<{
    id: string;
    queue_name: string | null;
    source: string | null;
    attempts: number;
    max_attempts: number;
    locked_by: string | null;
    last_error: string | null;
    run_at: Date;
    events: number | null;
  }>(
    `SELECT j.id, q.queue_name, j.payload->>'source' AS source, j.attempts, j.max_attempts, j.locked_by, j.last_error, j.run_at,
            CASE WHEN json_typeof(j.payload->'lines') = 'array' THEN json_array_length(j.payload->'lines') END AS events
     FROM ${SCHEMA}._private_jobs j JOIN ${SCHEMA}._private_tasks t ON t.id = j.task_id LEFT JOIN ${SCHEMA}._private_job_queues q ON q.id = j.job_queue_id
     WHERE t.identifier = $1 AND ($2::text IS NULL OR q.queue_name = $2)
     ORDER BY j.id`,
    [INGEST_TASK, store === undefined ? null : queueOf(store)],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    store: storeOfQueue(r.queue_name),
    source: r.source ?? "(none)",
    status: r.locked_by !== null ? "running" : r.attempts >= r.max_attempts ? "failed" : "queued",
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    worker: r.locked_by,
    error: r.last_error,
    runAt: r.run_at.toISOString(),
    events: r.events ?? 0,
  }));
}

/** Jobs a worker may still run (waiting, retrying or running): the ones not failed for good. */
export async function pendingJobCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${SCHEMA}._private_jobs j JOIN ${SCHEMA}._private_tasks t ON t.id = j.task_id
     WHERE t.identifier = $1 AND j.attempts < j.max_attempts`,
    [INGEST_TASK],
  );
  return rows[0].n;
}

/** The oldest job of the same store queued before this one, if any is still in the queue. */
export async function earlierJob(client: pg.ClientBase, queueId: number, jobId: number): Promise<{ id: number; failed: boolean; runAt: Date } | undefined> {
  const { rows } = await client.query<{ id: string; failed: boolean; run_at: Date }>(
    `SELECT id, attempts >= max_attempts AS failed, run_at FROM ${SCHEMA}._private_jobs WHERE job_queue_id = $1 AND id < $2 ORDER BY id LIMIT 1`,
    [queueId, jobId],
  );
  return rows[0] && { id: Number(rows[0].id), failed: rows[0].failed, runAt: rows[0].run_at };
}

/**
 * Changes the job at hand, which this worker holds (the engine's admin
 * functions refuse a locked job), before its task throws: the engine then
 * fails it with the task's error and backs it off by e^attempts seconds.
 * - `giveUp`: no attempt is left, so the job is failed for good at once.
 * - `notAnAttempt`: the attempt is not counted, and the job waits until `after`.
 */
export async function reviseHeldJob(
  client: pg.ClientBase,
  jobId: number,
  workerId: string,
  change: { giveUp: true } | { notAnAttempt: true; after: Date },
): Promise<void> {
  if ("giveUp" in change) {
    await client.query(`UPDATE ${SCHEMA}._private_jobs SET max_attempts = attempts WHERE id = $1 AND locked_by = $2`, [jobId, workerId]);
  } else {
    await client.query(`UPDATE ${SCHEMA}._private_jobs SET attempts = attempts - 1, run_at = greatest(run_at, $3) WHERE id = $1 AND locked_by = $2`, [
      jobId,
      workerId,
      change.after,
    ]);
  }
}

/** How a worker process names its presence connection, with the engine's id of its pool. */
export const PRESENCE_PREFIX = "shopstate-worker ";

/**
 * Frees the jobs (and their stores' queues) of worker processes that died
 * without letting go: a pool that locked a shopstate job more than `graceMs`
 * ago and has no presence connection any more. The engine alone would keep
 * them locked for 4 hours. Running such a job again is harmless: its store's
 * lease keeps a second writer out, and events already in the log are skipped.
 */
export async function freeDeadWorkersJobs(pool: pg.Pool, graceMs: number): Promise<string[]> {
  const { rows } = await pool.query<{ locked_by: string }>(
    `SELECT DISTINCT j.locked_by FROM ${SCHEMA}._private_jobs j JOIN ${SCHEMA}._private_tasks t ON t.id = j.task_id
     WHERE t.identifier = $1 AND j.locked_by IS NOT NULL AND j.locked_at < now() - make_interval(secs => $2::double precision / 1000)
       AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = $3 || j.locked_by)`,
    [INGEST_TASK, graceMs, PRESENCE_PREFIX],
  );
  const dead = rows.map((r) => r.locked_by);
  if (dead.length > 0) await pool.query(`SELECT ${SCHEMA}.force_unlock_workers($1::text[])`, [dead]);
  return dead;
}

/** The engine's own log lines are not shown: the worker reports each job itself. */
export const quietLogger = new Logger(() => () => undefined);
