/**
 * `npm run bench [-- --events N --batch B --seed S --stock-events M --memory-events M --savers ours,stock,postgres,memory --samples K --cli-runs R --leave-approvals --write]`
 *
 * Runs the seeded store workload side by side on our SQLite saver (the CLI's
 * default), the stock `SqliteSaver`, the stock `PostgresSaver` (a throwaway
 * PostgreSQL server, tests/support/postgres.ts) and `MemorySaver`, each in its
 * own process (so memory is its own), one after the other on the same machine,
 * and checks the targets of issue 12. Prints the table; writes
 * bench/results/<time>-<N>.json, and with `--write` the in-process section of
 * bench/RESULTS.md.
 *
 * A run that pauses at the approval gate has every refund it shows approved
 * before the next batch, as in `bench:server` (bench/stores.ts, `ingestBatch`);
 * `--leave-approvals` leaves them pending, and they pile up in the state.
 *
 * The stock savers slow down and grow quadratically with the history today,
 * so their runs are capped (`--stock-events` for both stock savers,
 * `--memory-events`; default 2,000); their figures are for that size and say
 * so.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startPostgres, type PostgresServer } from "../tests/support/postgres.js";
import type { WorkerResult } from "./measure.js";
import { describeRun, markdownTable, runInfo, verdict, writeSection, type Verdict } from "./results_file.js";
import { SAVER_KINDS, SAVER_LABELS, type SaverKind } from "./stores.js";
import { MAX_SUPERSTEPS_WITHOUT_SNAPSHOT } from "../src/state.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "10000" },
    batch: { type: "string", default: "50" },
    seed: { type: "string", default: "42" },
    "stock-events": { type: "string", default: "2000" },
    "memory-events": { type: "string", default: "2000" },
    savers: { type: "string", default: SAVER_KINDS.join(",") },
    "cli-runs": { type: "string", default: "5" },
    /** Random checkpoints each time-travel measurement is taken at. */
    samples: { type: "string", default: "50" },
    "leave-approvals": { type: "boolean", default: false },
    write: { type: "boolean", default: false },
  },
});
const events = Number(args.events);
const savers = args.savers.split(",") as SaverKind[];
for (const s of savers) if (!SAVER_KINDS.includes(s)) throw new Error(`--savers: unknown saver '${s}' (expected some of ${SAVER_KINDS.join(", ")})`);
const eventsFor: Record<SaverKind, number> = {
  ours: events,
  stock: Math.min(events, Number(args["stock-events"])),
  postgres: Math.min(events, Number(args["stock-events"])),
  memory: Math.min(events, Number(args["memory-events"])),
};
const info = runInfo(`npm run bench -- ${process.argv.slice(2).join(" ")}`.trim().replace(/ --$/, ""));

