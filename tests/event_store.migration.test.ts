/**
 * A SQLite file written before the event store's integer thread key (every row
 * carried the thread id, bodies were plain JSON) is migrated when a store opens
 * it, and reads as it did (docs/event-store.md, "How the SQLite tables are laid
 * out"). The reference is a store that made the same appends on a new file.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { StoreEvent } from "../src/domain/events.js";
import { streamsOf } from "../src/domain/streams.js";
import { EMPTY_LOG, type BranchRecord, type EventQuery, type EventStore, type LogPointer } from "../src/persistence/event_store.js";
import { openDatabase } from "../src/persistence/sqlite.js";
import { sqliteEventStore, storedEventRows } from "../src/persistence/sqlite_event_store.js";
import { ROOT } from "./support/cli.js";
import { orderPlaced, orderShipped, stockReceived } from "./support/event_store_contract.js";

/** The event tables as the previous version created them (src/persistence/sqlite_event_store.ts before the integer key). */
const OLD_SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_branches (
  thread_id TEXT NOT NULL,
  branch INTEGER NOT NULL,
  parent INTEGER,
  fork_at INTEGER NOT NULL,
  PRIMARY KEY (thread_id, branch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shopstate_events (
  thread_id TEXT NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (thread_id, branch, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shopstate_events_id ON shopstate_events (thread_id, id);
CREATE INDEX IF NOT EXISTS shopstate_events_type ON shopstate_events (thread_id, branch, type, position);
CREATE TABLE IF NOT EXISTS shopstate_streams (
  thread_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (thread_id, stream, branch, position)
) WITHOUT ROWID;`;

/** What the previous version wrote for a thread: its branch records and each branch's own events from a position on. */
function writeOld(db: Database.Database, threadId: string, branches: BranchRecord[], runs: { branch: number; from: number; events: StoreEvent[] }[]) {
  db.transaction(() => {
    for (const b of branches) db.prepare("INSERT INTO shopstate_branches VALUES (?, ?, ?, ?)").run(threadId, b.branch, b.parent, b.forkAt);
    for (const { branch, from, events } of runs) {
      events.forEach((event, i) => {
        db.prepare("INSERT INTO shopstate_events VALUES (?, ?, ?, ?, ?, ?)").run(threadId, branch, from + i, event.id, event.type, JSON.stringify(event));
        for (const stream of streamsOf(event)) db.prepare("INSERT INTO shopstate_streams VALUES (?, ?, ?, ?)").run(threadId, stream, branch, from + i);
      });
    }
  })();
}

const T1 = "5b0c4bd6-2d0e-5f1e-9a57-3c1f4f0e2a11";
const T2 = "e3a1f0c2-7b7d-5d43-8e0f-9d2b6c4a7f02";
const main = [
  stockReceived("SKU-MUG", 5),
  orderPlaced("O-1", "C-1", ["SKU-MUG", "SKU-TEE"]),
  orderShipped("O-1"),
  stockReceived("SKU-TEE"),
  orderPlaced("O-2", "C-2", ["SKU-TEE"]),
  orderShipped("O-2"),
];
const fork = [orderPlaced("O-3", "C-1", ["SKU-CAP"]), orderShipped("O-3"), stockReceived("SKU-CAP", 9)];
const deeper = [orderShipped("O-1", "SHP-deeper")];
// The other thread reuses an event id of the first: ids are per thread.
const other = [stockReceived("SKU-MUG", 2, main[0].id), orderPlaced("O-1", "C-9", ["SKU-MUG"])];

const POINTERS: [string, LogPointer][] = [
  [T1, { branch: 0, length: 6 }],
  [T1, { branch: 0, length: 3 }],
  [T1, { branch: 1, length: 6 }],
  [T1, { branch: 1, length: 4 }],
  [T1, { branch: 2, length: 6 }],
  [T1, { branch: 2, length: 5 }],
  [T2, { branch: 0, length: 2 }],
];
const QUERIES: EventQuery[] = [
  {},
  { from: 2, to: 5 },
  { descending: true, limit: 2 },
  { types: ["OrderPlaced"] },
  { types: ["OrderShipped", "StockReceived"], descending: true },
  { stream: "sku:SKU-TEE" },
  { stream: "order:O-1", types: ["OrderShipped"] },
  { stream: "customer:C-1", descending: true, limit: 1 },
];
const IDS = [...main, ...fork, ...deeper, ...other].map((e) => e.id).concat("NO-SUCH-ID");
const STREAMS = [...new Set([...main, ...fork, ...deeper, ...other].flatMap(streamsOf))].concat("order:O-9");

/** Everything the store answers about the logs of both threads. */
async function answers(store: EventStore) {
  const all = [];
  for (const [thread, at] of POINTERS) {
    for (const query of QUERIES) {
      const { descending: _d, limit: _l, ...counted } = query;
      all.push({ thread, at, query, read: await store.read(thread, at, query), count: await store.count(thread, at, counted) });
    }
    all.push({ thread, at, ids: Object.fromEntries(await store.findIds(thread, at, IDS)) });
    all.push({ thread, at, streams: [...(await store.existingStreams(thread, at, STREAMS))].sort() });
    for (const [otherThread, b] of POINTERS) if (otherThread === thread) all.push({ thread, at, b, common: await store.commonLength(thread, at, b) });
  }
  return all;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-events-migration-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function oldFile(name: string): string {
  const path = join(dir, name);
  const db = openDatabase(path);
  db.exec(OLD_SCHEMA);
  writeOld(
    db,
    T1,
    [
      { branch: 0, parent: null, forkAt: 0 },
      { branch: 1, parent: 0, forkAt: 3 },
      { branch: 2, parent: 1, forkAt: 5 },
    ],
    [
      { branch: 0, from: 0, events: main },
      { branch: 1, from: 3, events: fork },
      { branch: 2, from: 5, events: deeper },
    ],
  );
  writeOld(db, T2, [{ branch: 0, parent: null, forkAt: 0 }], [{ branch: 0, from: 0, events: other }]);
  db.close();
  return path;
}

describe("an event store file from before the integer thread key", () => {
  it("is migrated when a store opens it, and every read, append and fork gives what a store that made the same appends gives", async () => {
    const reference = sqliteEventStore(openDatabase(join(dir, "reference.db")));
    expect(await reference.append(T1, EMPTY_LOG, main)).toEqual({ branch: 0, length: 6 });
    expect(await reference.append(T1, { branch: 0, length: 3 }, fork)).toEqual({ branch: 1, length: 6 });
    expect(await reference.append(T1, { branch: 1, length: 5 }, deeper)).toEqual({ branch: 2, length: 6 });
    expect(await reference.append(T2, EMPTY_LOG, other)).toEqual({ branch: 0, length: 2 });

    const db = openDatabase(oldFile("old.db"));
    const store = sqliteEventStore(db);
    const tables = () =>
      (db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'shopstate_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables()).toEqual([
      "shopstate_branches",
      "shopstate_event_threads",
      "shopstate_events",
      "shopstate_events_id",
      "shopstate_events_type",
      "shopstate_streams",
    ]);
    // The rows written before keep their plain bodies.
    expect(db.prepare("SELECT DISTINCT typeof(body) AS t FROM shopstate_events").all()).toEqual([{ t: "text" }]);

    const migrated = await answers(store);
    expect(migrated).toEqual(await answers(reference));
    expect((await store.read(T1, { branch: 2, length: 6 })).map((e) => e.event)).toEqual([...main.slice(0, 3), fork[0], fork[1], deeper[0]]);
    expect((await store.read(T2, { branch: 0, length: 2 })).map((e) => e.event)).toEqual(other);
    expect((await store.findIds(T2, { branch: 0, length: 2 }, [main[0].id])).get(main[0].id)?.event).toEqual(other[0]);

    // Appending again what the old rows hold finds it there (their plain bodies compared as text): nothing is written.
    const rows = storedEventRows(db, T1);
    expect(await store.append(T1, { branch: 0, length: 3 }, main.slice(3, 5))).toEqual({ branch: 0, length: 5 });
    expect(await store.append(T1, { branch: 0, length: 3 }, fork)).toEqual({ branch: 1, length: 6 });
    expect(storedEventRows(db, T1)).toBe(rows);
    // The log continues, and forks, as on the reference.
    for (const s of [store, reference]) {
      expect(await s.append(T1, { branch: 0, length: 6 }, [stockReceived("SKU-MUG", 1, "after-1")])).toEqual({ branch: 0, length: 7 });
      expect(await s.append(T1, { branch: 0, length: 2 }, [orderShipped("O-1", "after-2")])).toEqual({ branch: 3, length: 3 });
      expect(await s.append(T2, { branch: 0, length: 2 }, [orderShipped("O-1", "after-3")])).toEqual({ branch: 0, length: 3 });
    }
    expect(await store.read(T1, { branch: 0, length: 7 })).toEqual(await reference.read(T1, { branch: 0, length: 7 }));
    expect(await store.read(T1, { branch: 3, length: 3 })).toEqual(await reference.read(T1, { branch: 3, length: 3 }));
    expect(await store.read(T2, { branch: 0, length: 3 })).toEqual(await reference.read(T2, { branch: 0, length: 3 }));
    expect(await answers(store)).toEqual(await answers(reference));

    // Opening the file again finds nothing to migrate.
    const again = sqliteEventStore(openDatabase(join(dir, "old.db")));
    expect(await answers(again)).toEqual(migrated);
    expect(tables()).toHaveLength(6);
    db.close();
  });

  it("is migrated once when two processes open it at the same moment", { timeout: 60_000 }, async () => {
    const path = join(dir, "raced.db");
    const events = Array.from({ length: 20_000 }, (_, i) => stockReceived("SKU-MUG", 1, `race-${i}`));
    const db = openDatabase(path);
    db.exec(OLD_SCHEMA);
    writeOld(db, T1, [{ branch: 0, parent: null, forkAt: 0 }], [{ branch: 0, from: 0, events }]);
    db.close();

    const children = [0, 1].map(() => {
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "tests", "support", "open_event_store.ts"), path, T1, String(events.length)], {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.stderr.on("data", (chunk) => (err += chunk));
      const ready = new Promise<void>((resolve) => child.stdout.on("data", () => out.includes("ready") && resolve()));
      const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on("close", (code) => resolve({ code, out, err })));
      return { child, ready, done };
    });
    await Promise.all(children.map((c) => c.ready));
    for (const { child } of children) child.stdin.write("go\n");
    for (const { done } of children) {
      const { code, out, err } = await done;
      expect(code, err).toBe(0);
      expect(out).toContain(`{"count":${events.length}}`);
    }
    const after = openDatabase(path);
    expect(storedEventRows(after, T1)).toBe(events.length);
    expect(after.prepare("SELECT COUNT(*) AS n FROM shopstate_event_threads").get()).toEqual({ n: 1 });
    after.close();
  });
});
