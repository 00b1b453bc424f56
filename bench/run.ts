/**
 * `npm run bench [-- --events N --batch B --seed S --stock-events M]`
 *
 * Runs the seeded store workload side by side on our SQLite checkpointer, the
 * stock `SqliteSaver` and `MemorySaver`, each in its own process (so resident
 * memory is its own), one after the other on the same machine, and checks the
 * targets of issue #6. Prints a table and writes bench/results/<time>-<N>.json.
 *
 * The stock savers slow down and grow quadratically with the history, so
 * their runs are capped (`--stock-events`, `--memory-events`, default 2,000);
 * their figures are for that size and say so, and throughput is compared over
 * the events both runs ingested.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import type { SaverKind, WorkerResult } from "./measure.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "2000" },
    batch: { type: "string", default: "50" },
    seed: { type: "string", default: "42" },
    "stock-events": { type: "string" },
    "memory-events": { type: "string" },
    savers: { type: "string", default: "ours,stock,memory" },
  },
});
const events = Number(args.events);
const stockEvents = Math.min(events, Number(args["stock-events"] ?? 2000));
const memoryEvents = Math.min(events, Number(args["memory-events"] ?? 2000));
const savers = args.savers.split(",") as SaverKind[];

function runWorker(saver: SaverKind, count: number): WorkerResult {
  process.stderr.write(`bench: ${saver} saver, ${count} input events...\n`);
  const worker = join(import.meta.dirname, "worker.ts");
  const output = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", worker, "--saver", saver, "--events", String(count), "--batch", args.batch, "--seed", args.seed], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 26,
  });
  const lines = output.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as WorkerResult;
}

const results: Partial<Record<SaverKind, WorkerResult>> = {};
for (const saver of savers) results[saver] = runWorker(saver, saver === "stock" ? stockEvents : saver === "memory" ? memoryEvents : events);
const ours = results.ours;
const stock = results.stock;
const memory = results.memory;

// NaN comes back from the worker's JSON as null.
const f = (n: number | null | undefined, digits = 2) => (n === undefined || n === null || Number.isNaN(n) ? "-" : n.toFixed(digits));
const mib = (bytes: number | undefined) => (bytes === undefined ? "-" : `${(bytes / 2 ** 20).toFixed(2)} MiB`);
const storageRatio = (r: WorkerResult | undefined, mark: "atFirstMark" | "atEnd") => (r && r.saver !== "memory" ? r[mark].checkpointBytes / r[mark].cliJsonBytes : undefined);
const lateOverEarly = (r: WorkerResult | undefined) => (r ? r.msPerEventLate / r.msPerEventEarly : undefined);
const rssRatio = (r: WorkerResult | undefined) => (r ? r.atEnd.rssMiB / r.atFirstMark.rssMiB : undefined);
/** Results written before the heap was measured have no heapUsedMiB. */
const heapRatio = (r: WorkerResult | undefined) => (r?.atEnd.heapUsedMiB ? r.atEnd.heapUsedMiB / r.atFirstMark.heapUsedMiB : undefined);
/** Over the events both runs ingested (MemorySaver's run is capped like the stock saver's). */
const throughputOverMemory = (r: WorkerResult | undefined) => {
  if (!r || !memory) return undefined;
  const events = Math.min(r.events, memory.events);
  const seconds = events === r.events ? r.ingestSeconds : r.ingestSecondsAt[events];
  return seconds === undefined ? undefined : memory.ingestSeconds / seconds;
};
const storageGrowth = (r: WorkerResult | undefined) => {
  const first = storageRatio(r, "atFirstMark");
  const end = storageRatio(r, "atEnd");
  return first !== undefined && end !== undefined ? end / first : undefined;
};

interface Row {
  measure: string;
  value: (r: WorkerResult | undefined) => string;
  /** The issue's target for our saver, and whether our figure meets it. */
  target?: [string, (r: WorkerResult) => number | undefined, number];
}

