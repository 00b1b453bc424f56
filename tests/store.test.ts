import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateWorkload } from "../bench/generator.js";
import { verifyValues } from "../src/app/verify.js";
import { acquireLease, LeaseBusyError, LeaseLostError } from "../src/persistence/lease.js";
import { wholeLog } from "../src/persistence/store_log.js";
import { listStores, threadIdFor } from "../src/persistence/stores.js";
import { buildStoreGraph } from "../src/graph.js";
import type { State } from "../src/state.js";
import { cli } from "./support/cli.js";
import { deleteStore, finishPendingRun, headValues, ingestLines, logOf, openStore, withLease, type InputLine, type StoreSession } from "../src/store.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "test" };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-store-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const line = (n: number, event: Record<string, unknown>): InputLine => ({ line: n, text: JSON.stringify(event) });
const product = (id: string, sku: string, initialStock: number, reorderPoint = 1) => ({
  id,
  type: "ProductAdded",
  at: "2026-03-01T09:00:00Z",
  data: { sku, name: `Product ${sku}`, priceCents: 1000, initialStock, reorderPoint },
});

describe("stores", () => {
  it("derives each store's thread id as the UUIDv5 of its name and keeps the name in checkpoint metadata", async () => {
    const session = openStore(join(dir, "s.db"), "north");
    try {
      expect(session.threadId).toBe(threadIdFor("north"));
      expect(session.threadId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      await ingestLines(session, [line(1, product("e1", "SKU-1", 5))], RUN);
      const tuple = await session.saver.getTuple(session.config);
      expect(tuple?.metadata).toMatchObject({ store: "north" });
      expect(listStores(session.db).map((s) => s.name)).toEqual(["north"]);
    } finally {
      await session.close();
    }
  });
});

describe("one writer per store", () => {
  it("refuses a second writer of the same store with a clear message, and lets it in with --wait once the first is done", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      const held = await acquireLease(session.db, "main", session.threadId);
      await expect(ingestLines(session, [line(1, product("e1", "SKU-1", 5))], RUN)).rejects.toThrow(LeaseBusyError);
      await expect(ingestLines(session, [line(1, product("e1", "SKU-1", 5))], RUN)).rejects.toThrow(/store 'main' is being written by another process/);
      // A waiting writer gets in as soon as the lease is released.
      setTimeout(() => held.release(), 300);
      const result = await ingestLines(session, [line(1, product("e1", "SKU-1", 5))], { ...RUN, waitMs: 10_000 });
      expect(result.accepted).toBe(1);
    } finally {
      await session.close();
    }
  });

  it("serialises two processes writing the same store and lets processes writing other stores proceed", async () => {
    const db = join(dir, "s.db");
    const file = (name: string, count: number) => {
      const path = join(dir, `${name}.jsonl`);
      // The same ProductAdded event in every file: whoever comes second finds it already in the log.
      const events = [product("p-1", "SKU-1", 1000)];
      for (let i = 0; i < count; i++) {
        events.push({
          id: `${name}-o${i}`,
          type: "OrderPlaced",
          at: "2026-03-01T10:00:00Z",
          data: { orderId: `${name}-${i}`, customerId: "C-1", lines: [{ sku: "SKU-1", qty: 1 }] },
        } as never);
      }
      writeFileSync(path, events.map((e) => JSON.stringify(e)).join("\n"));
      return path;
    };
    const a = file("a", 30);
    const b = file("b", 30);
    const c = file("c", 30);
    const results = await Promise.all([
      cli(["ingest", a, "--db", db, "--thread", "shared", "--wait", "60", "--json"]),
      cli(["ingest", b, "--db", db, "--thread", "shared", "--wait", "60", "--json"]),
      cli(["ingest", c, "--db", db, "--thread", "other", "--json"]),
    ]);
    for (const r of results) expect(r.stderr).not.toMatch(/SQLITE_BUSY|database is locked/);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    for (const name of ["shared", "other"]) {
      const verify = await cli(["verify", "--db", db, "--thread", name, "--json"]);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    }
    const state = JSON.parse((await cli(["state", "--db", db, "--thread", "shared", "--json"])).stdout) as {
      orders: Record<string, unknown>;
      inventory: Record<string, { reserved: number }>;
    };
    expect(Object.keys(state.orders)).toHaveLength(60);
    expect(state.inventory["SKU-1"].reserved).toBe(60);
  }, 120_000);
});

describe("a paused run", () => {
  it("is finished before new input is taken, so nothing it had decided is dropped", async () => {
    const session = openStore(join(dir, "s.db"), "main");
    try {
      // Pause the first run before the router hands events to the agents.
      const pausing = buildStoreGraph({ events: session.events }).compile({ checkpointer: session.saver, interruptBefore: ["router"] });
      await pausing.invoke({ inbox: [JSON.stringify(product("e1", "SKU-1", 1, 1))] }, session.config);
      expect((await pausing.getState(session.config)).next).toEqual(["router"]);

      // New input through the store's own path: the paused run completes first.
      const result = await ingestLines(session, [line(1, product("e2", "SKU-2", 50))], RUN);
      expect(result.accepted).toBe(1);
      const values = (await session.graph.getState(session.config)).values as State;
      // SKU-1 was added at its reorder point: the agents of the paused run still acted on it.
      expect(values.reorders["SKU-1"]).toBeDefined();
      expect(values.promotions["SKU-1"]).toBe("paused");
      expect(Object.values(values.tasks).every((t) => t.status === "completed")).toBe(true);
      expect(await finishPendingRun(session, RUN)).toBe(false);
    } finally {
      await session.close();
    }
  });
});

