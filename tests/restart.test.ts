/**
 * What a killed writer leaves behind, and what the restarted command does
 * with it (issue 7, part 1; `npm run chaos` does the same with real SIGKILLs):
 * the run is finished from its last checkpoint, logged input is skipped, a
 * retried decision is not an error, and a dead process's lease does not block.
 */
import { spawn, spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { Decision } from "../src/nodes/approval_gate.js";
import { generateWorkload } from "../bench/generator.js";
import { acquireLease, LeaseBusyError, processStartTime, thisHost } from "../src/persistence/lease.js";
import { wholeLog } from "../src/persistence/store_log.js";
import type { State } from "../src/state.js";
import { decideApprovals, ingestLines, logOf, openStore, type SqliteStoreSession as StoreSession } from "../src/store.js";
import { cli, parseJson, tempDir } from "./support/cli.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "test" };

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const workload = (events: number, seed: number) => generateWorkload({ events, seed }).map((text, i) => ({ line: i + 1, text }));
const values = async (s: StoreSession) => (await s.graph.getState(s.config)).values as State;
/** The head's whole log, from the store's event store. */
const headLog = async (s: StoreSession) => wholeLog(logOf(s, await values(s)));
const checkpointCount = (s: StoreSession) => (s.db.prepare("SELECT count(*) AS n FROM checkpoints WHERE thread_id = ?").get(s.threadId) as { n: number }).n;

async function withSession<T>(path: string, work: (s: StoreSession) => Promise<T>): Promise<T> {
  const session = openStore(path, "main");
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

describe("a restarted ingest", () => {
  it("finishes a run whose process died after every task of a step saved its writes but before the step's checkpoint", async () => {
    const lines = workload(60, 3);
    const reference = await withSession(join(dir, "reference.db"), async (s) => {
      await ingestLines(s, lines, RUN);
      return { events: await headLog(s), waiting: (await s.graph.getState(s.config)).tasks.map((t) => t.name) };
    });

    const path = join(dir, "crashed.db");
    await withSession(path, async (s) => {
      // The 4th checkpoint of a run is the one after the services' step: die while writing it.
      const put = s.saver.put.bind(s.saver);
      let puts = 0;
      s.saver.put = async (...args: Parameters<typeof put>) => {
        if (++puts === 4) throw new Error("killed");
        return put(...args);
      };
      await expect(ingestLines(s, lines, RUN)).rejects.toThrow("killed");
      const snapshot = await s.graph.getState(s.config);
      // LangGraph's `next` leaves out tasks with saved writes: the step looks done but is not.
      expect(snapshot.next).toEqual([]);
      expect(snapshot.tasks.map((t) => t.name).sort()).toEqual(["inventory_service", "order_service"]);
    });

    await withSession(path, async (s) => {
      const result = await ingestLines(s, lines, RUN);
      expect(result.duplicates).toBe(lines.length);
      const after = await values(s);
      expect(reference.events.length).toBeGreaterThan(60);
      expect(await headLog(s)).toEqual(reference.events);
      expect(Object.values(after.tasks).every((t) => t.status === "completed")).toBe(true);
      // Ended where the uninterrupted run ended (paused at the approval gate, if it made approvals).
      expect((await s.graph.getState(s.config)).tasks.map((t) => t.name)).toEqual(reference.waiting);
    });
  });

  it("skips input already in the log without running the graph", async () => {
    await withSession(join(dir, "s.db"), async (s) => {
      const lines = workload(40, 5);
      await ingestLines(s, lines, RUN);
      const before = checkpointCount(s);
      const again = await ingestLines(s, lines, RUN);
      expect(again).toMatchObject({ received: 40, accepted: 0, duplicates: 40, rejected: [] });
      expect(checkpointCount(s)).toBe(before);
    });
  });
});

describe("a retried decision", () => {
  it("is not an error when the log already holds it; a different one still is", async () => {
    await withSession(join(dir, "s.db"), async (s) => {
      await ingestLines(s, workload(200, 7), RUN);
      const pending = Object.values((await values(s)).approvals).filter((a) => a.status === "pending");
      expect(pending.length).toBeGreaterThan(0);
      const decision: Decision = { approvalId: pending[0].id, decision: "approved", by: "ops", at: "2026-01-02T09:00:00.000Z" };
      const first = await decideApprovals(s, [decision], RUN);
      const log = await headLog(s);
      const before = checkpointCount(s);

      const retried = await decideApprovals(s, [{ ...decision, at: "2026-01-02T09:05:00.000Z" }], RUN);
      expect(retried.approvals).toEqual(first.approvals);
      expect(await headLog(s)).toEqual(log);
      expect(checkpointCount(s)).toBe(before);
      await expect(decideApprovals(s, [{ ...decision, decision: "denied" }], RUN)).rejects.toThrow(
        `cannot decide approval '${pending[0].id}': it was already approved by ops`,
      );
    });
  });
});

describe("rule 14: the lease of a killed writer", () => {
  const holdLease = (db: Database.Database, threadId: string, pid: number, host: string) =>
    db
      .prepare("INSERT OR REPLACE INTO shopstate_leases (thread_id, holder, expires_at, pid, host) VALUES (?, ?, ?, ?, ?)")
      .run(threadId, `pid ${pid} on ${host} (test)`, Date.now() + 60_000, pid, host);

  it("is taken over at once when its process is gone from this host; a live or remote holder still refuses", async () => {
    await withSession(join(dir, "s.db"), async (s) => {
      await (await acquireLease(s.db, "main", s.threadId)).release(); // creates the table
      const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
      holdLease(s.db, s.threadId, dead, thisHost());
      const taken = await acquireLease(s.db, "main", s.threadId);
      expect(taken.holder).toContain(`pid ${process.pid} on `);
      await taken.release();

      // A killed writer whose pid the restarted one happens to get.
      holdLease(s.db, s.threadId, process.pid, thisHost());
      const reused = await acquireLease(s.db, "main", s.threadId);
      await expect(acquireLease(s.db, "main", s.threadId)).rejects.toThrow(LeaseBusyError);
      await reused.release();

      holdLease(s.db, s.threadId, dead, "another-host");
      await expect(acquireLease(s.db, "main", s.threadId)).rejects.toThrow(
        /store 'main' is being written by another process \(pid \d+ on another-host \(test\)\)/,
      );

      const alive = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
      try {
        holdLease(s.db, s.threadId, alive.pid!, thisHost());
        await expect(acquireLease(s.db, "main", s.threadId)).rejects.toThrow(LeaseBusyError);
        // A live writer here keeps its lease past the TTL (starved of CPU, say): no second writer joins it.
        s.db.prepare("UPDATE shopstate_leases SET expires_at = ?").run(Date.now() - 1);
        await expect(acquireLease(s.db, "main", s.threadId)).rejects.toThrow(
          /its lease ran out at .+ but that process is still running\. Wait for it to finish/,
        );
      } finally {
        alive.kill("SIGKILL");
      }
    });
  });

  it("is taken over when its pid now belongs to a process that started at another time (the pid was reused)", async () => {
    await withSession(join(dir, "s.db"), async (s) => {
      await (await acquireLease(s.db, "main", s.threadId)).release(); // creates the table
      const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
      try {
        const pid = other.pid!;
        const started = processStartTime(pid);
        expect(started).toMatch(/^\d+$/);
        const holdAs = (start: string | null) =>
          s.db
            .prepare("INSERT OR REPLACE INTO shopstate_leases (thread_id, holder, expires_at, pid, host, started) VALUES (?, ?, ?, ?, ?, ?)")
            .run(s.threadId, `pid ${pid} on here (test)`, Date.now() + 60_000, pid, thisHost(), start);
        // The holder itself, or a row from before start times were recorded: still held.
        holdAs(started!);
        await expect(acquireLease(s.db, "main", s.threadId)).rejects.toThrow(LeaseBusyError);
        holdAs(null);
        await expect(acquireLease(s.db, "main", s.threadId)).rejects.toThrow(LeaseBusyError);
        // A killed writer whose pid an unrelated long-lived process got since.
        holdAs(String(Number(started) - 1));
        const taken = await acquireLease(s.db, "main", s.threadId);
        expect(taken.holder).toContain(`pid ${process.pid} on `);
        expect(s.db.prepare("SELECT started FROM shopstate_leases").get()).toEqual({ started: processStartTime(process.pid) });
        await taken.release();
      } finally {
        other.kill("SIGKILL");
      }
    });
  });

  it("is read from a file made before leases recorded their process", async () => {
    await withSession(join(dir, "old.db"), async (s) => {
      s.db.exec("CREATE TABLE shopstate_leases (thread_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)");
      s.db.prepare("INSERT INTO shopstate_leases VALUES (?, ?, ?)").run(s.threadId, "pid 1 on old (x)", Date.now() + 60_000);
      await expect(acquireLease(s.db, "main", s.threadId)).rejects.toThrow(LeaseBusyError);
      s.db.prepare("UPDATE shopstate_leases SET expires_at = ?").run(Date.now() - 1);
      const lease = await acquireLease(s.db, "main", s.threadId);
      await lease.release();
    });
  });
});

describe("approve --decided-at", () => {
  it("stamps the decision with the given time, so a retried command records the same event; a bad time is a usage error", async () => {
    const db = join(dir, "cli.db");
    const file = join(dir, "stream.jsonl");
    writeFileSync(file, `${generateWorkload({ events: 200, seed: 7 }).join("\n")}\n`);
    expect((await cli(["ingest", file, "--db", db, "--json"])).code).toBe(0);
    const [first] = parseJson<{ id: string }[]>((await cli(["approvals", "--db", db, "--json"])).stdout, "approvals --json");
    const approve = ["approve", first.id, "--by", "ops", "--decided-at", "2026-01-02T09:00:00+01:00", "--db", db, "--json"];
    const runs = [await cli(approve), await cli(approve)];
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    const decisions = parseJson<{ id: string; at: string }[]>(
      (await cli(["events", "--type", "ApprovalDecided", "--db", db, "--json"])).stdout,
      "events --json",
    );
    expect(decisions).toEqual([expect.objectContaining({ id: `decision-${first.id}`, at: "2026-01-02T08:00:00.000Z" })]);

    const bad = await cli(["deny", first.id, "--decided-at", "yesterday", "--db", db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--decided-at must be an ISO 8601 time such as 2026-03-01T16:00:00Z, got 'yesterday'");
  });
});
