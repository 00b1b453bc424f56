/**
 * `npm run bench:console [-- --events 10000 --runs 7 --keep DB]`
 *
 * Server time per console page on a store of `--events` generated input
 * events (bench/generator.ts): each page requested through Hono's
 * `app.request()` (no network, no browser) on a console just opened for it
 * (its first request is what a user opening that page first waits for), then
 * the median of `--runs` more. Target: at most 300 ms per page, first request
 * and median (issue 13).
 *
 * Writes bench/CONSOLE.md with the commit, Node version, CPU count and load
 * average. Building the store takes minutes; `--keep FILE` keeps (or reuses)
 * the SQLite file.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createConsoleApp } from "../src/console/app.js";
import { databaseSource } from "../src/console/db_source.js";
import { INPUT_EVENT_TYPES } from "../src/domain/events.js";
import { chunk, headValues, ingestLines, logOf, openStore, storeRecord } from "../src/store.js";
import { generateWorkload } from "./generator.js";
import { median } from "./measure.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "bench", "CONSOLE.md");
const TARGET_MS = 300;
const STORE = "bench";

const { values: args } = parseArgs({
  options: { events: { type: "string", default: "10000" }, runs: { type: "string", default: "7" }, keep: { type: "string" } },
});
const EVENTS = Number(args.events);
const RUNS = Number(args.runs);
for (const [name, value] of [
  ["--events", EVENTS],
  ["--runs", RUNS],
] as const) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:console: ${name} must be a whole number of at least 1`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), "shopstate-console-bench-"));
const db = args.keep ?? join(dir, "console.db");
const RUN = { approvalThresholdCents: 10_000, maxSteps: 10_000, batchSize: 100, source: "generated.jsonl", origin: "ingest" as const };

/** Builds the store, or reuses the one `--keep` names; returns how many input events it was given, when known. */
async function buildStore(): Promise<number | undefined> {
  const existed = existsSync(db);
  const session = openStore(db, STORE);
  try {
    if (existed && (await storeRecord(session))) {
      process.stderr.write(`bench:console: reusing store '${STORE}' in ${db}\n`);
      return undefined;
    }
    const lines = generateWorkload({ events: EVENTS, seed: 42 }).map((text, i) => ({ line: i + 1, text }));
    const started = performance.now();
    for (const [i, batch] of chunk(lines, 500).entries()) {
      await ingestLines(session, batch, RUN);
      process.stderr.write(
        `bench:console: ingested ${Math.min((i + 1) * 500, lines.length)}/${lines.length} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    }
    return lines.length;
  } finally {
    await session.close();
  }
}

try {
  const inputEvents = await buildStore();
  const session = openStore(db, STORE);
  const { values } = await headValues(session);
  const log = logOf(session, values);
  const inputCount = await log.store.count(log.threadId, log.at, { types: INPUT_EVENT_TYPES });
  await session.close();
  const eventCount = values.log.length;
  const customer =
    (values.recentEvents.find((e) => typeof (e.data as { customerId?: unknown }).customerId === "string")?.data as { customerId: string } | undefined)
      ?.customerId ?? "C-1";
  const order =
    (values.recentEvents.find((e) => typeof (e.data as { orderId?: unknown }).orderId === "string")?.data as { orderId: string } | undefined)?.orderId ??
    "ORD-1";

  /** A console just opened: its own session, nothing read or cached yet (checkpoint states, chart rows, the saver's snapshots). */
  const openConsole = () => {
    const source = databaseSource({ location: { dbPath: db }, where: db, defaultStore: STORE, run: RUN });
    return { source, app: createConsoleApp(source).app };
  };
  const probe = openConsole();
  const history = (await (await probe.app.request(`/console/api/history?store=${STORE}&limit=20`)).json()) as { entries: { checkpointId: string }[] };
  await probe.source.close();
  const older = history.entries.at(-1)?.checkpointId ?? "head";
  const q = `store=${STORE}`;
  const pages: [name: string, path: string][] = [
    ["overview", `/console?${q}`],
    ["chart data", `/console/api/chart?${q}`],
    ["approvals", `/console/approvals?${q}`],
    ["timeline", `/console/timeline?${q}`],
    ["diff (20 checkpoints apart)", `/console/diff?${q}&from=${older}&to=head`],
    ["events (first page)", `/console/events?${q}`],
    ["events (page at 9,000, filtered by type)", `/console/events?${q}&from=9000&type=OrderPlaced`],
    ["events (a SKU's stream, time range)", `/console/events?${q}&stream=sku:SKU-MUG-1&since=2026-01-02T00:00:00Z`],
    ["orders", `/console/orders?${q}`],
    ["order", `/console/orders/${encodeURIComponent(order)}?${q}`],
    ["customer", `/console/customers/${encodeURIComponent(customer)}?${q}`],
    ["agents", `/console/agents?${q}`],
    ["stores", `/console/stores?${q}`],
    ["state JSON", `/console/api/state?${q}`],
  ];
  const loadBefore = loadavg()[0];
  const rows: { name: string; path: string; firstMs: number; medianMs: number; minMs: number; maxMs: number }[] = [];
  for (const [name, path] of pages) {
    const { source, app } = openConsole();
    const times: number[] = [];
    let firstMs = 0;
    for (let i = 0; i <= RUNS; i++) {
      const started = performance.now();
      const res = await app.request(path);
      await res.text();
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(`bench:console: ${path} answered ${res.status}`);
      if (i > 0) times.push(ms);
      else firstMs = ms;
    }
    await source.close();
    rows.push({ name, path, firstMs, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) });
    process.stderr.write(`bench:console: ${name}: first ${firstMs.toFixed(0)} ms, median ${median(times).toFixed(0)} ms\n`);
  }
  const loadAfter = loadavg()[0];

  const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "bench", "package.json"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
  const table = [
    "| page | first request | median | min | max | target (first and median) | |",
    "|---|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.firstMs.toFixed(0)} ms | ${r.medianMs.toFixed(0)} ms | ${r.minMs.toFixed(0)} ms | ${r.maxMs.toFixed(0)} ms | ≤ ${TARGET_MS} ms | ${r.firstMs <= TARGET_MS && r.medianMs <= TARGET_MS ? "met" : "missed"} |`,
    ),
  ].join("\n");
  writeFileSync(
    OUT,
    `# Console page times

Generated by \`npm run bench:console\` (bench/console.ts); do not edit by hand.

- commit: \`${commit}\`${dirty ? " (with uncommitted changes to src, bench or package.json)" : ""}
- ${inputEvents === undefined ? "a store this script built earlier, reused with `--keep`" : `a store built from ${inputEvents} generated input lines`}, generated by bench/generator.ts with seed 42: ${inputCount} input events in its log${inputCount < EVENTS ? ` (fewer than the ${EVENTS} asked for)` : ""}, ${eventCount} events in all
- server time per page through Hono's \`app.request()\` on the CLI database (SQLite). Each page is timed on a console opened for it: the first request finds nothing read yet (it reads the checkpoint's state through the graph, \`getState\`, and whatever the page reads from the event store), the median is of the ${RUNS} requests after it, which find the checkpoint's state in the console's cache (src/console/db_source.ts) and the chart's rows in its cache (src/console/chart.ts). The process has served the pages before it, so its code is compiled: a console's very first page also pays for loading its modules.
- Node ${process.version}, ${availableParallelism()} CPUs, load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after (a loaded machine makes every figure larger)

${table}
`,
  );
  process.stdout.write(`${table}\n`);
  process.stderr.write(`bench:console: written to ${OUT}\n`);
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
