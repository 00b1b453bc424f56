/**
 * A shopstate worker process on graphile-worker (queue.ts): takes jobs from
 * the stores' queues and ingests each into its store, as `shopstate ingest`
 * would, under the store's write lease. Workers keep no state of their own
 * between jobs: everything is in PostgreSQL, so any number of them can run on
 * any number of machines (docs/deploy.md, "Scaling the workers").
 */
import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { Logger, run, type Task, type WorkerEvents } from "graphile-worker";
import pg from "pg";
import type { PostgresBackend } from "../persistence/postgres.js";
import { ingestLines, openPostgresStore, type RunOptions } from "../store.js";
import {
  earlierJob,
  ensureQueue,
  freeDeadWorkersJobs,
  INGEST_TASK,
  parsePayload,
  pendingJobCount,
  PRESENCE_PREFIX,
  reviseHeldJob,
  storeOfQueue,
} from "./queue.js";

/** How long a worker waits for another writer of a job's store unless told otherwise (--wait). */
export const WORKER_WAIT_MS = 60_000;

/** A pool that locked a job this long ago and has no presence connection has died (the gap covers a starting worker naming its connection). */
const DEAD_WORKER_GRACE_MS = 10_000;
const DEAD_WORKER_SWEEP_MS = 5_000;
/** Connections of the engine's own pool: its LISTEN connection, and one to take and release jobs. */
const ENGINE_POOL_SIZE = 2;

export interface WorkerOptions extends RunOptions {
  batchSize: number;
  /** Stop once no job is left that a worker could run (otherwise wait for new jobs until `signal` aborts). */
  exitWhenIdle: boolean;
  signal?: AbortSignal;
  /** How often the engine looks for jobs that became due (retries); new jobs arrive by LISTEN/NOTIFY at once. */
  pollMs?: number;
  onJob?: (report: JobReport) => void;
}

export interface JobReport {
  jobId: number;
  store: string;
  worker: string;
  ok: boolean;
  accepted?: number;
  duplicates?: number;
  rejected?: number;
  eventCount?: number;
  error?: string;
  /** This attempt, counted from 1, and how many the job has. */
  attempt: number;
  maxAttempts: number;
  /** A failed job that the engine will try again (after its backoff). */
  willRetry?: boolean;
  /** The job waits for an earlier job of its store, without using an attempt. */
  retried?: boolean;
  /** How long the attempt took. */
  ms: number;
}

export interface WorkerSummary {
  worker: string;
  done: number;
  failed: number;
}

/** Thrown to give a job back while an earlier job of its store has not run: not a failure of this job. */
class HeldBack extends Error {
  override name = "HeldBack";
}

/** Thrown once the job at hand has been marked as failed for good (no attempt is left). */
class GivenUp extends Error {
  override name = "GivenUp";
}

