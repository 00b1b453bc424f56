/**
 * Stores in PostgreSQL (DATABASE_URL) on a real, throwaway server
 * (tests/support/postgres.ts): the CLI gives the same results as on SQLite
 * for the same input, time travel, approvals and import included; four worker
 * processes serving twenty stores at once (on graphile-worker, one queue per
 * store) lose nothing and leave every store equal to a reference run; a
 * killed worker's job is run again, a store's jobs stay in order through a
 * retry, a busy store holds up only its own queue, and a job that cannot be a
 * job fails at once; two processes writing one store are refused with a clear
 * message or serialised, never interleaved.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { generateWorkload } from "../bench/generator.js";
import { worldAt } from "../src/app/verify.js";
import type { StoreEvent } from "../src/domain/events.js";
import { verify } from "../src/domain/verify.js";
import { acquirePgLease } from "../src/persistence/pg_lease.js";
import { connectPostgres, type PostgresBackend } from "../src/persistence/postgres.js";
import { allOrders, wholeLog } from "../src/persistence/store_log.js";
import { threadIdFor } from "../src/persistence/stores.js";
import type { State } from "../src/state.js";
import { headValues, ingestLines, logOf, openPostgresStore, openStore, type InputLine, type StoreSession } from "../src/store.js";
import { stateView } from "../src/views.js";
import { enqueueJobs, ensureQueue, listJobs, queueOf, type JobRow } from "../src/worker/queue.js";
import { runWorker, type JobReport, type WorkerOptions } from "../src/worker/run.js";
import { cleanEnv, FROM_SOURCE, cli, jsonLines, parseJson, ROOT, tempDir, type Run } from "./support/cli.js";
import { startPostgres, type PostgresServer } from "./support/postgres.js";

let server: PostgresServer;
let dir: string;

beforeAll(async () => {
  server = await startPostgres();
  dir = tempDir();
});

afterAll(() => {
  server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The CLI on PostgreSQL (DATABASE_URL) or on a SQLite file (--db). */
function backends(url: string, dbPath: string) {
  const onPg = (args: string[], input?: string) => cli(args, { env: { DATABASE_URL: url }, input });
  const onSqlite = (args: string[], input?: string) => cli(["--db", dbPath, ...args], { input });
  return { onPg, onSqlite };
}

