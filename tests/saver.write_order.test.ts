/**
 * LangGraph applies a superstep's writes in `writesSortKey` order (task path,
 * then task id, then index) and expects a checkpointer to hand stored pending
 * writes back in that order. Task ids are random per run, so a saver that
 * returned them in task-id or insertion order would make a reloaded run's log
 * interleave two services' facts differently from the live run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { ShopstateSaver } from "../src/persistence/saver.js";
import { openDatabase } from "../src/persistence/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "shopstate-write-order-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Task ids sort the opposite way to their paths; stored in neither order.
const tasks = [
  {
    id: "a-task",
    path: "~__pregel_push, 2",
    writes: [
      ["events", "third"],
      ["events", "fourth"],
    ] as [string, string][],
  },
  { id: "z-task", path: "~__pregel_push, 0", writes: [["events", "first"]] as [string, string][] },
  { id: "m-task", path: "~__pregel_push, 10", writes: [["events", "fifth"]] as [string, string][] },
  { id: "b-task", path: "~__pregel_push, 1", writes: [["events", "second"]] as [string, string][] },
];
// Paths compare as strings by code point, as live execution compares them: "…, 10" before "…, 2".
const expected = ["first", "second", "fifth", "third", "fourth"];

describe("ShopstateSaver pending writes", () => {
  it("come back in writesSortKey order (task path, not task id or insertion order), also from a new process's saver", async () => {
    const file = join(dir, "order.db");
    const first = new ShopstateSaver(openDatabase(file));
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1) };
    const config = await first.put({ configurable: { thread_id: "t", checkpoint_ns: "" } }, checkpoint, { source: "loop", step: 0, parents: {} }, {});
    for (const task of tasks) await first.putWrites(config, task.writes, task.id, task.path);
    const live = await first.getTuple(config);
    expect(live?.pendingWrites?.map(([, , value]) => value)).toEqual(expected);
    first.db.close();

    const reopened = new ShopstateSaver(openDatabase(file));
    try {
      const tuple = await reopened.getTuple(config);
      expect(tuple?.pendingWrites?.map(([, , value]) => value)).toEqual(expected);
      const listed = [];
      for await (const t of reopened.list({ configurable: { thread_id: "t" } })) listed.push(t);
      expect(listed[0].pendingWrites?.map(([, , value]) => value)).toEqual(expected);
    } finally {
      reopened.db.close();
    }
  });
});
