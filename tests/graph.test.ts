import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { generateWorkload, mulberry32 } from "../bench/generator.js";
import { demoLines, hourlyBatches } from "../src/demo.js";
import { verifyValues } from "../src/app/verify.js";
import { compileStoreGraph } from "../src/graph.js";
import { allOrders, approvalById, wholeLog } from "../src/persistence/store_log.js";
import type { State } from "../src/state.js";
import { ingestLines, logOf, openStore, type StoreSession } from "../src/store.js";
import { stateView } from "../src/views.js";
import { testLog } from "./support/log.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500 };

/** A graph on MemorySaver whose event store the test can read (`log`). */
function memoryGraph(threadId = "test") {
  const log = testLog(threadId);
  const graph = compileStoreGraph({ checkpointer: new MemorySaver(), events: log.events });
  const config = { configurable: { thread_id: threadId }, recursionLimit: 500 };
  const ingest = async (inbox: unknown[]) => (await graph.invoke({ inbox }, config)) as State;
  const values = async () => (await graph.getState(config)).values as State;
  /** The rule violations of the state and its log, and a replay of the log from empty (rule 9). */
  const violations = async (state: State) => (await verifyValues(log, state)).violations;
  return { graph, config, log, ingest, values, violations };
}

let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute)).toISOString();
const ev = (type: string, data: Record<string, unknown>, minute = 0) => ({ id: `e-${++seq}`, type, at: at(minute), data });
const product = (sku: string, initialStock: number, priceCents = 1000, reorderPoint = 1) =>
  ev("ProductAdded", { sku, name: `Product ${sku}`, priceCents, initialStock, reorderPoint });
const order = (orderId: string, customerId: string, lines: [string, number][], minute = 1) =>
  ev("OrderPlaced", { orderId, customerId, lines: lines.map(([sku, qty]) => ({ sku, qty })) }, minute);

function comparable(values: State, orders: Awaited<ReturnType<typeof allOrders>>) {
  const { checkpointId: _ignored, ...view } = stateView(values, "", orders);
  return view;
}

describe("the demo day", () => {
  let dir: string;
  let session: StoreSession;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "shopstate-graph-"));
    session = openStore(join(dir, "s.db"), "demo");
  });
  afterAll(async () => {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs end to end on SQLite and on MemorySaver to the same state, and every rule holds", async () => {
    const lines = demoLines();
    const result = await ingestLines(session, lines, { ...RUN, batchSize: 100, source: "demo", batches: hourlyBatches });
    expect(result.rejected).toEqual([]);
    expect(result.stepLimitHit).toBe(false);
    expect(result.accepted).toBe(lines.length);

    const sqlite = (await session.graph.getState(session.config)).values as State;
    const orders = await allOrders(logOf(session, sqlite));
    const memory = memoryGraph();
    for (const batch of hourlyBatches(lines)) await memory.ingest(batch.map((l) => l.text));
    const memoryValues = await memory.values();
    expect(comparable(memoryValues, await memory.log.ordersOf(memoryValues))).toEqual(comparable(sqlite, orders));
    // The same log, event for event, in both event stores.
    const memoryLog = await memory.log.eventsOf(memoryValues);
    expect(memoryLog).toHaveLength(sqlite.log.length);
    expect(await wholeLog(logOf(session, sqlite))).toEqual(memoryLog);

    expect((await verifyValues(session, sqlite)).violations).toEqual([]);
    // The oversell pair: ORD-1010 takes 4 of 6 lamps, ORD-1011 (4 more) is rejected.
    expect(orders["ORD-1010"].status).toBe("shipped");
    expect(orders["ORD-1011"].status).toBe("rejected");
    // The torn jacket (129.00) waits for a person; the cracked mug and the lost socks are refunded.
    expect(Object.values(sqlite.approvals).map((a) => [a.orderId, a.status, a.amountCents])).toEqual([["ORD-1005", "pending", 12_900]]);
    expect(orders["ORD-1001"].refundedCents).toBe(1500);
    expect(orders["ORD-1008"].refundedCents).toBe(4800);
    // The message that tried to talk the system into a refund got nothing.
    expect(orders["ORD-1007"].refundedCents).toBe(0);
    // Cancelled order refunded in full; its reservation released.
    expect(orders["ORD-1004"]).toMatchObject({ status: "cancelled", refundedCents: 4400 });
    // Every agent task finished.
    expect(Object.values(sqlite.tasks).every((t) => t.status === "completed")).toBe(true);
    // Messages have ids derived from their events, so a replay gives the same transcript.
    expect(sqlite.messages.map((m) => m.id)).toContain("msg-evt-041-reply");
  });

  it("processes the parked refund once a person approves it with an ApprovalDecided event", async () => {
    const decision = {
      id: "evt-900",
      type: "ApprovalDecided",
      at: "2026-03-01T18:00:00Z",
      source: "cli",
      data: { approvalId: "apr-evt-043", decision: "approved", by: "manager@shop" },
    };
    const result = await ingestLines(session, [{ line: 1, text: JSON.stringify(decision) }], { ...RUN, batchSize: 100, source: "decisions" });
    expect(result.rejected).toEqual([]);
    const state = (await session.graph.getState(session.config)).values as State;
    // A decided approval leaves the state; its stream in the event store keeps it.
    expect(state.approvals["apr-evt-043"]).toBeUndefined();
    expect(await approvalById(logOf(session, state), "apr-evt-043")).toMatchObject({ status: "approved", decidedBy: "manager@shop" });
    expect((await allOrders(logOf(session, state)))["ORD-1005"]).toMatchObject({ refundedCents: 12_900 });
    // The jacket was delivered, so it is expected back.
    expect(state.inventory["SKU-JACKET"].returned).toBe(1);
    expect((await verifyValues(session, state)).violations).toEqual([]);

    // Deciding it again is bad input: the approval is no longer pending.
    const again = await ingestLines(session, [{ line: 1, text: JSON.stringify({ ...decision, id: "evt-901" }) }], {
      ...RUN,
      batchSize: 100,
      source: "decisions",
    });
    expect(again.rejected.map((r) => r.reason)).toEqual(["approval 'apr-evt-043' was already decided"]);
  });

  it("changes nothing when the same day is ingested again", async () => {
    const before = (await session.graph.getState(session.config)).values as State;
    const result = await ingestLines(session, demoLines(), { ...RUN, batchSize: 100, source: "demo" });
    expect(result.accepted).toBe(0);
    expect(result.duplicates).toBe(demoLines().length);
    const after = (await session.graph.getState(session.config)).values as State;
    expect(after.log).toEqual(before.log);
    expect(comparable(after, await allOrders(logOf(session, after)))).toEqual(comparable(before, await allOrders(logOf(session, before))));
  });
});