describe("the write lease around a store's work", () => {
  /** The session with its lease wrapped: `held` says whether the lease is held now; `failRelease` makes release throw. */
  function watched(session: StoreSession, failRelease = false) {
    const seen = { held: false, calls: [] as string[] };
    const meta = { ...session.meta };
    meta.acquireLease = async (store, threadId, waitMs) => {
      const lease = await session.meta.acquireLease(store, threadId, waitMs);
      seen.held = true;
      return {
        holder: lease.holder,
        lost: lease.lost,
        async release() {
          seen.held = false;
          await lease.release();
          if (failRelease) throw new Error("the lock connection is gone");
        },
      };
    };
    for (const name of ["forgetStore", "forgetTags", "forgetSteps"] as const) {
      const original = session.meta[name];
      meta[name] = async (key: string) => {
        seen.calls.push(`${name} ${seen.held ? "held" : "not held"}`);
        await original(key);
      };
    }
    return { session: { ...session, meta }, seen };
  }

  it("keeps the work's error when releasing the lease then fails too, and mentions the release failure", async () => {
    const session = openStore(join(dir, "s.db"), "north");
    try {
      const { session: failing } = watched(session, true);
      const outcome = withLease(failing, 0, async () => {
        throw new RangeError("the work failed");
      });
      await expect(outcome).rejects.toThrow(RangeError);
      await expect(outcome).rejects.toThrow(/^the work failed \(releasing the write lease of store 'north' also failed: the lock connection is gone\)$/);
      // Work that succeeds still reports a release that fails.
      await expect(withLease(failing, 0, async () => 1)).rejects.toThrow(/the lock connection is gone/);
    } finally {
      await session.close();
    }
  });

  it("deletes a store's name, tags and history lines while holding its lease", async () => {
    const session = openStore(join(dir, "s.db"), "north");
    try {
      await ingestLines(session, [line(1, product("e1", "SKU-1", 5))], RUN);
      const { session: deleting, seen } = watched(session);
      await deleteStore(deleting);
      expect(seen.calls).toEqual(["forgetStore held", "forgetTags held", "forgetSteps held"]);
      expect(listStores(session.db)).toEqual([]);
    } finally {
      await session.close();
    }
  });
});

describe("a lost write lease", () => {
  it("is reported on its `lost` signal when a renewal finds that another writer took the store over", async () => {
    const session = openStore(join(dir, "s.db"), "north");
    try {
      const lease = await acquireLease(session.db, "north", session.threadId, 0, 10);
      const lost = new Promise<unknown>((resolve) => lease.lost.addEventListener("abort", () => resolve(lease.lost.reason)));
      expect(lease.lost.aborted).toBe(false);
      session.db.prepare("UPDATE shopstate_leases SET holder = 'pid 1 on elsewhere (takeover)' WHERE thread_id = ?").run(session.threadId);
      const reason = await lost;
      expect(reason).toBeInstanceOf(LeaseLostError);
      expect((reason as Error).message).toMatch(
        /^lost the write lease of store 'north': its row no longer names this writer \(another process took the store over\)/,
      );
      await lease.release();
    } finally {
      await session.close();
    }
  });

  it("stops an ingest at its next step with a clear error; the next ingest resumes from the last checkpoint to the log of an uninterrupted run", async () => {
    const lines = generateWorkload({ events: 30, seed: 1007, products: 4, customers: 6 }).map((text, i) => ({ line: i + 1, text }));
    const reference = openStore(join(dir, "ref.db"), "north");
    const session = openStore(join(dir, "s.db"), "north");
    try {
      let referencePuts = 0;
      const referencePut = reference.saver.put.bind(reference.saver);
      reference.saver.put = (...args) => {
        referencePuts++;
        return referencePut(...args);
      };
      await ingestLines(reference, lines, RUN);
      const expected = (await wholeLog(logOf(reference, (await headValues(reference)).values))).map((e) => e.id);
      expect(expected.length).toBeGreaterThan(30);

      // The lease is lost (as when a renewal fails) once the run has written 5 checkpoints.
      const stolen = new AbortController();
      const losing: StoreSession = {
        ...session,
        meta: {
          ...session.meta,
          acquireLease: async (store, threadId, waitMs) => {
            const lease = await session.meta.acquireLease(store, threadId, waitMs);
            return { holder: lease.holder, lost: stolen.signal, release: () => lease.release() };
          },
        },
      };
      let puts = 0;
      const put = session.saver.put.bind(session.saver);
      session.saver.put = async (...args) => {
        const written = await put(...args);
        if (++puts === 5) stolen.abort(new LeaseLostError("north", "it could not be renewed before it ran out (simulated)"));
        return written;
      };
      const outcome = ingestLines(losing, lines, RUN);
      await expect(outcome).rejects.toThrow(LeaseLostError);
      await expect(outcome).rejects.toThrow(
        /^lost the write lease of store 'north': it could not be renewed before it ran out \(simulated\); the write stopped at its last checkpoint/,
      );
      // It stopped at the step after the loss, far from the run's end.
      expect(puts).toBeLessThanOrEqual(6);
      expect(referencePuts).toBeGreaterThan(puts + 5);
      const stopped = await session.graph.getState(session.config);
      expect(stopped.tasks.length).toBeGreaterThan(0);

      session.saver.put = put;
      await ingestLines(session, lines, RUN);
      const values = (await headValues(session)).values;
      expect((await wholeLog(logOf(session, values))).map((e) => e.id)).toEqual(expected);
      expect((await verifyValues(session, values)).violations).toEqual([]);
    } finally {
      await reference.close();
      await session.close();
    }
  });
});
