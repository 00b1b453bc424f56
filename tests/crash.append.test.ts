/**
 * A crash between an append to the event store and the checkpoint of its step
 * (docs/reliability.md): the appended events are addressed by no checkpoint,
 * so nothing of them is visible, and the resumed ingest is idempotent: the end
 * is the same log and state as a run that never crashed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateWorkload } from "../bench/generator.js";
import { verifyValues } from "../src/app/verify.js";
import { storedEventRows } from "../src/persistence/sqlite_event_store.js";
import { wholeLog } from "../src/persistence/store_log.js";
import { headValues, ingestLines, logOf, openStore, type SqliteStoreSession } from "../src/store.js";
import { stateView } from "../src/views.js";
import { allOrders } from "../src/persistence/store_log.js";
import { ROOT } from "./support/cli.js";

const LINES = generateWorkload({ events: 40, seed: 11 });
const RUN = { batchSize: 10, approvalThresholdCents: 10_000, maxSteps: 500, source: "day.jsonl" };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-crash-"));
  writeFileSync(join(dir, "day.jsonl"), `${LINES.join("\n")}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = () => LINES.map((text, i) => ({ line: i + 1, text }));

/** What a user can see of a store: its log at the head and `state --json` less the checkpoint id. */
async function visible(session: SqliteStoreSession) {
  const { values } = await headValues(session);
  const log = logOf(session, values);
  const { checkpointId: _id, ...state } = stateView(values, "", await allOrders(log));
  return { events: await wholeLog(log), state, violations: (await verifyValues(session, values)).violations };
}

/** Rows in the event store (every branch), and the log the head addresses. */
function storedRows(session: SqliteStoreSession): number {
  return storedEventRows(session.db, session.threadId);
}

describe("a crash between an event append and its checkpoint", () => {
  let reference: Awaited<ReturnType<typeof visible>>;
  beforeAll(async () => {
    const session = openStore(join(dir, "reference.db"), "crash");
    try {
      await ingestLines(session, lines(), RUN);
      reference = await visible(session);
    } finally {
      await session.close();
    }
    expect(reference.violations).toEqual([]);
  });

  // 1: the first batch's input events; 2: the services' facts of its first round; 5: a later batch.
  it.each([1, 2, 5])("killed right after append %i: nothing unaddressed is visible, and the re-run ends as if nothing happened", async (nth) => {
    const db = join(dir, `crash-${nth}.db`);
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", join(ROOT, "tests/support/crash_after_append.ts"), db, "crash", join(dir, "day.jsonl"), String(nth)],
      { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
    );
    expect(child.signal, child.stdout + child.stderr).toBe("SIGKILL");

    const session = openStore(db, "crash");
    try {
      const { values } = await headValues(session);
      const seen = await wholeLog(logOf(session, values));
      // The killed step's events are in the table, beyond what the head addresses.
      expect(storedRows(session)).toBeGreaterThan(seen.length);
      expect(seen.length).toBe(values.log?.length ?? 0);

      await ingestLines(session, lines(), RUN);
      const after = await visible(session);
      expect(after.violations).toEqual([]);
      expect(after.events.map((e) => e.id)).toEqual(reference.events.map((e) => e.id));
      expect(JSON.stringify(after.events)).toBe(JSON.stringify(reference.events));
      expect(after.state).toEqual(reference.state);
      expect(new Set(after.events.map((e) => e.id)).size).toBe(after.events.length);
    } finally {
      await session.close();
    }
  });
});
