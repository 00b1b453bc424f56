/**
 * The event store in PostgreSQL (DATABASE_URL): the same tables and the same
 * promises as the SQLite one (event_store.ts, sqlite_event_store.ts).
 * TODO(issue 12): being written.
 */
import type pg from "pg";
import type { EventStore } from "./event_store.js";

export function pgEventStore(pool: pg.Pool): EventStore {
  void pool;
  throw new Error("the PostgreSQL event store is not written yet");
}

export function lazyPgEventStore(url: string): EventStore {
  throw new Error(`the PostgreSQL event store is not written yet (${url.replace(/:[^:@/]*@/, ":***@")})`);
}
