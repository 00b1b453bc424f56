/**
 * `npm run bench [-- --events N --batch B --seed S]`: ingests a seeded store
 * workload into a SQLite store and, side by side in the same process, into the
 * same graph on MemorySaver; reports cost per event early vs late, storage per
 * event, and time-travel reads at depth. Writes bench/results/<timestamp>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MemorySaver } from "@langchain/langgraph";
import { compileStoreGraph } from "../src/graph.js";
import type { State } from "../src/state.js";
import { ingestLines, openStore } from "../src/store.js";
import { generateWorkload } from "./generator.js";

const { values: args } = parseArgs({
  options: { events: { type: "string", default: "1000" }, batch: { type: "string", default: "50" }, seed: { type: "string", default: "42" } },
});
const total = Number(args.events);
const batchSize = Number(args.batch);
const lines = generateWorkload({ events: total, seed: Number(args.seed) }).map((text, i) => ({ line: i + 1, text }));
const RUN = { approvalThresholdCents: 10_000, maxSteps: 10_000 };

/** Mean ms per input event over the batches that fall in [from, to) of the stream. */
function windowMean(timings: { end: number; ms: number; size: number }[], from: number, to: number): number {
  const inWindow = timings.filter((t) => t.end > from && t.end <= to);
  const events = inWindow.reduce((s, t) => s + t.size, 0);
  return events === 0 ? NaN : inWindow.reduce((s, t) => s + t.ms, 0) / events;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

const dir = mkdtempSync(join(tmpdir(), "shopstate-bench-"));
try {
  // SQLite store, batch by batch.
  const session = openStore(join(dir, "bench.db"), "bench");
  const sqliteTimings: { end: number; ms: number; size: number }[] = [];
  const sqliteStart = performance.now();
  for (let i = 0; i < lines.length; i += batchSize) {
    const batch = lines.slice(i, i + batchSize);
    const [, ms] = await timed(() => ingestLines(session, batch, { ...RUN, batchSize, source: "bench" }));
    sqliteTimings.push({ end: i + batch.length, ms, size: batch.length });
  }
  const sqliteTotal = performance.now() - sqliteStart;
  const head = (await session.graph.getState(session.config)).values as State;
  const logBytes = Buffer.byteLength(JSON.stringify(head.events));
  const dbBytes = ["bench.db", "bench.db-wal"].map((f) => join(dir, f)).filter(existsSync).reduce((s, f) => s + statSync(f).size, 0);

  // Time travel at depth.
  const [history, historyMs] = await timed(async () => {
    const found = [];
    for await (const snapshot of session.graph.getStateHistory(session.config, { limit: 20 })) found.push(snapshot);
    return found;
  });
  const all: string[] = [];
  for await (const tuple of session.saver.list(session.config)) all.push(String(tuple.config.configurable?.checkpoint_id));
  const stateAtMs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const checkpointId = all[Math.floor((i / 10) * all.length)];
    const [, ms] = await timed(() => session.graph.getState({ configurable: { ...session.config.configurable, checkpoint_id: checkpointId } }));
    stateAtMs.push(ms);
  }
  session.close();

  // The same workload on MemorySaver.
  const memory = compileStoreGraph({ checkpointer: new MemorySaver() });
  const memoryConfig = { configurable: { thread_id: "bench" }, recursionLimit: RUN.maxSteps, context: { approvalThresholdCents: RUN.approvalThresholdCents } };
  const memoryTimings: { end: number; ms: number; size: number }[] = [];
  const memoryStart = performance.now();
  for (let i = 0; i < lines.length; i += batchSize) {
    const batch = lines.slice(i, i + batchSize);
    const [, ms] = await timed(() => memory.invoke({ inbox: batch.map((l) => l.text), inboxOrigin: { source: "bench", lines: batch.map((l) => l.line) } }, memoryConfig));
    memoryTimings.push({ end: i + batch.length, ms, size: batch.length });
  }
  const memoryTotal = performance.now() - memoryStart;

  const early = windowMean(sqliteTimings, total * 0.09, total * 0.1);
  const late = windowMean(sqliteTimings, total * 0.9, total);
  const result = {
    events: total,
    batchSize,
    logEvents: head.events.length,
    sqlite: {
      msPerEventEarly: early,
      msPerEventLate: late,
      lateOverEarly: late / early,
      totalSeconds: sqliteTotal / 1000,
      dbBytes,
      logJsonBytes: logBytes,
      storageOverLog: dbBytes / logBytes,
      checkpoints: all.length,
      historyLimit20Ms: historyMs,
      historyEntries: history.length,
      stateAtCheckpointMedianMs: median(stateAtMs),
    },
    memory: { msPerEventEarly: windowMean(memoryTimings, total * 0.09, total * 0.1), msPerEventLate: windowMean(memoryTimings, total * 0.9, total), totalSeconds: memoryTotal / 1000 },
    sqliteThroughputOverMemory: memoryTotal / sqliteTotal,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
  };
  const f = (n: number, d = 2) => n.toFixed(d);
  console.log(`shopstate bench: ${total} input events (${result.logEvents} in the log), batches of ${batchSize}`);
  console.table({
    "ms/event, early window (SQLite)": f(early),
    "ms/event, late window (SQLite)": f(late),
    "late / early": f(result.sqlite.lateOverEarly),
    "ms/event, early window (MemorySaver)": f(result.memory.msPerEventEarly),
    "ms/event, late window (MemorySaver)": f(result.memory.msPerEventLate),
    "SQLite throughput / MemorySaver": f(result.sqliteThroughputOverMemory),
    "database MiB": f(dbBytes / 2 ** 20),
    "event log JSON MiB": f(logBytes / 2 ** 20),
    "database / event log": f(result.sqlite.storageOverLog, 1),
    "history --limit 20 (ms)": f(historyMs, 1),
    "state at a checkpoint, median (ms)": f(result.sqlite.stateAtCheckpointMedianMs, 1),
    "resident memory MiB": f(result.rssMiB, 0),
  });
  const out = join(import.meta.dirname, "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, `${new Date().toISOString().replace(/[:.]/g, "-")}-${total}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results written to ${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
