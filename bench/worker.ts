/**
 * One benchmark run in its own process (so memory is this saver's alone):
 * ingests the seeded workload batch by batch into a store on one checkpointer,
 * then measures storage, time travel at depth and whole CLI processes. Prints
 * one JSON object (`WorkerResult`) as its last stdout line.
 *
 *   node --expose-gc --import tsx bench/worker.ts --saver ours|stock|postgres|memory --events N --batch B --seed S [--database-url URL]
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { StoreEvent } from "../src/domain/events.js";
import type { State } from "../src/state.js";
import { historyPage } from "../src/timetravel/history.js";
import { rollback } from "../src/timetravel/rollback.js";
import { stateView } from "../src/views.js";
import { cleanEnv } from "../tests/support/cli.js";
import { generateWorkload, mulberry32 } from "./generator.js";
import { median, windowMean, type BatchTiming, type Mark, type WorkerResult } from "./measure.js";
import { BENCH_STORE, checkpointIds, ingestBatch, openBenchStore, readLog, SAVER_KINDS, storageBytes, type BenchStore, type SaverKind } from "./stores.js";

const { values: args } = parseArgs({
  options: {
    saver: { type: "string", default: "ours" },
    events: { type: "string", default: "2000" },
    batch: { type: "string", default: "50" },
    seed: { type: "string", default: "42" },
    samples: { type: "string", default: "50" },
    "database-url": { type: "string" },
    "cli-runs": { type: "string", default: "5" },
    "leave-approvals": { type: "boolean", default: false },
  },
});
const kind = args.saver as SaverKind;
if (!SAVER_KINDS.includes(kind)) throw new Error(`--saver '${args.saver}': expected one of ${SAVER_KINDS.join(", ")}`);
const total = Number(args.events);
const batchSize = Number(args.batch);
const samples = Number(args.samples);
const cliRuns = Number(args["cli-runs"]);
/** The point where storage and memory are first measured (the "at 1,000"). */
const FIRST_MARK = Math.min(1000, total);
/** Input events a cold `shopstate ingest` process adds (the CLI target). */
const COLD_INGEST_EVENTS = 100;
const BIN = join(import.meta.dirname, "..", "bin", "shopstate.js");

const gc = (globalThis as { gc?: () => void }).gc;
/**
 * Resident memory and live heap at a mark, taken the same way at every mark:
 * two full collections, then RSS sampled every 100 ms (with another collection
 * before each sample) until two samples agree within 1 MiB, for at most 3 s.
 * V8 returns freed pages to the OS on a background thread, late on a loaded
 * machine. Taken before the mark's storage and log-size measurements, which
 * read the whole database and print the whole log as JSON: what those
 * allocate is the benchmark's, not the store's.
 */
async function memoryAtMark(): Promise<Pick<Mark, "rssMiB" | "heapUsedMiB">> {
  gc?.();
  gc?.();
  let rss = process.memoryUsage().rss;
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    gc?.();
    const next = process.memoryUsage().rss;
    const settled = Math.abs(next - rss) < 2 ** 20;
    rss = next;
    if (settled) break;
  }
  return { rssMiB: rss / 2 ** 20, heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20 };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

/** `events --json` prints the log pretty-printed; the compact JSON is what storage is divided by. */
function logSizes(log: StoreEvent[]): Pick<Mark, "cliJsonBytes" | "compactJsonBytes" | "logEvents"> {
  return {
    logEvents: log.length,
    cliJsonBytes: Buffer.byteLength(`${JSON.stringify(log, null, 2)}\n`),
    compactJsonBytes: Buffer.byteLength(JSON.stringify(log)),
  };
}

async function mark(store: BenchStore, events: number): Promise<Mark> {
  const memory = await memoryAtMark();
  return { events, storage: await storageBytes(store), ...logSizes(await readLog(store)), ...memory };
}

/** A copy of the SQLite store as it is now, for the cold CLI processes at the end. */
function snapshotFile(store: BenchStore, dir: string, name: string): string | undefined {
  if (!store.dbPath || !store.session.db) return undefined;
  store.session.db.pragma("wal_checkpoint(TRUNCATE)");
  const copy = join(dir, name);
  copyFileSync(store.dbPath, copy);
  return copy;
}

