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
import { storedSteps } from "../src/persistence/steps_table.js";

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
