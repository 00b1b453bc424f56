/**
 * Human approval (docs/RULES.md rule 4, issue #3 item 5): the approval gate pauses
 * a run with interrupt() when new large refunds wait; a person's decisions are
 * ApprovalDecided events, by resuming the pause or as ordinary input; a pause
 * never loses anything and never stalls the rest of the store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, MemorySaver } from "@langchain/langgraph";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { APPROVAL_GATE, type ApprovalRequest, type Decision } from "../src/nodes/approval_gate.js";
import { verifyValues } from "../src/app/verify.js";
import { compileStoreGraph } from "../src/graph.js";
import { allOrders, approvalById } from "../src/persistence/store_log.js";
import type { State } from "../src/state.js";
import { decideApprovals, ingestLines, logOf, openStore, pausedAtGate, type StoreSession } from "../src/store.js";
import { testLog } from "./support/log.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500 };

let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute)).toISOString();
const ev = (type: string, data: Record<string, unknown>, minute = 0) => ({ id: `a-${++seq}`, type, at: at(minute), data });

/** Two customers with an expensive jacket each, both shipped. */
function twoJacketOrders() {
  return [
    ev("ProductAdded", { sku: "JACKET", name: "Rain Jacket", priceCents: 15_000, initialStock: 10, reorderPoint: 1 }),
    ev("ProductAdded", { sku: "SOCK", name: "Wool Socks", priceCents: 1_200, initialStock: 50, reorderPoint: 1 }),
    ev(
      "OrderPlaced",
      {
        orderId: "O-1",
        customerId: "C-ANN",
        lines: [
          { sku: "JACKET", qty: 1 },
          { sku: "SOCK", qty: 2 },
        ],
      },
      1,
    ),
    ev("OrderPlaced", { orderId: "O-2", customerId: "C-BEN", lines: [{ sku: "JACKET", qty: 1 }] }, 2),
    ev("OrderShipped", { orderId: "O-1" }, 3),
    ev("OrderShipped", { orderId: "O-2" }, 4),
  ];
}

const damaged = (customerId: string, orderId: string, minute: number) =>
  ev("CustomerMessage", { customerId, orderId, text: `My rain jacket from order ${orderId} arrived torn. I'd like a refund please.` }, minute);

function lines(events: unknown[]) {
  return events.map((e, i) => ({ line: i + 1, text: JSON.stringify(e) }));
}

function memoryGraph() {
  const log = testLog("approvals");
  const graph = compileStoreGraph({ checkpointer: new MemorySaver(), events: log.events });
  const config = { configurable: { thread_id: "approvals" }, recursionLimit: 500 };
  const run = async (input: unknown) => (await graph.invoke(input as never, config)) as State & { __interrupt__?: { value: ApprovalRequest }[] };
  /** An approval at these values: a pending one is in the state, a decided one left it for its stream. */
  const approval = async (values: State, id: string) => values.approvals[id] ?? (await approvalById(log.at(values), id));
  const violations = async (values: State) => (await verifyValues(log, values)).violations;
  return { graph, config, run, log, approval, violations };
}

const decision = (approvalId: string, verdict: Decision["decision"], reason?: string): Decision => ({
  approvalId,
  decision: verdict,
  by: "alice",
  at: "2026-03-01T12:00:00.000Z",
  ...(reason ? { reason } : {}),
});