const rows: Row[] = [
  { measure: "input events (events in the log)", value: (r) => (r ? `${r.events} (${r.logEvents})` : "-") },
  { measure: "ms/event, 9-10% of the run", value: (r) => f(r?.msPerEventEarly) },
  { measure: "ms/event, last 10% of the run", value: (r) => f(r?.msPerEventLate) },
  { measure: "1. flat cost: late / early", value: (r) => f(lateOverEarly(r)), target: ["<= 1.3", lateOverEarly, 1.3] },
  { measure: "checkpoint tables at 1,000", value: (r) => (r?.saver === "memory" ? "-" : mib(r?.atFirstMark.checkpointBytes)) },
  { measure: "checkpoint tables at the end", value: (r) => (r?.saver === "memory" ? "-" : mib(r?.atEnd.checkpointBytes)) },
  { measure: "knowledge store at the end (bytes per log event)", value: (r) => (r ? `${mib(r.atEnd.knowledgeBytes)} (${f(r.atEnd.knowledgeBytes / r.logEvents, 0)})` : "-") },
  { measure: "events --json at the end", value: (r) => mib(r?.atEnd.cliJsonBytes) },
  { measure: "2. storage / events --json, at 1,000", value: (r) => f(storageRatio(r, "atFirstMark"), 1) },
  { measure: "2. storage / events --json, at the end", value: (r) => f(storageRatio(r, "atEnd"), 1), target: ["<= 5", (r) => storageRatio(r, "atEnd"), 5] },
  { measure: "2. that ratio, end / 1,000", value: (r) => f(storageGrowth(r)), target: ["<= 1.25", storageGrowth, 1.25] },
  { measure: "   storage / compact log JSON, at the end", value: (r) => (r?.saver === "memory" ? "-" : f(r ? r.atEnd.checkpointBytes / r.atEnd.compactJsonBytes : undefined, 1)) },
  { measure: "   database file (after WAL checkpoint)", value: (r) => mib(r?.fileBytes) },
  { measure: "checkpoints in the thread", value: (r) => (r?.timeTravel ? String(r.timeTravel.checkpoints) : "-") },
  { measure: "3. fork (updateState), median ms", value: (r) => f(r?.timeTravel?.forkMedianMs, 1), target: ["<= 20", (r) => r.timeTravel?.forkMedianMs, 20] },
  { measure: "3. state at a checkpoint (getState + view), median ms", value: (r) => f(r?.timeTravel?.stateAtMedianMs, 1), target: ["<= 100", (r) => r.timeTravel?.stateAtMedianMs, 100] },
  { measure: "3. fork (rollback command), median ms", value: (r) => f(r?.timeTravel?.rollbackMedianMs, 1) },
  { measure: "3. history limit 20 (historyPage), median ms", value: (r) => f(r?.timeTravel?.historyPageLimit20MedianMs, 1), target: ["<= 50", (r) => r.timeTravel?.historyPageLimit20MedianMs, 50] },
  { measure: "   saver.list limit 20 (full tuples), median ms", value: (r) => f(r?.timeTravel?.historyListLimit20MedianMs, 1) },
  { measure: "   getStateHistory limit 20 (full states), median ms", value: (r) => f(r?.timeTravel?.getStateHistoryLimit20MedianMs, 1) },
  { measure: "   CLI process: state --json, ms", value: (r) => f(r?.cli?.state, 0) },
  { measure: "   CLI process: events --json, ms", value: (r) => f(r?.cli?.events, 0) },
  { measure: "ingest seconds", value: (r) => f(r?.ingestSeconds, 1) },
  { measure: `4. throughput / MemorySaver (first ${Math.min(events, memoryEvents)} events)`, value: (r) => f(throughputOverMemory(r)), target: [">= 0.8", throughputOverMemory, -0.8] },
  { measure: "resident memory at 1,000, MiB", value: (r) => f(r?.atFirstMark.rssMiB, 0) },
  { measure: "resident memory at the end, MiB", value: (r) => f(r?.atEnd.rssMiB, 0) },
  { measure: "5. resident memory, end / 1,000", value: (r) => f(rssRatio(r)), target: ["<= 1.5", rssRatio, 1.5] },
  { measure: "   heap used after GC at 1,000, MiB", value: (r) => f(r?.atFirstMark.heapUsedMiB, 1) },
  { measure: "   heap used after GC at the end, MiB", value: (r) => f(r?.atEnd.heapUsedMiB, 1) },
  { measure: "   heap used after GC, end / 1,000", value: (r) => f(heapRatio(r)) },
];

/** A negative limit means "at least": ">= 0.8" is stored as -0.8. */
function meets(value: number | undefined, limit: number): string {
  if (value === undefined || value === null || Number.isNaN(value)) return "-";
  return (limit < 0 ? value >= -limit : value <= limit) ? "yes" : "NO";
}

const columns = savers.map((s) =>
  s === "ours" ? "ours (ShopstateSaver)" : s === "stock" ? `stock SqliteSaver${stockEvents < events ? `, ${stockEvents} events` : ""}` : `MemorySaver${memoryEvents < events ? `, ${memoryEvents} events` : ""}`,
);
const table = new Table({ head: ["measure", ...columns, "target (ours)", "met"], style: { head: [], border: [] } });
for (const row of rows) {
  const target = row.target && ours ? [row.target[0], meets(row.target[1](ours), row.target[2])] : ["", ""];
  table.push([row.measure, ...savers.map((s) => row.value(results[s])), ...target]);
}
console.log(`shopstate bench: ${events} input events, batches of ${args.batch}, seed ${args.seed}`);
console.log("Delta channels snapshot at every change with ours (stored as diffs) and every 100 updates (LangGraph's default) with the stock savers.");
console.log(table.toString());

const out = join(import.meta.dirname, "results");
mkdirSync(out, { recursive: true });
const file = join(out, `${new Date().toISOString().replace(/[:.]/g, "-")}-${events}.json`);
writeFileSync(file, `${JSON.stringify({ events, stockEvents, batch: Number(args.batch), seed: Number(args.seed), results, ratios: { oursVsStockLateMsPerEvent: ours && stock ? ours.msPerEventLate / stock.msPerEventLate : undefined } }, null, 2)}\n`);
console.log(`results written to ${file}`);
