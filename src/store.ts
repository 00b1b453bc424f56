/**
 * The application layer: the commands a user runs on a store, one job per
 * module under `app/` (opening, the lease, graph runs, ingest, approvals,
 * maintenance). Surfaces (the CLI, workers, the console) import from here.
 */
export { UsageError } from "./errors.js";
export {
  assertCurrentLayout,
  assertStoreName,
  logOf,
  openPostgresStore,
  openStore,
  openStoreAt,
  storeRecord,
  type SqliteStoreSession,
  type StoreLocation,
  type StoreSession,
} from "./app/session.js";
export { withLease } from "./app/lease.js";
export { finishInterruptedRun, finishPendingRun, headValues, pausedAtGate, runGraph, type RunOptions } from "./app/run.js";
export { chunk, ingestLines, type IngestOptions, type IngestResult, type InputLine } from "./app/ingest.js";
export { decideApprovals, type DecideResult } from "./app/approvals.js";
export { deleteStore, pruneStore } from "./app/maintenance.js";