describe("the approval gate in the graph", () => {
  it("pauses once with both new approvals, and one resume decides both", async () => {
    const { graph, config, run, log, approval, violations } = memoryGraph();
    const paused = await run({ inbox: [...twoJacketOrders(), damaged("C-ANN", "O-1", 10), damaged("C-BEN", "O-2", 11)] });

    const interrupt = paused.__interrupt__?.[0]?.value;
    expect(interrupt?.kind).toBe("approvals");
    expect(interrupt?.pendingApprovals.map((a) => [a.orderId, a.sku, a.qty, a.amountCents])).toEqual([
      ["O-1", "JACKET", 1, 15_000],
      ["O-2", "JACKET", 1, 15_000],
    ]);
    const snapshot = await graph.getState(config);
    expect(snapshot.next).toEqual([APPROVAL_GATE]);
    expect(pausedAtGate(snapshot)).toBe(true);
    // The refund is held as data while it waits: nothing refunded yet.
    expect((await log.ordersOf(paused))["O-1"].refundedCents).toBe(0);

    const [first, second] = interrupt!.pendingApprovals.map((a) => a.id);
    const done = await run(new Command({ resume: { decisions: [decision(first, "approved", "photos checked"), decision(second, "denied", "no photos")] } }));

    expect(done.__interrupt__).toBeUndefined();
    // Decided approvals leave the state (it holds pending ones only); their streams keep them.
    expect(done.approvals).toEqual({});
    expect(await approval(done, first)).toMatchObject({ status: "approved", decidedBy: "alice" });
    expect(await approval(done, second)).toMatchObject({ status: "denied", decidedBy: "alice" });
    const orders = await log.ordersOf(done);
    expect(orders["O-1"].refundedCents).toBe(15_000);
    expect(orders["O-2"].refundedCents).toBe(0);
    const events = await log.eventsOf(done);
    const decided = events.filter((e) => e.type === "ApprovalDecided");
    expect(decided.map((e) => [e.data, e.at])).toEqual([
      [{ approvalId: first, decision: "approved", by: "alice", reason: "photos checked" }, "2026-03-01T12:00:00.000Z"],
      [{ approvalId: second, decision: "denied", by: "alice", reason: "no photos" }, "2026-03-01T12:00:00.000Z"],
    ]);
    expect(events.some((e) => e.type === "RefundRejected" && (e.data as { approvalId?: string }).approvalId === second)).toBe(true);
    expect((await graph.getState(config)).next).toEqual([]);
    expect(await violations(done)).toEqual([]);
  });

  it("resuming with nothing leaves them pending, and they are not shown again; a later one is shown alone", async () => {
    const { graph, config, run } = memoryGraph();
    await run({ inbox: [...twoJacketOrders(), damaged("C-ANN", "O-1", 10)] });
    const resumed = await run(new Command({ resume: [] }));
    expect(resumed.__interrupt__).toBeUndefined();
    expect(Object.values(resumed.approvals).map((a) => a.status)).toEqual(["pending"]);

    const quiet = await run({ inbox: [ev("StockReceived", { sku: "SOCK", qty: 5 }, 20)] });
    expect(quiet.__interrupt__).toBeUndefined();

    const next = await run({ inbox: [damaged("C-BEN", "O-2", 30)] });
    expect(next.__interrupt__?.[0].value.pendingApprovals.map((a) => a.orderId)).toEqual(["O-2"]);
    expect((await graph.getState(config)).next).toEqual([APPROVAL_GATE]);
  });

  it("new input while paused loses nothing: the pending approval is shown again at the end of that run", async () => {
    const { run, log, violations } = memoryGraph();
    const paused = await run({ inbox: [...twoJacketOrders(), damaged("C-ANN", "O-1", 10)] });
    const before = (await log.eventsOf(paused)).map((e) => e.id);

    // New input, not a resume: LangGraph starts a new run. The gate ran alone and wrote nothing, so nothing is dropped.
    const after = await run({ inbox: [ev("OrderPlaced", { orderId: "O-3", customerId: "C-CAT", lines: [{ sku: "SOCK", qty: 1 }] }, 40)] });
    expect((await log.eventsOf(after)).map((e) => e.id).slice(0, before.length)).toEqual(before);
    expect((await log.ordersOf(after))["O-3"].status).toBe("confirmed");
    expect(Object.values(after.approvals).map((a) => a.status)).toEqual(["pending"]);
    expect(after.__interrupt__?.[0].value.pendingApprovals.map((a) => a.orderId)).toEqual(["O-1"]);
    expect(await violations(after)).toEqual([]);
  });

  it("a malformed resume value is rejected with a reason and the approval stays pending", async () => {
    const { run } = memoryGraph();
    await run({ inbox: [...twoJacketOrders(), damaged("C-ANN", "O-1", 10)] });
    const done = await run(new Command({ resume: "yes please" }));
    expect(done.lastIngest?.rejected[0].reason).toMatch(/cannot read the resume value "yes please"; expected \{"decisions"/);
    expect(Object.values(done.approvals).map((a) => a.status)).toEqual(["pending"]);
  });

  it("a decision naming an unknown approval or a bad verdict is rejected by ingest like any bad input", async () => {
    const { run } = memoryGraph();
    const paused = await run({ inbox: [...twoJacketOrders(), damaged("C-ANN", "O-1", 10)] });
    const id = paused.__interrupt__![0].value.pendingApprovals[0].id;
    const done = await run(
      new Command({
        resume: [
          { approvalId: "apr-nope", decision: "approved", by: "bob" },
          { approvalId: id, decision: "maybe", by: "bob" },
        ],
      }),
    );
    const reasons = done.lastIngest?.rejected.map((r) => r.reason) ?? [];
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatch(/apr-nope/);
    expect(reasons[1]).toMatch(/decision.*'approved' or 'denied'/);
    expect(done.approvals[id].status).toBe("pending");
  });
});

describe("deciding from the CLI's store operations (SQLite)", () => {
  let dir: string;
  let path: string;
  let session: StoreSession;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "shopstate-approval-"));
    path = join(dir, "s.db");
    session = openStore(path, "shop");
  });
  afterEach(async () => {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const pendingIds = async (s: StoreSession) =>
    Object.values(((await s.graph.getState(s.config)).values as State).approvals)
      .filter((a) => a.status === "pending")
      .map((a) => a.id);

  it("resumes the paused run after a process restart (a new connection to the same file)", async () => {
    await ingestLines(session, lines([...twoJacketOrders(), damaged("C-ANN", "O-1", 10)]), { ...RUN, batchSize: 100, source: "t" });
    const [id] = await pendingIds(session);
    await session.close();

    session = openStore(path, "shop");
    expect(pausedAtGate(await session.graph.getState(session.config))).toBe(true);
    const result = await decideApprovals(session, [decision(id, "approved")], RUN);
    expect(result.resumed).toBe(true);
    expect(result.approvals[0]).toMatchObject({ id, status: "approved" });
    const values = (await session.graph.getState(session.config)).values as State;
    expect((await allOrders(logOf(session, values)))["O-1"].refundedCents).toBe(15_000);
    expect((await verifyValues(session, values)).violations).toEqual([]);
  });

  it("decides as plain input when nothing is paused, and new input meanwhile does not stall", async () => {
    await ingestLines(session, lines([...twoJacketOrders(), damaged("C-ANN", "O-1", 10)]), { ...RUN, batchSize: 100, source: "t" });
    const [id] = await pendingIds(session);
    // The store keeps working while the approval waits: a small refund and a new order go through.
    const more = await ingestLines(
      session,
      lines([
        ev("CustomerMessage", { customerId: "C-ANN", orderId: "O-1", text: "One pair of the wool socks was torn, refund please" }, 20),
        ev("OrderPlaced", { orderId: "O-4", customerId: "C-DAN", lines: [{ sku: "SOCK", qty: 3 }] }, 21),
      ]),
      { ...RUN, batchSize: 100, source: "t2" },
    );
    expect(more.pendingApprovals).toBe(1);
    let values = (await session.graph.getState(session.config)).values as State;
    const orders = await allOrders(logOf(session, values));
    const smallRefund = orders["O-1"].refundedCents;
    expect(smallRefund).toBeGreaterThan(0);
    expect(smallRefund).toBeLessThanOrEqual(2_400);
    expect(orders["O-4"].status).toBe("confirmed");
    expect(pausedAtGate(await session.graph.getState(session.config))).toBe(false);

    const result = await decideApprovals(session, [decision(id, "denied", "no photos")], RUN);
    expect(result.resumed).toBe(false);
    expect(result.approvals[0]).toMatchObject({ status: "denied", decisionReason: "denied by alice: no photos" });
    values = (await session.graph.getState(session.config)).values as State;
    expect((await allOrders(logOf(session, values)))["O-1"].refundedCents).toBe(smallRefund);
    expect(await approvalById(logOf(session, values), id)).toMatchObject({ status: "denied", decidedBy: "alice" });
    expect((await verifyValues(session, values)).violations).toEqual([]);
  });

  it("refuses to decide an approval twice, naming the pending ones", async () => {
    await ingestLines(session, lines([...twoJacketOrders(), damaged("C-ANN", "O-1", 10), damaged("C-BEN", "O-2", 11)]), {
      ...RUN,
      batchSize: 100,
      source: "t",
    });
    const [first, second] = await pendingIds(session);
    await decideApprovals(session, [decision(first, "approved")], RUN);
    await expect(decideApprovals(session, [decision(first, "denied")], RUN)).rejects.toThrow(
      `cannot decide approval '${first}': it was already approved by alice (pending: ${second})`,
    );
    await expect(decideApprovals(session, [decision("apr-x", "denied")], RUN)).rejects.toThrow(/there is no such approval/);
  });
});