function json<T>(run: Run, what: string): T {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}:\n${run.stderr}`);
  return parseJson<T>(run.stdout, what);
}

/** A state view without what differs by nature between two stores: checkpoint ids. */
function withoutIds(view: Record<string, unknown>): Record<string, unknown> {
  const { checkpointId: _, ...rest } = view;
  return rest;
}

/** A store's head: its values, its whole log and the rule check of both (the log is in the event store, not the state). */
async function headOf(session: StoreSession): Promise<{ values: State; checkpointId: string; events: StoreEvent[]; violations: ReturnType<typeof verify> }> {
  const { values, checkpointId } = await headValues(session);
  const events = await wholeLog(logOf(session, values));
  return { values, checkpointId, events, violations: verify(worldAt(values, events), events) };
}

/** `state --json`'s view of a head, orders folded from the event store as the CLI does. */
async function viewOf(session: StoreSession, head: { values: State; checkpointId: string }): Promise<Record<string, unknown>> {
  return withoutIds(stateView(head.values, head.checkpointId, await allOrders(logOf(session, head.values))) as unknown as Record<string, unknown>);
}

/** A decision is stamped with the wall-clock time, and so are the events it causes: mask that time to compare two runs. */
function maskDecisionTimes(events: Record<string, unknown>[]): Record<string, unknown>[] {
  const decided = new Set(events.filter((e) => e.type === "ApprovalDecided").map((e) => e.at));
  return events.map((e) => (decided.has(e.at) ? { ...e, at: "(decision time)" } : e));
}

describe("the CLI on PostgreSQL", () => {
  it("gives the same results as on SQLite: ingest, state, events, approve, history, tag, diff, rollback, replay, verify", async () => {
    const url = await server.createDatabase("cli");
    const { onPg, onSqlite } = backends(url, join(dir, "cli.db"));
    const both = async <T>(args: string[], what: string): Promise<[T, T]> => {
      const [a, b] = await Promise.all([onPg([...args, "--json"]), onSqlite([...args, "--json"])]);
      return [json<T>(a, `${what} on PostgreSQL`), json<T>(b, `${what} on SQLite`)];
    };
    const day = join(ROOT, "data", "demo-day.jsonl");

    const [ingestPg, ingestSqlite] = await both<Record<string, unknown>>(["ingest", day], "ingest");
    expect(ingestPg.pendingApprovals).toBeGreaterThan(0);
    expect(withoutIds(ingestPg)).toEqual(withoutIds(ingestSqlite));

    const [statePg, stateSqlite] = await both<Record<string, unknown>>(["state"], "state");
    expect(withoutIds(statePg)).toEqual(withoutIds(stateSqlite));
    const [eventsPg, eventsSqlite] = await both<Record<string, unknown>[]>(["events"], "events");
    expect(eventsPg).toEqual(eventsSqlite);

    // A large refund waits at the approval gate; approving resumes the paused run on both.
    const [pendingPg] = await both<{ id: string }[]>(["approvals"], "approvals");
    expect(pendingPg.length).toBeGreaterThan(0);
    const approve = ["approve", pendingPg[0].id, "--by", "tester", "--reason", "checked"];
    const [approvedPg, approvedSqlite] = await both<{ resumed: boolean; approvals: { status: string }[] }>(approve, "approve");
    expect(approvedPg.resumed).toBe(true);
    expect(approvedPg.approvals[0].status).toBe("approved");
    expect(approvedPg.approvals.map((a) => a.status)).toEqual(approvedSqlite.approvals.map((a) => a.status));
    const [afterPg, afterSqlite] = await both<Record<string, unknown>>(["state"], "state after approve");
    expect(withoutIds(afterPg)).toEqual(withoutIds(afterSqlite));

    // History: the same writers and summaries, newest first.
    type History = {
      entries: {
        writers: string[];
        summary: string;
        source: string;
        step: number;
        head: boolean;
        checkpointId: string;
        shortId: string;
        onCurrentBranch?: boolean;
      }[];
    };
    const [historyPg, historySqlite] = await both<History>(["history", "--limit", "12"], "history");
    const lines = (h: History) => h.entries.map((e) => ({ writers: e.writers, summary: e.summary, source: e.source, step: e.step, head: e.head }));
    expect(lines(historyPg)).toEqual(lines(historySqlite));
    expect(historyPg.entries[0].head).toBe(true);
    // A short id from history resolves on PostgreSQL too (prefix lookups compare ids by code point).
    const short = historyPg.entries[3];
    expect(json<{ checkpointId: string }>(await onPg(["state", "--at", short.shortId, "--json"]), "state --at shortId").checkpointId).toBe(short.checkpointId);

    // Tag, a bad input, diff, rollback, verify.
    await both(["tag", "before-oops"], "tag");
    const oops = join(dir, "oops.jsonl");
    writeFileSync(
      oops,
      [
        { id: "oops-1", type: "StockAdjusted", at: "2026-03-01T17:00:00Z", data: { sku: "SKU-TEE", delta: -20, reason: "count typed into the wrong row" } },
        {
          id: "oops-2",
          type: "OrderPlaced",
          at: "2026-03-01T17:05:00Z",
          data: { orderId: "ORD-2001", customerId: "C-1", lines: [{ sku: "SKU-TEE", qty: 2 }] },
        },
      ]
        .map((e) => JSON.stringify(e))
        .join("\n"),
    );
    await both(["ingest", oops], "ingest oops");
    // Replay that run from its input checkpoint: it reproduces the run's end byte for byte (a new head, same state).
    const inputOf = async (run: (args: string[]) => Promise<Run>) =>
      (
        json<History>(await run(["history", "--limit", "30", "--json"]), "history").entries.find(
          (e) => e.source === "input" && e.onCurrentBranch,
        ) as History["entries"][number]
      ).checkpointId;
    const [replayPg, replaySqlite] = await Promise.all([
      onPg(["replay", await inputOf(onPg), "--json"]).then((r) => json<{ equivalent: boolean; identical: boolean }>(r, "replay on PostgreSQL")),
      onSqlite(["replay", await inputOf(onSqlite), "--json"]).then((r) => json<{ equivalent: boolean; identical: boolean }>(r, "replay on SQLite")),
    ]);
    expect(replayPg).toMatchObject({ equivalent: true, identical: true });
    expect(replaySqlite).toMatchObject({ equivalent: true, identical: true });
    type Diff = { entities: unknown[]; events: { added: { id: string }[] } };
    const [diffPg, diffSqlite] = await both<Diff>(["diff", "before-oops"], "diff");
    expect(diffPg.entities.length).toBeGreaterThan(0);
    expect(diffPg.events.added.map((e) => e.id)).toContain("oops-1");
    expect({ entities: diffPg.entities, events: diffPg.events.added.map((e) => e.id) }).toEqual({
      entities: diffSqlite.entities,
      events: diffSqlite.events.added.map((e) => e.id),
    });
    const [rolledPg] = await both<{ newHead: string }>(["rollback", "before-oops"], "rollback");
    const [atTag] = await both<Record<string, unknown>>(["state", "--at", "before-oops"], "state at the tag");
    const [rolledState, rolledSqlite] = await both<Record<string, unknown>>(["state"], "state after rollback");
    expect(rolledState.checkpointId).toBe(rolledPg.newHead);
    expect(withoutIds(rolledState)).toEqual(withoutIds(atTag));
    expect(withoutIds(rolledState)).toEqual(withoutIds(rolledSqlite));
    const [tagsPg] = await both<{ label: string }[]>(["tag"], "tag list");
    expect(tagsPg.map((t) => t.label)).toEqual(["before-oops"]);
    const history = json<History>(await onPg(["history", "--limit", "3", "--json"]), "history after rollback");
    expect(history.entries[0].writers).toEqual(["rollback"]);

    const [verifyPg] = await both<{ ok: boolean; eventCount: number }>(["verify"], "verify");
    expect(verifyPg.ok).toBe(true);
    const [eventsEndPg, eventsEndSqlite] = await both<Record<string, unknown>[]>(["events"], "events at the end");
    expect(maskDecisionTimes(eventsEndPg)).toEqual(maskDecisionTimes(eventsEndSqlite));

    // import rebuilds a store from the exported log, in PostgreSQL too.
    const exported = join(dir, "exported.json");
    writeFileSync(exported, JSON.stringify(eventsEndPg));
    const imported = json<{ ok: boolean; identical: boolean; eventCount: number }>(await onPg(["import", exported, "--thread", "copy", "--json"]), "import");
    expect(imported).toMatchObject({ ok: true, identical: true, eventCount: eventsEndPg.length });

    const stores = json<{ name: string; checkpoints: number }[]>(await onPg(["stores", "--json"]), "stores");
    expect(stores.map((s) => s.name)).toEqual(["copy", "main"]);
    expect(stores[1].checkpoints).toBeGreaterThan(10);
    // prune is SQLite-only, and says so; --db is refused beside DATABASE_URL.
    const prune = await onPg(["prune", "--keep-last", "3"]);
    expect(prune.code).toBe(2);
    expect(prune.stderr).toMatch(/prune works on SQLite stores only/);
    const both2 = await cli(["--db", join(dir, "x.db"), "state"], { env: { DATABASE_URL: url } });
    expect(both2.code).toBe(2);
    expect(both2.stderr).toMatch(/--db names a SQLite file, but DATABASE_URL is set/);
  });

  it("a database where the tables cannot be created: says where and why", async () => {
    const url = await server.createDatabase("readonly");
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query("ALTER DATABASE readonly SET default_transaction_read_only = on");
      await expect(connectPostgres(url)).rejects.toThrow(
        /^cannot set up shopstate's tables in PostgreSQL at postgres:\/\/.*\/readonly: .*read-only transaction/,
      );
    } finally {
      await admin.end();
    }
  });

  it("refuses a DATABASE_URL that is not a PostgreSQL URL, and says so", async () => {
    const run = await cli(["state"], { env: { DATABASE_URL: "mysql://db/x" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/DATABASE_URL: must be a PostgreSQL URL/);
  });
});

// ------------------------------------------------------------------ workers

const STORES = 20;
const WORKERS = 4;
const JOB_LINES = 6;
/** Run options of an in-process worker. */
const WORKER_RUN: Omit<WorkerOptions, "exitWhenIdle"> = { batchSize: 6, approvalThresholdCents: 10_000, maxSteps: 500 };

/** A store's input: a seeded workload of 30 events, small catalogue, few customers (refund talk included). */
function inputOf(store: number): InputLine[] {
  return generateWorkload({ events: 30, seed: 1000 + store, products: 4, customers: 6 }).map((text, i) => ({ line: i + 1, text }));
}

function jobsOf(lines: InputLine[]): InputLine[][] {
  const batches: InputLine[][] = [];
  for (let i = 0; i < lines.length; i += JOB_LINES) batches.push(lines.slice(i, i + JOB_LINES));
  return batches;
}

function spawnCli(args: string[], env: Record<string, string>): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [...FROM_SOURCE, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const done = new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

describe("several worker processes on one PostgreSQL", () => {
  let url: string;
  let backend: PostgresBackend;

  beforeAll(async () => {
    url = await server.createDatabase("workers");
    backend = await connectPostgres(url);
  });
  afterAll(async () => {
    await backend?.close();
  });

  it(`${WORKERS} workers serving ${STORES} stores at once lose nothing, and every store equals a reference run and verifies`, async () => {
    const env = { DATABASE_URL: url };
    const inputs = Array.from({ length: STORES }, (_, i) => inputOf(i));
    // Queue every store's jobs round-robin, so the workers take different stores at once and each store's jobs reach several workers.
    const perStore = inputs.map((lines, i) => ({ store: `shop-${i}`, jobs: jobsOf(lines) }));
    // The first store's file goes through `shopstate enqueue`; the rest are queued in-process, round-robin.
    const firstFile = join(dir, "shop-0.jsonl");
    writeFileSync(firstFile, inputs[0].map((l) => l.text).join("\n"));
    const queued = json<{ jobs: number[] }>(
      await cli(["enqueue", firstFile, "--thread", "shop-0", "--batch", String(JOB_LINES), "--json"], { env }),
      "enqueue",
    );
    expect(queued.jobs).toHaveLength(perStore[0].jobs.length);
    for (let round = 0; round < Math.max(...perStore.map((s) => s.jobs.length)); round++) {
      for (const { store, jobs } of perStore.slice(1)) if (round < jobs.length) await enqueueJobs(backend.pool, store, `${store}.jsonl`, [jobs[round]]);
    }

    const workers = Array.from({ length: WORKERS }, () => spawnCli(["worker", "--exit-when-idle", "--wait", "120", "--json"], env));
    // Meanwhile another writer (tag, which takes the lease) on a few stores: it waits for the worker holding the store, then goes on.
    // A store is tagged as soon as a worker has created it.
    const taggers = [0, 5, 10, 15].map(async (i) => {
      while ((await backend.meta.findStore(`shop-${i}`)) === undefined) await new Promise((r) => setTimeout(r, 50));
      // Not `cli` (a 60 s timeout): on a loaded machine the wait for the lease plus the start of the process can take longer.
      return spawnCli(["tag", `mid-${i}`, "--thread", `shop-${i}`, "--wait", "120", "--json"], env).done;
    });
    const ran = await Promise.all(workers.map((w) => w.done));
    const tagged = await Promise.all(taggers);

    const summaries = ran.map((r) => json<{ done: number; failed: number }>(r, "worker"));
    const reports = ran.flatMap((r) =>
      jsonLines(
        r.stderr
          .split("\n")
          .filter((l) => l.startsWith('{"job"'))
          .join("\n"),
      ).map((l) => l.job as { store: string; ok: boolean; worker: string }),
    );
    expect(summaries.reduce((n, s) => n + s.failed, 0)).toBe(0);
    expect(summaries.reduce((n, s) => n + s.done, 0)).toBe(perStore.reduce((n, s) => n + s.jobs.length, 0));
    // Work was spread: more than one worker did jobs, and some store was served by several workers.
    expect(summaries.filter((s) => s.done > 0).length).toBeGreaterThan(1);
    const workersOf = new Map<string, Set<string>>();
    for (const r of reports) workersOf.set(r.store, (workersOf.get(r.store) ?? new Set()).add(r.worker));
    expect([...workersOf.values()].some((w) => w.size > 1)).toBe(true);
    // A tag either waited for its store's worker and went on, or came first (no store is refused).
    for (const t of tagged) expect(t.code, `${t.stderr}${t.stdout}`).toBe(0);

    // Every job ran once and succeeded: the engine deleted each, and no report says a job failed or was retried.
    expect(parseJson<JobRow[]>((await cli(["jobs", "--json"], { env })).stdout, "jobs")).toEqual([]);
    expect(reports.filter((r) => !r.ok)).toEqual([]);
    const ran1 = reports.map((r) => (r as unknown as JobReport).jobId);
    expect(new Set(ran1).size).toBe(ran1.length);

    // Each store: the reference is the same jobs ingested in-process into a SQLite file, one after the other.
    for (const [i, { store, jobs: batches }] of perStore.entries()) {
      const reference = openStore(join(dir, "reference.db"), store);
      try {
        await ingestLines(reference, batches.flat(), {
          batchSize: JOB_LINES,
          approvalThresholdCents: 10_000,
          maxSteps: 500,
          source: "reference",
          batches: () => batches,
        });
        const expected = await headOf(reference);
        const onPg = openPostgresStore(backend, store);
        const actual = await headOf(onPg);
        const inputIds = inputs[i].map((l) => (JSON.parse(l.text) as { id: string }).id);
        const logIds = actual.events.map((e) => e.id);
        expect(new Set(logIds).size, `${store}: an event twice`).toBe(logIds.length);
        for (const id of inputIds) expect(logIds, `${store}: input ${id} lost`).toContain(id);
        expect(actual.events, `${store}: the log differs from the reference`).toEqual(expected.events);
        expect(await viewOf(onPg, actual)).toEqual(await viewOf(reference, expected));
        expect(actual.violations, `${store}: verify`).toEqual([]);
      } finally {
        await reference.close();
      }
    }
    // And `shopstate verify` as a user runs it, on a few stores.
    for (const i of [0, 7, 19]) expect(json<{ ok: boolean }>(await cli(["verify", "--thread", `shop-${i}`, "--json"], { env }), "verify").ok).toBe(true);
  }, 600_000);

  it("a worker killed in the middle of a job loses nothing and doubles nothing: the next worker frees the job and runs it", async () => {
    // A database of its own: no other test's job may be taken by this test's workers.
    const url = await server.createDatabase("crash");
    const backend = await connectPostgres(url);
    const env = { DATABASE_URL: url };
    const store = "crash";
    const lines = inputOf(7);
    await ensureQueue(backend.pool);
    const [jobId] = await enqueueJobs(backend.pool, store, "crash.jsonl", [lines.slice(0, 12), lines.slice(12)]);

    // Hold the store, so the worker takes the job and then waits for the lease: a known point in the middle of the job.
    const held = await acquirePgLease({ connectionString: url }, store, threadIdFor(store), 0);
    const worker = spawnCli(["worker", "--wait", "120", "--json"], env);
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      for (;;) {
        const { rows } = await watcher.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE $1", [`shopstate pid ${worker.child.pid} %`]);
        if (rows.length > 0 || worker.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(worker.child.exitCode).toBeNull();
      const [running, next] = await listJobs(backend.pool, store);
      expect(running).toMatchObject({ id: jobId, status: "running", attempts: 1 });
      // The store's queue is locked while its job runs: its next job waits.
      expect(next).toMatchObject({ status: "queued", attempts: 0 });
      worker.child.kill("SIGKILL");
      await worker.done;
      // The engine alone keeps a dead worker's job locked (for 4 hours): it still shows as running.
      expect((await listJobs(backend.pool, store))[0]).toMatchObject({ id: jobId, status: "running" });
    } finally {
      await watcher.end();
      await held.release();
    }

    // The next worker sees no presence connection for the dead worker's pool, frees its job and runs both jobs in order.
    // Not `cli`: its 60 s timeout sends SIGTERM, on which a worker finishes the job at hand and stops (too soon on a loaded machine).
    const rerun = await spawnCli(["worker", "--exit-when-idle", "--json"], env).done;
    expect(json<{ done: number; failed: number }>(rerun, "worker")).toMatchObject({ done: 2, failed: 0 });
    expect(await listJobs(backend.pool, store)).toEqual([]);
    const { events, violations } = await headOf(openPostgresStore(backend, store));
    expect(events.filter((e) => e.source === "generator").map((e) => e.id)).toEqual(lines.map((l) => (JSON.parse(l.text) as { id: string }).id));
    expect(violations).toEqual([]);

    // A lease whose holder's connection is gone (a killed process) is free at once: no expiry to wait out.
    const lease = await acquirePgLease({ connectionString: url }, store, threadIdFor(store), 0);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [lease.holder.slice(0, 63)]);
    } finally {
      await admin.end();
    }
    const next = await acquirePgLease({ connectionString: url }, store, threadIdFor(store), 5_000);
    await next.release();
    await lease.release();
    await backend.close();
  });

  it("a store's jobs run in order even when the first is retried: the next one waits for it, without using an attempt", async () => {
    const ordered = await connectPostgres(await server.createDatabase("ordering"));
    const store = "ordered";
    const lines = inputOf(21);
    try {
      await ensureQueue(ordered.pool);
      const [first, second] = await enqueueJobs(ordered.pool, store, "test", [lines.slice(0, 15), lines.slice(15)]);
      // The store is busy and the worker does not wait: the first job fails its first attempt and is pushed back (e^1 s).
      const lease = await acquirePgLease({ connectionString: ordered.pool.options.connectionString }, store, threadIdFor(store), 0);
      const reports: JobReport[] = [];
      const summary = await runWorker(ordered, {
        ...WORKER_RUN,
        waitMs: 0,
        exitWhenIdle: true,
        pollMs: 100,
        onJob: (r) => {
          reports.push(r);
          if (reports.length === 1) void lease.release();
        },
      });
      const of = (id: number) => reports.filter((r) => r.jobId === id).map((r) => ({ ok: r.ok, attempt: r.attempt, retried: r.retried ?? false }));
      expect(reports[0]).toMatchObject({
        jobId: first,
        ok: false,
        willRetry: true,
        error: expect.stringMatching(/LeaseBusyError: store 'ordered' is being written by another process/),
      });
      // The engine took the second job while the first waited for its retry: the task gave it back until the first had run.
      expect(of(first)).toEqual([
        { ok: false, attempt: 1, retried: false },
        { ok: true, attempt: 2, retried: false },
      ]);
      expect(of(second)[0]).toEqual({ ok: false, attempt: 1, retried: true });
      expect(of(second).at(-1)).toEqual({ ok: true, attempt: 1, retried: false });
      expect(reports.findIndex((r) => r.jobId === first && r.ok)).toBeLessThan(reports.findIndex((r) => r.jobId === second && r.ok));
      expect(summary).toMatchObject({ done: 2, failed: 1 });
      const { events } = await headOf(openPostgresStore(ordered, store));
      expect(events.filter((e) => e.source === "generator").map((e) => e.id)).toEqual(lines.map((l) => (JSON.parse(l.text) as { id: string }).id));
    } finally {
      await ordered.close();
    }
  });

  it("different stores run in parallel: a store kept busy holds up its own queue only, and no worker takes its next job", async () => {
    const parallelUrl = await server.createDatabase("parallel");
    const env = { DATABASE_URL: parallelUrl };
    const parallel = await connectPostgres(parallelUrl);
    const watcher = new pg.Client({ connectionString: parallelUrl });
    await watcher.connect();
    try {
      await ensureQueue(parallel.pool);
      const [busyFirst, busySecond] = await enqueueJobs(parallel.pool, "slow", "test", jobsOf(inputOf(31)).slice(0, 2));
      const free = await enqueueJobs(parallel.pool, "quick", "test", jobsOf(inputOf(32)));
      const held = await acquirePgLease({ connectionString: parallelUrl }, "slow", threadIdFor("slow"), 0);
      const workers = [0, 1].map(() => spawnCli(["worker", "--exit-when-idle", "--wait", "120", "--json"], env));
      // One worker waits for the busy store's lease; the other drains the other store meanwhile.
      for (;;) {
        const quickLeft = (await listJobs(parallel.pool, "quick")).length;
        if (quickLeft === 0 || workers.some((w) => w.child.exitCode !== null)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await listJobs(parallel.pool, "quick")).toEqual([]);
      const slow = await listJobs(parallel.pool, "slow");
      expect(slow.map((j) => [j.id, j.status])).toEqual([
        [busyFirst, "running"],
        [busySecond, "queued"],
      ]);
      await held.release();
      const ran = await Promise.all(workers.map((w) => w.done));
      const summaries = ran.map((r) => json<{ done: number; failed: number }>(r, "worker"));
      expect(summaries.reduce((n, s) => n + s.done, 0)).toBe(free.length + 2);
      expect(summaries.every((s) => s.failed === 0)).toBe(true);
      const reports = ran.flatMap((r) =>
        jsonLines(
          r.stderr
            .split("\n")
            .filter((l) => l.startsWith('{"job"'))
            .join("\n"),
        ).map((l) => l.job as JobReport),
      );
      // The busy store's jobs ran in order (the log says which came first: each report gives the log's length after its
      // job; the reports themselves are gathered worker by worker, not in time); every job of the other store ran on the
      // worker that was not waiting for it.
      const slowRuns = reports.filter((r) => r.store === "slow").sort((a, b) => (a.eventCount ?? 0) - (b.eventCount ?? 0));
      expect(slowRuns.map((r) => r.jobId)).toEqual([busyFirst, busySecond]);
      expect(reports.filter((r) => r.store === "quick").every((r) => r.worker !== slowRuns[0].worker)).toBe(true);
    } finally {
      await watcher.end();
      await parallel.close();
    }
  });

  it("refuses a second writer of a store with a message naming the holder, and serialises it with --wait", async () => {
    const env = { DATABASE_URL: url };
    const lines = inputOf(99);
    const first = join(dir, "first.jsonl");
    const second = join(dir, "second.jsonl");
    writeFileSync(
      first,
      lines
        .slice(0, 15)
        .map((l) => l.text)
        .join("\n"),
    );
    writeFileSync(
      second,
      lines
        .slice(15)
        .map((l) => l.text)
        .join("\n"),
    );
    const store = "contended";

    // This process holds the store's lease: a writer without --wait is refused at once, and told who holds it.
    const held = await acquirePgLease({ connectionString: url }, store, threadIdFor(store), 0);
    const refused = await cli(["ingest", first, "--thread", store, "--json"], { env });
    expect(refused.code).toBe(1);
    const error = (jsonLines(refused.stderr)[0] as { error: { kind: string; message: string; holder: string } }).error;
    expect(error.kind).toBe("busy");
    expect(error.message).toMatch(new RegExp(`store 'contended' is being written by another process \\(shopstate pid ${process.pid} on `));
    expect(error.message).toMatch(/pass --wait SECONDS/);

    // With --wait it waits: we see its lease connection asking, then let go, and it goes on.
    const waiting = spawnCli(["ingest", first, "--thread", store, "--wait", "120", "--json"], env);
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      for (;;) {
        const { rows } = await watcher.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE $1", [`shopstate pid ${waiting.child.pid} %`]);
        if (rows.length > 0 || waiting.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await watcher.end();
    }
    expect(waiting.child.exitCode).toBeNull();
    await held.release();
    const waited = await waiting.done;
    expect(waited.code, waited.stderr).toBe(0);

    // Two writers at the same moment, without --wait: each one either ran alone or was refused with the busy message;
    // with --wait both run, one after the other. Either way the store holds exactly the input of the runs that succeeded.
    const racers = await Promise.all([
      cli(["ingest", second, "--thread", store, "--json"], { env }),
      cli(["ingest", second, "--thread", store, "--json"], { env }),
    ]);
    for (const r of racers) {
      if (r.code !== 0) {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/"kind":"busy"/);
      }
    }
    expect(racers.some((r) => r.code === 0)).toBe(true);
    const serialised = await Promise.all(
      [0, 1].map((k) => {
        const file = join(dir, `extra-${k}.jsonl`);
        writeFileSync(
          file,
          JSON.stringify({ id: `extra-${k}`, type: "StockReceived", at: "2026-01-02T00:00:00Z", data: { sku: JSON.parse(lines[0].text).data.sku, qty: 5 } }),
        );
        return cli(["ingest", file, "--thread", store, "--wait", "120", "--json"], { env });
      }),
    );
    for (const r of serialised) expect(r.code, r.stderr).toBe(0);

    const { events, violations } = await headOf(openPostgresStore(backend, store));
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const l of lines) expect(ids).toContain((JSON.parse(l.text) as { id: string }).id);
    expect(ids).toEqual(expect.arrayContaining(["extra-0", "extra-1"]));
    expect(violations).toEqual([]);
    expect(json<{ ok: boolean }>(await cli(["verify", "--thread", store, "--json"], { env }), "verify").ok).toBe(true);
  });
});

describe("the store's PostgreSQL pool", () => {
  it("reads the stock saver's bytea arrays as pg does: the fast parser gives the same buffers as a plain pool", async () => {
    const url = await server.createDatabase("bytea_arrays");
    const backend = await connectPostgres(url);
    const plain = new pg.Pool({ connectionString: url, max: 1 });
    try {
      // The shape of PostgresSaver's channel values: array_agg of (channel, type, blob) rows, with an empty value and a null.
      const sql = `SELECT array_agg(array[c::bytea, t::bytea, b] ORDER BY c) AS v FROM (VALUES
        ('inventory', 'json', convert_to('{"sku":"A","note":"\\ {,}"}', 'UTF8')),
        ('tasks', 'empty', ''::bytea), ('zeros', 'bytes', decode('00ff5c227b7d2c', 'hex')), ('nothing', 'null', NULL)) AS r(c, t, b)`;
      const [fast, stock] = await Promise.all([backend.pool.query(sql), plain.query(sql)]);
      expect(fast.rows[0].v).toEqual(stock.rows[0].v);
      expect(fast.rows[0].v[3]).toEqual([Buffer.from("zeros"), Buffer.from("bytes"), Buffer.from("00ff5c227b7d2c", "hex")]);
      expect(fast.rows[0].v[1][2]).toBeNull();
    } finally {
      await Promise.all([backend.close(), plain.end()]);
    }
  });
});

describe("PostgreSQL failure paths", () => {
  it("stores a task's writes and its task path in one transaction: a path that cannot be written leaves no writes", async () => {
    const backend = await connectPostgres(await server.createDatabase("writes_tx"));
    try {
      // A trigger refuses the task path, as a crash between the two statements would leave it unwritten.
      await backend.pool.query(`CREATE FUNCTION refuse_path() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no path'; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER refuse_path BEFORE INSERT ON shopstate_task_paths FOR EACH ROW EXECUTE FUNCTION refuse_path()`);
      const config = { configurable: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c1" } };
      await expect(backend.saver.putWrites(config, [["events", { n: 1 }]], "task-1", "~__pregel_pull, support_agent")).rejects.toThrow(/no path/);
      expect((await backend.pool.query("SELECT count(*)::int AS n FROM checkpoint_writes WHERE thread_id = 't'")).rows[0].n).toBe(0);
      await backend.pool.query("DROP TRIGGER refuse_path ON shopstate_task_paths");
      await backend.saver.putWrites(config, [["events", { n: 1 }]], "task-1", "~__pregel_pull, support_agent");
      expect((await backend.pool.query("SELECT count(*)::int AS n FROM checkpoint_writes WHERE thread_id = 't'")).rows[0].n).toBe(1);
      expect((await backend.pool.query("SELECT task_path FROM shopstate_task_paths WHERE thread_id = 't'")).rows).toEqual([
        { task_path: "~__pregel_pull, support_agent" },
      ]);
    } finally {
      await backend.close();
    }
  });

  it("fails a job whose input is not a job's at once, with the reason; the store's later job does not overtake it; `jobs` shows each error on one line", async () => {
    const badUrl = await server.createDatabase("badjobs");
    const bad = await connectPostgres(badUrl);
    try {
      await ensureQueue(bad.pool);
      // Input that is not JSON at all cannot even be queued: the engine stores JSON.
      await expect(
        bad.pool.query(`SELECT graphile_worker.add_job('shopstate_ingest', '[{"line": 1, '::json, queue_name := $1)`, [queueOf("broken")]),
      ).rejects.toThrow(/invalid input syntax for type json/);
      // JSON that is not a job's input (here the text of an unfinished list, as a string), added by hand to the store's queue.
      const { rows } = await bad.pool.query<{ id: string }>(
        `SELECT (graphile_worker.add_job('shopstate_ingest', to_json('[{"line": 1, '::text), queue_name := $1, max_attempts := 8)).id`,
        [queueOf("broken")],
      );
      const broken = Number(rows[0].id);
      const [after] = await enqueueJobs(bad.pool, "broken", "test", [[{ line: 1, text: "{}" }]]);
      const [other] = await enqueueJobs(bad.pool, "other", "test", [inputOf(5).slice(0, 3)]);
      const reports: JobReport[] = [];
      const summary = await runWorker(bad, { ...WORKER_RUN, exitWhenIdle: true, pollMs: 50, onJob: (r) => reports.push(r) });
      expect(summary).toMatchObject({ done: 1, failed: 2 });
      // Each ran once: failing for good is not retried.
      expect(reports.map((r) => [r.jobId, r.ok, r.willRetry ?? false])).toEqual(
        expect.arrayContaining([
          [broken, false, false],
          [after, false, false],
          [other, true, false],
        ]),
      );
      expect(reports).toHaveLength(3);
      const jobs = await listJobs(bad.pool);
      expect(jobs.map((j) => [j.id, j.status, j.attempts])).toEqual([
        [broken, "failed", 1],
        [after, "failed", 1],
      ]);
      expect(jobs[0].error).toMatch(
        new RegExp(
          `^job ${broken}: its payload is not a job's input \\(\\{store, source, lines: \\[\\{line, text\\}\\]\\}\\): \\(the payload\\): .+; the job cannot run`,
        ),
      );
      expect(jobs[1].error).toMatch(new RegExp(`^job ${after}: job ${broken} of store 'broken', queued before it, failed; this one must not overtake it`));
      const listed = await cli(["jobs"], { env: { DATABASE_URL: badUrl } });
      expect(listed.code, listed.stderr).toBe(0);
      const lines = listed.stdout.trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^ *${broken} broken +failed +0 line\\(s\\), 1 of 1 attempt\\(s\\): job ${broken}: its payload`));
    } finally {
      await bad.close();
    }
  });

  it("a writer whose lock connection is terminated stops at its next step with a clear error, and the next ingest resumes", async () => {
    const lostUrl = await server.createDatabase("lostlease");
    const backend = await connectPostgres(lostUrl);
    const admin = new pg.Client({ connectionString: lostUrl });
    await admin.connect();
    const put = backend.saver.put.bind(backend.saver);
    try {
      const session = openPostgresStore(backend, "lost");
      const lines = inputOf(11);
      let puts = 0;
      let terminated: Promise<pg.QueryResult<{ ok: boolean }>> | undefined;
      backend.saver.put = async (...args) => {
        const written = await put(...args);
        // The lease's own connection (named after this process), as when the network or the server drops it.
        if (++puts === 3)
          terminated = admin.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE $1", [
            `shopstate pid ${process.pid} on %`,
          ]);
        return written;
      };
      await expect(ingestLines(session, lines, { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "generator" })).rejects.toThrow(
        /^lost the write lease of store 'lost': its lock connection to PostgreSQL (failed|ended)/,
      );
      expect((await terminated)?.rows).toEqual([{ ok: true }]);
      expect((await session.graph.getState(session.config)).tasks.length).toBeGreaterThan(0);
      backend.saver.put = put;
      await ingestLines(session, lines, { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "generator" });
      const { events, violations } = await headOf(session);
      expect(events.filter((e) => e.source === "generator").map((e) => e.id)).toEqual(lines.map((l) => (JSON.parse(l.text) as { id: string }).id));
      expect(violations).toEqual([]);
    } finally {
      backend.saver.put = put;
      await admin.end();
      await backend.close();
    }
  }, 120_000);
});

// The server's log helps when a test fails on CI.
afterEach((context) => {
  if (context.task.result?.state !== "fail" || !server) return;
  try {
    process.stderr.write(`PostgreSQL log:\n${readFileSync(server.logPath, "utf8").slice(-4000)}\n`);
  } catch {
    // no log to show
  }
});
