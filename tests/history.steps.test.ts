/**
 * History lines are stored when the run writes its checkpoints (`steps.ts`)
 * and must read exactly as if computed from the states on the spot: the same
 * page with the stored lines, and with none stored (computed again), on our
 * saver and on the stock ones (lines come from the run's checkpoint stream,
 * not from a saver).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { demoLines, hourlyBatches } from "../src/demo.js";
import { ingestLines, openStore, type StoreSession } from "../src/store.js";
import { openBenchStore } from "../bench/stores.js";
import { historyPage } from "../src/timetravel/history.js";
import { rollback } from "../src/timetravel/rollback.js";
import { storeSteps, storedSteps } from "../src/persistence/steps_table.js";
import { openDatabase } from "../src/persistence/sqlite.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "data/demo-day.jsonl" };
const HOURS = hourlyBatches(demoLines());

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-steps-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("stored history lines", () => {
  it("are written by each run for all its checkpoints, and a page read from them equals one computed from the states", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      for (const hour of HOURS.slice(0, 3)) await ingestLines(session, hour, RUN);
      const ids = (session.db.prepare("SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = ?").all(session.threadId) as { id: string }[]).map(
        (r) => r.id,
      );
      expect(ids.length).toBeGreaterThan(10);
      expect(storedSteps(session.db, session.threadId, ids).size).toBe(ids.length);

      const stored = await historyPage(session, { limit: 500 });
      const deep = await historyPage(session, { limit: 7, before: stored.entries[20].checkpointId });
      session.db.exec("DELETE FROM shopstate_steps");
      expect(await historyPage(session, { limit: 500 })).toEqual(stored);
      expect(await historyPage(session, { limit: 7, before: stored.entries[20].checkpointId })).toEqual(deep);
      // Read once, stored again.
      expect(storedSteps(session.db, session.threadId, ids).size).toBe(ids.length);
    } finally {
      await session.close();
    }
  });

  it.each(["stock", "memory"] as const)("are written by each run on the %s saver too, and read as computed from the states", async (kind) => {
    const store = await openBenchStore(kind, dir);
    const session = store.session as StoreSession & { db: NonNullable<StoreSession["db"]> };
    try {
      for (const hour of HOURS.slice(0, 2)) await ingestLines(session, hour, RUN);
      const ids: string[] = [];
      for await (const tuple of session.saver.list({ configurable: { thread_id: session.threadId } }))
        ids.push(String(tuple.config.configurable?.checkpoint_id));
      expect(ids.length).toBeGreaterThan(10);
      // Every checkpoint the runs wrote has its line before anything reads history.
      expect(storedSteps(session.db, session.threadId, ids).size).toBe(ids.length);
      const stored = await historyPage(session, { limit: 500 });
      session.db.exec("DELETE FROM shopstate_steps");
      expect(await historyPage(session, { limit: 500 })).toEqual(stored);
      // Headers read from the file's rows (the stock SqliteSaver's) list as the saver's own `list` does.
      expect(await historyPage({ ...session, meta: { ...session.meta, listHeaders: undefined } }, { limit: 500 })).toEqual(stored);
      expect(session.meta.listHeaders !== undefined).toBe(kind === "stock");
    } finally {
      await store.close();
    }
  });

  it("of a rollback (a checkpoint no run wrote) are computed on first read, and read the same afterwards", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      for (const hour of HOURS.slice(0, 2)) await ingestLines(session, hour, RUN);
      const result = await rollback(session, "head~5");
      expect(storedSteps(session.db, session.threadId, [result.newHead]).size).toBe(0);
      const first = await historyPage(session, { limit: 3 });
      expect(first.entries[0]).toMatchObject({ checkpointId: result.newHead, writers: ["rollback"], head: true });
      expect(storedSteps(session.db, session.threadId, [result.newHead]).size).toBe(1);
      expect(await historyPage(session, { limit: 3 })).toEqual(first);
    } finally {
      await session.close();
    }
  });
});

describe("the history lines table of an older file", () => {
  it("moves from the WITHOUT ROWID table into the new one when first used, lines kept", () => {
    const file = join(dir, "old.db");
    const old = openDatabase(file);
    old.exec(
      "CREATE TABLE shopstate_steps (thread_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (thread_id, checkpoint_id)) WITHOUT ROWID",
    );
    const line = { writers: ["ingest"], at: "2026-01-01T09:00:00.000Z", summary: "ingest: +2 events", next: ["order_service"] };
    old.prepare("INSERT INTO shopstate_steps VALUES (?, ?, ?)").run("t", "c1", JSON.stringify(line));
    old.close();

    const db = openDatabase(file);
    try {
      expect(storedSteps(db, "t", ["c1"]).get("c1")).toEqual(line);
      const table = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'shopstate_steps'").get() as { sql: string };
      expect(table.sql).not.toMatch(/WITHOUT ROWID/i);
      storeSteps(db, "t", new Map([["c2", { ...line, summary: "later" }]]));
      expect([...storedSteps(db, "t", ["c1", "c2"]).keys()].sort()).toEqual(["c1", "c2"]);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'shopstate_steps%'").all()).toEqual([{ name: "shopstate_steps" }]);
    } finally {
      db.close();
    }
  });
});
