/** Shared shapes and small statistics of the benchmark. */

export type SaverKind = "ours" | "stock" | "memory";

export interface BatchTiming {
  /** Input events ingested once this batch is done. */
  end: number;
  ms: number;
  size: number;
}

export interface Mark {
  events: number;
  /** Checkpointer tables and their indexes (0 on MemorySaver). */
  checkpointBytes: number;
  /** The knowledge store's tables (customer facts), apart from the checkpoints. */
  knowledgeBytes: number;
  /** Size of `events --json` (pretty-printed, as the CLI prints it). */
  cliJsonBytes: number;
  compactJsonBytes: number;
  /** Process RSS after full collections: what the target 5 is measured on. */
  rssMiB: number;
  /** V8 heap in use after the same collections: the live JavaScript objects alone. */
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
  atFirstMark: Mark;
  atEnd: Mark;
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
}

/** Mean ms per input event over the batches that end in (from, to] of the stream. */
export function windowMean(timings: BatchTiming[], from: number, to: number): number {
  const inWindow = timings.filter((t) => t.end > from && t.end <= to);
  const events = inWindow.reduce((s, t) => s + t.size, 0);
  return events === 0 ? NaN : inWindow.reduce((s, t) => s + t.ms, 0) / events;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
