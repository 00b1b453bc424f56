/**
 * Time travel, in the style of LangGraph's own time-travel tests: build a
 * real thread (the demo day, one run per hour, in a SQLite file in a temp
 * dir), take checkpoints from history, fork and re-run from their configs, and
 * assert exactly what the state is afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemoryStore, MemorySaver } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { demoLines, hourlyBatches } from "../src/demo.js";
import { verifyValues } from "../src/app/verify.js";
import { compileStoreGraph } from "../src/graph.js";
import { sqliteMeta } from "../src/persistence/backend.js";
import { EMPTY_LOG } from "../src/persistence/event_store.js";
import { memoryEventStore } from "../src/persistence/sqlite_event_store.js";
import { allOrders, approvalById, storeLog, wholeLog } from "../src/persistence/store_log.js";
import { openDatabase } from "../src/persistence/sqlite.js";
import { threadIdFor } from "../src/persistence/stores.js";
import type { State } from "../src/state.js";
import { decideApprovals, deleteStore, ingestLines, logOf, openStore, pausedAtGate, type InputLine, type StoreSession } from "../src/store.js";
import { diffStates, summariseStep } from "../src/timetravel/diff.js";
import { historyPage, shortIdOf } from "../src/timetravel/history.js";
import { importLog, parseEventLog } from "../src/timetravel/import.js";
import { checkpointConfig, RefNotFoundError, resolveRef } from "../src/timetravel/refs.js";
import { replayFrom, whatIf } from "../src/timetravel/replay.js";
import { rollback, stateAt, tagCheckpoint } from "../src/timetravel/rollback.js";
import { taggedCheckpointIds } from "../src/timetravel/tags.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "data/demo-day.jsonl" };
const HOURS = hourlyBatches(demoLines());

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-tt-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The demo's hours `from` to `to` (exclusive), one run each, as a storefront would send them. */
async function feedHours(session: StoreSession, from: number, to: number): Promise<void> {
  for (const hour of HOURS.slice(from, to)) await ingestLines(session, hour, RUN);
}

async function valuesAt(session: StoreSession, checkpointId: string): Promise<State> {
  return (await session.graph.getState(checkpointConfig(session.threadId, checkpointId))).values as State;
}

/** The whole log a checkpoint's values point at, and its orders, from the store's event store. */
const eventsOf = (session: StoreSession, values: State) => wholeLog(logOf(session, values));
const ordersOf = (session: StoreSession, values: State) => allOrders(logOf(session, values));

async function head(session: StoreSession): Promise<{ id: string; values: State; next: string[] }> {
  const snapshot = await session.graph.getState(session.config);
  return { id: String(snapshot.config.configurable?.checkpoint_id), values: snapshot.values as State, next: [...snapshot.next] };
}

/**
 * The same store on MemorySaver (the lease and tags still use the SQLite
 * file). MemorySaver returns a superstep's stored writes in the order the run
 * applied them (`writesSortKey`), and so does ShopstateSaver: the SQLite
 * variants below compare byte for byte too.
 */
function memoryStore(name = "main"): StoreSession {
  const db = openDatabase(join(dir, "lease.db"));
  const saver: BaseCheckpointSaver = new MemorySaver();
  const threadId = threadIdFor(name);
  const knowledge = new InMemoryStore();
  const events = memoryEventStore();
  return {
    name,
    threadId,
    meta: sqliteMeta(db, "lease.db"),
    db,
    saver,
    events,
    knowledge,
    graph: compileStoreGraph({ checkpointer: saver, store: knowledge, events }),
    config: { configurable: { thread_id: threadId } },
    close: () => void db.close(),
  };
}

