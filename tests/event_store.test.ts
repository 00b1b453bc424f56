/**
 * The SQLite event store against the event store's contract
 * (tests/support/event_store_contract.ts), on a real file in a temporary
 * directory; each `open` is a new connection to it, as another process's would be.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { appendCandidates, decideAppend, type BranchRecord } from "../src/persistence/event_store.js";
import { openDatabase } from "../src/persistence/sqlite.js";
import { sqliteEventStore, storedEventRows } from "../src/persistence/sqlite_event_store.js";
import { eventStoreContract, stockReceived } from "./support/event_store_contract.js";
import { recordQueryPlans } from "./support/query_plans.js";

eventStoreContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "shopstate-events-"));
  const path = join(dir, "shopstate.db");
  const connections: Database.Database[] = [];
  const connect = () => {
    const db = openDatabase(path);
    connections.push(db);
    return db;
  };
  const counter = connect();
  const open = () => sqliteEventStore(connect());
  open(); // creates the tables before `rows` reads them
  return {
    open,
    rows: async (threadId) => storedEventRows(counter, threadId),
    stop: async () => {
      for (const db of connections) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("the SQLite event store's reads on a database without statistics (no ANALYZE has run)", () => {
  it("search by an index on every key they are given, never through the whole log of a thread", async () => {
    const db = openDatabase(":memory:");
    const recorded = recordQueryPlans(db, (sql) => /shopstate_/.test(sql));
    const store = sqliteEventStore(db);
    const events = [
      {
        id: "e1",
        type: "ProductAdded",
        at: "2026-03-01T09:00:00.000Z",
        data: { sku: "SKU-MUG", name: "Mug", priceCents: 1500, initialStock: 3, reorderPoint: 1 },
      },
    ] as never;
    const at = await store.append("t", { branch: 0, length: 0 }, events);
    await store.append("t", { branch: 0, length: 0 }, events); // a re-run: reads what is stored at the pointer
    await store.findIds("t", at, ["e1", "e2"]);
    await store.existingStreams("t", at, ["sku:SKU-MUG", "order:ORD-1"]);
    for (const query of [{ stream: "sku:SKU-MUG" }, { stream: "sku:SKU-MUG", types: ["ProductAdded"] }, { types: ["ProductAdded"] }, {}]) {
      await store.read("t", at, { ...query, from: 0, limit: 10 });
      await store.read("t", at, { ...query, descending: true });
      await store.count("t", at, query);
    }
    const reads = recorded.plans();
    expect(reads.length).toBeGreaterThanOrEqual(12);
    for (const { sql, plan, why } of reads) {
      // A scan of a table (json_each's list of keys and the layout check's pragma are virtual tables) reads all of it.
      expect(
        plan.filter((d) => /^SCAN /.test(d) && !/VIRTUAL TABLE/.test(d)),
        why,
      ).toEqual([]);
      const searches = plan.filter((d) => /^SEARCH /.test(d));
      // A search of the events or streams constrained by the thread alone reads every event of the thread.
      expect(
        searches.filter((d) => /^SEARCH (shopstate_events|shopstate_streams|e|s) .*\(thread=\?\)$/.test(d)),
        why,
      ).toEqual([]);
      // The outer loop is searched by the key the statement is given: the stream, else the ids, else the types.
      const key = /s\.stream = /.test(sql) ? "stream" : /e\.id = j\.value/.test(sql) ? "id" : /type IN/.test(sql) ? "type" : undefined;
      if (key) expect(searches[0], why).toContain(`${key}=?`);
      // Every inner loop finds its rows by equality: a range there is read again for each outer row.
      expect(
        searches.slice(1).filter((d) => /[<>]/.test(d)),
        why,
      ).toEqual([]);
    }
    db.close();
  });
});

describe("decideAppend: where an append at a pointer goes, from what the store found (no database)", () => {
  const branches = new Map<number, BranchRecord>([
    [0, { branch: 0, parent: null, forkAt: 0 }],
    [1, { branch: 1, parent: 0, forkAt: 2 }],
    [2, { branch: 2, parent: 0, forkAt: 1 }],
  ]);
  const events = [stockReceived("SKU-A"), stockReceived("SKU-B")];
  const bodies = events.map((e) => JSON.stringify(e));
  const [main, child] = [branches.get(0)!, branches.get(1)!];

  it("tries the pointer's branch, then its children forked exactly at the pointer; an unknown branch is refused", () => {
    expect(appendCandidates("T", branches, { branch: 0, length: 2 })).toEqual([main, child]);
    expect(appendCandidates("T", branches, { branch: 0, length: 3 })).toEqual([main]);
    expect(() => appendCandidates("T", branches, { branch: 7, length: 0 })).toThrow("cannot append at branch 7 of thread T: no such branch");
  });

  it("writes on a branch at its tip", () => {
    expect(decideAppend("T", branches, { branch: 0, length: 2 }, events, [{ branch: main, stored: [], tip: 2 }])).toEqual({
      kind: "write",
      branch: 0,
      pointer: { branch: 0, length: 4 },
    });
  });

  it("points at an identical run already there (a re-run step), on the branch or on a child forked at the pointer", () => {
    expect(decideAppend("T", branches, { branch: 0, length: 2 }, events, [{ branch: main, stored: bodies, tip: undefined }])).toEqual({
      kind: "existing",
      pointer: { branch: 0, length: 4 },
    });
    const found = [
      { branch: main, stored: [JSON.stringify(stockReceived("SKU-C"))], tip: undefined },
      { branch: child, stored: bodies, tip: undefined },
    ];
    expect(decideAppend("T", branches, { branch: 0, length: 2 }, events, found)).toEqual({ kind: "existing", pointer: { branch: 1, length: 4 } });
  });

  it("takes a child at its tip before forking again", () => {
    const found = [
      { branch: main, stored: [JSON.stringify(stockReceived("SKU-C"))], tip: undefined },
      { branch: child, stored: [], tip: 2 },
    ];
    expect(decideAppend("T", branches, { branch: 0, length: 2 }, events, found)).toEqual({ kind: "write", branch: 1, pointer: { branch: 1, length: 4 } });
  });

  it("forks a new branch (numbered after the highest) when the run there differs, even by a prefix", () => {
    const found = [{ branch: main, stored: bodies.slice(0, 1), tip: undefined }];
    expect(decideAppend("T", branches, { branch: 0, length: 2 }, events, found)).toEqual({
      kind: "fork",
      fork: { branch: 3, parent: 0, forkAt: 2 },
      pointer: { branch: 3, length: 4 },
    });
  });

  it("refuses a pointer beyond the branch's tip, and a candidate with nothing at the pointer whose tip was not read", () => {
    expect(() => decideAppend("T", branches, { branch: 0, length: 5 }, events, [{ branch: main, stored: [], tip: 3 }])).toThrow(
      "cannot append at position 5 of branch 0 of thread T: the branch ends at 3",
    );
    expect(() => decideAppend("T", branches, { branch: 0, length: 5 }, events, [{ branch: main, stored: [], tip: undefined }])).toThrow("its tip was not read");
  });
});
