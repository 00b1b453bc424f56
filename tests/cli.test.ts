/**
 * The `shopstate` CLI as a user runs it (docs/cli.md): the real `bin/shopstate.js`
 * in a child process, a temporary SQLite file per group of tests, exit codes,
 * stdout/stderr contracts and the documented JSON shapes.
 *
 * Every CLI call costs about a second of tsx start-up, so the read-only tests
 * share one demo store and the calls they need run side by side.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ingestLines, openStore } from "../src/store.js";
import { cli, jsonLines, parseJson, tempDir, type Run } from "./support/cli.js";

const line = (value: unknown) => JSON.stringify(value);

// ---------------------------------------------------------------- shapes of docs/cli.md

interface StockView {
  onHand: number;
  reserved: number;
  returned: number;
  available: number;
  version: number;
}
interface OrderView {
  customerId: string;
  status: string;
  paidCents: number;
  refundedCents: number;
  lines: { sku: string; qty: number; unitPriceCents: number; refundedQty: number }[];
  version: number;
}
interface ApprovalView {
  id: string;
  kind: string;
  orderId: string;
  sku: string;
  qty: number;
  amountCents: number;
}
interface RejectedView {
  source: string;
  line: number;
  reason: string;
}
interface StateJson {
  inventory: Record<string, StockView>;
  orders: Record<string, OrderView>;
  promotions: Record<string, string>;
  pendingApprovals: ApprovalView[];
  rejected: RejectedView[];
  eventCount: number;
  checkpointId: string;
  [key: string]: unknown;
}
interface Envelope {
  id: string;
  type: string;
  at: string;
  source: string;
  data: Record<string, unknown>;
  causationId?: string;
  v?: number;
}

const ORDER_STATUSES = ["confirmed", "rejected", "shipped", "delivered", "cancelled"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function expectStateShape(state: StateJson): void {
  for (const key of ["inventory", "orders", "promotions", "pendingApprovals", "rejected", "eventCount", "checkpointId"]) expect(state).toHaveProperty(key);
  expect(typeof state.eventCount).toBe("number");
  expect(state.checkpointId).toMatch(UUID);
  for (const stock of Object.values(state.inventory)) {
    for (const key of ["onHand", "reserved", "returned", "available", "version"] as const) expect(Number.isInteger(stock[key]), key).toBe(true);
    expect(stock.available).toBe(stock.onHand - stock.reserved);
  }
  for (const order of Object.values(state.orders)) {
    expect(typeof order.customerId).toBe("string");
    expect(ORDER_STATUSES).toContain(order.status);
    for (const key of ["paidCents", "refundedCents", "version"] as const) expect(Number.isInteger(order[key]), key).toBe(true);
    expect(Array.isArray(order.lines)).toBe(true);
    for (const l of order.lines)
      expect(l).toEqual({ sku: expect.any(String), qty: expect.any(Number), unitPriceCents: expect.any(Number), refundedQty: expect.any(Number) });
  }
  for (const status of Object.values(state.promotions)) expect(["active", "paused"]).toContain(status);
  expect(Array.isArray(state.pendingApprovals)).toBe(true);
  for (const a of state.pendingApprovals) {
    expect(a).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        kind: "refund",
        orderId: expect.any(String),
        sku: expect.any(String),
        qty: expect.any(Number),
        amountCents: expect.any(Number),
      }),
    );
  }
  expect(Array.isArray(state.rejected)).toBe(true);
  for (const r of state.rejected)
    expect(r).toEqual(expect.objectContaining({ source: expect.any(String), line: expect.any(Number), reason: expect.any(String) }));
}

function expectEnvelope(event: Envelope): void {
  expect(event).toEqual(
    expect.objectContaining({ id: expect.any(String), type: expect.any(String), at: expect.any(String), source: expect.any(String), data: expect.any(Object) }),
  );
  expect(Number.isNaN(Date.parse(event.at))).toBe(false);
}

// ---------------------------------------------------------------- the demo store, shared by read-only tests

describe("shopstate demo and the read-only commands", () => {
  let dir: string;
  let db: string;
  let first: Run;
  let second: Run;
  let verifyRun: Run;
  let approvalsRun: Run;
  let eventsRun: Run;
  let rejectedRun: Run;
  let stateRun: Run;

  beforeAll(async () => {
    dir = tempDir();
    db = join(dir, "s.db");
    first = await cli(["demo", "--db", db]);
    second = await cli(["demo", "--db", db, "--json"]);
    [verifyRun, approvalsRun, eventsRun, rejectedRun, stateRun] = await Promise.all([
      cli(["verify", "--db", db, "--json"]),
      cli(["approvals", "--db", db, "--json"]),
      cli(["events", "--db", db, "--json"]),
      cli(["events", "--type", "OrderRejected", "--db", db, "--json"]),
      cli(["state", "--db", db, "--json"]),
    ]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("demo exits 0 and its summary names every agent and service", () => {
    expect(first.code, first.stderr).toBe(0);
    for (const actor of ["order_service", "inventory_service", "support_agent", "inventory_agent", "marketing_agent"]) expect(first.stdout).toContain(actor);
  });

  test("demo can run twice into the same store and gives the same day again", () => {
    expect(second.code, second.stderr).toBe(0);
    const report = parseJson<{ summary: { actor: string }[]; state: StateJson; violations: unknown[] }>(second.stdout, "demo --json stdout");
    expect(report.summary.map((s) => s.actor)).toEqual(
      expect.arrayContaining(["order_service", "inventory_service", "support_agent", "inventory_agent", "marketing_agent"]),
    );
    expect(report.violations).toEqual([]);
    const firstCount = Number(/: (\d+) events/.exec(first.stdout)?.[1]);
    expect(firstCount).toBeGreaterThan(47);
    // A fresh day, not the first day's log plus a second copy.
    expect(report.state.eventCount).toBe(firstCount);
    expect(parseJson<StateJson>(stateRun.stdout, "state --json stdout").eventCount).toBe(firstCount);
  });

  test("verify exits 0 on the demo store and verify --json says ok with no violations", () => {
    expect(verifyRun.code, verifyRun.stdout + verifyRun.stderr).toBe(0);
    const view = parseJson<{ ok: boolean; violations: unknown[]; checkpointId: string }>(verifyRun.stdout, "verify --json stdout");
    expect(view).toEqual(expect.objectContaining({ ok: true, violations: [] }));
  });

  test("approvals --json lists the large rain-jacket refund waiting for a person", () => {
    expect(approvalsRun.code, approvalsRun.stderr).toBe(0);
    const pending = parseJson<ApprovalView[]>(approvalsRun.stdout, "approvals --json stdout");
    expect(pending).toContainEqual(
      expect.objectContaining({ kind: "refund", orderId: "ORD-1005", sku: "SKU-JACKET", qty: 1, amountCents: 12900, id: expect.any(String) }),
    );
  });

  test("events --json is an array of envelopes, oldest first", () => {
    expect(eventsRun.code, eventsRun.stderr).toBe(0);
    const events = parseJson<Envelope[]>(eventsRun.stdout, "events --json stdout");
    expect(Array.isArray(events)).toBe(true);
    for (const e of events) expectEnvelope(e);
    expect(events[0].id).toBe("evt-001");
    // The day's input events appear in the order they were sent.
    const inputIds = events.map((e) => e.id).filter((id) => /^evt-\d{3}$/.test(id));
    expect(inputIds).toHaveLength(47);
    expect(inputIds).toEqual([...inputIds].sort());
    // Ids are unique; produced events name their producer and trigger.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const confirmed = events.find((e) => e.type === "OrderConfirmed");
    expect(confirmed).toEqual(expect.objectContaining({ source: "order_service", causationId: expect.any(String) }));
    const state = parseJson<StateJson>(stateRun.stdout, "state --json stdout");
    expect(events).toHaveLength(state.eventCount);
  });

  test("events --type OrderRejected keeps only the oversell rejection of ORD-1011", () => {
    expect(rejectedRun.code, rejectedRun.stderr).toBe(0);
    const events = parseJson<Envelope[]>(rejectedRun.stdout, "events --type --json stdout");
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe("OrderRejected");
    expect(events[0].data).toEqual(expect.objectContaining({ orderId: "ORD-1011", reason: expect.any(String) }));
  });

  test("state --json has the keys and shapes of docs/cli.md", () => {
    expect(stateRun.code, stateRun.stderr).toBe(0);
    const state = parseJson<StateJson>(stateRun.stdout, "state --json stdout");
    expectStateShape(state);
    expect(Object.keys(state.inventory)).toEqual(expect.arrayContaining(["SKU-TEE", "SKU-MUG", "SKU-LAMP", "SKU-JACKET"]));
    expect(state.orders["ORD-1011"]).toEqual(expect.objectContaining({ customerId: "C-ERIN", status: "rejected" }));
    expect(state.orders["ORD-1001"].lines).toContainEqual(expect.objectContaining({ sku: "SKU-MUG", qty: 2, unitPriceCents: 1500 }));
    expect(state.pendingApprovals).toContainEqual(expect.objectContaining({ sku: "SKU-JACKET", amountCents: 12900 }));
    expect(state.rejected).toEqual([]);
    // The full checkpoint id of the head, the same one verify reports.
    expect(state.checkpointId).toBe(parseJson<{ checkpointId: string }>(verifyRun.stdout, "verify --json stdout").checkpointId);
  });
});

// ---------------------------------------------------------------- bad input

const GOOD = {
  productA: {
    id: "e1",
    type: "ProductAdded",
    at: "2026-03-01T07:00:00Z",
    data: { sku: "SKU-A", name: "Alpha", priceCents: 1000, initialStock: 10, reorderPoint: 2 },
  },
  productB: {
    id: "e2",
    type: "ProductAdded",
    at: "2026-03-01T07:01:00Z",
    data: { sku: "SKU-B", name: "Beta", priceCents: 500, initialStock: 5, reorderPoint: 1 },
  },
  order: {
    id: "e9",
    type: "OrderPlaced",
    at: "2026-03-01T08:05:00Z",
    data: {
      orderId: "O-5",
      customerId: "C-2",
      lines: [
        { sku: "SKU-A", qty: 3 },
        { sku: "SKU-B", qty: 2 },
      ],
    },
  },
  ship: { id: "e10", type: "OrderShipped", at: "2026-03-01T09:00:00Z", data: { orderId: "O-5" } },
};

/** Line number -> [text, a word the reason must contain]. */
const BAD: Record<number, [string, RegExp]> = {
  3: ["{not json", /json/i],
  4: [line({ id: "e3", type: "Bogus", at: "2026-03-01T07:02:00Z", data: {} }), /type|Bogus/i],
  5: [line({ id: "e4", type: "OrderPlaced", at: "2026-03-01T08:00:00Z", data: { orderId: "O-1", lines: [{ sku: "SKU-A", qty: 1 }] } }), /customerId/],
  6: [
    line({ id: "e5", type: "OrderPlaced", at: "2026-03-01T08:01:00Z", data: { orderId: "O-2", customerId: "C-1", lines: [{ sku: "SKU-A", qty: 0 }] } }),
    /qty/,
  ],
  7: [
    line({ id: "e6", type: "OrderPlaced", at: "2026-03-01T08:02:00Z", data: { orderId: "O-3", customerId: "C-1", lines: [{ sku: "SKU-A", qty: -2 }] } }),
    /qty/,
  ],
  8: [
    line({ id: "e7", type: "OrderPlaced", at: "2026-03-01T08:03:00Z", data: { orderId: "O-4", customerId: "C-1", lines: [{ sku: "SKU-NOPE", qty: 1 }] } }),
    /SKU-NOPE/,
  ],
  9: [line({ id: "e8", type: "OrderShipped", at: "2026-03-01T08:04:00Z", data: { orderId: "O-404" } }), /O-404/],
  11: [line({ id: "e1", type: "StockReceived", at: "2026-03-01T08:06:00Z", data: { sku: "SKU-B", qty: 4 } }), /e1/],
};
const BAD_LINES = Object.keys(BAD).map(Number);