describe("rollback", () => {
  it("forks a new head whose state equals REF exactly, in every channel, and deletes nothing", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 3);
      const ref = await resolveRef(session, "head~9");
      const old = await head(session);
      const result = await rollback(session, "head~9");
      const now = await head(session);
      expect(result).toEqual({ from: ref.checkpointId, newHead: now.id, previousHead: old.id });
      const atRef = await session.graph.getState(ref.config);
      expect(JSON.stringify(now.values)).toBe(JSON.stringify(atRef.values));
      expect(now.next).toEqual(atRef.next);
      // The new head is REF's child; the old head is still there.
      expect((await session.graph.getState(session.config)).parentConfig?.configurable?.checkpoint_id).toBe(ref.checkpointId);
      expect(JSON.stringify(await valuesAt(session, old.id))).toBe(JSON.stringify(old.values));
      // Another rollback returns to the old branch.
      await rollback(session, old.id);
      expect(JSON.stringify((await head(session)).values)).toBe(JSON.stringify(old.values));
    } finally {
      await session.close();
    }
  });

  it("then re-ingesting the events after REF gives the old branch's state byte for byte", async () => {
    const session = memoryStore();
    try {
      await feedHours(session, 0, 2);
      await tagCheckpoint(session, "two-hours");
      await feedHours(session, 2, 5);
      const oldBranch = await head(session);
      await rollback(session, "two-hours");
      await feedHours(session, 2, 5);
      const newBranch = await head(session);
      expect(newBranch.id).not.toBe(oldBranch.id);
      expect(JSON.stringify(newBranch.values)).toBe(JSON.stringify(oldBranch.values));
    } finally {
      await session.close();
    }
  });

  it("then re-ingesting on SQLite gives the old branch's state byte for byte (stored writes come back in writesSortKey order)", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 2);
      await tagCheckpoint(session, "two-hours");
      await feedHours(session, 2, 5);
      const oldBranch = await head(session);
      await rollback(session, "two-hours");
      await feedHours(session, 2, 5);
      const newBranch = await head(session);
      for (const channel of [
        "log",
        "inventory",
        "approvals",
        "promotions",
        "catalog",
        "reorders",
        "posts",
        "policy",
        "cursors",
        "tasks",
        "rejected",
      ] as const) {
        expect(JSON.stringify(newBranch.values[channel]), channel).toBe(JSON.stringify(oldBranch.values[channel]));
      }
      expect(JSON.stringify(newBranch.values)).toBe(JSON.stringify(oldBranch.values));
      // The same log (the re-ingested events land where the old branch holds them) and the same orders.
      expect(await eventsOf(session, newBranch.values)).toEqual(await eventsOf(session, oldBranch.values));
      expect(JSON.stringify(await ordersOf(session, newBranch.values))).toBe(JSON.stringify(await ordersOf(session, oldBranch.values)));
      expect((await verifyValues(session, newBranch.values)).violations).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it("to a tag works after a restart of the process (tags and checkpoints are in the file)", async () => {
    const file = join(dir, "s.db");
    let tagged: State;
    let first = openStore(file, "main");
    try {
      await feedHours(first, 0, 2);
      const tag = await tagCheckpoint(first, "morning");
      tagged = await valuesAt(first, tag.checkpointId);
      await feedHours(first, 2, 4);
    } finally {
      await first.close();
    }
    first = openStore(file, "main");
    try {
      const { checkpointId } = await resolveRef(first, "morning");
      expect(taggedCheckpointIds(first.db, first.threadId)).toEqual(new Set([checkpointId]));
      await rollback(first, "morning");
      expect(JSON.stringify((await head(first)).values)).toBe(JSON.stringify(tagged));
      // What happens next builds on the new head.
      await feedHours(first, 2, 3);
      expect((await head(first)).values.log.length).toBeGreaterThan(tagged.log.length);
    } finally {
      await first.close();
    }
  });
});