describe("one batch, decided in log order", () => {
  it("confirms the first of two orders that would oversell a SKU together and rejects the second", async () => {
    const { ingest, log } = memoryGraph();
    const state = await ingest([product("SKU-A", 5), order("O-1", "C-1", [["SKU-A", 3]]), order("O-2", "C-2", [["SKU-A", 3]], 2)]);
    const orders = await log.ordersOf(state);
    expect(orders["O-1"].status).toBe("confirmed");
    expect(orders["O-2"]).toMatchObject({ status: "rejected", paidCents: 0 });
    expect(state.inventory["SKU-A"]).toMatchObject({ onHand: 5, reserved: 3, available: 2 });
    const events = await log.eventsOf(state);
    const rejection = events.find((e) => e.type === "OrderRejected");
    const placed = events.find((e) => e.type === "OrderPlaced" && e.data.orderId === "O-2");
    expect(placed).toBeDefined();
    expect(rejection).toMatchObject({ source: "order_service", causationId: placed?.id });
  });

  it("sees a stock correction that precedes an order in the same batch", async () => {
    const { ingest, log } = memoryGraph();
    const state = await ingest([product("SKU-A", 5), ev("StockAdjusted", { sku: "SKU-A", delta: -4, reason: "count" }), order("O-1", "C-1", [["SKU-A", 3]])]);
    expect((await log.ordersOf(state))["O-1"].status).toBe("rejected");
    expect(state.inventory["SKU-A"]).toMatchObject({ onHand: 1, reserved: 0 });
  });

  it("refuses a stock correction that would drop on-hand below what orders reserved earlier in the batch", async () => {
    const { ingest, log } = memoryGraph();
    const state = await ingest([product("SKU-A", 5), order("O-1", "C-1", [["SKU-A", 3]]), ev("StockAdjusted", { sku: "SKU-A", delta: -4, reason: "count" })]);
    expect((await log.ordersOf(state))["O-1"].status).toBe("confirmed");
    expect(state.inventory["SKU-A"]).toMatchObject({ onHand: 5, reserved: 3 });
    expect(state.conflicts.map((c) => [c.kind, c.owner])).toEqual([["rule", "inventory_service"]]);
  });
});

