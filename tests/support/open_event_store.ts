/**
 * A child process for the event store's migration test: opens the SQLite event
 * store on a file when told to (a line on stdin), so that two of them open the
 * same old file at the same moment, and prints how many events a log holds.
 *
 *   node --import tsx tests/support/open_event_store.ts DB THREAD LENGTH
 */
import { createInterface } from "node:readline";
import { openDatabase } from "../../src/persistence/sqlite.js";
import { sqliteEventStore } from "../../src/persistence/sqlite_event_store.js";

const [dbPath, threadId, length] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
for await (const _go of lines) {
  const db = openDatabase(dbPath);
  const store = sqliteEventStore(db);
  const count = await store.count(threadId, { branch: 0, length: Number(length) });
  process.stdout.write(`${JSON.stringify({ count })}\n`);
  db.close();
  break;
}
lines.close();