describe("references", () => {
  it("head~N walks the parent chain of the current branch, also after a rollback", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 2);
      const chain: string[] = [];
      for (
        let tuple = await session.saver.getTuple(session.config);
        tuple;
        tuple = tuple.parentConfig ? await session.saver.getTuple(tuple.parentConfig) : undefined
      ) {
        chain.push(String(tuple.config.configurable?.checkpoint_id));
      }
      expect((await resolveRef(session, "head")).checkpointId).toBe(chain[0]);
      expect((await resolveRef(session, "head~0")).checkpointId).toBe(chain[0]);
      expect((await resolveRef(session, "head~3")).checkpointId).toBe(chain[3]);
      expect((await resolveRef(session, `head~${chain.length - 1}`)).checkpointId).toBe(chain[chain.length - 1]);
      await expect(resolveRef(session, `head~${chain.length}`)).rejects.toThrow(/goes past the first checkpoint/);

      // After rolling back to head~5 the new head's parent is that checkpoint, and head~N follows the new branch.
      await rollback(session, "head~5");
      expect((await resolveRef(session, "head~1")).checkpointId).toBe(chain[5]);
      expect((await resolveRef(session, "head~2")).checkpointId).toBe(chain[6]);
      expect((await resolveRef(session, "head~4")).checkpointId).toBe(chain[8]);
      // Ingesting on the new branch moves head~N with it.
      await feedHours(session, 2, 3);
      const newChain: string[] = [];
      for (
        let tuple = await session.saver.getTuple(session.config);
        tuple && newChain.length < 40;
        tuple = tuple.parentConfig ? await session.saver.getTuple(tuple.parentConfig) : undefined
      ) {
        newChain.push(String(tuple.config.configurable?.checkpoint_id));
      }
      const fork = newChain.indexOf(chain[5]);
      expect(fork).toBeGreaterThan(1);
      expect((await resolveRef(session, `head~${fork}`)).checkpointId).toBe(chain[5]);
      expect(newChain.slice(fork)).toEqual(chain.slice(5));
    } finally {
      await session.close();
    }
  });

  it("accepts a full id, a unique prefix and a tag; refuses ambiguous and unknown ones naming close matches", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 1);
      const { checkpointId } = await resolveRef(session, "head~2");
      expect((await resolveRef(session, checkpointId)).checkpointId).toBe(checkpointId);
      expect((await resolveRef(session, checkpointId.toUpperCase())).checkpointId).toBe(checkpointId);
      const page = await historyPage(session, { limit: 5 });
      const entry = page.entries[2];
      expect(entry.checkpointId).toBe(checkpointId);
      expect((await resolveRef(session, entry.shortId)).checkpointId).toBe(checkpointId);

      // Every checkpoint of one run shares the time-ordered start of its id.
      const shared = checkpointId.slice(0, 8);
      const ambiguous = await resolveRef(session, shared).catch((e: unknown) => e);
      expect(ambiguous).toBeInstanceOf(RefNotFoundError);
      expect((ambiguous as Error).message).toMatch(/ambiguous/);
      expect((ambiguous as RefNotFoundError).closeMatches.length).toBeGreaterThan(1);

      const missingId = `${checkpointId.slice(0, 30)}ffffff`;
      await expect(resolveRef(session, missingId)).rejects.toThrow(new RegExp(`no checkpoint ${missingId}.*close matches: ${checkpointId.slice(0, 8)}`));
      await expect(resolveRef(session, "ffff0000")).rejects.toThrow(/no checkpoint id starts with 'ffff0000'/);

      await tagCheckpoint(session, "before-sale", "head~2");
      expect((await resolveRef(session, "before-sale")).checkpointId).toBe(checkpointId);
      await expect(resolveRef(session, "before-sal")).rejects.toThrow(/no tag, checkpoint id or head~N named 'before-sal'; close matches: before-sale \(tag\)/);
      await expect(tagCheckpoint(session, "before-sale")).rejects.toThrow(/tag 'before-sale' already names checkpoint/);
      await expect(tagCheckpoint(session, "head")).rejects.toThrow(/'head' is a reference/);
      await expect(tagCheckpoint(session, "9lives")).rejects.toThrow(/starting with a letter/);
      // A deleted store takes its tags with it, so a new store of the same name starts clean.
      await deleteStore(session);
      expect(taggedCheckpointIds(session.db, session.threadId).size).toBe(0);
    } finally {
      await session.close();
    }
  });
});