function mixedFile(): string {
  const lines = [
    line(GOOD.productA),
    line(GOOD.productB),
    BAD[3][0],
    BAD[4][0],
    BAD[5][0],
    BAD[6][0],
    BAD[7][0],
    BAD[8][0],
    BAD[9][0],
    line(GOOD.order),
    BAD[11][0],
    line(GOOD.ship),
  ];
  return `${lines.join("\n")}\n`;
}

function expectValidLinesApplied(state: StateJson): void {
  // 10 + 5 in stock, 3 + 2 shipped: nothing of the bad lines touched the stock.
  expect(state.inventory["SKU-A"]).toEqual(expect.objectContaining({ onHand: 7, reserved: 0, available: 7, returned: 0 }));
  expect(state.inventory["SKU-B"]).toEqual(expect.objectContaining({ onHand: 3, reserved: 0, available: 3, returned: 0 }));
  expect(Object.keys(state.inventory).sort()).toEqual(["SKU-A", "SKU-B"]);
  expect(Object.keys(state.orders)).toEqual(["O-5"]);
  expect(state.orders["O-5"]).toEqual(expect.objectContaining({ customerId: "C-2", status: "shipped", paidCents: 4000, refundedCents: 0 }));
}

describe("ingest of a file with valid and bad lines", () => {
  let dir: string;
  let db: string;
  let file: string;
  let firstIngest: Run;
  let eventsAfter: Run;
  let stateAfter: Run;
  let againJson: Run;
  let stateAgain: Run;

  beforeAll(async () => {
    dir = tempDir();
    db = join(dir, "s.db");
    file = join(dir, "mixed.jsonl");
    writeFileSync(file, mixedFile());
    firstIngest = await cli(["ingest", file, "--db", db]);
    [eventsAfter, stateAfter] = await Promise.all([cli(["events", "--db", db, "--json"]), cli(["state", "--db", db, "--json"])]);
    againJson = await cli(["ingest", file, "--db", db, "--json"]);
    stateAgain = await cli(["state", "--db", db, "--json"]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("exits 2 and names every bad line on stderr as FILE:LINE: rejected: REASON", () => {
    expect(firstIngest.code, firstIngest.stderr).toBe(2);
    const reported = firstIngest.stderr.split("\n").filter((l) => l.includes(": rejected: "));
    for (const n of BAD_LINES) {
      const prefix = `${file}:${n}: rejected: `;
      const hit = reported.find((l) => l.startsWith(prefix));
      expect(hit, `stderr should report line ${n}:\n${firstIngest.stderr}`).toBeDefined();
      expect(hit!.slice(prefix.length), `reason of line ${n}`).toMatch(BAD[n][1]);
    }
    // Only the bad lines: valid lines 1, 2, 10 and 12 are not reported.
    expect(reported).toHaveLength(BAD_LINES.length);
  });

  test("every valid line is processed despite its bad neighbours", () => {
    expect(eventsAfter.code, eventsAfter.stderr).toBe(0);
    const events = parseJson<Envelope[]>(eventsAfter.stdout, "events --json stdout");
    const ids = events.map((e) => e.id);
    for (const good of Object.values(GOOD)) {
      const logged = events.find((e) => e.id === good.id);
      expect(logged, good.id).toBeDefined();
      expect(logged!.type).toBe(good.type);
      expect(logged!.data).toEqual(expect.objectContaining(good.data));
    }
    expect(ids.indexOf("e1")).toBeLessThan(ids.indexOf("e2"));
    expect(ids.indexOf("e2")).toBeLessThan(ids.indexOf("e9"));
    expect(ids.indexOf("e9")).toBeLessThan(ids.indexOf("e10"));
    // Rejected inputs are not events, and the reused id kept its first meaning.
    for (const bad of ["e3", "e4", "e5", "e6", "e7", "e8"]) expect(ids).not.toContain(bad);
    expect(events.filter((e) => e.id === "e1")).toHaveLength(1);
    expect(events.some((e) => e.type === "StockReceived")).toBe(false);

    expect(stateAfter.code, stateAfter.stderr).toBe(0);
    const state = parseJson<StateJson>(stateAfter.stdout, "state --json stdout");
    expectStateShape(state);
    expectValidLinesApplied(state);
    expect(state.eventCount).toBe(events.length);
  });

  test("state --json lists each bad line as {source, line, reason}", () => {
    const state = parseJson<StateJson>(stateAfter.stdout, "state --json stdout");
    expect(state.rejected.map((r) => r.line).sort((a, b) => a - b)).toEqual(BAD_LINES);
    for (const r of state.rejected) {
      expect(r.source).toBe(file);
      expect(r.reason).toMatch(BAD[r.line][1]);
    }
  });

  test("with --json, stdout is one JSON document and every stderr line is JSON", () => {
    expect(againJson.code, againJson.stderr).toBe(2);
    const report = parseJson<{ received: number; accepted: number; duplicates: number; rejected: RejectedView[]; exitCode: number; eventCount: number }>(
      againJson.stdout,
      "ingest --json stdout",
    );
    expect(report.received).toBe(12);
    expect(report.accepted).toBe(0);
    expect(report.duplicates).toBe(4);
    expect(report.exitCode).toBe(2);
    expect(report.rejected.map((r) => r.line).sort((a, b) => a - b)).toEqual(BAD_LINES);
    const errLines = jsonLines(againJson.stderr);
    expect(errLines.length).toBeGreaterThanOrEqual(BAD_LINES.length);
    const lines = errLines.map((l) => (l.rejected as RejectedView | undefined)?.line).filter((n) => n !== undefined);
    expect(lines.sort((a, b) => a - b)).toEqual(BAD_LINES);
    for (const l of errLines) if (l.rejected) expect(l.rejected).toEqual(expect.objectContaining({ source: file, reason: expect.any(String) }));
  });

  test("ingesting the same file again changes nothing; bad lines are reported again but recorded once", () => {
    expect(stateAgain.code, stateAgain.stderr).toBe(0);
    const before = parseJson<StateJson>(stateAfter.stdout, "state --json stdout");
    const after = parseJson<StateJson>(stateAgain.stdout, "state --json stdout");
    expect(after.eventCount).toBe(before.eventCount);
    expect(after.rejected).toHaveLength(BAD_LINES.length);
    const { checkpointId: _a, ...restBefore } = before;
    const { checkpointId: _b, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
  });
});

// ---------------------------------------------------------------- stdin, oversell, stores

describe("ingest from stdin, an oversell in one batch, and stores", () => {
  let dir: string;
  let db: string;
  let ingestRun: Run;
  let stateRun: Run;

  const oversell = [
    { id: "p1", type: "ProductAdded", at: "2026-03-02T07:00:00Z", data: { sku: "SKU-K", name: "Kettle", priceCents: 3000, initialStock: 5, reorderPoint: 1 } },
    { id: "o1", type: "OrderPlaced", at: "2026-03-02T08:00:00Z", data: { orderId: "K-1", customerId: "C-1", lines: [{ sku: "SKU-K", qty: 3 }] } },
    { id: "o2", type: "OrderPlaced", at: "2026-03-02T08:01:00Z", data: { orderId: "K-2", customerId: "C-2", lines: [{ sku: "SKU-K", qty: 3 }] } },
  ];

  beforeAll(async () => {
    dir = tempDir();
    db = join(dir, "s.db");
    ingestRun = await cli(["ingest", "-", "--db", db, "--thread", "shop-a", "--json"], { input: `${oversell.map(line).join("\n")}\n` });
    stateRun = await cli(["state", "--db", db, "--thread", "shop-a", "--json"]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("ingest - reads the events from standard input", () => {
    expect(ingestRun.code, ingestRun.stderr).toBe(0);
    const report = parseJson<{ received: number; accepted: number; rejected: unknown[]; exitCode: number }>(ingestRun.stdout, "ingest --json stdout");
    expect(report).toEqual(expect.objectContaining({ received: 3, accepted: 3, rejected: [], exitCode: 0 }));
    expect(stateRun.code, stateRun.stderr).toBe(0);
    const state = parseJson<StateJson>(stateRun.stdout, "state --json stdout");
    expect(Object.keys(state.inventory)).toEqual(["SKU-K"]);
    expect(Object.keys(state.orders).sort()).toEqual(["K-1", "K-2"]);
  });

  test("two orders in one batch that together oversell: first confirmed, second rejected, exit 0", () => {
    expect(ingestRun.code, ingestRun.stderr).toBe(0);
    const state = parseJson<StateJson>(stateRun.stdout, "state --json stdout");
    expect(state.orders["K-1"].status).toBe("confirmed");
    expect(state.orders["K-1"].paidCents).toBe(9000);
    expect(state.orders["K-2"].status).toBe("rejected");
    expect(state.orders["K-2"].paidCents).toBe(0);
    expect(state.inventory["SKU-K"]).toEqual(expect.objectContaining({ onHand: 5, reserved: 3, available: 2 }));
    // A rule rejection is not bad input.
    expect(state.rejected).toEqual([]);
  });

  test("stores --json lists the stores, stores --delete removes one (stdin bad lines are named 'stdin')", async () => {
    const second = await cli(["ingest", "-", "--db", db, "--thread", "shop-b"], { input: `${line(oversell[0])}\nnot json at all\n` });
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toMatch(/^stdin:2: rejected: .*json/im);

    const listed = await cli(["stores", "--db", db, "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const stores = parseJson<{ name: string; threadId: string }[]>(listed.stdout, "stores --json stdout");
    expect(stores.map((s) => s.name).sort()).toEqual(["shop-a", "shop-b"]);
    for (const s of stores) expect(s.threadId).toMatch(UUID);

    const deleted = await cli(["stores", "--delete", "shop-b", "--db", db]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const after = await cli(["stores", "--db", db, "--json"]);
    expect(after.code, after.stderr).toBe(0);
    expect(parseJson<{ name: string }[]>(after.stdout, "stores --json stdout").map((s) => s.name)).toEqual(["shop-a"]);
  });
});

// ---------------------------------------------------------------- verify on a corrupted store

describe("verify on a corrupted store", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("exits 1 and names rule 1 and the SKU", async () => {
    const db = join(dir, "s.db");
    const session = openStore(db, "main");
    try {
      const product = {
        id: "x1",
        type: "ProductAdded",
        at: "2026-03-03T07:00:00Z",
        data: { sku: "SKU-X", name: "X", priceCents: 100, initialStock: 4, reorderPoint: 1 },
      };
      await ingestLines(session, [{ line: 1, text: line(product) }], {
        batchSize: 100,
        approvalThresholdCents: 10_000,
        maxSteps: 500,
        source: "test",
        origin: "ingest",
      });
      const values = (await session.graph.getState(session.config)).values as { inventory: Record<string, { onHand: number }> };
      const stock = values.inventory["SKU-X"];
      expect(stock).toBeDefined();
      await session.graph.updateState(session.config, { inventory: { "SKU-X": { ...stock, reserved: stock.onHand + 5, available: -5 } } }, "inventory_service");
    } finally {
      await session.close();
    }
    const run = await cli(["verify", "--db", db]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const output = run.stdout + run.stderr;
    expect(output).toMatch(/rule 1\b/);
    expect(output).toContain("SKU-X");
  });
});

// ---------------------------------------------------------------- usage errors

describe.concurrent("usage errors", () => {
  let dir: string;
  let db: string;
  beforeAll(() => {
    dir = tempDir();
    db = join(dir, "s.db");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("an unknown command with --json exits 2 with {error: {message}} on stderr", async ({ expect }) => {
    const run = await cli(["frobnicate", "--db", db, "--json"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    const errors = jsonLines(run.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toEqual({ error: expect.objectContaining({ message: expect.stringMatching(/unknown command.*frobnicate/i) }) });
  });

  test("an unknown option of a command with --json exits 2 with only {error: {message}} on stderr", async ({ expect }) => {
    const run = await cli(["state", "--db", db, "--json", "--bogus-option"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    const errors = jsonLines(run.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toEqual({ error: expect.objectContaining({ message: expect.stringMatching(/bogus-option/) }) });
  });

  test("reading a store that does not exist exits 2, says so and creates no database", async ({ expect }) => {
    const nowhere = join(dir, "nowhere", "s.db");
    const run = await cli(["state", "--db", nowhere, "--thread", "ghost", "--json"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(jsonLines(run.stderr)[0]).toEqual({ error: expect.objectContaining({ message: expect.stringMatching(/no database at .*nowhere/) }) });
    expect(existsSync(nowhere)).toBe(false);
  });

  test("ingest of a missing file exits 2 with a clear message naming the file", async ({ expect }) => {
    const missing = join(dir, "no-such-file.jsonl");
    const run = await cli(["ingest", missing, "--db", db]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(missing);
    expect(run.stderr).toMatch(/cannot read|ENOENT|not found|no such file/i);
  });
});

// ---------------------------------------------------------------- step limit

describe("the step limit", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("SHOPSTATE_MAX_STEPS=3 stops with exit 3; ingest again with the default limit finishes the work", async () => {
    const db = join(dir, "s.db");
    const file = join(dir, "day.jsonl");
    writeFileSync(file, `${Object.values(GOOD).map(line).join("\n")}\n`);

    const limited = await cli(["ingest", file, "--db", db], { env: { SHOPSTATE_MAX_STEPS: "3" } });
    expect(limited.code, limited.stdout + limited.stderr).toBe(3);
    expect(limited.stderr).toMatch(/step limit/i);
    const stoppedAt = Number(/log holds (\d+) events/.exec(limited.stdout)?.[1]);

    const again = await cli(["ingest", file, "--db", db, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    const report = parseJson<{ stepLimitHit: boolean; eventCount: number; rejected: unknown[]; duplicates: number }>(again.stdout, "ingest --json stdout");
    expect(report.stepLimitHit).toBe(false);
    expect(report.rejected).toEqual([]);
    expect(report.duplicates).toBe(4);
    if (Number.isFinite(stoppedAt)) expect(report.eventCount).toBeGreaterThan(stoppedAt);

    const verified = await cli(["verify", "--db", db]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
