/**
 * One benchmark run in its own process (so resident memory is this saver's
 * alone): ingests the seeded workload batch by batch into a store on one
 * checkpointer, then measures storage, time travel at depth and whole CLI
 * commands. Prints one JSON object (`WorkerResult`) as its last stdout line.
 *
 *   node --expose-gc --import tsx bench/worker.ts --saver ours|stock|memory --events N --batch B --seed S
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MemorySaver, type BaseCheckpointSaver } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { compileStoreGraph } from "../src/graph.js";
import { KB_ITEMS_TABLE, KB_NAMESPACES_TABLE, SqliteStore } from "../src/memory/sqlite_store.js";
import { sqliteMeta } from "../src/persistence/backend.js";
import { openDatabase, sqliteSaver } from "../src/persistence/sqlite.js";
import { registerStore, threadIdFor } from "../src/persistence/stores.js";
import { WHOLE_SNAPSHOT_FREQUENCY, type State } from "../src/state.js";
import { ingestLines, type SqliteStoreSession as StoreSession } from "../src/store.js";
import { historyPage } from "../src/timetravel/history.js";
import { rollback } from "../src/timetravel/rollback.js";
import { stateView } from "../src/views.js";
import { generateWorkload, mulberry32 } from "./generator.js";
import { median, windowMean, type BatchTiming, type Mark, type SaverKind, type WorkerResult } from "./measure.js";

const { values: args } = parseArgs({
  options: {
    saver: { type: "string", default: "ours" },
    events: { type: "string", default: "2000" },
    batch: { type: "string", default: "50" },
    seed: { type: "string", default: "42" },
    samples: { type: "string", default: "50" },
  },
});
const kind = args.saver as SaverKind;
const total = Number(args.events);
const batchSize = Number(args.batch);
const samples = Number(args.samples);
/** The point where storage and memory are first measured (the "at 1,000"). */
const FIRST_MARK = Math.min(1000, total);
const RUN = { approvalThresholdCents: 10_000, maxSteps: 10_000 };
const STORE = "bench";

const gc = (globalThis as { gc?: () => void }).gc;
/**
 * Resident memory and live heap at a mark, taken the same way at every mark:
 * two full collections, then RSS sampled every 100 ms (with another collection
 * before each sample) until two samples agree within 1 MiB, for at most 3 s.
 * V8 returns freed pages to the OS on a background thread, late on a loaded
 * machine: RSS read right after `gc()` still counted them (up to 65 MiB
 * more than a few statements later). Taken before the mark's storage and
 * log-size measurements, which read the whole database (dbstat) and print the
 * whole log as JSON: what those allocate is the benchmark's, not the store's.
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

function openSession(dir: string): StoreSession {
  const dbPath = kind === "memory" ? ":memory:" : join(dir, "bench.db");
  const db = openDatabase(dbPath);
  const threadId = threadIdFor(STORE);
  const ours = kind === "ours" ? sqliteSaver(db, new Map([[threadId, STORE]])) : undefined;
  let saver: BaseCheckpointSaver;
  if (ours) saver = ours;
  else if (kind === "stock") saver = new SqliteSaver(db);
  else saver = new MemorySaver();
  registerStore(db, STORE, "bench");
  // The stock savers store snapshots whole: they get LangGraph's default cadence, their best setting.
  const knowledge = new SqliteStore(db);
  const graph = compileStoreGraph({ checkpointer: saver, store: knowledge, snapshotFrequency: kind === "ours" ? undefined : WHOLE_SNAPSHOT_FREQUENCY });
  return { name: STORE, threadId, meta: sqliteMeta(db, join(dir, "bench.db"), ours), db, saver, knowledge, graph, config: { configurable: { thread_id: threadId } }, close: () => void db.close() };
}

/** Bytes of the checkpointer's tables and their indexes, with our stored history lines (SQLite's dbstat). */
function checkpointTableBytes(session: StoreSession): number {
  return tableBytes(session, kind === "ours" ? ["checkpoints", "checkpoint_writes", "checkpoint_blobs", "shopstate_steps"] : ["checkpoints", "writes"]);
}

/** Bytes of the knowledge store's tables (customer facts and their vectors), reported apart from the checkpoints. */
function knowledgeTableBytes(session: StoreSession): number {
  return tableBytes(session, [KB_ITEMS_TABLE, KB_NAMESPACES_TABLE]);
}

function tableBytes(session: StoreSession, tables: string[]): number {
  const rows = session.db.prepare("SELECT tbl_name AS tbl, name FROM sqlite_master WHERE type IN ('table', 'index')").all() as { tbl: string; name: string }[];
  const names = rows.filter((r) => tables.includes(r.tbl)).map((r) => r.name);
  const sizeOf = session.db.prepare("SELECT COALESCE(SUM(pgsize), 0) AS bytes FROM dbstat WHERE name = ?");
  return names.reduce((sum, name) => sum + (sizeOf.get(name) as { bytes: number }).bytes, 0);
}