describe("diff", () => {
  it("of two forks: entity changes before -> after, events appended on one and only on the other", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 1);
      await tagCheckpoint(session, "base");
      const order = (id: string, qty: number): InputLine => ({
        line: 1,
        text: JSON.stringify({
          id,
          type: "OrderPlaced",
          at: "2026-03-01T08:10:00Z",
          data: { orderId: id, customerId: "C-9", lines: [{ sku: "SKU-TEE", qty }] },
        }),
      });
      await ingestLines(session, [order("fork-a", 2)], RUN);
      const a = await head(session);
      await rollback(session, "base");
      await ingestLines(session, [order("fork-b", 5)], RUN);
      const b = await head(session);

      const side = (values: State) => ({ values, log: logOf(session, values) });
      const diff = await diffStates(side(a.values), side(b.values));
      const base = await stateAt(session, "base");
      expect(base.values.log.length).toBeGreaterThan(0);
      expect(diff.events.common).toBe(base.values.log.length);
      expect(diff.events.removed.map((e) => e.id)).toContain("fork-a");
      expect(diff.events.added.map((e) => e.id)).toContain("fork-b");
      expect(diff.events.added.every((e) => !e.id.startsWith("fork-a"))).toBe(true);
      const tee = diff.entities.find((e) => e.collection === "inventory" && e.key === "SKU-TEE");
      const reserved = (v: State) => v.inventory["SKU-TEE"].reserved;
      expect(tee?.fields).toContainEqual({ field: "reserved", before: reserved(a.values), after: reserved(b.values) });
      expect(reserved(b.values) - reserved(a.values)).toBe(3);
      expect(diff.entities).toContainEqual(expect.objectContaining({ collection: "orders", key: "fork-a", change: "removed" }));
      expect(diff.entities).toContainEqual(expect.objectContaining({ collection: "orders", key: "fork-b", change: "added" }));
      expect(await diffStates(side(b.values), side(b.values))).toEqual({ entities: [], events: { common: b.values.log.length, added: [], removed: [] } });
    } finally {
      await session.close();
    }
  });

  it("summarises one step in a line", async () => {
    const stock = (available: number, version: number) => ({ onHand: available, reserved: 0, returned: 0, available, version, lowStock: false });
    const events = memoryEventStore();
    const event = (id: string) =>
      ({
        id,
        type: "StockAdjusted",
        at: "2026-03-01T09:00:00.000Z",
        source: "s",
        v: 1,
        data: { sku: "SKU-TEE", delta: -2, reason: "count" },
      }) as State["recentEvents"][number];
    const pointer = await events.append("t", EMPTY_LOG, [event("e1"), event("e2")]);
    const before = { values: { inventory: { "SKU-TEE": stock(5, 1) }, log: EMPTY_LOG }, log: storeLog(events, "t", EMPTY_LOG) };
    const after = { values: { inventory: { "SKU-TEE": stock(3, 2) }, log: pointer }, log: storeLog(events, "t", pointer) };
    expect(await summariseStep(before, after, ["inventory_service"])).toBe("inventory_service: SKU-TEE available 5→3; +2 events");
    expect(await summariseStep(after, after, ["router"])).toBe("router: no change");
    expect(await summariseStep(undefined, { values: { promotions: { "SKU-TEE": "paused" } }, log: storeLog(events, "t", EMPTY_LOG) }, ["a", "a", "b"])).toBe(
      "a×2+b: SKU-TEE promotion paused",
    );
  });
});