describe("proposals", () => {
  it("turns a proposal based on a stale order version into a conflict, and the agent retries on fresh state", async () => {
    const { ingest, log, violations } = memoryGraph();
    await ingest([
      product("SKU-A", 10, 1000),
      product("SKU-B", 10, 1000),
      order("O-1", "C-1", [
        ["SKU-A", 1],
        ["SKU-B", 1],
      ]),
    ]);
    // Two messages about the same order arrive together: both support tasks see order version 1.
    const state = await ingest([
      ev("CustomerMessage", { customerId: "C-1", orderId: "O-1", text: "The Product SKU-A arrived broken, please refund it." }, 5),
      ev("CustomerMessage", { customerId: "C-1", orderId: "O-1", text: "Also the Product SKU-B is the wrong item, refund please." }, 6),
    ]);
    const stale = state.conflicts.filter((c) => c.kind === "stale");
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ by: "support_agent", entity: "order:O-1" });
    const retried = state.tasks[stale[0].taskId!];
    expect(retried).toMatchObject({ status: "completed", attempts: 2 });
    // Both refunds went through in the end, each computed from the order.
    expect((await log.ordersOf(state))["O-1"]).toMatchObject({ refundedCents: 2000, version: 3 });
    expect(await violations(state)).toEqual([]);
  });

  it("records a proposal outside the agent's scope as a conflict and never applies it", async () => {
    const { graph, config, ingest, log } = memoryGraph();
    await ingest([product("SKU-A", 10), order("O-1", "C-1", [["SKU-A", 2]])]);
    const before = (await log.ordersOf((await graph.getState(config)).values as State))["O-1"];
    expect(before).toBeDefined();
    await graph.updateState(
      config,
      {
        proposals: {
          enqueue: [
            {
              id: "rogue-1",
              agent: "marketing_agent",
              taskId: "t-rogue",
              causationId: "e-1",
              at: at(9),
              type: "RefundRequested",
              data: { orderId: "O-1", sku: "SKU-A", qty: 2, reason: "other" },
              basedOn: [],
            },
          ],
        },
      },
      "marketing_agent",
    );
    await graph.invoke(null, config);
    const state = (await graph.getState(config)).values as State;
    expect(state.conflicts).toContainEqual(expect.objectContaining({ eventId: "rogue-1", kind: "scope", by: "marketing_agent" }));
    expect((await log.ordersOf(state))["O-1"]).toEqual(before);
    expect((await log.eventsOf(state)).some((e) => e.id === "rogue-1")).toBe(false);
    expect(state.proposals).toEqual([]);
  });
});

describe("the graph's own input handling", () => {
  it("validates the inbox like the CLI: bad items are rejected with their position, good ones kept", async () => {
    const { ingest, log } = memoryGraph();
    const state = await ingest([
      product("SKU-A", 3),
      "{not json",
      { ...order("O-1", "C-1", [["SKU-A", 0]]) },
      order("O-2", "C-1", [["SKU-NOPE", 1]]),
      order("O-3", "C-1", [["SKU-A", 1]]),
    ]);
    expect(state.rejected.map((r) => [r.source, r.line])).toEqual([
      ["inbox", 2],
      ["inbox", 3],
      ["inbox", 4],
    ]);
    expect(state.rejected[0].reason).toMatch(/malformed JSON/);
    expect(state.rejected[1].reason).toMatch(/qty/);
    expect(state.rejected[2].reason).toMatch(/unknown SKU 'SKU-NOPE'/);
    expect(state.lastIngest).toMatchObject({ received: 5, accepted: 2 });
    expect((await log.ordersOf(state))["O-3"].status).toBe("confirmed");
  });

  it("reports the step limit and continues from its cursors on the next run", async () => {
    const { graph, config, values, log } = memoryGraph();
    await expect(
      graph.invoke({ inbox: [product("SKU-A", 2, 1000, 1), order("O-1", "C-1", [["SKU-A", 1]])] }, { ...config, recursionLimit: 3 }),
    ).rejects.toThrow(/Recursion limit/);
    expect((await log.ordersOf(await values()))["O-1"]).toBeDefined();
    // The agents have not run yet; an empty run picks up every subscriber's backlog.
    await graph.invoke({ inbox: [] }, config);
    const state = await values();
    expect(Object.values(state.tasks).length).toBeGreaterThan(0);
    expect(Object.values(state.tasks).every((t) => t.status === "completed")).toBe(true);
    expect(state.reorders["SKU-A"]).toBeDefined();
  });

  it("records a changed approval threshold as a PolicyChanged event that replays", async () => {
    const log = testLog("policy");
    const graph = compileStoreGraph({ checkpointer: new MemorySaver(), events: log.events });
    const config = { configurable: { thread_id: "policy" }, recursionLimit: 200, context: { approvalThresholdCents: 500, model: undefined } };
    await graph.invoke({ inbox: [product("SKU-A", 5, 1000), order("O-1", "C-1", [["SKU-A", 1]])] }, config);
    const state = (await graph.invoke(
      { inbox: [ev("CustomerMessage", { customerId: "C-1", text: "My Product SKU-A arrived damaged, refund please" }, 9)] },
      config,
    )) as State;
    expect(state.policy.approvalThresholdCents).toBe(500);
    expect((await log.eventsOf(state)).filter((e) => e.type === "PolicyChanged")).toHaveLength(1);
    expect(Object.values(state.approvals)).toHaveLength(1);
    expect((await verifyValues(log, state)).violations).toEqual([]);
  });
});

describe("generated days through the whole graph", () => {
  it.each([1, 7, 42, 1234])("seed %i: every rule holds and the log replays to the state, whatever the batch sizes", async (seed) => {
    const lines = generateWorkload({ events: 160, seed, products: 6, customers: 12 });
    const random = mulberry32(seed);
    const { ingest, values, violations } = memoryGraph();
    for (let i = 0; i < lines.length;) {
      const size = 1 + Math.floor(random() * 40);
      await ingest(lines.slice(i, i + size));
      i += size;
    }
    const state = await values();
    expect(state.rejected).toEqual([]);
    expect(await violations(state)).toEqual([]);
    expect(Object.values(state.tasks).filter((t) => t.status !== "completed")).toEqual([]);
    expect(state.proposals).toEqual([]);
  });
});
