/**
 * `prune`: old checkpoints go (never tagged ones), space comes back, and what
 * stays loads exactly as before, read back by a fresh process-like session
 * (nothing remembered in memory).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunnableConfig } from "@langchain/core/runnables";
import { TASKS } from "@langchain/langgraph-checkpoint";
import { generateWorkload } from "../bench/generator.js";
import { verifyValues } from "../src/app/verify.js";
import { databaseBytes } from "../src/persistence/prune.js";
import { wholeLog } from "../src/persistence/store_log.js";
import { ensureTagTable } from "../src/timetravel/tags.js";
import type { State } from "../src/state.js";
import { cli } from "./support/cli.js";
import { ingestLines, logOf, openStore, pruneStore, type InputLine, type SqliteStoreSession as StoreSession } from "../src/store.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 2_000, batchSize: 25, source: "test" };
const LINES: InputLine[] = generateWorkload({ events: 400, seed: 3 }).map((text, i) => ({ line: i + 1, text }));

let dir: string;
let dbPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-prune-"));
  dbPath = join(dir, "s.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function checkpointIds(session: StoreSession): string[] {
  const rows = session.db.prepare("SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id").all(session.threadId) as {
    id: string;
  }[];
  return rows.map((r) => r.id);
}

const at = (session: StoreSession, id: string): RunnableConfig => ({ configurable: { thread_id: session.threadId, checkpoint_ns: "", checkpoint_id: id } });
const valuesAt = async (session: StoreSession, id: string) => (await session.graph.getState(at(session, id))).values as State;
/** The log a checkpoint's values point at, from the store's event store. */
const eventsOf = (session: StoreSession, values: State) => wholeLog(logOf(session, values));

function tag(session: StoreSession, label: string, checkpointId: string): void {
  ensureTagTable(session.db);
  session.db
    .prepare("INSERT INTO shopstate_tags (thread_id, label, checkpoint_id, created_at) VALUES (?, ?, ?, ?)")
    .run(session.threadId, label, checkpointId, "2026-03-01T00:00:00Z");
}

/** A store with some history: the workload in batches of 25. */
async function storeWithHistory(): Promise<StoreSession> {
  const session = openStore(dbPath, "main");
  await ingestLines(session, LINES.slice(0, 300), RUN);
  return session;
}

