/**
 * Time travel from the CLI alone, as the README's worked example does it:
 * see what happened, name a good moment, break things with bad inputs, see
 * the diff, roll back to the named moment and verify; plus references, state
 * and events at a point, import and a verify that catches a corrupted state.
 *
 * The real `bin/shopstate.js` runs in a child process; stores are built
 * in-process (much faster than a CLI ingest per hour) in a temp SQLite file.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { demoLines, hourlyBatches } from "../src/demo.js";
import type { State } from "../src/state.js";
import { ingestLines, openStore } from "../src/store.js";
import { cli, tempDir, type Run } from "./support/cli.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "data/demo-day.jsonl" };

function json<T = Record<string, unknown>>(run: Run): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch (error) {
    throw new Error(`stdout is not JSON (exit ${run.code}, stderr ${run.stderr}):\n${run.stdout}`, { cause: error });
  }
}

interface HistoryJson {
  entries: {
    checkpointId: string;
    shortId: string;
    step: number;
    source: string;
    writers: string[];
    at?: string;
    tags: string[];
    summary: string;
    head: boolean;
    branchedFrom?: string;
  }[];
  next: string | null;
}

let dir: string;
let db: string;
const store = (name: string) => ["--db", db, "--thread", name];

/** A store with the demo day's first `hours` hours, one run per hour. */
async function buildStore(name: string, hours: number): Promise<void> {
  const session = openStore(db, name);
  try {
    for (const hour of hourlyBatches(demoLines()).slice(0, hours)) await ingestLines(session, hour, { ...RUN, origin: "ingest" });
  } finally {
    await session.close();
  }
}

