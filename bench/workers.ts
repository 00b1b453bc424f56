/**
 * `npm run bench:workers [-- --stores 40 --events 50 --batch 10 --workers 1,2,4 --out bench/WORKERS.md]`
 *
 * Scaling of `shopstate worker` processes on graphile-worker (docs/deploy.md,
 * "Scaling the workers"), on a real, throwaway PostgreSQL server started as
 * the tests start theirs (tests/support/postgres.ts: Debian's binaries, fsync
 * off). For each worker count, on a fresh database: start the workers and
 * wait until each is listening, queue every store's input at once (a seeded
 * workload per store, in jobs of `--batch` lines), and time until every job
 * is done. Reports throughput, time to drain, each job's latency from its
 * enqueue to the worker's report, the workers' CPU time and the database's
 * write volume (WAL bytes, commits) and connections. Writes the figures to
 * `--out` as markdown, naming the commit it ran on.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { connectPostgres } from "../src/persistence/postgres.js";
import type { InputLine } from "../src/store.js";
import { enqueueJobs, ensureQueue, PRESENCE_PREFIX } from "../src/worker/queue.js";
import type { JobReport } from "../src/worker/run.js";
import { startPostgres } from "../tests/support/postgres.js";
import { generateWorkload } from "./generator.js";

const { values: args } = parseArgs({
  options: {
    stores: { type: "string", default: "40" },
    events: { type: "string", default: "50" },
    batch: { type: "string", default: "10" },
    workers: { type: "string", default: "1,2,4" },
    out: { type: "string", default: "bench/WORKERS.md" },
  },
});
const STORES = Number(args.stores);
const EVENTS = Number(args.events);
const BATCH = Number(args.batch);
const WORKER_COUNTS = args.workers.split(",").map(Number);
const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "shopstate.js");
const CLK_TCK = 100;

interface RunResult {
  workers: number;
  jobs: number;
  events: number;
  drainS: number;
  eventsPerS: number;
  jobsPerS: number;
  latencyP50S: number;
  latencyP95S: number;
  jobRunP50S: number;
  workerCpuS: number;
  workerCpuMsPerEvent: number;
  walBytesPerEvent: number;
  commitsPerEvent: number;
  peakConnections: number;
  failedReports: number;
  loadBefore: number;
  loadAfter: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** User + system CPU seconds of a live process (Linux /proc/PID/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function inputOf(store: number): InputLine[] {
  return generateWorkload({ events: EVENTS, seed: 5000 + store, products: 6, customers: 20 }).map((text, i) => ({ line: i + 1, text }));
}

async function measure(url: string, workers: number): Promise<RunResult> {
  const backend = await connectPostgres(url);
  await ensureQueue(backend.pool);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const children: ChildProcess[] = [];
  const enqueuedAt = new Map<number, number>();
  const doneAt = new Map<number, number>();
  const runMs: number[] = [];
  let failedReports = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  let total = Infinity;
  try {
    for (let i = 0; i < workers; i++) {
      const child = spawn(process.execPath, [BIN, "worker", "--json", "--wait", "600"], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: url },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let buffered = "";
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.startsWith('{"job"')) {
            if (line.trim()) process.stderr.write(`worker ${i}: ${line}\n`);
            continue;
          }
          const report = (JSON.parse(line) as { job: JobReport }).job;
          if (!report.ok) {
            failedReports += 1;
            continue;
          }
          doneAt.set(report.jobId, performance.now());
          runMs.push(report.ms);
          if (doneAt.size >= total) allDone();
        }
      });
      children.push(child);
    }
    // Every worker listening (its presence connection named after its engine pool) before the first job is queued.
    for (;;) {
      const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1", [
        `${PRESENCE_PREFIX}pool-%`,
      ]);
      if (rows[0].n >= workers) break;
      if (children.some((c) => c.exitCode !== null)) throw new Error("a worker exited before it started listening");
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    const cpuBefore = children.map((c) => cpuSeconds(c.pid!));
    const stats = async () =>
      (
        await admin.query<{ wal: string; commits: string }>(
          "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS wal, (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits",
        )
      ).rows[0];
    const before = await stats();
    const loadBefore = loadavg()[0];

    const inputs = Array.from({ length: STORES }, (_, i) => inputOf(i));
    const started = performance.now();
    let jobs = 0;
    // Store by store, as many `shopstate enqueue` calls would: the queue then holds every store's work at once.
    for (const [i, lines] of inputs.entries()) {
      const batches: InputLine[][] = [];
      for (let k = 0; k < lines.length; k += BATCH) batches.push(lines.slice(k, k + BATCH));
      const ids = await enqueueJobs(backend.pool, `store-${i}`, "bench", batches);
      const now = performance.now();
      for (const id of ids) enqueuedAt.set(id, now);
      jobs += ids.length;
    }
    total = jobs;
    if (doneAt.size >= total) allDone();
    let peakConnections = 0;
    const sampler = setInterval(() => {
      admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").then(
        ({ rows }) => (peakConnections = Math.max(peakConnections, rows[0].n)),
        () => undefined,
      );
    }, 250);
    await finished;
    const drainS = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const after = await stats();
    const cpu = children.map((c, i) => cpuSeconds(c.pid!) - cpuBefore[i]).reduce((a, b) => a + b, 0);
    const latencies = [...doneAt.entries()].map(([id, at]) => (at - enqueuedAt.get(id)!) / 1000);
    const events = STORES * EVENTS;
    return {
      workers,
      jobs,
      events,
      drainS,
      eventsPerS: events / drainS,
      jobsPerS: jobs / drainS,
      latencyP50S: percentile(latencies, 50),
      latencyP95S: percentile(latencies, 95),
      jobRunP50S: percentile(runMs, 50) / 1000,
      workerCpuS: cpu,
      workerCpuMsPerEvent: (cpu * 1000) / events,
      walBytesPerEvent: (Number(after.wal) - Number(before.wal)) / events,
      commitsPerEvent: (Number(after.commits) - Number(before.commits)) / events,
      peakConnections,
      failedReports,
      loadBefore,
      loadAfter: loadavg()[0],
    };
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once("close", r)))));
    await admin.end();
    await backend.close();
  }
}

function gitCommit(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return "unknown";
  }
}

const fixed = (n: number, digits = 1) => n.toFixed(digits);

function render(results: RunResult[], postgresVersion: string): string {
  const base = results.find((r) => r.workers === 1);
  const rows = results.map(
    (r) =>
      `| ${r.workers} | ${fixed(r.drainS)} | ${fixed(r.eventsPerS)} | ${fixed(r.jobsPerS, 2)} | ${base ? `${fixed(r.eventsPerS / base.eventsPerS, 2)}x` : "-"} | ${fixed(r.latencyP50S)} | ${fixed(r.latencyP95S)} | ${fixed(r.jobRunP50S, 2)} | ${fixed(r.workerCpuMsPerEvent)} | ${fixed(r.walBytesPerEvent / 1024)} | ${fixed(r.commitsPerEvent)} | ${r.peakConnections} | ${fixed(r.loadBefore)} → ${fixed(r.loadAfter)} |`,
  );
  return `# Worker scaling (generated)

Generated by \`npm run bench:workers\` (bench/workers.ts); do not edit by hand. Commit ${COMMIT}, ${new Date().toISOString()}.
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), shared; ${postgresVersion.split(",")[0]} on the same machine (throwaway server, fsync off).
Workload: ${STORES} stores × ${EVENTS} input events (seeded, offline agents), in jobs of ${BATCH} lines (${results[0]?.jobs ?? 0} jobs), all queued at once; \`shopstate worker\` processes (one job at a time each) drain the queue.

| workers | drain (s) | events/s | jobs/s | speed-up | latency p50 (s) | latency p95 (s) | job run p50 (s) | worker CPU ms/event | WAL KiB/event | commits/event | peak connections | load avg (1 min) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

- *latency*: from the job's enqueue to its worker's report that it is done; every job is queued at the start, so it is mostly time spent waiting in the queue.
- *job run*: one job's attempt inside the worker (lease, graph runs, checkpoints).
- *worker CPU*: user + system time of the worker processes while draining, per input event.
- *WAL KiB/event*, *commits/event*: the database's write volume while draining (pg_current_wal_lsn, pg_stat_database), per input event.
- *peak connections*: to the benchmark's database, sampled every 250 ms (workers and the benchmark's own).
- *load avg*: the machine's 1-minute load average before and after the run; other work on a shared machine slows every figure.
${results.some((r) => r.failedReports > 0) ? `\nFailed attempts reported (retried by the engine): ${results.map((r) => `${r.workers} worker(s): ${r.failedReports}`).join(", ")}.\n` : ""}
\`\`\`json
${JSON.stringify(results, null, 2)}
\`\`\`
`;
}

// Taken before the runs: the figures belong to the code as it was when they started.
const COMMIT = gitCommit();
const server = await startPostgres();
try {
  const results: RunResult[] = [];
  let version = "";
  for (const workers of WORKER_COUNTS) {
    process.stderr.write(`bench:workers: ${workers} worker(s), ${STORES} stores × ${EVENTS} events...\n`);
    const url = await server.createDatabase(`workers_${workers}`);
    if (!version) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      version = (await client.query<{ version: string }>("SELECT version()")).rows[0].version;
      await client.end();
    }
    const result = await measure(url, workers);
    process.stderr.write(
      `  drained in ${fixed(result.drainS)} s: ${fixed(result.eventsPerS)} events/s, latency p50 ${fixed(result.latencyP50S)} s, p95 ${fixed(result.latencyP95S)} s\n`,
    );
    results.push(result);
  }
  const markdown = render(results, version);
  writeFileSync(join(ROOT, args.out), markdown);
  process.stdout.write(markdown);
} finally {
  server.stop();
}