async function main(): Promise<WorkerResult> {
  const dir = mkdtempSync(join(tmpdir(), `shopstate-bench-${kind}-`));
  // The stream goes on past the run: the cold CLI ingests add the next 100 events after each snapshot.
  const all = generateWorkload({ events: total + COLD_INGEST_EVENTS, seed: Number(args.seed) }).map((text, i) => ({ line: i + 1, text }));
  const lines = all.slice(0, total);
  const store = await openBenchStore(kind, dir, args["database-url"]);
  try {
    const timings: BatchTiming[] = [];
    let atFirstMark: Mark | undefined;
    let firstMarkCopy: string | undefined;
    for (let i = 0; i < lines.length; i += batchSize) {
      const batch = lines.slice(i, i + batchSize);
      const cpuStart = process.cpuUsage();
      const [, ms] = await timed(() => ingestBatch(store, batch, { leaveApprovals: args["leave-approvals"] }));
      const cpu = process.cpuUsage(cpuStart);
      timings.push({ end: i + batch.length, ms, cpuMs: (cpu.user + cpu.system) / 1000, size: batch.length });
      if ((i + batch.length) % 1000 === 0) process.stderr.write(`bench: ${kind}, ${i + batch.length}/${total} input events, last batch ${ms.toFixed(0)} ms\n`);
      if (!atFirstMark && i + batch.length >= FIRST_MARK) {
        atFirstMark = await mark(store, i + batch.length);
        if (kind === "ours") firstMarkCopy = snapshotFile(store, dir, "at-first-mark.db");
      }
    }
    const ingestMs = timings.reduce((s, t) => s + t.ms, 0);
    const ingestSecondsAt: Record<number, number> = {};
    let elapsed = 0;
    for (const t of timings) {
      elapsed += t.ms;
      if (t.end % 1000 === 0) ingestSecondsAt[t.end] = elapsed / 1000;
    }
    // Early: the batches that end in the last 1% before the 10% mark (at least one batch, so a small run has one).
    const earlyTo = Math.max(batchSize, Math.ceil((total * 0.1) / batchSize) * batchSize);
    const early = { from: earlyTo - Math.max(total * 0.01, batchSize), to: earlyTo };
    const late = { from: total - Math.max(total * 0.1, batchSize), to: total };
    const atEnd = await mark(store, total);
    const result: WorkerResult = {
      saver: kind,
      events: total,
      batchSize,
      logEvents: atEnd.logEvents,
      ingestSeconds: ingestMs / 1000,
      ingestSecondsAt,
      msPerEventEarly: windowMean(timings, early.from, early.to),
      msPerEventLate: windowMean(timings, late.from, late.to),
      cpuMsPerEventEarly: windowMean(timings, early.from, early.to, "cpuMs"),
      cpuMsPerEventLate: windowMean(timings, late.from, late.to, "cpuMs"),
      atFirstMark: atFirstMark ?? atEnd,
      atEnd,
    };
    if (store.dbPath) {
      store.session.db?.pragma("wal_checkpoint(TRUNCATE)");
      result.fileBytes = statSync(store.dbPath).size + (existsSync(`${store.dbPath}-wal`) ? statSync(`${store.dbPath}-wal`).size : 0);
    }
    if (kind !== "memory") result.timeTravel = await timeTravel(store);
    // The CLI opens SQLite files with our saver only.
    if (kind === "ours" && store.dbPath) {
      result.cli = cliCommands(store.dbPath);
      const endCopy = snapshotFile(store, dir, "at-end.db");
      if (firstMarkCopy && endCopy) {
        const firstMarkEvents = result.atFirstMark.events;
        result.coldIngest = {
          events: COLD_INGEST_EVENTS,
          runs: cliRuns,
          firstMarkEvents,
          endEvents: total,
          ...coldIngests(dir, {
            atFirstMark: [firstMarkCopy, all.slice(firstMarkEvents, firstMarkEvents + COLD_INGEST_EVENTS)],
            atEnd: [endCopy, all.slice(total, total + COLD_INGEST_EVENTS)],
          }),
        };
      }
    }
    return result;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** State at, history from and a fork of random checkpoints of the store (seeded). */
async function timeTravel(store: BenchStore): Promise<NonNullable<WorkerResult["timeTravel"]>> {
  const { session } = store;
  const ids = await checkpointIds(store);
  const random = mulberry32(7);
  // The stock savers load whole states (seconds each on a long log): fewer samples there.
  const picks = Array.from({ length: kind === "ours" ? samples : Math.min(samples, 10) }, () => ids[Math.floor(random() * ids.length)]);
  const at = (id: string) => ({ configurable: { thread_id: session.threadId, checkpoint_ns: "", checkpoint_id: id } });
  const stateAt: number[] = [];
  const historyList: number[] = [];
  const historyPages: number[] = [];
  const stateHistory: number[] = [];
  const fork: number[] = [];
  for (const id of picks) {
    const [, ms] = await timed(async () => {
      const snapshot = await session.graph.getState(at(id));
      return stateView(snapshot.values as State, id);
    });
    stateAt.push(ms);
    const [, listMs] = await timed(async () => {
      const found = [];
      for await (const tuple of session.saver.list({ configurable: { thread_id: session.threadId, checkpoint_ns: "" } }, { limit: 20, before: at(id) }))
        found.push(tuple.metadata);
      return found;
    });
    historyList.push(listMs);
    // What `shopstate history --limit 20 --before ID` computes (stored lines on ours).
    // The stock savers have no stored lines: each page loads 21 states there, so they get a few samples.
    if (kind === "ours" || historyPages.length < 3) {
      const [, pageMs] = await timed(() => historyPage(session, { limit: 20, before: id }));
      historyPages.push(pageMs);
    }
  }
  // Full state snapshots are expensive on the stock savers: fewer samples.
  for (const id of picks.slice(0, kind === "ours" ? 10 : 3)) {
    const [, ms] = await timed(async () => {
      const found = [];
      for await (const snapshot of session.graph.getStateHistory(at(id), { limit: 20 })) found.push(snapshot.config);
      return found;
    });
    stateHistory.push(ms);
  }
  // Forks last: each adds a checkpoint.
  for (const id of picks) {
    const [, ms] = await timed(() => session.graph.updateState(at(id), { inboxOrigin: null }, "ingest"));
    fork.push(ms);
  }
  // `shopstate rollback ID`: resolves the ref, takes the lease, forks a new head.
  const rollbacks: number[] = [];
  for (const id of kind === "ours" ? picks : picks.slice(0, 3)) {
    const [, ms] = await timed(() => rollback(session, id));
    rollbacks.push(ms);
  }
  return {
    checkpoints: ids.length,
    samples: picks.length,
    stateAtMedianMs: median(stateAt),
    historyListLimit20MedianMs: median(historyList),
    historyPageLimit20MedianMs: median(historyPages),
    rollbackMedianMs: median(rollbacks),
    getStateHistoryLimit20MedianMs: median(stateHistory),
    forkMedianMs: median(fork),
  };
}

/** Runs the CLI as a user does: its own process, the environment without shopstate or OpenAI settings (the offline model). */
function shopstate(argv: string[]): void {
  try {
    execFileSync(process.execPath, [BIN, ...argv], { env: cleanEnv(), stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 30 });
  } catch (error) {
    // 2: some lines were rejected, which a stream may hold; anything else is a failure.
    const { status, stderr } = error as { status?: number; stderr?: Buffer };
    if (status !== 2) throw new Error(`shopstate ${argv.join(" ")} exited with ${status}: ${stderr?.toString() ?? ""}`, { cause: error });
  }
}

/** Whole CLI processes on the finished store: median wall time of three runs each. */
function cliCommands(dbPath: string): Record<string, number> {
  const commands: Record<string, string[]> = { state: ["state", "--json"], events: ["events", "--json"] };
  const out: Record<string, number> = {};
  for (const [name, argv] of Object.entries(commands)) {
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      shopstate([...argv, "--db", dbPath, "--thread", BENCH_STORE]);
      runs.push(performance.now() - start);
    }
    out[name] = median(runs);
  }
  return out;
}

/**
 * `shopstate ingest FILE` of the next 100 input events, each run a cold process on a fresh copy of a snapshot,
 * the two snapshots taken in turns (so a change in the machine's load falls on both): median wall ms of each.
 */
function coldIngests(dir: string, snapshots: Record<"atFirstMark" | "atEnd", [string, { text: string }[]]>): { atFirstMarkMs: number; atEndMs: number } {
  const times: Record<string, number[]> = { atFirstMark: [], atEnd: [] };
  for (let i = 0; i < cliRuns; i++) {
    for (const [name, [snapshot, lines]] of Object.entries(snapshots)) {
      const db = join(dir, `cold-${name}.db`);
      const input = join(dir, `cold-${name}.jsonl`);
      rmSync(`${db}-wal`, { force: true });
      rmSync(`${db}-shm`, { force: true });
      copyFileSync(snapshot, db);
      writeFileSync(input, `${lines.map((l) => l.text).join("\n")}\n`);
      const start = performance.now();
      shopstate(["ingest", input, "--db", db, "--thread", BENCH_STORE, "--json"]);
      times[name].push(performance.now() - start);
    }
  }
  return { atFirstMarkMs: median(times.atFirstMark), atEndMs: median(times.atEnd) };
}

const result = await main();
process.stdout.write(`${JSON.stringify(result)}\n`);