beforeAll(async () => {
  dir = tempDir();
  db = join(dir, "shop.db");
  await Promise.all([buildStore("main", 4), buildStore("refs", 2), buildStore("corrupt", 2), buildStore("source", 6), buildStore("replay", 2)]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the worked example: name a good moment, break things, diff, roll back, verify", () => {
  test("every step from the CLI", async () => {
    const history = await cli([...store("main"), "history", "--limit", "5", "--json"]);
    expect(history.code).toBe(0);
    const page = json<HistoryJson>(history);
    expect(page.entries).toHaveLength(5);
    expect(page.entries[0]).toMatchObject({ head: true });
    expect(page.entries.map((e) => e.step)).toEqual([...page.entries.map((e) => e.step)].sort((a, b) => b - a));
    expect(typeof page.next).toBe("string");

    expect((await cli([...store("main"), "tag", "good"])).code).toBe(0);
    const good = json(await cli([...store("main"), "state", "--json"]));

    // Bad inputs that the rules accept: a big order that takes the stock, and a count that writes off units.
    const bad = join(dir, "bad.jsonl");
    writeFileSync(
      bad,
      [
        {
          id: "oops-1",
          type: "OrderPlaced",
          at: "2026-03-01T12:00:00Z",
          data: { orderId: "ORD-OOPS", customerId: "C-TYPO", lines: [{ sku: "SKU-SOCK", qty: 40 }] },
        },
        { id: "oops-2", type: "StockAdjusted", at: "2026-03-01T12:01:00Z", data: { sku: "SKU-TEE", delta: -20, reason: "fat-fingered count" } },
      ]
        .map((e) => JSON.stringify(e))
        .join("\n"),
    );
    expect((await cli([...store("main"), "ingest", bad])).code).toBe(0);

    const diff = await cli([...store("main"), "diff", "good", "--json"]);
    expect(diff.code).toBe(0);
    const changes = json<{
      from: string;
      to: string;
      entities: { collection: string; key: string; change: string; fields: { field: string }[] }[];
      events: { added: { id: string }[]; removed: unknown[] };
    }>(diff);
    expect(changes.entities).toContainEqual(expect.objectContaining({ collection: "orders", key: "ORD-OOPS", change: "added" }));
    expect(changes.entities).toContainEqual(expect.objectContaining({ collection: "inventory", key: "SKU-SOCK", change: "changed" }));
    expect(changes.entities.find((e) => e.key === "SKU-TEE")?.fields.map((f) => f.field)).toContain("onHand");
    expect(changes.events.added.map((e) => e.id)).toEqual(expect.arrayContaining(["oops-1", "oops-2", "oops-1>OrderConfirmed"]));
    expect(changes.events.removed).toEqual([]);
    const table = await cli([...store("main"), "diff", "good"]);
    expect(table.stdout).toMatch(/ORD-OOPS/);
    expect(table.stdout).toMatch(/events appended: \d+/);

    const back = await cli([...store("main"), "rollback", "good", "--json"]);
    expect(back.code).toBe(0);
    const rolled = json<{ from: string; newHead: string; previousHead: string }>(back);
    const after = json(await cli([...store("main"), "state", "--json"]));
    expect({ ...after, checkpointId: "" }).toEqual({ ...good, checkpointId: "" });
    expect((await cli([...store("main"), "verify"])).code).toBe(0);

    // History shows the rollback and where it branched; the bad branch is still there.
    const text = await cli([...store("main"), "history", "--limit", "6"]);
    expect(text.stdout.split("\n")[0]).toMatch(new RegExp(`^@ \\S+ +\\d+ .*rollback: new head forked from ${rolled.from} \\[good\\]`));
    const badBranch = json(await cli([...store("main"), "state", "--at", rolled.previousHead, "--json"])) as { orders: Record<string, unknown> };
    expect(badBranch.orders["ORD-OOPS"]).toBeDefined();
  });
});

describe("references and points in time", () => {
  test("state and events --at REF, head~N, tags, and bad references with close matches (exit 2)", async () => {
    const [events, eventsBefore, tag] = await Promise.all([
      cli([...store("refs"), "events", "--json"]),
      cli([...store("refs"), "events", "--at", "head~6", "--json"]),
      cli([...store("refs"), "tag", "first-hour", "--at", "head~8", "--json"]),
    ]);
    expect(events.code).toBe(0);
    expect(eventsBefore.code).toBe(0);
    const all = json<{ id: string }[]>(events);
    const earlier = json<{ id: string }[]>(eventsBefore);
    expect(earlier.length).toBeLessThan(all.length);
    expect(all.slice(0, earlier.length).map((e) => e.id)).toEqual(earlier.map((e) => e.id));
    expect(tag.code).toBe(0);
    const tagged = json<{ label: string; checkpointId: string }>(tag);

    const [byTag, byId, byPrefix, typo, unknown, tooFar, dup, badLabel, listing] = await Promise.all([
      cli([...store("refs"), "state", "--at", "first-hour", "--json"]),
      cli([...store("refs"), "state", "--at", tagged.checkpointId, "--json"]),
      cli([...store("refs"), "history", "--limit", "12", "--json"]),
      cli([...store("refs"), "state", "--at", "first-hout"]),
      cli([...store("refs"), "diff", "ffffffff-0000", "--json"]),
      cli([...store("refs"), "events", "--at", "head~5000"]),
      cli([...store("refs"), "tag", "first-hour"]),
      cli([...store("refs"), "tag", "9lives"]),
      cli([...store("refs"), "tag", "--json"]),
    ]);
    expect(json(byTag).checkpointId).toBe(tagged.checkpointId);
    expect(json(byId).checkpointId).toBe(tagged.checkpointId);
    const entry = json<HistoryJson>(byPrefix).entries.find((e) => e.checkpointId === tagged.checkpointId);
    expect(entry?.tags).toEqual(["first-hour"]);
    const viaShort = await cli([...store("refs"), "state", "--at", entry?.shortId ?? "", "--json"]);
    expect(json(viaShort).checkpointId).toBe(tagged.checkpointId);

    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/no tag, checkpoint id or head~N named 'first-hout'; close matches: first-hour \(tag\)/);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(JSON.parse(unknown.stderr).error).toMatchObject({ kind: "usage", ref: "ffffffff-0000", closeMatches: [] });
    expect(JSON.parse(unknown.stderr).error.message).toMatch(/no checkpoint id starts with 'ffffffff-0000'/);
    expect(tooFar.code).toBe(2);
    expect(tooFar.stderr).toMatch(/head~5000 goes past the first checkpoint/);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/tag 'first-hour' already names checkpoint/);
    expect(badLabel.code).toBe(2);
    expect(json<{ label: string }[]>(listing).map((t) => t.label)).toEqual(["first-hour"]);
  });
});