describe("history", () => {
  it("pages through a thread of thousands of checkpoints, newest first, reading only the page", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 1);
      // Thousands of real checkpoints of the thread, cheaply: each an empty update of the head.
      let config = session.config;
      for (let i = 0; i < 2500; i++) config = await session.graph.updateState(config, undefined);
      let total = 0;
      for await (const _ of session.saver.list(session.config)) total++;
      expect(total).toBeGreaterThan(2500);

      // Count what history reads from the saver's list.
      const saver = session.saver;
      const list = saver.list.bind(saver);
      let listed = 0;
      saver.list = async function* (...args: Parameters<typeof list>) {
        for await (const tuple of list(...args)) {
          listed++;
          yield tuple;
        }
      };
      const first = await historyPage(session, { limit: 10 });
      expect(first.entries).toHaveLength(10);
      expect(listed).toBeLessThanOrEqual(11);
      expect(first.entries[0].head).toBe(true);
      expect(first.entries.every((e) => e.onCurrentBranch)).toBe(true);

      // Pages follow one another with no gap or overlap, also deep in the thread and at its end.
      const ids: string[] = [];
      for await (const tuple of list(session.config)) ids.push(String(tuple.config.configurable?.checkpoint_id));
      expect(first.entries.map((e) => e.checkpointId)).toEqual(ids.slice(0, 10));
      const second = await historyPage(session, { limit: 10, before: first.nextBefore });
      expect(second.entries.map((e) => e.checkpointId)).toEqual(ids.slice(10, 20));
      listed = 0;
      const deep = await historyPage(session, { limit: 10, before: ids[2000] });
      expect(deep.entries.map((e) => e.checkpointId)).toEqual(ids.slice(2001, 2011));
      expect(listed).toBeLessThanOrEqual(11);
      const last = await historyPage(session, { limit: 10, before: ids[ids.length - 4] });
      expect(last.entries.map((e) => e.checkpointId)).toEqual(ids.slice(-3));
      expect(last.nextBefore).toBeUndefined();
      expect(last.entries[2]).toMatchObject({ source: "input", step: -1, parentId: undefined });
    } finally {
      await session.close();
    }
  });

  it("shows writers, event times, tags, summaries and where a rollback branched", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 2);
      const tag = await tagCheckpoint(session, "noon", "head~3");
      const { from } = await rollback(session, "head~7");
      const page = await historyPage(session, { limit: 12 });
      const [top, ...rest] = page.entries;
      expect(top).toMatchObject({ head: true, writers: ["rollback"], branchedFrom: from, source: "update", summary: "rollback: no change" });
      expect(rest.some((e) => e.onCurrentBranch === false)).toBe(true);
      expect(page.entries.find((e) => e.checkpointId === tag.checkpointId)?.tags).toEqual(["noon"]);
      const ingestStep = rest.find((e) => e.writers.includes("ingest"));
      expect(ingestStep?.summary).toMatch(/^ingest: \+\d+ events/);
      expect(ingestStep?.at).toMatch(/^2026-03-01T/);
      expect(rest.some((e) => e.writers.includes("order_service") && e.writers.includes("inventory_service"))).toBe(true);
      // Short ids are unique prefixes: each resolves to its checkpoint.
      for (const entry of page.entries) expect((await resolveRef(session, entry.shortId)).checkpointId).toBe(entry.checkpointId);
    } finally {
      await session.close();
    }
  });

  it("takes the shortest prefix no neighbour in id order shares", () => {
    expect(shortIdOf("1f1e61fe-27ff-6f90-8016-32bfdf913a3b", ["1f1e61fe-2801-6f90-8016-32bfdf913a3b", "1f1e61fe-27fd-6880-8015-8e1686f3d17b"])).toBe(
      "1f1e61fe-27ff",
    );
    expect(shortIdOf("1f1e61fe-27ff-6f90-8016-32bfdf913a3b", [undefined, "1f1e7000-27fd-6880-8015-8e1686f3d17b"])).toBe("1f1e61fe");
    expect(shortIdOf("1f1e61fe-27ff-6f90-8016-32bfdf913a3b", ["1f1e61fe-17ff-6f90-8016-32bfdf913a3b"])).toBe("1f1e61fe-2");
  });
});

