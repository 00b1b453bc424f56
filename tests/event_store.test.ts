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