describe("replay", () => {
  test("re-runs a run from its input checkpoint and finds the same outcome; refuses the end of a run (exit 2)", async () => {
    const page = json<HistoryJson>(await cli([...store("replay"), "history", "--limit", "40", "--json"]));
    const input = page.entries.find((e) => e.source === "input");
    expect(input).toBeDefined();
    const [replayed, atEnd] = await Promise.all([
      cli([...store("replay"), "replay", input?.shortId ?? "", "--json"]),
      cli([...store("corrupt"), "replay", "head"]),
    ]);
    expect(replayed.code).toBe(0);
    const result = json<{ from: string; original: string; replayed: string; equivalent: boolean; diff: { entities: unknown[] } }>(replayed);
    expect(result).toMatchObject({ from: input?.checkpointId, equivalent: true });
    expect(result.diff.entities).toEqual([]);
    expect(result.replayed).not.toBe(result.original);
    expect(atEnd.code).toBe(2);
    expect(atEnd.stderr).toMatch(/at the end of a run/);
  });
});

describe("verify", () => {
  test("catches a corrupted state written through the checkpointer (exit 1); --at a good checkpoint passes", async () => {
    const session = openStore(db, "corrupt");
    try {
      const values = (await session.graph.getState(session.config)).values as State;
      const tee = values.inventory["SKU-TEE"];
      // A write no service would make: more reserved than on hand, and a count the log does not explain.
      await session.graph.updateState(session.config, { inventory: { "SKU-TEE": { ...tee, reserved: tee.onHand + 3, available: -3 } } }, "inventory_service");
    } finally {
      await session.close();
    }
    const [now, before] = await Promise.all([cli([...store("corrupt"), "verify", "--json"]), cli([...store("corrupt"), "verify", "--at", "head~1", "--json"])]);
    expect(now.code).toBe(1);
    const report = json<{ ok: boolean; violations: { rule: string; entity: string; eventIds: string[] }[] }>(now);
    expect(report.ok).toBe(false);
    expect(report.violations).toContainEqual(expect.objectContaining({ rule: "1", entity: "inventory:SKU-TEE" }));
    expect(report.violations).toContainEqual(expect.objectContaining({ rule: "9", entity: "inventory:SKU-TEE" }));
    expect(report.violations.find((v) => v.rule === "1")?.eventIds.length).toBeGreaterThan(0);
    expect(before.code).toBe(0);
    expect(json(before).ok).toBe(true);
    const text = await cli([...store("corrupt"), "verify"]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/rule 1 inventory:SKU-TEE/);
  });
});

describe("import", () => {
  test("rebuilds a new store from 'events --json' that equals the original, and refuses a tampered log (exit 1)", async () => {
    const exported = await cli([...store("source"), "events", "--json"]);
    const file = join(dir, "export.json");
    writeFileSync(file, exported.stdout);
    const imported = await cli([...store("copy"), "import", file, "--json"]);
    expect(imported.code).toBe(0);
    expect(json(imported)).toMatchObject({ store: "copy", ok: true, identical: true, violations: [] });

    const [original, copy, copyEvents, again] = await Promise.all([
      cli([...store("source"), "state", "--json"]),
      cli([...store("copy"), "state", "--json"]),
      cli([...store("copy"), "events", "--json"]),
      cli([...store("copy"), "import", file]),
    ]);
    const pick = (s: Record<string, unknown>) => ({
      inventory: s.inventory,
      orders: s.orders,
      promotions: s.promotions,
      pendingApprovals: s.pendingApprovals,
      openReorders: s.openReorders,
      policy: s.policy,
      eventCount: s.eventCount,
    });
    expect(pick(json(copy))).toEqual(pick(json(original)));
    expect(copyEvents.stdout).toBe(exported.stdout);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/store 'copy' already exists/);

    const log = JSON.parse(exported.stdout) as { type: string; data: { available?: number } }[];
    const tampered = log.map((e) => (e.type === "InventoryUpdated" ? { ...e, data: { ...e.data, available: (e.data.available ?? 0) + 1 } } : e));
    writeFileSync(join(dir, "tampered.json"), JSON.stringify(tampered));
    const refused = await cli([...store("tampered"), "import", join(dir, "tampered.json")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not replay to a consistent store/);
    const stores = json<{ name: string }[]>(await cli(["--db", db, "stores", "--json"]));
    expect(stores.map((s) => s.name)).not.toContain("tampered");
  });
});