describe("prune --keep-last", () => {
  it("keeps the newest checkpoints and the tagged ones, shrinks the file, and every kept checkpoint loads as before", async () => {
    const session = await storeWithHistory();
    const ids = checkpointIds(session);
    expect(ids.length).toBeGreaterThan(40);
    const tagged = ids[5];
    tag(session, "early", tagged);
    const oldestKept = ids[ids.length - 10];
    const before = {
      head: await valuesAt(session, ids[ids.length - 1]),
      oldestKept: await valuesAt(session, oldestKept),
      tagged: await valuesAt(session, tagged),
    };
    const headLog = await eventsOf(session, before.head);
    expect(headLog.length).toBeGreaterThan(300);
    const bytesBefore = databaseBytes(session.db);

    const result = await pruneStore(session, { keepLast: 10 });
    await session.close();

    expect(result).toMatchObject({ removed: ids.length - 11, kept: 11, keptTagged: 1 });
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore);
    const reopened = openStore(dbPath, "main");
    try {
      expect(databaseBytes(reopened.db)).toBeLessThan(bytesBefore);
      expect(checkpointIds(reopened)).toEqual([tagged, ...ids.slice(-10)]);
      // The head: same state, the whole event log (the event store keeps every event), every rule holds.
      const head = (await reopened.graph.getState(reopened.config)).values as State;
      expect(head).toEqual(before.head);
      expect(await eventsOf(reopened, head)).toEqual(headLog);
      expect((await verifyValues(reopened, head)).violations).toEqual([]);
      // The oldest kept checkpoint and the tagged one load on their own.
      expect(await valuesAt(reopened, oldestKept)).toEqual(before.oldestKept);
      expect(await valuesAt(reopened, tagged)).toEqual(before.tagged);
      // History lists only what is left; the oldest kept ones have no parent now.
      const history = [];
      for await (const snapshot of reopened.graph.getStateHistory(reopened.config)) history.push(snapshot);
      expect(history).toHaveLength(11);
      expect(history.at(-1)?.parentConfig).toBeUndefined();
      // The store goes on: more input lands on the pruned history.
      const more = await ingestLines(reopened, LINES.slice(300), RUN);
      expect(more.accepted).toBe(100);
      const after = (await reopened.graph.getState(reopened.config)).values as State;
      const afterLog = await eventsOf(reopened, after);
      expect(afterLog.length).toBeGreaterThan(headLog.length);
      expect(afterLog.slice(0, headLog.length)).toEqual(headLog);
      expect((await verifyValues(reopened, after)).violations).toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  it("keeps the pending sends of a kept checkpoint whose sends were stored as its removed parent's writes", async () => {
    const session = await storeWithHistory();
    const ids = checkpointIds(session);
    const sendsAt = async (s: StoreSession, id: string) => {
      const tuple = await s.saver.getTuple(at(s, id));
      return { version: String(tuple?.checkpoint.channel_versions[TASKS]), sends: (tuple?.checkpoint.channel_values[TASKS] ?? []) as unknown[] };
    };
    let kept: { id: string; version: string; sends: unknown[] } | undefined;
    for (const id of ids.slice(1, -10)) {
      const found = await sendsAt(session, id);
      if (found.sends.length > 0) {
        kept = { id, ...found };
        break;
      }
    }
    if (!kept) throw new Error("the workload queued no sends before the last 10 checkpoints");
    const storedAs = () =>
      session.db
        .prepare("SELECT type FROM checkpoint_blobs WHERE thread = (SELECT thread FROM checkpoint_threads WHERE thread_id = ?) AND channel = ? AND version = ?")
        .get(session.threadId, TASKS, kept.version);
    expect(storedAs()).toEqual({ type: "sends-of" });
    tag(session, "sends", kept.id);

    await pruneStore(session, { keepLast: 10 });
    expect(storedAs()).not.toEqual({ type: "sends-of" });
    await session.close();
    const reopened = openStore(dbPath, "main");
    try {
      expect(checkpointIds(reopened)).toContain(kept.id);
      expect((await sendsAt(reopened, kept.id)).sends).toEqual(kept.sends);
    } finally {
      await reopened.close();
    }
  });

  it("can fork from the oldest kept checkpoint", async () => {
    const session = await storeWithHistory();
    const ids = checkpointIds(session);
    await pruneStore(session, { keepLast: 3 });
    await session.close();
    const reopened = openStore(dbPath, "main");
    try {
      const fork = await reopened.graph.updateState(at(reopened, ids[ids.length - 3]), { inboxOrigin: null }, "ingest");
      const forked = (await reopened.graph.getState(fork)).values as State;
      const base = await valuesAt(reopened, ids[ids.length - 3]);
      expect(forked.log).toEqual(base.log);
      expect(await eventsOf(reopened, forked)).toEqual(await eventsOf(reopened, base));
      expect((await eventsOf(reopened, forked)).length).toBeGreaterThan(0);
    } finally {
      await reopened.close();
    }
  });
});

describe("prune --before", () => {
  it("removes the checkpoints older than the given one and keeps it", async () => {
    const session = await storeWithHistory();
    const ids = checkpointIds(session);
    const cut = ids[20];
    const expected = await valuesAt(session, cut);
    const result = await pruneStore(session, { before: cut });
    await session.close();
    expect(result).toMatchObject({ removed: 20, kept: ids.length - 20, keptTagged: 0 });
    const reopened = openStore(dbPath, "main");
    try {
      expect(checkpointIds(reopened)).toEqual(ids.slice(20));
      expect(await valuesAt(reopened, cut)).toEqual(expected);
    } finally {
      await reopened.close();
    }
  });

  it("refuses an unknown checkpoint and a keep-last below 1, changing nothing", async () => {
    const session = await storeWithHistory();
    try {
      const count = checkpointIds(session).length;
      await expect(pruneStore(session, { before: "not-a-checkpoint" })).rejects.toThrow(/no checkpoint 'not-a-checkpoint' in this store/);
      await expect(pruneStore(session, { keepLast: 0 })).rejects.toThrow(/at least 1/);
      expect(checkpointIds(session)).toHaveLength(count);
    } finally {
      await session.close();
    }
  });
});

describe("shopstate prune (CLI)", () => {
  it("prunes with --keep-last and reports JSON; needs exactly one of the two options", async () => {
    const session = openStore(dbPath, "main");
    await ingestLines(session, LINES.slice(0, 100), RUN);
    const count = checkpointIds(session).length;
    await session.close();
    const pruned = await cli(["prune", "--keep-last", "4", "--db", dbPath, "--json"]);
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ removed: count - 4, kept: 4, keptTagged: 0 });
    const usage = await cli(["prune", "--db", dbPath, "--json"]);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr).error.message).toMatch(/exactly one of --keep-last N and --before REF/);
  });
});