function runWorker(saver: SaverKind, count: number, databaseUrl?: string): WorkerResult {
  process.stderr.write(`bench: ${SAVER_LABELS[saver]}, ${count} input events...\n`);
  const worker = join(import.meta.dirname, "worker.ts");
  const argv = [
    "--expose-gc",
    "--import",
    "tsx",
    worker,
    "--saver",
    saver,
    "--events",
    String(count),
    "--batch",
    args.batch,
    "--seed",
    args.seed,
    "--cli-runs",
    args["cli-runs"],
    "--samples",
    args.samples,
  ];
  if (databaseUrl) argv.push("--database-url", databaseUrl);
  if (args["leave-approvals"]) argv.push("--leave-approvals");
  const output = execFileSync(process.execPath, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  const lines = output.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as WorkerResult;
}

const results: Partial<Record<SaverKind, WorkerResult>> = {};
let postgres: PostgresServer | undefined;
try {
  for (const saver of savers) {
    let databaseUrl: string | undefined;
    if (saver === "postgres") {
      postgres ??= await startPostgres();
      databaseUrl = await postgres.createDatabase(`bench_${Date.now()}`);
    }
    results[saver] = runWorker(saver, eventsFor[saver], databaseUrl);
    // Each saver's figures as soon as they are in: a long run stopped later keeps them.
    process.stderr.write(`bench: ${saver} done: ${JSON.stringify(results[saver])}\n`);
  }
} finally {
  postgres?.stop();
}

// NaN comes back from the worker's JSON as null.
const num = (n: number | null | undefined): n is number => n !== undefined && n !== null && !Number.isNaN(n);
const f = (n: number | null | undefined, digits = 2) => (num(n) ? n.toFixed(digits) : "-");
const mib = (bytes: number | undefined) => (bytes === undefined ? "-" : `${(bytes / 2 ** 20).toFixed(2)} MiB`);
const ratio = (a: number | undefined, b: number | undefined) => (num(a) && num(b) && b !== 0 ? a / b : undefined);

const flatCost = (r: WorkerResult) => ratio(r.msPerEventLate, r.msPerEventEarly);
const cpuFlatCost = (r: WorkerResult) => ratio(r.cpuMsPerEventLate, r.cpuMsPerEventEarly);
const storageRatio = (r: WorkerResult, at: "atFirstMark" | "atEnd") => ratio(r[at].storage.whole, r[at].compactJsonBytes);
const storageGrowth = (r: WorkerResult) => ratio(storageRatio(r, "atEnd"), storageRatio(r, "atFirstMark"));
const heapRatio = (r: WorkerResult) => ratio(r.atEnd.heapUsedMiB, r.atFirstMark.heapUsedMiB);
const coldIngestRatio = (r: WorkerResult) => ratio(r.coldIngest?.atEndMs, r.coldIngest?.atFirstMarkMs);

interface Target {
  text: string;
  limit: number;
  atLeast?: boolean;
  /** The savers the issue sets it for. */
  on: SaverKind[];
  value: (r: WorkerResult) => number | undefined;
}

interface Row {
  measure: string;
  show: (r: WorkerResult) => string;
  target?: Target;
}

const timeTravelSavers: SaverKind[] = ["ours", "stock", "postgres"];
const rows: Row[] = [
  { measure: "input events (events in the log)", show: (r) => `${r.events} (${r.logEvents})` },
  { measure: "ms/event, 9-10% of the run (early)", show: (r) => f(r.msPerEventEarly) },
  { measure: "ms/event, last 10% of the run (late)", show: (r) => f(r.msPerEventLate) },
  {
    measure: "4. flat cost: late / early",
    show: (r) => f(flatCost(r)),
    target: { text: "<= 1.2", limit: 1.2, on: ["ours", "stock", "postgres"], value: flatCost },
  },
  { measure: "CPU ms/event of the process, early", show: (r) => f(r.cpuMsPerEventEarly) },
  { measure: "CPU ms/event of the process, late", show: (r) => f(r.cpuMsPerEventLate) },
  { measure: "flat cost in CPU time of the process: late / early", show: (r) => f(cpuFlatCost(r)) },
  { measure: "ingest seconds", show: (r) => f(r.ingestSeconds, 1) },
  { measure: "whole database at 1,000", show: (r) => mib(r.atFirstMark.storage.whole) },
  { measure: "whole database at the end", show: (r) => mib(r.atEnd.storage.whole) },
  { measure: "  checkpoints at the end", show: (r) => mib(r.atEnd.storage.checkpoints) },
  { measure: "  knowledge store at the end", show: (r) => mib(r.atEnd.storage.knowledge) },
  { measure: "  event store, history lines, registry at the end", show: (r) => mib(r.atEnd.storage.other) },
  { measure: "  SQLite file after a WAL checkpoint", show: (r) => mib(r.fileBytes) },
  { measure: "log as compact JSON at the end", show: (r) => mib(r.atEnd.compactJsonBytes) },
  { measure: "`events --json` at the end", show: (r) => mib(r.atEnd.cliJsonBytes) },
  { measure: "5. whole database / compact log, at 1,000", show: (r) => f(storageRatio(r, "atFirstMark"), 1) },
  {
    measure: "5. whole database / compact log, at the end",
    show: (r) => f(storageRatio(r, "atEnd"), 1),
    target: { text: "<= 4", limit: 4, on: ["ours"], value: (r) => storageRatio(r, "atEnd") },
  },
  {
    measure: "5. that ratio, end / 1,000",
    show: (r) => f(storageGrowth(r)),
    target: { text: "<= 1.2", limit: 1.2, on: [...SAVER_KINDS], value: storageGrowth },
  },
  { measure: "checkpoints in the thread", show: (r) => (r.timeTravel ? String(r.timeTravel.checkpoints) : "-") },
  {
    measure: "6. fork (updateState), median ms",
    show: (r) => f(r.timeTravel?.forkMedianMs, 1),
    target: { text: "<= 20", limit: 20, on: timeTravelSavers, value: (r) => r.timeTravel?.forkMedianMs },
  },
  {
    measure: "6. state at a checkpoint (getState + view), median ms",
    show: (r) => f(r.timeTravel?.stateAtMedianMs, 1),
    target: { text: "<= 100", limit: 100, on: timeTravelSavers, value: (r) => r.timeTravel?.stateAtMedianMs },
  },
  {
    measure: "6. history limit 20 (historyPage), median ms",
    show: (r) => f(r.timeTravel?.historyPageLimit20MedianMs, 1),
    target: { text: "<= 50", limit: 50, on: timeTravelSavers, value: (r) => r.timeTravel?.historyPageLimit20MedianMs },
  },
  { measure: "  fork (rollback command), median ms", show: (r) => f(r.timeTravel?.rollbackMedianMs, 1) },
  { measure: "  saver.list limit 20 (full tuples), median ms", show: (r) => f(r.timeTravel?.historyListLimit20MedianMs, 1) },
  { measure: "  getStateHistory limit 20 (full states), median ms", show: (r) => f(r.timeTravel?.getStateHistoryLimit20MedianMs, 1) },
  { measure: "heap used after GC at 1,000, MiB", show: (r) => f(r.atFirstMark.heapUsedMiB, 1) },
  { measure: "heap used after GC at the end, MiB", show: (r) => f(r.atEnd.heapUsedMiB, 1) },
  {
    measure: "7. heap used after GC, end / 1,000",
    show: (r) => f(heapRatio(r)),
    target: { text: "<= 1.2", limit: 1.2, on: ["ours", "stock", "postgres"], value: heapRatio },
  },
  { measure: "  resident memory at 1,000 / at the end, MiB", show: (r) => `${f(r.atFirstMark.rssMiB, 0)} / ${f(r.atEnd.rssMiB, 0)}` },
  { measure: "  CLI process: `state --json`, ms", show: (r) => f(r.cli?.state, 0) },
  { measure: "  CLI process: `events --json`, ms", show: (r) => f(r.cli?.events, 0) },
  { measure: "  cold `shopstate ingest` of 100 events into the store at 1,000, median ms", show: (r) => f(r.coldIngest?.atFirstMarkMs, 0) },
  { measure: "  cold `shopstate ingest` of 100 events into the store at the end, median ms", show: (r) => f(r.coldIngest?.atEndMs, 0) },
  { measure: "3. cold ingest, end / 1,000", show: (r) => f(coldIngestRatio(r)), target: { text: "<= 1.2", limit: 1.2, on: ["ours"], value: coldIngestRatio } },
];

/** A saver's cell: the figure, with its verdict where the issue sets a target for that saver. */
function cell(row: Row, saver: SaverKind): string {
  const r = results[saver];
  if (!r) return "-";
  const shown = row.show(r);
  if (!row.target?.on.includes(saver)) return shown;
  const v = verdict(row.target.value(r), row.target.limit, row.target.atLeast);
  return v === "-" ? shown : `${shown} ${v === "pass" ? "pass" : "**FAIL**"}`;
}

const columns = savers.map((s) => `${SAVER_LABELS[s]}${eventsFor[s] < events ? `, ${eventsFor[s]} events` : ""}`);
const table = markdownTable(
  ["measure", ...columns, "target (savers)"],
  rows.map((row) => [row.measure, ...savers.map((s) => cell(row, s)), row.target ? `${row.target.text} (${row.target.on.join(", ")})` : ""]),
);

/** One line per target and saver: met or not, and at what size it was measured. */
const checks: { target: string; saver: SaverKind; verdict: Verdict; atSize: boolean }[] = [];
for (const row of rows) {
  if (!row.target) continue;
  for (const saver of row.target.on) {
    const r = results[saver];
    if (!r) continue;
    checks.push({
      target: `${row.measure} ${row.target.text}`,
      saver,
      verdict: verdict(row.target.value(r), row.target.limit, row.target.atLeast),
      atSize: r.events >= 10_000,
    });
  }
}
const failed = checks.filter((c) => c.verdict === "FAIL");
const small = checks.filter((c) => !c.atSize);
const summary = [
  `${checks.filter((c) => c.verdict === "pass").length} of ${checks.length} target checks pass, ${failed.length} fail${checks.some((c) => c.verdict === "-") ? `, ${checks.filter((c) => c.verdict === "-").length} not measured` : ""}.`,
  small.length > 0
    ? `${small.length} of them were measured below the 10,000 input events the issue names (${[...new Set(small.map((c) => `${SAVER_LABELS[c.saver]} at ${results[c.saver]?.events}`))].join("; ")}): they do not show the target met.`
    : "Every check was measured at 10,000 input events or more.",
  failed.length > 0 ? `Failing: ${failed.map((c) => `${c.target} on ${SAVER_LABELS[c.saver]}`).join("; ")}.` : "",
]
  .filter(Boolean)
  .join("\n\n");

/** Each saver's tables at the end, largest first, in MiB and as a share of the whole database. */
function bytesByTable(): string {
  const names = new Set<string>();
  for (const saver of savers) {
    const storage = results[saver]?.atEnd.storage;
    if (!storage) continue;
    for (const [name, bytes] of Object.entries(storage.tables)) if (bytes >= storage.whole / 100) names.add(name);
  }
  const largest = (name: string) => Math.max(...savers.map((s) => results[s]?.atEnd.storage.tables[name] ?? 0));
  return markdownTable(
    ["table", ...columns],
    [...names]
      .sort((a, b) => largest(b) - largest(a))
      .map((name) => [
        `\`${name}\``,
        ...savers.map((s) => {
          const storage = results[s]?.atEnd.storage;
          const bytes = storage?.tables[name];
          return storage && bytes ? `${mib(bytes)} (${((100 * bytes) / storage.whole).toFixed(0)}%)` : "-";
        }),
      ]),
  );
}

const section = `## In-process: savers side by side (\`npm run bench\`)

${describeRun(info)}

${events} input events, batches of ${args.batch}, seed ${args.seed}. ${
  args["leave-approvals"]
    ? "A run paused at the approval gate is resumed by the next batch with no decisions (`--leave-approvals`: the pending approvals pile up in the state)."
    : "A run paused at the approval gate has every refund it shows approved before the next batch, in the batch's time (a person working the queue)."
} Each saver runs in its own process, one after the other; the stock savers are given the store's serializer (\`FastJsonPlusSerializer\`: the same bytes, a faster load). "1,000" is the
first batch boundary at or after 1,000 input events. Every saver runs the same graph, which snapshots a delta channel at every update and at least
every ${MAX_SUPERSTEPS_WITHOUT_SNAPSHOT} supersteps (ours stores each snapshot as a diff). Flat cost is in wall time; the CPU rows give the same windows in the CPU time of the
benchmark's own process, which other processes on a shared machine do not inflate (for PostgreSQL they leave out the server's CPU). The whole database is every table and index (SQLite: dbstat pages; PostgreSQL:
\`pg_total_relation_size\` of every table; MemorySaver: its serialized checkpoints and writes, with the knowledge store). Time travel: medians
over random checkpoints of the finished store. Cold ingest: \`node bin/shopstate.js ingest\` of the next 100 input events of the stream into a
copy of the store as it was at 1,000 and at the end, ${args["cli-runs"]} processes each, taken in turns; median.

${table}

${summary}

Where the bytes are at the end, by table with its indexes (tables under 1% of the whole left out):

${bytesByTable()}`;

console.log(section);
const out = join(import.meta.dirname, "results");
mkdirSync(out, { recursive: true });
const file = join(out, `${new Date().toISOString().replace(/[:.]/g, "-")}-${events}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ info, events, eventsFor, batch: Number(args.batch), seed: Number(args.seed), leaveApprovals: args["leave-approvals"], results, checks }, null, 2)}\n`,
);
console.log(`\nresults written to ${file}`);
if (args.write) {
  writeSection("in-process", section);
  console.log("bench/RESULTS.md: in-process section written");
}
