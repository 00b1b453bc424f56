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
import { ERROR, INTERRUPT, TASKS, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { AIMessage } from "@langchain/core/messages";
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
/** Written late by z-task: index 0 is stored already ("first"), index 1 is new. */
const LATE_WRITES: [string, string][] = [
  ["events", "first"],
  ["events", "sixth"],
];

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

  it("read the same once the next checkpoint packs them into one row, and writes arriving later still follow the stock rules", async () => {
    const saver = new ShopstateSaver(openDatabase(join(dir, "packed.db")));
    const rowsOf = (id: string) =>
      saver.db
        .prepare(
          "SELECT task_id FROM (SELECT task_id FROM checkpoint_writes WHERE checkpoint_id = ? UNION ALL SELECT task_id FROM checkpoint_task_writes WHERE checkpoint_id = ?) ORDER BY task_id",
        )
        .all(id, id) as { task_id: string }[];
    try {
      const parent = await saver.put(
        { configurable: { thread_id: "t", checkpoint_ns: "" } },
        { ...emptyCheckpoint(), id: uuid6(-1) },
        { source: "loop", step: 0, parents: {} },
        {},
      );
      const parentId = parent.configurable?.checkpoint_id as string;
      for (const task of tasks) await saver.putWrites(parent, task.writes, task.id, task.path);
      // A LangChain object and an error: revived as they were written.
      await saver.putWrites(parent, [["messages", new AIMessage({ content: "hello", id: "m1" })]], "y-task", "~__pregel_push, 3");
      await saver.putWrites(parent, [[ERROR, { message: "boom" }]], "x-task", "~__pregel_push, 4");
      const before = (await saver.getTuple(parent))?.pendingWrites;
      expect(rowsOf(parentId)).toHaveLength(tasks.length + 2);

      await saver.put(parent, { ...emptyCheckpoint(), id: uuid6(-1) }, { source: "loop", step: 1, parents: {} }, {});
      expect(rowsOf(parentId)).toEqual([{ task_id: "" }]);
      const packed = (await saver.getTuple(parent))?.pendingWrites;
      expect(packed).toEqual(before);
      expect(packed?.find(([task]) => task === "y-task")?.[2]).toBeInstanceOf(AIMessage);

      // Late writes: a regular write at a stored index is ignored, a new index is added, a special write replaces.
      await saver.putWrites(parent, [["events", "again"]], "z-task", "~__pregel_push, 0");
      await saver.putWrites(parent, LATE_WRITES, "z-task", "~__pregel_push, 0");
      await saver.putWrites(parent, [[ERROR, { message: "boom again" }]], "x-task", "~__pregel_push, 4");
      await saver.putWrites(parent, [[INTERRUPT, { value: "ask" }]], "w-task", "~__pregel_push, 5");
      const late = (await saver.getTuple(parent))?.pendingWrites;
      expect(late?.filter(([, channel]) => channel === "events").map(([, , value]) => value)).toEqual(["first", "sixth", ...expected.slice(1)]);
      expect(late?.find(([task]) => task === "x-task")?.[2]).toEqual({ message: "boom again" });
      expect(late?.find(([task]) => task === "w-task")?.[2]).toEqual({ value: "ask" });

      // The next pack folds them in and reads the same.
      await saver.put(parent, { ...emptyCheckpoint(), id: uuid6(-1) }, { source: "fork", step: 1, parents: {} }, {});
      expect(rowsOf(parentId)).toEqual([{ task_id: "" }]);
      expect((await saver.getTuple(parent))?.pendingWrites).toEqual(late);
    } finally {
      saver.db.close();
    }
  });

  it("keep task rows apart from packed rows, and read and pack task rows a file from before that split holds among the packed ones", async () => {
    const saver = new ShopstateSaver(openDatabase(join(dir, "split.db")));
    const count = (table: string) => (saver.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE task_id <> ''`).get() as { n: number }).n;
    try {
      const parent = await saver.put(
        { configurable: { thread_id: "t", checkpoint_ns: "" } },
        { ...emptyCheckpoint(), id: uuid6(-1) },
        { source: "loop", step: 0, parents: {} },
        {},
      );
      for (const task of tasks) await saver.putWrites(parent, task.writes, task.id, task.path);
      expect([count("checkpoint_task_writes"), count("checkpoint_writes")]).toEqual([tasks.length, 0]);
      // The layout before: task rows in checkpoint_writes.
      saver.db.exec("INSERT INTO checkpoint_writes SELECT * FROM checkpoint_task_writes; DELETE FROM checkpoint_task_writes;");
      expect((await saver.getTuple(parent))?.pendingWrites?.map(([, , value]) => value)).toEqual(expected);
      // A late write to a task whose row is in the old table adds to it, as the stock rules say.
      await saver.putWrites(parent, LATE_WRITES, "z-task", "~__pregel_push, 0");
      const before = (await saver.getTuple(parent))?.pendingWrites?.map(([, , value]) => value);
      expect(before).toEqual(["first", "sixth", "second", "fifth", "third", "fourth"]);

      await saver.put(parent, { ...emptyCheckpoint(), id: uuid6(-1) }, { source: "loop", step: 1, parents: {} }, {});
      expect([count("checkpoint_task_writes"), count("checkpoint_writes")]).toEqual([0, 0]);
      expect((await saver.getTuple(parent))?.pendingWrites?.map(([, , value]) => value)).toEqual(before);
    } finally {
      saver.db.close();
    }
  });

  it("store a step's sends once: the next checkpoint's pending sends point at the writes that hold the same objects", async () => {
    const file = join(dir, "sends.db");
    const saver = new ShopstateSaver(openDatabase(file));
    const typeOf = (version: string) =>
      (saver.db.prepare("SELECT type FROM checkpoint_blobs WHERE channel = ? AND version = ?").get(TASKS, version) as { type: string }).type;
    const parent = await saver.put(
      { configurable: { thread_id: "t", checkpoint_ns: "" } },
      { ...emptyCheckpoint(), id: uuid6(-1) },
      { source: "loop", step: 0, parents: {} },
      {},
    );
    const late = { node: "agent", args: { order: "ORD-2" } };
    const early = { node: "agent", args: { order: "ORD-1" } };
    await saver.putWrites(parent, [[TASKS, late]], "a-task", "~__pregel_push, 1");
    await saver.putWrites(parent, [[TASKS, early]], "b-task", "~__pregel_push, 0");
    const child = async (sends: unknown[]) => {
      const version = saver.getNextVersion(undefined) as unknown as string;
      const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { [TASKS]: sends }, channel_versions: { [TASKS]: version } };
      return { version, config: await saver.put(parent, checkpoint, { source: "loop", step: 1, parents: {} }, { [TASKS]: version }) };
    };
    const same = await child([early, late]);
    // Equal but not the objects stored (or another order): stored whole.
    const copies = await child([{ ...early }, { ...late }]);
    const reordered = await child([late, early]);
    // Whole: JSON, deflated or not.
    expect([same, copies, reordered].map(({ version }) => typeOf(version))).toEqual([
      "sends-of",
      expect.stringMatching(/^json/),
      expect.stringMatching(/^json/),
    ]);
    saver.db.close();

    const reopened = new ShopstateSaver(openDatabase(file));
    try {
      for (const [{ config }, sends] of [
        [same, [early, late]],
        [copies, [early, late]],
        [reordered, [late, early]],
      ] as const)
        expect((await reopened.getTuple(config))?.checkpoint.channel_values[TASKS]).toEqual(sends);
    } finally {
      reopened.db.close();
    }
  });
});