describe("replay", () => {
  it("re-running a run from its input checkpoint reproduces the original outcome (determinism)", async () => {
    const session = memoryStore();
    try {
      await feedHours(session, 0, 4);
      const page = await historyPage(session, { limit: 200 });
      const inputs = page.entries.filter((e) => e.source === "input");
      // The third hour's run, re-run from its input checkpoint.
      const result = await replayFrom(session, inputs[1].checkpointId, RUN);
      expect(result.original).toBeDefined();
      expect(result.identical).toBe(true);
      expect(result.equivalent).toBe(true);
      expect(result.diff).toEqual({ entities: [], events: expect.objectContaining({ added: [], removed: [] }) });
      // The replay is a new branch from the input checkpoint; the original is untouched.
      const replayedChain = await historyPage(session, { limit: 1 });
      expect(replayedChain.entries[0].checkpointId).toBe(result.replayed);
      expect(result.replayed).not.toBe(result.original);
    } finally {
      await session.close();
    }
  });

  it("on SQLite reproduces every entity and the log byte for byte", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 3);
      const inputs = (await historyPage(session, { limit: 200 })).entries.filter((e) => e.source === "input");
      const result = await replayFrom(session, inputs[0].checkpointId, RUN);
      const original = await valuesAt(session, result.original as string);
      const replayed = await valuesAt(session, result.replayed);
      expect(result.equivalent).toBe(true);
      expect(result.diff?.entities).toEqual([]);
      expect(JSON.stringify(replayed)).toBe(JSON.stringify(original));
    } finally {
      await session.close();
    }
  });

  it("a run that paused at the approval gate, later resumed by a person, replays to its pause", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      let hour = 0;
      while (!pausedAtGate(await session.graph.getState(session.config))) await feedHours(session, hour, ++hour);
      const pausedRun = (await historyPage(session, { limit: 200 })).entries.find((e) => e.source === "input");
      const paused = await head(session);
      const [pending] = Object.values(paused.values.approvals).filter((a) => a.status === "pending");
      await decideApprovals(session, [{ approvalId: pending.id, decision: "approved", by: "dana" }], RUN);
      // A decided approval leaves the state; its stream keeps it.
      const decided = (await head(session)).values;
      expect(decided.approvals[pending.id]).toBeUndefined();
      expect((await approvalById(logOf(session, decided), pending.id))?.status).toBe("approved");

      const result = await replayFrom(session, pausedRun?.checkpointId ?? "", RUN);
      // Compared with where the original paused, not with what the person's decision made of it.
      expect(result.original).toBe(paused.id);
      expect(result.equivalent).toBe(true);
      expect(result.identical).toBe(true);
      expect(pausedAtGate(await session.graph.getState(session.config))).toBe(true);
    } finally {
      await session.close();
    }
  });

  it("refuses to replay from the end of a run, where nothing is left to run", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      await feedHours(session, 0, 1);
      await expect(replayFrom(session, "head", RUN)).rejects.toThrow(/at the end of a run/);
    } finally {
      await session.close();
    }
  });

  it("what-if: fork at REF, change one input event, run, and diff against the original branch", async () => {
    const session = memoryStore();
    try {
      await feedHours(session, 0, 2);
      await tagCheckpoint(session, "before-3");
      await feedHours(session, 2, 3);
      const originalHead = await head(session);
      // The same hour, with one order for 1 unit more.
      const changed = HOURS[2].map((l) => {
        const event = JSON.parse(l.text) as { type: string; data: { lines?: { qty: number }[] } };
        if (event.type !== "OrderPlaced" || !event.data.lines) return l;
        return {
          ...l,
          text: JSON.stringify({ ...event, data: { ...event.data, lines: event.data.lines.map((x, i) => (i === 0 ? { ...x, qty: x.qty + 1 } : x)) } }),
        };
      });
      const changedOrder = JSON.parse(changed.find((l, i) => l.text !== HOURS[2][i].text)?.text ?? "null") as {
        data: { orderId: string; lines: { sku: string }[] };
      };
      expect(changedOrder).not.toBeNull();
      const result = await whatIf(session, "before-3", changed, RUN);
      expect(result.originalHead).toBe(originalHead.id);
      const orderChange = result.diff.entities.find((e) => e.collection === "orders" && e.key === changedOrder.data.orderId);
      expect(orderChange?.fields.map((f) => f.field)).toEqual(expect.arrayContaining(["lines", "paidCents"]));
      expect(result.diff.entities.some((e) => e.collection === "inventory" && e.key === changedOrder.data.lines[0].sku)).toBe(true);
      // The original branch is still there to return to.
      await rollback(session, originalHead.id);
      expect(JSON.stringify((await head(session)).values)).toBe(JSON.stringify(originalHead.values));
    } finally {
      await session.close();
    }
  });
});

