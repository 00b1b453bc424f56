/**
 * The event store's contract (src/persistence/event_store.ts), as vitest
 * cases run against any implementation: the SQLite one in the offline tier
 * (tests/event_store.test.ts), the PostgreSQL one in the integration tier
 * (tests/event_store.int.test.ts). docs/architecture.md, "State, event store
 * and checkpoints", says why the log is addressed by branch and length.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type { StoreEvent } from "../../src/domain/events.js";
import { streamsOf } from "../../src/domain/streams.js";
import { EMPTY_LOG, type EventQuery, type EventStore, type LogPointer } from "../../src/persistence/event_store.js";

export interface EventStoreHarness {
  /** A new store object on the shared database; a second one plays another process (its own caches). */
  open(): EventStore;
  /** How many event rows the database holds for a thread, on every branch (to see that an append wrote nothing). */
  rows(threadId: string): Promise<number>;
  stop(): Promise<void>;
}

const AT = "2026-03-01T09:00:00Z";

let serial = 0;
const nextId = (prefix: string) => `${prefix}-${++serial}`;

export function stockReceived(sku: string, qty = 1, id = nextId("STK")): StoreEvent {
  return { id, at: AT, source: "test", v: 1, type: "StockReceived", data: { sku, qty } };
}

export function orderPlaced(orderId: string, customerId: string, skus: readonly string[], id = nextId("ORD")): StoreEvent {
  return { id, at: AT, source: "test", v: 1, type: "OrderPlaced", data: { orderId, customerId, lines: skus.map((sku) => ({ sku, qty: 1 })) } };
}

export function orderShipped(orderId: string, id = nextId("SHP")): StoreEvent {
  return { id, at: AT, source: "test", v: 1, type: "OrderShipped", data: { orderId } };
}

const ids = (logged: readonly { event: StoreEvent }[]) => logged.map((e) => e.event.id);
const newThread = () => `thread-${randomUUID()}`;

