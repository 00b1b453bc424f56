/**
 * `npm run bench:cli [-- --runs 10]`
 *
 * How long the `shopstate` command takes as a user runs it: a cold process of
 * the compiled CLI (`bin/shopstate.js`, built by `npm run build`), wall time
 * from spawn to exit, median of `--runs`. Three cases, each with its target
 * (issue 14):
 *
 * - `shopstate --help`: at most 200 ms;
 * - `shopstate state` on the demo store (`shopstate demo` run once before): at most 600 ms;
 * - `shopstate ingest` of 100 generated events into an empty store (a new file each run): at most 1.2 s.
 *
 * Prints a table and writes it to bench/CLI.md (formatted by Prettier) with the commit, Node version,
 * CPU count and load average: the figures are only as quiet as the machine.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as prettier from "prettier";
import { generateWorkload } from "./generator.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "shopstate.js");
const OUT = join(ROOT, "bench", "CLI.md");

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "10" } } });
const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`bench:cli: --runs must be a whole number of at least 1, got '${args.runs}'`);
  process.exit(2);
}

/** The children get no shopstate or OpenAI settings from this shell: the offline model and the defaults. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith("SHOPSTATE_") && !key.startsWith("OPENAI_") && key !== "DATABASE_URL"),
);

/** One cold run: milliseconds from spawn to exit; a non-zero exit fails the benchmark (a fast failure measures nothing). */
function timed(cliArgs: string[], script = BIN): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [script, ...cliArgs], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`shopstate ${cliArgs.join(" ")} exited ${code}: ${stderr}`));
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const dir = mkdtempSync(join(tmpdir(), "shopstate-bench-cli-"));
const loadBefore = loadavg()[0];
try {
  const demoDb = join(dir, "demo.db");
  execFileSync(process.execPath, [BIN, "demo", "--db", demoDb], { cwd: ROOT, env, stdio: "ignore" });
  const events = join(dir, "events.jsonl");
  writeFileSync(events, `${generateWorkload({ events: 100, seed: 42 }).join("\n")}\n`);

  // An empty script: the floor every command starts from on this machine (Node itself), for reading the others.
  const empty = join(dir, "empty.mjs");
  writeFileSync(empty, "");
  const cases: { name: string; targetMs?: number; script?: string; args: (run: number) => string[] }[] = [
    { name: "node (an empty script, for reference)", script: empty, args: () => [] },
    { name: "shopstate --help", targetMs: 200, args: () => ["--help"] },
    { name: "shopstate state (demo store)", targetMs: 600, args: () => ["state", "--db", demoDb] },
    { name: "shopstate ingest (100 events, empty store)", targetMs: 1200, args: (run) => ["ingest", events, "--db", join(dir, `ingest-${run}.db`)] },
  ];
  const rows: { name: string; targetMs?: number; medianMs: number; minMs: number; maxMs: number }[] = [];
  for (const c of cases) {
    const times: number[] = [];
    // One warm-up run, not counted: the first process after a build pays for the disk cache, not for the CLI.
    await timed(c.args(-1), c.script);
    for (let run = 0; run < RUNS; run++) times.push(await timed(c.args(run), c.script));
    rows.push({ name: c.name, targetMs: c.targetMs, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) });
    process.stderr.write(`bench:cli: ${c.name}: median ${median(times).toFixed(0)} ms\n`);
  }
  const loadAfter = loadavg()[0];

  const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "bin", "bench", "package.json"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
  const table = [
    "| command | median | min | max | target | |",
    "|---|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| \`${r.name}\` | ${r.medianMs.toFixed(0)} ms | ${r.minMs.toFixed(0)} ms | ${r.maxMs.toFixed(0)} ms | ${r.targetMs === undefined ? "" : `≤ ${r.targetMs} ms`} | ${r.targetMs === undefined ? "" : r.medianMs <= r.targetMs ? "met" : "missed"} |`,
    ),
  ].join("\n");
  const text = `# CLI start-up times

Generated by \`npm run bench:cli\` (bench/cli.ts); do not edit by hand.

- commit: \`${commit}\`${dirty ? " (with uncommitted changes to src, bin, bench or package.json)" : ""}
- ${RUNS} cold processes per command (after one warm-up run), wall time from spawn to exit
- Node ${process.version}, ${availableParallelism()} CPUs, load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after (a loaded machine makes every figure larger)

${table}
`;
  // Written as `npm run format` would leave it, so the format check passes on the file as generated.
  writeFileSync(OUT, await prettier.format(text, { ...(await prettier.resolveConfig(OUT)), filepath: OUT }));
  process.stdout.write(`${table}\n`);
  process.stderr.write(`bench:cli: written to ${OUT}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
