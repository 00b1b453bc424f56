/** Shared shapes and small statistics of the benchmark. */
import type { SaverKind, StorageBytes } from "./stores.js";

export type { SaverKind } from "./stores.js";

export interface BatchTiming {
  /** Input events ingested once this batch is done. */
  end: number;
  ms: number;
  /** CPU time of the benchmark's process (user + system) during the batch: the work, without other processes' load. */
  cpuMs: number;
  size: number;
}

export interface Mark {
  events: number;
  /** Events in the log at the mark. */
  logEvents: number;
  /** The whole database and its parts (bench/stores.ts `storageBytes`). */
  storage: StorageBytes;
  /** Size of `events --json` (pretty-printed, as the CLI prints it). */
  cliJsonBytes: number;
  /** The log as compact (minified) JSON: what storage is divided by. */
  compactJsonBytes: number;
  /** Process RSS after full collections. */
  rssMiB: number;
  /** V8 heap in use after the same collections: the live JavaScript objects alone (the memory target). */
  heapUsedMiB: number;
}

export interface WorkerResult {
  saver: SaverKind;
  events: number;
  batchSize: number;
  logEvents: number;
  ingestSeconds: number;
  /** Ingest seconds for the first N input events, at every 1,000. */
  ingestSecondsAt: Record<number, number>;
  msPerEventEarly: number;
  msPerEventLate: number;
  /** The same windows in CPU ms of the benchmark's process per input event. */
  cpuMsPerEventEarly: number;
  cpuMsPerEventLate: number;
  atFirstMark: Mark;
  atEnd: Mark;
  /** The SQLite file after a WAL checkpoint (free pages included). */
  fileBytes?: number;
  timeTravel?: {
    checkpoints: number;
    samples: number;
    stateAtMedianMs: number;
    historyListLimit20MedianMs: number;
    /** `historyPage` (what `shopstate history --limit 20` prints), median. */
    historyPageLimit20MedianMs: number;
    /** `rollback` (src/timetravel/rollback.ts: ref, lease, fork), median. */
    rollbackMedianMs: number;
    getStateHistoryLimit20MedianMs: number;
    forkMedianMs: number;
  };
  /** Whole CLI processes on the finished store, median wall ms. */
  cli?: Record<string, number>;
  /**
   * Cold `shopstate ingest` processes of the same 100 new input events into a copy
   * of the store as it was at the first mark and at the end: median wall ms.
   */
  coldIngest?: { events: number; runs: number; atFirstMarkMs: number; atEndMs: number; firstMarkEvents: number; endEvents: number };
}

/** Mean ms (wall, or CPU with `clock: "cpuMs"`) per input event over the batches that end in (from, to] of the stream. */
export function windowMean(timings: BatchTiming[], from: number, to: number, clock: "ms" | "cpuMs" = "ms"): number {
  const inWindow = timings.filter((t) => t.end > from && t.end <= to);
  const events = inWindow.reduce((s, t) => s + t.size, 0);
  return events === 0 ? NaN : inWindow.reduce((s, t) => s + t[clock], 0) / events;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length;
}
