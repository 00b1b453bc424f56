/**
 * A child process for the crash test: ingests a file into a store and kills
 * itself (SIGKILL, as a power cut would) right after its Nth append to the
 * event store has committed, before the checkpoint of that step is written.
 *
 *   node --import tsx tests/support/crash_after_append.ts DB STORE FILE N
 */
import { readFileSync } from "node:fs";
import { compileStoreGraph } from "../../src/graph.js";
import { SqliteStore } from "../../src/memory/sqlite_store.js";
import { sqliteMeta } from "../../src/persistence/backend.js";
import type { EventStore } from "../../src/persistence/event_store.js";
import { openDatabase, sqliteSaver } from "../../src/persistence/sqlite.js";
import { sqliteEventStore } from "../../src/persistence/sqlite_event_store.js";
import { threadIdFor } from "../../src/persistence/stores.js";
import { ingestLines, type StoreSession } from "../../src/store.js";

const [dbPath, name, file, nth] = process.argv.slice(2);
const db = openDatabase(dbPath);
const threadId = threadIdFor(name);
const saver = sqliteSaver(db, new Map([[threadId, name]]));
const store = sqliteEventStore(db);
let appends = 0;
const dying: EventStore = {
  ...store,
  append: async (thread, at, events) => {
    const pointer = await store.append(thread, at, events);
    if (events.length > 0 && ++appends === Number(nth)) process.kill(process.pid, "SIGKILL");
    return pointer;
  },
};
const knowledge = new SqliteStore(db);
const session: StoreSession = {
  name,
  threadId,
  meta: sqliteMeta(db, dbPath, { checkpointsInFile: true }),
  db,
  saver,
  events: dying,
  knowledge,
  graph: compileStoreGraph({ checkpointer: saver, store: knowledge, events: dying }),
  config: { configurable: { thread_id: threadId } },
  close: () => void db.close(),
};
const lines = readFileSync(file, "utf8")
  .trim()
  .split("\n")
  .map((text, i) => ({ line: i + 1, text }));
await ingestLines(session, lines, { batchSize: 10, approvalThresholdCents: 10_000, maxSteps: 500, source: file });
process.stdout.write(`finished without reaching append ${nth} (${appends} appends)\n`);
