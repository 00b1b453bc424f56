/**
 * A store written before the event store (its log was a channel of its
 * checkpoints) is refused with a message that names the way across
 * (docs/upgrading.md), and nothing is written to it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import { openStore } from "../src/store.js";
import { cli } from "./support/cli.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-upgrade-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A store whose head checkpoint has the old layout's `events` channel and no log pointer. */
async function oldStore(db: string, name: string): Promise<void> {
  const session = openStore(db, name);
  try {
    await session.meta.registerStore(name, "ingest");
    const checkpoint = { ...emptyCheckpoint(), channel_values: { events: [] }, channel_versions: { events: "00000001.0", orders: "00000001.0" } };
    await session.saver.put(
      { configurable: { thread_id: session.threadId, checkpoint_ns: "" } },
      checkpoint,
      { source: "loop", step: 3, parents: {} },
      { events: "00000001.0" },
    );
  } finally {
    await session.close();
  }
}

describe("a database from before the event store", () => {
  it("is refused by reading and writing commands, with the way across, and left as it was", { timeout: 180_000 }, async () => {
    const db = join(dir, "old.db");
    await oldStore(db, "legacy");
    for (const args of [["state"], ["history"]]) {
      const run = await cli([...args, "--db", db, "--thread", "legacy"]);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toContain("older than the event store");
      expect(run.stderr).toContain("shopstate import legacy.json --thread legacy-v2");
    }
    const ingest = await cli(["ingest", "-", "--db", db, "--thread", "legacy"], {
      input:
        '{"id":"e1","type":"ProductAdded","at":"2026-03-01T09:00:00Z","data":{"sku":"SKU-A","name":"A","priceCents":100,"initialStock":1,"reorderPoint":0}}\n',
    });
    expect(ingest.code).toBe(2);
    expect(ingest.stderr).toContain("older than the event store");
    const session = openStore(db, "legacy");
    try {
      const rows = (session.db.prepare("SELECT count(*) AS n FROM shopstate_events").get() as { n: number }).n;
      expect(rows).toBe(0);
    } finally {
      await session.close();
    }
  });
});