/** Defines the contract's cases for the store `start` gives (one database for the whole file, a thread per case). */
export function eventStoreContract(name: string, start: () => Promise<EventStoreHarness>): void {
  describe(`the ${name} event store`, () => {
    let harness: EventStoreHarness;
    let store: EventStore;

    beforeAll(async () => {
      harness = await start();
      store = harness.open();
    });
    afterAll(async () => {
      await harness?.stop();
    });

    it("appends and reads back by position, the events unchanged", async () => {
      const thread = newThread();
      expect(await store.read(thread, EMPTY_LOG)).toEqual([]);
      const first = [stockReceived("SKU-MUG", 3), orderPlaced("O-1", "C-1", ["SKU-MUG"])];
      const p1 = await store.append(thread, EMPTY_LOG, first);
      expect(p1).toEqual({ branch: 0, length: 2 });
      const p2 = await store.append(thread, p1, [orderShipped("O-1")]);
      expect(p2).toEqual({ branch: 0, length: 3 });
      const read = await store.read(thread, p2);
      expect(read.map((e) => e.position)).toEqual([0, 1, 2]);
      expect(read.slice(0, 2).map((e) => e.event)).toEqual(first);
      // An earlier pointer on the same branch sees only its prefix.
      expect(ids(await store.read(thread, p1))).toEqual(first.map((e) => e.id));
      expect(await store.count(thread, p2)).toBe(3);
      expect(await store.count(thread, p1)).toBe(2);
      // Appending nothing changes nothing.
      expect(await store.append(thread, p2, [])).toEqual(p2);
      expect(await harness.rows(thread)).toBe(3);
    });

    it("pages with from, to, limit and descending, across a fork's segments", async () => {
      const thread = newThread();
      const events = Array.from({ length: 10 }, (_, i) => stockReceived("SKU-MUG", i + 1));
      const tip = await store.append(thread, EMPTY_LOG, events);
      const positions = async (query: EventQuery, at: LogPointer = tip) => (await store.read(thread, at, query)).map((e) => e.position);
      expect(await positions({ from: 2, to: 5 })).toEqual([2, 3, 4]);
      expect(await positions({ limit: 3 })).toEqual([0, 1, 2]);
      expect(await positions({ from: 8, limit: 5 })).toEqual([8, 9]);
      expect(await positions({ descending: true, limit: 3 })).toEqual([9, 8, 7]);
      expect(await positions({ descending: true, to: 5, limit: 2 })).toEqual([4, 3]);
      expect(await positions({ to: 50 })).toHaveLength(10);
      expect(await positions({ limit: 0 })).toEqual([]);
      expect(await store.count(thread, tip, { from: 3, to: 7 })).toBe(4);

      // A fork at 6 with 3 events of its own: the log is positions 0-5 of branch 0, then 6-8 of the fork.
      const fork = await store.append(thread, { branch: 0, length: 6 }, [stockReceived("SKU-TEE"), stockReceived("SKU-TEE"), stockReceived("SKU-TEE")]);
      expect(fork.branch).not.toBe(0);
      expect(await positions({ descending: true, limit: 5 }, fork)).toEqual([8, 7, 6, 5, 4]);
      expect(await positions({ from: 4, limit: 4 }, fork)).toEqual([4, 5, 6, 7]);
      const window = await store.read(thread, fork, { from: 5, to: 7 });
      expect(window.map((e) => e.position)).toEqual([5, 6]);
      expect(window.map((e) => (e.event.data as { sku: string }).sku)).toEqual(["SKU-MUG", "SKU-TEE"]);
      expect(await store.count(thread, fork, { from: 4 })).toBe(5);
    });

    it("reads by type and counts by type", async () => {
      const thread = newThread();
      const tip = await store.append(thread, EMPTY_LOG, [
        stockReceived("SKU-MUG"),
        orderPlaced("O-1", "C-1", ["SKU-MUG"]),
        orderShipped("O-1"),
        orderPlaced("O-2", "C-2", ["SKU-TEE"]),
        stockReceived("SKU-TEE"),
      ]);
      expect((await store.read(thread, tip, { types: ["OrderPlaced"] })).map((e) => e.position)).toEqual([1, 3]);
      expect((await store.read(thread, tip, { types: ["OrderPlaced", "OrderShipped"], descending: true, limit: 2 })).map((e) => e.position)).toEqual([3, 2]);
      expect(await store.count(thread, tip, { types: ["StockReceived"] })).toBe(2);
      expect(await store.count(thread, tip, { types: ["StockReceived"], from: 1 })).toBe(1);
      expect(await store.count(thread, tip, { types: ["OrderCancelled"] })).toBe(0);
    });

    it("reads by entity stream: an order line puts its event in every SKU's stream", async () => {
      const thread = newThread();
      const placed = orderPlaced("O-1", "C-1", ["SKU-MUG", "SKU-TEE", "SKU-CAP"]);
      const tip = await store.append(thread, EMPTY_LOG, [
        stockReceived("SKU-MUG"),
        placed,
        stockReceived("SKU-TEE"),
        orderShipped("O-1"),
        orderPlaced("O-2", "C-1", ["SKU-CAP"]),
      ]);
      const streamPositions = async (stream: string, query: EventQuery = {}) => (await store.read(thread, tip, { ...query, stream })).map((e) => e.position);
      expect(await streamPositions("sku:SKU-MUG")).toEqual([0, 1]);
      expect(await streamPositions("sku:SKU-TEE")).toEqual([1, 2]);
      expect(await streamPositions("sku:SKU-CAP")).toEqual([1, 4]);
      expect(await streamPositions("order:O-1")).toEqual([1, 3]);
      expect(await streamPositions("customer:C-1")).toEqual([1, 4]);
      expect(await streamPositions("customer:C-1", { types: ["OrderPlaced"], descending: true, limit: 1 })).toEqual([4]);
      expect(await streamPositions("order:O-1", { types: ["OrderShipped"] })).toEqual([3]);
      expect(await streamPositions("sku:SKU-CAP", { to: 4 })).toEqual([1]);
      expect(await streamPositions("sku:SKU-NONE")).toEqual([]);
      expect((await store.read(thread, tip, { stream: "sku:SKU-TEE" }))[0].event).toEqual(placed);
      expect(await store.count(thread, tip, { stream: "sku:SKU-CAP" })).toBe(2);
      expect(await store.count(thread, tip, { stream: "customer:C-1", types: ["OrderPlaced"] })).toBe(2);
      // A stream read at an earlier pointer stops at it.
      expect((await store.read(thread, { branch: 0, length: 2 }, { stream: "sku:SKU-CAP" })).map((e) => e.position)).toEqual([1]);
    });

    it("findIds sees only the events of the pointer's log", async () => {
      const thread = newThread();
      const base = [stockReceived("SKU-MUG"), stockReceived("SKU-MUG"), stockReceived("SKU-MUG")];
      const tip = await store.append(thread, EMPTY_LOG, base);
      const forkEvent = stockReceived("SKU-TEE");
      const fork = await store.append(thread, { branch: 0, length: 1 }, [forkEvent]);
      const all = [...base.map((e) => e.id), forkEvent.id, "NO-SUCH-ID"];

      const onMain = await store.findIds(thread, tip, all);
      expect([...onMain.keys()].sort()).toEqual(base.map((e) => e.id).sort());
      expect(onMain.get(base[2].id)).toEqual({ position: 2, event: base[2] });

      const onFork = await store.findIds(thread, fork, all);
      expect([...onFork.keys()].sort()).toEqual([base[0].id, forkEvent.id].sort());
      expect(onFork.get(forkEvent.id)?.position).toBe(1);

      expect([...(await store.findIds(thread, { branch: 0, length: 2 }, all)).keys()].sort()).toEqual([base[0].id, base[1].id].sort());
      expect((await store.findIds(thread, EMPTY_LOG, all)).size).toBe(0);
      expect((await store.findIds(thread, tip, [])).size).toBe(0);
      // Another thread's events are not this thread's.
      expect((await store.findIds(newThread(), tip, all)).size).toBe(0);
    });

    it("existingStreams answers for many keys at once, within the pointer's log", async () => {
      const thread = newThread();
      const tip = await store.append(thread, EMPTY_LOG, [orderPlaced("O-1", "C-1", ["SKU-MUG", "SKU-TEE"]), stockReceived("SKU-CAP")]);
      const fork = await store.append(thread, { branch: 0, length: 1 }, [orderPlaced("O-2", "C-2", ["SKU-HAT"])]);
      const keys = ["order:O-1", "order:O-2", "sku:SKU-MUG", "sku:SKU-TEE", "sku:SKU-CAP", "sku:SKU-HAT", "customer:C-1", "customer:C-2", "order:O-9"];
      expect([...(await store.existingStreams(thread, tip, keys))].sort()).toEqual(["customer:C-1", "order:O-1", "sku:SKU-CAP", "sku:SKU-MUG", "sku:SKU-TEE"]);
      expect([...(await store.existingStreams(thread, fork, keys))].sort()).toEqual([
        "customer:C-1",
        "customer:C-2",
        "order:O-1",
        "order:O-2",
        "sku:SKU-HAT",
        "sku:SKU-MUG",
        "sku:SKU-TEE",
      ]);
      expect([...(await store.existingStreams(thread, { branch: 0, length: 1 }, keys))].sort()).toEqual([
        "customer:C-1",
        "order:O-1",
        "sku:SKU-MUG",
        "sku:SKU-TEE",
      ]);
      expect((await store.existingStreams(thread, EMPTY_LOG, keys)).size).toBe(0);
      expect((await store.existingStreams(thread, tip, [])).size).toBe(0);
    });

    it("a fork at a past pointer goes on a new branch; the old branch stays byte for byte; a fork of a fork reads through both", async () => {
      const thread = newThread();
      const main = [stockReceived("SKU-MUG"), stockReceived("SKU-TEE"), stockReceived("SKU-CAP")];
      const tip = await store.append(thread, EMPTY_LOG, main);
      const before = await store.read(thread, tip);

      const own = [orderPlaced("O-1", "C-1", ["SKU-MUG"]), orderShipped("O-1")];
      const fork = await store.append(thread, { branch: 0, length: 1 }, own);
      expect(fork.branch).not.toBe(0);
      expect(fork.length).toBe(3);
      expect(await store.read(thread, tip)).toEqual(before);
      expect((await store.read(thread, fork)).map((e) => e.event)).toEqual([main[0], ...own]);
      expect((await store.read(thread, fork)).map((e) => e.position)).toEqual([0, 1, 2]);

      // A fork of the fork, inside its own events: parent's prefix, the fork's first event, then its own.
      const deeper = [stockReceived("SKU-HAT")];
      const fork2 = await store.append(thread, { branch: fork.branch, length: 2 }, deeper);
      expect(new Set([0, fork.branch, fork2.branch]).size).toBe(3);
      expect((await store.read(thread, fork2)).map((e) => e.event)).toEqual([main[0], own[0], deeper[0]]);
      expect((await store.read(thread, fork)).map((e) => e.event)).toEqual([main[0], ...own]);
      expect(await store.read(thread, tip)).toEqual(before);
      // A pointer on a branch, short of its fork point, names its ancestors' prefix.
      expect((await store.read(thread, { branch: fork2.branch, length: 1 })).map((e) => e.event)).toEqual([main[0]]);
      expect(await store.count(thread, { branch: fork2.branch, length: 1 })).toBe(1);
      expect((await store.findIds(thread, { branch: fork2.branch, length: 1 }, [main[0].id, own[0].id])).size).toBe(1);

      // The original branch goes on growing where it was.
      const more = await store.append(thread, tip, [stockReceived("SKU-MUG")]);
      expect(more).toEqual({ branch: 0, length: 4 });
      expect(await store.read(thread, fork2, { stream: "sku:SKU-HAT" })).toHaveLength(1);
      expect(await store.read(thread, more, { stream: "sku:SKU-HAT" })).toHaveLength(0);
    });

    it("re-appending the same events at the same pointer is a no-op that points at them", async () => {
      const thread = newThread();
      const events = [stockReceived("SKU-MUG"), orderPlaced("O-1", "C-1", ["SKU-MUG", "SKU-TEE"])];
      const first = await store.append(thread, EMPTY_LOG, events);
      const again = await store.append(thread, EMPTY_LOG, events);
      expect(again).toEqual(first);
      // A copy made from the stored JSON is the same events.
      expect(await store.append(thread, EMPTY_LOG, JSON.parse(JSON.stringify(events)) as StoreEvent[])).toEqual(first);
      // A prefix of what is there is found there too.
      expect(await store.append(thread, EMPTY_LOG, events.slice(0, 1))).toEqual({ branch: 0, length: 1 });
      expect(await harness.rows(thread)).toBe(2);
      expect(await store.count(thread, first, { stream: "sku:SKU-TEE" })).toBe(1);
    });

    it("reuses the child branch when the same events are appended again at the same fork point", async () => {
      const thread = newThread();
      const tip = await store.append(thread, EMPTY_LOG, [stockReceived("SKU-MUG"), stockReceived("SKU-TEE"), stockReceived("SKU-CAP")]);
      const forkEvents = [orderPlaced("O-1", "C-1", ["SKU-MUG"]), orderShipped("O-1")];
      const fork = await store.append(thread, { branch: 0, length: 1 }, forkEvents);
      const rows = await harness.rows(thread);
      expect(await store.append(thread, { branch: 0, length: 1 }, forkEvents)).toEqual(fork);
      expect(await store.append(thread, { branch: 0, length: 1 }, forkEvents.slice(0, 1))).toEqual({ branch: fork.branch, length: 2 });
      expect(await harness.rows(thread)).toBe(rows);
      // Other events at the same point make a second child, and both stay as they were.
      const other = await store.append(thread, { branch: 0, length: 1 }, [orderShipped("O-7")]);
      expect(new Set([0, fork.branch, other.branch]).size).toBe(3);
      expect(await store.append(thread, { branch: 0, length: 1 }, forkEvents)).toEqual(fork);
      expect((await store.read(thread, fork)).map((e) => e.event.type)).toEqual(["StockReceived", "OrderPlaced", "OrderShipped"]);
      expect((await store.read(thread, other)).map((e) => e.event.type)).toEqual(["StockReceived", "OrderShipped"]);
      expect(await store.count(thread, tip)).toBe(3);
    });

    it("after a crash, a different re-run goes on a new branch and the orphaned events stay invisible", async () => {
      const thread = newThread();
      const kept = await store.append(thread, EMPTY_LOG, [stockReceived("SKU-MUG"), stockReceived("SKU-TEE")]);
      // A step appends, then the process dies before its checkpoint: no checkpoint holds `orphanPointer`.
      const orphan = orderPlaced("O-1", "C-1", ["SKU-MUG"]);
      const orphanPointer = await store.append(thread, kept, [orphan]);
      expect(orphanPointer).toEqual({ branch: 0, length: 3 });
      // The re-run decides differently (another clock, another model answer).
      const rerun = [orderPlaced("O-2", "C-2", ["SKU-TEE"])];
      const resumed = await store.append(thread, kept, rerun);
      expect(resumed.branch).not.toBe(0);
      expect(resumed.length).toBe(3);
      expect((await store.read(thread, resumed)).map((e) => e.event)).toEqual([...(await store.read(thread, kept)).map((e) => e.event), ...rerun]);
      expect((await store.findIds(thread, resumed, [orphan.id])).size).toBe(0);
      expect(await store.existingStreams(thread, resumed, ["order:O-1", "customer:C-1", "order:O-2"])).toEqual(new Set(["order:O-2"]));
      expect(await store.read(thread, resumed, { stream: "order:O-1" })).toEqual([]);
      expect(await store.count(thread, resumed, { types: ["OrderPlaced"] })).toBe(1);
      // The orphan is still there, byte for byte, for whoever holds its pointer.
      expect((await store.read(thread, orphanPointer)).map((e) => e.event)[2]).toEqual(orphan);
    });

    it("refuses an append at a branch it does not have, or past a branch's end", async () => {
      const thread = newThread();
      const tip = await store.append(thread, EMPTY_LOG, [stockReceived("SKU-MUG")]);
      await expect(store.append(thread, { branch: 7, length: 1 }, [stockReceived("SKU-MUG")])).rejects.toThrow(/branch 7 .*no such branch/);
      await expect(store.append(thread, { branch: 0, length: 5 }, [stockReceived("SKU-MUG")])).rejects.toThrow(/position 5 of branch 0 .*ends at 1/);
      await expect(store.read(thread, { branch: 7, length: 1 })).rejects.toThrow(/branch 7/);
      // The refused appends left nothing behind.
      expect(await harness.rows(thread)).toBe(1);
      expect(await store.append(thread, tip, [stockReceived("SKU-TEE")])).toEqual({ branch: 0, length: 2 });
    });

    it("commonLength is the fork point of two checkpoints", async () => {
      const thread = newThread();
      const tip = await store.append(thread, EMPTY_LOG, [stockReceived("SKU-MUG"), stockReceived("SKU-TEE"), stockReceived("SKU-CAP")]);
      const fork = await store.append(thread, { branch: 0, length: 1 }, [stockReceived("SKU-HAT"), stockReceived("SKU-HAT")]);
      const fork2 = await store.append(thread, { branch: fork.branch, length: 2 }, [stockReceived("SKU-BAG")]);
      expect(await store.commonLength(thread, tip, fork)).toBe(1);
      expect(await store.commonLength(thread, fork, tip)).toBe(1);
      expect(await store.commonLength(thread, fork, fork2)).toBe(2);
      expect(await store.commonLength(thread, tip, fork2)).toBe(1);
      expect(await store.commonLength(thread, tip, { branch: 0, length: 2 })).toBe(2);
      expect(await store.commonLength(thread, tip, tip)).toBe(3);
      expect(await store.commonLength(thread, fork2, EMPTY_LOG)).toBe(0);
    });

    it("deleteThread removes one store's whole history and leaves the others'", async () => {
      const thread = newThread();
      const neighbour = newThread();
      const tip = await store.append(thread, EMPTY_LOG, [stockReceived("SKU-MUG"), stockReceived("SKU-TEE")]);
      await store.append(thread, { branch: 0, length: 1 }, [stockReceived("SKU-CAP")]);
      const theirs = await store.append(neighbour, EMPTY_LOG, [stockReceived("SKU-MUG")]);
      await store.deleteThread(thread);
      expect(await harness.rows(thread)).toBe(0);
      expect(await store.read(thread, EMPTY_LOG)).toEqual([]);
      await expect(store.read(thread, { branch: 1, length: 2 })).rejects.toThrow(/branch 1/);
      expect(await store.read(neighbour, theirs)).toHaveLength(1);
      // The thread starts again from empty.
      expect(await store.append(thread, EMPTY_LOG, [stockReceived("SKU-HAT")])).toEqual({ branch: 0, length: 1 });
      expect(tip).toEqual({ branch: 0, length: 2 });
    });

    it("two concurrent identical appends at one pointer get the same pointer and write once", async () => {
      const thread = newThread();
      const base = await store.append(thread, EMPTY_LOG, [stockReceived("SKU-MUG")]);
      const events = [orderPlaced("O-1", "C-1", ["SKU-MUG", "SKU-TEE"]), orderShipped("O-1")];
      const [a, b] = await Promise.all([store.append(thread, base, events), store.append(thread, base, events)]);
      expect(a).toEqual(b);
      expect(a).toEqual({ branch: 0, length: 3 });
      expect(await harness.rows(thread)).toBe(3);
      expect(await store.count(thread, a, { stream: "sku:SKU-TEE" })).toBe(1);

      // The same at a past pointer (both make the same fork, once), and from two store objects (two processes).
      const other = harness.open();
      try {
        const forkEvents = [stockReceived("SKU-CAP"), stockReceived("SKU-HAT")];
        const [c, d, e] = await Promise.all([
          store.append(thread, base, forkEvents),
          other.append(thread, base, forkEvents),
          store.append(thread, base, forkEvents),
        ]);
        expect(c).toEqual(d);
        expect(d).toEqual(e);
        expect(c.branch).not.toBe(0);
        expect(await harness.rows(thread)).toBe(5);
        expect((await other.read(thread, a)).map((x) => x.event)).toEqual([...(await store.read(thread, base)).map((x) => x.event), ...events]);
      } finally {
        await other.close?.();
      }
    });

    it("a store object sees the branches another one made since it last looked", async () => {
      const thread = newThread();
      const other = harness.open();
      try {
        const tip = await store.append(thread, EMPTY_LOG, [stockReceived("SKU-MUG"), stockReceived("SKU-TEE")]);
        expect(await other.read(thread, tip)).toHaveLength(2);
        const fork = await other.append(thread, { branch: 0, length: 1 }, [stockReceived("SKU-CAP")]);
        // `store` cached the thread's branches before the fork existed.
        expect((await store.read(thread, fork)).map((e) => e.position)).toEqual([0, 1]);
        const fork2 = await store.append(thread, { branch: 0, length: 1 }, [stockReceived("SKU-HAT")]);
        expect(fork2.branch).not.toBe(fork.branch);
        expect((await other.read(thread, fork2)).map((e) => (e.event.data as { sku: string }).sku)).toEqual(["SKU-MUG", "SKU-HAT"]);
        expect((await other.read(thread, fork)).map((e) => (e.event.data as { sku: string }).sku)).toEqual(["SKU-MUG", "SKU-CAP"]);
      } finally {
        await other.close?.();
      }
    });

    it("property: appends at random earlier checkpoints read back as a plain list model says, at every checkpoint", async () => {
      const skus = ["SKU-A", "SKU-B", "SKU-C"];
      const eventShape = fc.record({ kind: fc.constantFrom("stock", "order"), sku: fc.constantFrom(...skus), other: fc.constantFrom(...skus) });
      const step = fc.oneof(
        // Append fresh events at a remembered checkpoint (the index is taken modulo how many there are).
        fc.record({ op: fc.constant("append" as const), at: fc.nat(), events: fc.array(eventShape, { minLength: 1, maxLength: 3 }) }),
        // Re-run an earlier append exactly (a step re-run after a crash, or a replay of the same input).
        fc.record({ op: fc.constant("rerun" as const), which: fc.nat() }),
      );
      const query = fc.record(
        {
          from: fc.nat({ max: 12 }),
          to: fc.nat({ max: 14 }),
          limit: fc.nat({ max: 5 }),
          descending: fc.boolean(),
          types: fc.constantFrom(["StockReceived"], ["OrderPlaced"], ["StockReceived", "OrderPlaced"]),
          stream: fc.constantFrom(...skus.map((s) => `sku:${s}`), "customer:C-1"),
        },
        { requiredKeys: [] },
      );

      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), fc.array(query, { minLength: 1, maxLength: 3 }), async (steps, queries) => {
          const thread = newThread();
          const checkpoints: { at: LogPointer; log: StoreEvent[] }[] = [{ at: EMPTY_LOG, log: [] }];
          const appends: { base: number; events: StoreEvent[]; result: LogPointer }[] = [];
          for (const s of steps) {
            if (s.op === "append") {
              const base = s.at % checkpoints.length;
              const events = s.events.map((e) => (e.kind === "stock" ? stockReceived(e.sku) : orderPlaced(nextId("O"), "C-1", [...new Set([e.sku, e.other])])));
              const result = await store.append(thread, checkpoints[base].at, events);
              appends.push({ base, events, result });
              checkpoints.push({ at: result, log: [...checkpoints[base].log, ...events] });
            } else if (appends.length > 0) {
              const earlier = appends[s.which % appends.length];
              const rows = await harness.rows(thread);
              const result = await store.append(thread, checkpoints[earlier.base].at, earlier.events);
              expect(await harness.rows(thread)).toBe(rows);
              checkpoints.push({ at: result, log: [...checkpoints[earlier.base].log, ...earlier.events] });
            }
          }
          for (const checkpoint of checkpoints) {
            const read = await store.read(thread, checkpoint.at);
            expect(read.map((e) => e.event)).toEqual(checkpoint.log);
            expect(read.map((e) => e.position)).toEqual(checkpoint.log.map((_, i) => i));
            expect(checkpoint.at.length).toBe(checkpoint.log.length);
            for (const q of queries) {
              const expected = modelRead(checkpoint.log, q);
              expect((await store.read(thread, checkpoint.at, q)).map((e) => e.position)).toEqual(expected);
              expect(await store.count(thread, checkpoint.at, { from: q.from, to: q.to, types: q.types, stream: q.stream })).toBe(
                modelRead(checkpoint.log, { ...q, limit: undefined }).length,
              );
            }
          }
          const [a, b] = [checkpoints[checkpoints.length - 1], checkpoints[Math.floor(checkpoints.length / 2)]];
          const common = await store.commonLength(thread, a.at, b.at);
          // Structural: never more than the logs' common prefix (two branches may hold equal events).
          expect(common).toBeLessThanOrEqual(modelCommonPrefix(a.log, b.log));
          expect((await store.read(thread, a.at, { to: common })).map((e) => e.event)).toEqual(b.log.slice(0, common));
        }),
        { numRuns: 40 },
      );
    });
  });
}

/** The positions a query selects from a plain list. */
function modelRead(log: readonly StoreEvent[], q: EventQuery): number[] {
  const to = Math.min(q.to ?? log.length, log.length);
  let positions = log
    .map((event, position) => ({ event, position }))
    .filter(({ position }) => position >= (q.from ?? 0) && position < to)
    .filter(({ event }) => !q.types || q.types.includes(event.type))
    .filter(({ event }) => q.stream === undefined || streamsOf(event).includes(q.stream))
    .map(({ position }) => position);
  if (q.descending) positions = positions.reverse();
  return q.limit === undefined ? positions : positions.slice(0, q.limit);
}

function modelCommonPrefix(a: readonly StoreEvent[], b: readonly StoreEvent[]): number {
  let i = 0;
  while (i < a.length && i < b.length && JSON.stringify(a[i]) === JSON.stringify(b[i])) i++;
  return i;
}
