/**
 * A shopstate worker process: takes jobs from the queue (`queue.ts`) and
 * ingests each into its store, as `shopstate ingest` would, under the store's
 * write lease. Workers keep no state of their own between jobs: everything is
 * in PostgreSQL, so any number of them can run on any number of machines.
 */
import { hostname } from "node:os";
import { LeaseBusyError } from "../persistence/lease.js";
import type { PostgresBackend } from "../persistence/postgres.js";
import { ingestLines, openPostgresStore, type IngestResult, type RunOptions } from "../store.js";
import { claimJob, runnableJobCount } from "./queue.js";

/** How long a worker waits for another writer of a job's store unless told otherwise (--wait). */
export const WORKER_WAIT_MS = 60_000;

export interface WorkerOptions extends RunOptions {
  batchSize: number;
  /** Stop once no job is left that a worker could run (otherwise poll for new jobs until `signal` aborts). */
  exitWhenIdle: boolean;
  signal?: AbortSignal;
  /** How often an idle worker looks for jobs. */
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
  /** The job was given back without using an attempt (its store was busy). */
  retried?: boolean;
}

export interface WorkerSummary {
  worker: string;
  done: number;
  failed: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs jobs until stopped (or idle, with `exitWhenIdle`); the job table must exist (`ensureJobTable`, as the CLI's commands do). */
export async function runWorker(backend: PostgresBackend, options: WorkerOptions): Promise<WorkerSummary> {
  const worker = `worker pid ${process.pid} on ${hostname()}`;
  const summary: WorkerSummary = { worker, done: 0, failed: 0 };
  while (!options.signal?.aborted) {
    const claim = await claimJob(backend.pool, worker);
    if (!claim) {
      if (options.exitWhenIdle && (await runnableJobCount(backend.pool)) === 0) break;
      await sleep(options.pollMs ?? 200);
      continue;
    }
    const { job } = claim;
    let result: IngestResult;
    try {
      // A graph compiled per job (cheap next to the run): a long-lived worker keeps nothing per store.
      const session = openPostgresStore(backend, job.store);
      result = await ingestLines(session, job.lines, { ...options, source: job.source, origin: "worker" });
    } catch (error) {
      if (error instanceof LeaseBusyError) {
        // Another writer kept the store past --wait: the job did not fail, so it goes back to the queue without using up an
        // attempt (a person's long write must not fail the store's jobs), and the store's other writer gets time first.
        await claim.retry(error.message);
        options.onJob?.({ jobId: job.id, store: job.store, worker, ok: false, error: error.message, retried: true });
        await sleep(options.pollMs ?? 200);
        continue;
      }
      // The run failed: the job goes back to the queue (failed after 3 attempts).
      const reason = `${(error as Error).name}: ${(error as Error).message}`;
      await claim.failed(reason);
      summary.failed += 1;
      options.onJob?.({ jobId: job.id, store: job.store, worker, ok: false, error: reason });
      continue;
    }
    // Outside the try: a claim that cannot be marked done has lost its connection, and is queued again; it cannot also be failed.
    await claim.done(result);
    summary.done += 1;
    options.onJob?.({ jobId: job.id, store: job.store, worker, ok: true, accepted: result.accepted, duplicates: result.duplicates, rejected: result.rejected.length, eventCount: result.eventCount });
  }
  return summary;
}
