/**
 * The SQLite event store against the event store's contract
 * (tests/support/event_store_contract.ts), on a real file in a temporary
 * directory; each `open` is a new connection to it, as another process's would be.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { openDatabase } from "../src/persistence/sqlite.js";
import { sqliteEventStore } from "../src/persistence/sqlite_event_store.js";
import { eventStoreContract } from "./support/event_store_contract.js";

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
    rows: async (threadId) => (counter.prepare("SELECT COUNT(*) AS n FROM shopstate_events WHERE thread_id = ?").get(threadId) as { n: number }).n,
    stop: async () => {
      for (const db of connections) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("the SQLite event store's reads on a database without statistics (no ANALYZE has run)", () => {
  it("search by an index on every key they are given, never through the whole log of a thread", async () => {
    const db = openDatabase(":memory:");
    const statements: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      statements.push(sql);
      return prepare(sql);
    }) as typeof db.prepare;
    const store = sqliteEventStore(db);
    const at = await store.append("t", { branch: 0, length: 0 }, [
      {
        id: "e1",
        type: "ProductAdded",
        at: "2026-03-01T09:00:00.000Z",
        data: { sku: "SKU-MUG", name: "Mug", priceCents: 1500, initialStock: 3, reorderPoint: 1 },
      },
    ] as never);
    await store.findIds("t", at, ["e1", "e2"]);
    await store.existingStreams("t", at, ["sku:SKU-MUG", "order:ORD-1"]);
    await store.read("t", at, { stream: "sku:SKU-MUG" });
    await store.read("t", at, { types: ["ProductAdded"] });
    await store.read("t", at, { from: 0, limit: 10 });
    const reads = [...new Set(statements)].filter((sql) => /^\s*SELECT/i.test(sql) && /shopstate_(events|streams)/.test(sql));
    expect(reads.length).toBeGreaterThanOrEqual(4);
    for (const sql of reads) {
      const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null);
      const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
      // A scan of the table, or a search constrained by the thread alone, reads every event of the thread.
      expect(
        plan.filter((d) => /^SCAN shopstate_/.test(d) || /\(thread_id=\?\)$/.test(d)),
        `${sql}\n${plan.join("\n")}`,
      ).toEqual([]);
    }
    db.close();
  });
});