describe("import", () => {
  it("rebuilds a new store from an exported log, system events included, equal to the original", async () => {
    const file = join(dir, "s.db");
    const original = openStore(file, "main");
    const copy = openStore(file, "copy");
    try {
      await feedHours(original, 0, HOURS.length);
      const source = (await head(original)).values;
      const sourceLog = await eventsOf(original, source);
      const exported = JSON.stringify(sourceLog, null, 2);
      const log = parseEventLog(exported, "export.json");
      const result = await importLog(copy, log);
      expect(result).toMatchObject({ store: "copy", eventCount: sourceLog.length, identical: true, violations: [] });
      const imported = await head(copy);
      expect(imported.next).toEqual([]);
      expect(JSON.stringify(await eventsOf(copy, imported.values))).toBe(JSON.stringify(sourceLog));
      expect(JSON.stringify(await ordersOf(copy, imported.values))).toBe(JSON.stringify(await ordersOf(original, source)));
      for (const channel of ["inventory", "approvals", "promotions", "catalog", "reorders", "posts", "policy"] as const) {
        expect(JSON.stringify(imported.values[channel]), channel).toBe(JSON.stringify(source[channel]));
      }
      // Nothing is re-decided by an agent afterwards: a later ingest only handles the new event.
      await ingestLines(
        copy,
        [{ line: 1, text: JSON.stringify({ id: "after-import", type: "StockReceived", at: "2026-03-02T08:00:00Z", data: { sku: "SKU-CAP", qty: 3 } }) }],
        RUN,
      );
      const after = (await head(copy)).values;
      expect((await eventsOf(copy, after)).slice(0, sourceLog.length)).toEqual(sourceLog);
      expect(Object.values(after.tasks).every((t) => t.eventId.startsWith("after-import"))).toBe(true);
      await expect(importLog(copy, log)).rejects.toThrow(/store 'copy' already exists/);
    } finally {
      await original.close();
      await copy.close();
    }
  });

  it("refuses a log that does not replay to a consistent store, and names bad events", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    const copy = openStore(join(dir, "s.db"), "copy");
    try {
      await feedHours(session, 0, 2);
      const log = await eventsOf(session, (await head(session)).values);
      expect(log.length).toBeGreaterThan(0);
      const tampered = log.map((e) => (e.type === "OrderConfirmed" ? { ...e, data: { ...e.data, paidCents: e.data.paidCents + 1 } } : e));
      await expect(importLog(copy, tampered)).rejects.toThrow(/does not replay to a consistent store/);
      expect(await copy.saver.getTuple(copy.config)).toBeUndefined();
      expect(() => parseEventLog('[{"id": "x", "type": "Nope"}]', "f.json")).toThrow(/f\.json: event #1 \(x\): unknown event type 'Nope'/);
      expect(() => parseEventLog("{}", "f.json")).toThrow(/expected a JSON array/);
    } finally {
      await session.close();
      await copy.close();
    }
  });
});