/** `events --json` prints the log pretty-printed; its size is what storage is compared with. */
function logSizes(values: State): { cliJsonBytes: number; compactJsonBytes: number } {
  return { cliJsonBytes: Buffer.byteLength(`${JSON.stringify(values.events, null, 2)}\n`), compactJsonBytes: Buffer.byteLength(JSON.stringify(values.events)) };
}

async function main(): Promise<WorkerResult> {
  const dir = mkdtempSync(join(tmpdir(), `shopstate-bench-${kind}-`));
  const lines = generateWorkload({ events: total, seed: Number(args.seed) }).map((text, i) => ({ line: i + 1, text }));
  const session = openSession(dir);
  try {
    const timings: BatchTiming[] = [];
    let atFirstMark: WorkerResult["atFirstMark"] | undefined;
    for (let i = 0; i < lines.length; i += batchSize) {
      const batch = lines.slice(i, i + batchSize);
      const [, ms] = await timed(() => ingestLines(session, batch, { ...RUN, batchSize, source: "bench" }));
      timings.push({ end: i + batch.length, ms, size: batch.length });
      if (!atFirstMark && i + batch.length >= FIRST_MARK) {
        const memory = await memoryAtMark();
        const values = (await session.graph.getState(session.config)).values as State;
        atFirstMark = { events: i + batch.length, checkpointBytes: kind === "memory" ? 0 : checkpointTableBytes(session), knowledgeBytes: knowledgeTableBytes(session), ...logSizes(values), ...memory };
      }
    }
    const ingestMs = timings.reduce((s, t) => s + t.ms, 0);
    const ingestSecondsAt: Record<number, number> = {};
    let elapsed = 0;
    for (const t of timings) {
      elapsed += t.ms;
      if (t.end % 1000 === 0) ingestSecondsAt[t.end] = elapsed / 1000;
    }
    const memory = await memoryAtMark();
    const head = (await session.graph.getState(session.config)).values as State;
    const atEnd = { events: total, checkpointBytes: kind === "memory" ? 0 : checkpointTableBytes(session), knowledgeBytes: knowledgeTableBytes(session), ...logSizes(head), ...memory };
    const result: WorkerResult = {
      saver: kind,
      events: total,
      batchSize,
      logEvents: head.events.length,
      ingestSeconds: ingestMs / 1000,
      ingestSecondsAt,
      msPerEventEarly: windowMean(timings, total * 0.09, total * 0.1),
      msPerEventLate: windowMean(timings, total * 0.9, total),
      atFirstMark: atFirstMark ?? atEnd,
      atEnd,
    };
    if (kind !== "memory") {
      session.db.pragma("wal_checkpoint(TRUNCATE)");
      result.fileBytes = statSync(join(dir, "bench.db")).size + (existsSync(join(dir, "bench.db-wal")) ? statSync(join(dir, "bench.db-wal")).size : 0);
      result.timeTravel = await timeTravel(session);
      // The CLI reads stores with our saver only.
      if (kind === "ours") result.cli = cliCommands(join(dir, "bench.db"));
    }
    return result;
  } finally {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** State at, history from and a fork of random checkpoints of the store (seeded). */
async function timeTravel(session: StoreSession): Promise<NonNullable<WorkerResult["timeTravel"]>> {
  const ids = (session.db.prepare("SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id").all(session.threadId) as { id: string }[]).map((r) => r.id);
  const random = mulberry32(7);
  const picks = Array.from({ length: samples }, () => ids[Math.floor(random() * ids.length)]);
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
      for await (const tuple of session.saver.list({ configurable: { thread_id: session.threadId, checkpoint_ns: "" } }, { limit: 20, before: at(id) })) found.push(tuple.metadata);
      return found;
    });
    historyList.push(listMs);
    // What `shopstate history --limit 20 --before ID` computes (stored lines on ours).
    // The stock saver has no stored lines: each page loads 21 states there, so it gets a few samples.
    if (kind === "ours" || historyPages.length < 3) {
      const [, pageMs] = await timed(() => historyPage(session, { limit: 20, before: id }));
      historyPages.push(pageMs);
    }
  }
  // Full state snapshots are expensive on the stock saver: fewer samples.
  for (const id of picks.slice(0, 10)) {
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
  for (const id of kind === "ours" ? picks : picks.slice(0, 10)) {
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

/** Whole CLI processes on the finished store: median wall time of three runs each. */
function cliCommands(dbPath: string): Record<string, number> {
  const bin = join(import.meta.dirname, "..", "bin", "shopstate.js");
  const commands: Record<string, string[]> = { state: ["state", "--json"], events: ["events", "--json"] };
  const out: Record<string, number> = {};
  for (const [name, argv] of Object.entries(commands)) {
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      execFileSync(process.execPath, [bin, ...argv, "--db", dbPath, "--thread", STORE], { stdio: ["ignore", "ignore", "inherit"], maxBuffer: 1 << 30 });
      runs.push(performance.now() - start);
    }
    out[name] = median(runs);
  }
  return out;
}

const result = await main();
process.stdout.write(`${JSON.stringify(result)}\n`);
