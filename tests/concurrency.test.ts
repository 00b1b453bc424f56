/**
 * Several `shopstate` processes writing one SQLite file at once (issue 7,
 * part 2): writers of different stores run side by side, and none holds a
 * write transaction across its run; writers of the same store are serialised
 * by the store's lease (refused with a clear message, or waiting with
 * --wait); no SQLITE_BUSY reaches anyone; every store verifies and holds
 * exactly the log a sequential run of the same commands gives.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { generateWorkload } from "../bench/generator.js";
import { threadIdFor } from "../src/persistence/stores.js";
import { cli, parseJson, tempDir, type Run } from "./support/cli.js";

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Lines `from` to `to` of a seeded workload, as a file. */
function workload(name: string, seed: number, to: number, from = 0): string {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${generateWorkload({ events: to, seed }).slice(from).join("\n")}\n`);
  return path;
}

/** Checkpoint ids of a store, oldest first (ids are time-ordered UUIDv6, comparable across stores of one file). */
function checkpointIds(db: string, store: string): string[] {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (
      conn.prepare("SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id").all(threadIdFor(store)) as { id: string }[]
    ).map((r) => r.id);
  } finally {
    conn.close();
  }
}

/** Resolves once `probe` is true, looking every 50 ms; `gaveUp` stops it (the process it waits on has ended). */
async function until(probe: () => boolean, gaveUp: () => boolean): Promise<void> {
  for (;;) {
    try {
      if (probe()) return;
    } catch {
      // The file or its tables do not exist yet.
    }
    if (gaveUp()) throw new Error("the process ended before the awaited moment");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ENV = { env: { SHOPSTATE_BATCH_SIZE: "20" } };
const args = (db: string, store: string, ...rest: string[]) => [...rest, "--db", db, "--thread", store, "--json"];

async function events(db: string, store: string): Promise<unknown[]> {
  const out = await cli(args(db, store, "events"));
  return parseJson<unknown[]>(out.stdout, `events of ${store}`);
}

function noBusyErrors(runs: Run[]): void {
  for (const r of runs) expect(r.stderr).not.toMatch(/SQLITE_BUSY|database is locked/i);
}

describe("rule 14: concurrent writers on one SQLite file", () => {
  it("writers of other stores finish while a long ingest runs; a second writer of the same store is refused, or waits with --wait; logs equal a sequential run's", async () => {
    const db = join(dir, "shared.db");
    const long = workload("long", 11, 400);
    const small = [workload("b", 12, 25), workload("c", 13, 25)];
    // The same stream going on: the second writer of store A brings its next events.
    const more = workload("more", 11, 440, 400);

    // A long ingest of store A (batches of 20: many short runs).
    let longDone = false;
    const a = cli(args(db, "a", "ingest", long), ENV).then((r) => ((longDone = true), r));
    await until(
      () => checkpointIds(db, "a").length > 0,
      () => longDone,
    );

    // Meanwhile: two other stores written at once, and a second writer of store A without --wait, then with it.
    const [refused, ...others] = await Promise.all([
      cli(args(db, "a", "ingest", more), ENV),
      ...small.map((file, i) => cli(args(db, `s${i}`, "ingest", file), ENV)),
    ]);
    expect(longDone, "the long ingest was still running").toBe(false);
    const aWhenOthersDone = checkpointIds(db, "a").length;
    const waited = cli([...args(db, "a", "ingest", more), "--wait", "120"], ENV);
    const [first, second] = await Promise.all([a, waited]);

    noBusyErrors([first, second, refused, ...others]);
    expect(others.map((r) => r.code)).toEqual([0, 0]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(refused.code).toBe(1);
    expect(parseJson<{ error: { message: string; kind: string } }>(refused.stderr, "refused ingest stderr").error).toMatchObject({
      kind: "busy",
      message: expect.stringMatching(
        /^store 'a' is being written by another process \(pid \d+ on .+\); its lease runs until .+ pass --wait SECONDS to wait\.$/,
      ),
    });
    // No write transaction spans a run: the other stores wrote their whole runs after store A's first
    // checkpoint and before its ingest ended, and A went on writing after them.
    const aIds = checkpointIds(db, "a");
    for (const name of ["s0", "s1"]) expect(checkpointIds(db, name)[0] > aIds[0], `${name} started after a`).toBe(true);
    expect(aIds.length).toBeGreaterThan(aWhenOthersDone);

    for (const store of ["a", "s0", "s1"]) {
      const verified = await cli(args(db, store, "verify"));
      expect(parseJson<{ ok: boolean }>(verified.stdout, `verify ${store}`), store).toMatchObject({ ok: true });
    }

    // The same commands one after another, in a file of their own.
    const seq = join(dir, "sequential.db");
    for (const [store, file] of [
      ["a", long],
      ["a", more],
      ["s0", small[0]],
      ["s1", small[1]],
    ] as const) {
      expect((await cli(args(seq, store, "ingest", file), ENV)).code).toBe(0);
    }
    for (const store of ["a", "s0", "s1"]) expect(await events(db, store), store).toEqual(await events(seq, store));
  }, 180_000);
});