/** Runs jobs until stopped (or idle, with `exitWhenIdle`); creates the engine's schema on first use. */
export async function runWorker(backend: PostgresBackend, options: WorkerOptions): Promise<WorkerSummary> {
  await ensureQueue(backend.pool);
  const worker = `worker pid ${process.pid} on ${hostname()}`;
  const summary: WorkerSummary = { worker, done: 0, failed: 0 };
  const connection = { connectionString: backend.pool.options.connectionString };

  // The presence connection names this process's engine pool while it lives: other workers free the jobs of a pool that has none.
  const presence = new pg.Client({ ...connection, application_name: PRESENCE_PREFIX.trim() });
  await presence.connect();
  const events: WorkerEvents = new EventEmitter();
  let poolId = "";
  const stop = new AbortController();
  let broken: Error | undefined;
  const fail = (error: Error) => {
    broken ??= error;
    stop.abort();
  };
  presence.on("error", (error) =>
    fail(new Error(`${worker}: its presence connection to PostgreSQL failed (${error.message}); other workers may now run its jobs, so it stops`)),
  );
  events.on("pool:create", ({ workerPool }) => {
    poolId = workerPool.id;
    // application_name holds at most 63 bytes: the prefix and the engine's pool id (about 23 characters) fit.
    presence.query(`SET application_name = '${(PRESENCE_PREFIX + poolId).replaceAll("'", "''")}'`).catch((error: Error) => fail(error));
  });

  const ingest: Task = async (payload, helpers) => {
    const { job } = helpers;
    const jobId = Number(job.id);
    const started = performance.now();
    const base = { jobId, worker, attempt: job.attempts, maxAttempts: job.max_attempts };
    const parsed = parsePayload(payload);
    if (typeof parsed === "string") {
      // No attempt could ever run it: failed at once, for a person to see (`shopstate jobs`).
      await helpers.withPgClient((client) => reviseHeldJob(client, jobId, poolId, { giveUp: true }));
      summary.failed += 1;
      const error = `job ${jobId}: ${parsed}`;
      options.onJob?.({
        ...base,
        store: storeOfQueue((await helpers.getQueueName()) ?? null),
        ok: false,
        error,
        willRetry: false,
        ms: performance.now() - started,
      });
      throw new Error(error);
    }
    const { store } = parsed;
    try {
      await holdBackBehindEarlierJobs(helpers.withPgClient, job.job_queue_id, jobId, store, poolId);
      // A graph compiled per job (cheap next to the run): a long-lived worker keeps nothing per store.
      const session = openPostgresStore(backend, store);
      const result = await ingestLines(session, parsed.lines, { ...options, source: parsed.source, origin: "worker" });
      summary.done += 1;
      options.onJob?.({
        ...base,
        store,
        ok: true,
        accepted: result.accepted,
        duplicates: result.duplicates,
        rejected: result.rejected.length,
        eventCount: result.eventCount,
        ms: performance.now() - started,
      });
    } catch (error) {
      const reason = error instanceof HeldBack || error instanceof GivenUp ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
      if (error instanceof HeldBack)
        options.onJob?.({ ...base, store, ok: false, error: reason, retried: true, willRetry: true, ms: performance.now() - started });
      else {
        summary.failed += 1;
        options.onJob?.({
          ...base,
          store,
          ok: false,
          error: reason,
          willRetry: !(error instanceof GivenUp) && job.attempts < job.max_attempts,
          ms: performance.now() - started,
        });
      }
      // PostgreSQL text cannot hold NUL, and a message may quote input that does: the engine could not record the failure.
      throw new Error(reason.replaceAll("\u0000", "\\u0000"), { cause: error });
    }
  };

  const runner = await run({
    // The engine's own pool (it installs its error handlers on it), ended with the runner.
    connectionString: connection.connectionString,
    maxPoolSize: ENGINE_POOL_SIZE,
    taskList: { [INGEST_TASK]: ingest },
    concurrency: 1,
    noHandleSignals: true,
    pollInterval: options.pollMs ?? 1000,
    logger: engineLogger,
    events,
    // No crontab file is read from the working directory.
    crontab: "",
  }).catch(async (error: Error) => {
    await presence.end().catch(() => undefined);
    throw error;
  });

  const sweep = () =>
    freeDeadWorkersJobs(backend.pool, DEAD_WORKER_GRACE_MS).catch((error: Error) =>
      process.stderr.write(`${worker}: could not look for dead workers' jobs: ${error.message}\n`),
    );
  await sweep();
  const sweeper = setInterval(() => void sweep(), DEAD_WORKER_SWEEP_MS);
  const idleCheck = options.exitWhenIdle
    ? setInterval(() => {
        pendingJobCount(backend.pool).then(
          (n) => n === 0 && stop.abort(),
          (error: Error) => fail(error),
        );
      }, options.pollMs ?? 500)
    : undefined;
  const onAbort = () => void runner.stop().catch(() => undefined);
  stop.signal.addEventListener("abort", onAbort, { once: true });
  options.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  if (options.signal?.aborted) stop.abort();
  try {
    await runner.promise;
  } finally {
    clearInterval(sweeper);
    clearInterval(idleCheck);
    await presence.end().catch(() => undefined);
  }
  if (broken) throw broken;
  return summary;
}

/**
 * Keeps a store's input in order when a job is retried: the engine pushes a
 * failed job back and would run the store's next job meanwhile. A job with an
 * earlier job of its store still queued is given back to wait for it, without
 * using an attempt; behind an earlier job that failed for good, it fails too
 * (its input must not overtake the failed job's: a person retries both).
 */
async function holdBackBehindEarlierJobs(
  withPgClient: <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>,
  queueId: number | null,
  jobId: number,
  store: string,
  poolId: string,
): Promise<void> {
  if (queueId === null) return;
  await withPgClient(async (client) => {
    const earlier = await earlierJob(client, queueId, jobId);
    if (!earlier) return;
    if (earlier.failed) {
      await reviseHeldJob(client, jobId, poolId, { giveUp: true });
      throw new GivenUp(
        `job ${jobId}: job ${earlier.id} of store '${store}', queued before it, failed; this one must not overtake it (retry both: graphile_worker.reschedule_jobs)`,
      );
    }
    await reviseHeldJob(client, jobId, poolId, { notAnAttempt: true, after: earlier.runAt });
    throw new HeldBack(`job ${jobId}: waits for job ${earlier.id} of store '${store}', queued before it (no attempt used)`);
  });
}

/** The engine's own warnings and errors go to stderr; a job's failure is reported by the worker itself. */
const engineLogger = new Logger(() => (level, message, meta) => {
  if ((level === "error" || level === "warning") && !(meta as { failure?: boolean } | undefined)?.failure)
    process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});
