/**
 * The event store the configuration names, for a graph that opens its own:
 * the LangGraph server's (graphs/store.ts). PostgreSQL with DATABASE_URL, else
 * the SQLite file (SHOPSTATE_DB, `.shopstate/shopstate.db` by default).
 */
import type { Config } from "../config.js";
import type { EventStore } from "./event_store.js";
import { lazyPgEventStore } from "./pg_event_store.js";
import { openDatabase } from "./sqlite.js";
import { sqliteEventStore } from "./sqlite_event_store.js";

export function eventStoreFromConfig(config: Pick<Config, "dbPath" | "databaseUrl">): EventStore {
  if (config.databaseUrl !== undefined) return lazyPgEventStore(config.databaseUrl);
  return sqliteEventStore(openDatabase(config.dbPath));
}
