/**
 * Our SQLite saver's blob rows carry a thread's integer key (`checkpoint_threads`),
 * not its id (docs/upgrading.md): a file written with the id in every row is
 * moved to the key when a saver first opens it, and reads the same.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunnableConfig } from "@langchain/core/runnables";
import { emptyCheckpoint, uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { ShopstateSaver } from "../src/persistence/saver.js";
import { openDatabase } from "../src/persistence/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "shopstate-saver-layout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two threads, two checkpoints each, with channel values of both sizes (deflated and not). */
async function writeThreads(saver: ShopstateSaver): Promise<Record<string, string>> {
  const heads: Record<string, string> = {};
  for (const threadId of ["thread-a", "thread-b"]) {
    let config: RunnableConfig = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
    for (let step = 0; step < 2; step++) {
      const version = saver.getNextVersion(undefined) as unknown as string;
      const values = { notes: `${threadId} ${step}`, log: Array.from({ length: 50 }, (_, i) => ({ i, threadId, step })) };
      const checkpoint: Checkpoint = {
        ...emptyCheckpoint(),
        id: uuid6(-1),
        channel_values: values,
        channel_versions: { notes: version, log: version },
      };
      config = await saver.put(config, checkpoint, { source: "loop", step, parents: {} }, { notes: version, log: version });
    }
    heads[threadId] = config.configurable?.checkpoint_id as string;
  }
  return heads;
}

const valuesAt = async (saver: ShopstateSaver, threadId: string, checkpointId: string) =>
  (await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "", checkpoint_id: checkpointId } }))?.checkpoint.channel_values;

describe("ShopstateSaver's blob table", () => {
  it("moves a file with the thread id in every blob row to the integer key on first open, and reads the same values", async () => {
    const file = join(dir, "old-layout.db");
    const writer = new ShopstateSaver(openDatabase(file));
    const heads = await writeThreads(writer);
    const before = { a: await valuesAt(writer, "thread-a", heads["thread-a"]), b: await valuesAt(writer, "thread-b", heads["thread-b"]) };
    // The layout before: the thread id in every row.
    writer.db.exec(`
      CREATE TABLE old_blobs (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL, version TEXT NOT NULL,
        type TEXT NOT NULL, blob BLOB, base_version TEXT, PRIMARY KEY (thread_id, checkpoint_ns, channel, version));
      INSERT INTO old_blobs SELECT t.thread_id, b.checkpoint_ns, b.channel, b.version, b.type, b.blob, b.base_version
        FROM checkpoint_blobs b JOIN checkpoint_threads t ON t.thread = b.thread;
      DROP TABLE checkpoint_blobs; DROP TABLE checkpoint_threads;
      ALTER TABLE old_blobs RENAME TO checkpoint_blobs;`);
    const rows = (writer.db.prepare("SELECT count(*) AS n FROM checkpoint_blobs").get() as { n: number }).n;
    writer.db.close();

    for (let open = 0; open < 2; open++) {
      const reader = new ShopstateSaver(openDatabase(file));
      try {
        expect(await valuesAt(reader, "thread-a", heads["thread-a"])).toEqual(before.a);
        expect(await valuesAt(reader, "thread-b", heads["thread-b"])).toEqual(before.b);
        const columns = (reader.db.prepare("PRAGMA table_info(checkpoint_blobs)").all() as { name: string }[]).map((c) => c.name);
        expect(columns).toContain("thread");
        expect(columns).not.toContain("thread_id");
        expect((reader.db.prepare("SELECT count(*) AS n FROM checkpoint_blobs").get() as { n: number }).n).toBe(rows);
        expect(reader.db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'checkpoint_blobs_%' AND type = 'table'").all()).toEqual([]);
      } finally {
        reader.db.close();
      }
    }
  });

  it("stores each thread's id once, and deleting a thread keeps the other's values", async () => {
    const saver = new ShopstateSaver(openDatabase(join(dir, "two-threads.db")));
    try {
      const heads = await writeThreads(saver);
      expect(saver.db.prepare("SELECT thread_id FROM checkpoint_threads ORDER BY thread").all()).toEqual([
        { thread_id: "thread-a" },
        { thread_id: "thread-b" },
      ]);
      const b = await valuesAt(saver, "thread-b", heads["thread-b"]);
      await saver.deleteThread("thread-a");
      expect(await valuesAt(saver, "thread-a", heads["thread-a"])).toBeUndefined();
      expect(await valuesAt(saver, "thread-b", heads["thread-b"])).toEqual(b);
      expect((saver.db.prepare("SELECT count(*) AS n FROM checkpoint_blobs WHERE thread = ?").get(saver.blobThread("thread-a")) as { n: number }).n).toBe(0);
    } finally {
      saver.db.close();
    }
  });
});
