import { Command, Send } from "@langchain/langgraph";
import { APPROVAL_GATE } from "../src/nodes/approval_gate.js";
import type { StoreEvent } from "../src/domain/events.js";
import type { Order } from "../src/domain/world.js";
import { buildContext } from "../src/memory/context.js";
import { EMPTY_LOG } from "../src/persistence/event_store.js";
import { memoryEventStore } from "../src/persistence/sqlite_event_store.js";
import { storeLog, type StoreLog } from "../src/persistence/store_log.js";
import { MAX_ATTEMPTS, planDeliveries, routerNode, SUBSCRIPTIONS, taskIdFor } from "../src/nodes/router.js";
import { NO_THREAD } from "../src/thread.js";
import { FINISHED_TASK_WINDOW, type MemoryNote, type State, type Task } from "../src/state.js";

const at = "2026-03-01T09:00:00.000Z";
const event = (id: string, type: string, data: Record<string, unknown>, source = "storefront"): StoreEvent =>
  ({ id, type, at, source, v: 1, data }) as unknown as StoreEvent;
const order = (orderId: string, customerId: string, sku: string, placedAt = at): Order => ({
  orderId,
  customerId,
  lines: [{ sku, qty: 1, unitPriceCents: 1000, refundedQty: 0 }],
  status: "confirmed",
  paidCents: 1000,
  refundedCents: 0,
  version: 1,
  placedAt,
});
/** The facts that make an order: placed by its customer (the customer's stream), then confirmed (the order's stream). */
const orderEvents = (o: Order): StoreEvent[] => [
  {
    ...event(`${o.orderId}-placed`, "OrderPlaced", { orderId: o.orderId, customerId: o.customerId, lines: o.lines.map((l) => ({ sku: l.sku, qty: l.qty })) }),
    at: o.placedAt,
  },
  {
    ...event(
      `${o.orderId}-confirmed`,
      "OrderConfirmed",
      {
        orderId: o.orderId,
        customerId: o.customerId,
        lines: o.lines.map((l) => ({ sku: l.sku, qty: l.qty, unitPriceCents: l.unitPriceCents })),
        paidCents: o.paidCents,
        version: o.version,
      },
      "order_service",
    ),
    at: o.placedAt,
  },
];
const note = (text: string): MemoryNote => ({ at, eventId: "x", note: text });

/** A fresh event store holding `events` on `threadId`, and the log of all of them. */
async function logOf(events: readonly StoreEvent[], threadId = "t"): Promise<StoreLog> {
  const store = memoryEventStore();
  return storeLog(store, threadId, await store.append(threadId, EMPTY_LOG, events));
}

function stateWith(partial: Partial<State>): State {
  return {
    log: EMPTY_LOG,
    cursors: {},
    tasks: {},
    catalog: {},
    inventory: {},
    promotions: {},
    reorders: {},
    supportMemory: [],
    inventoryMemory: [],
    marketingMemory: [],
    ...partial,
  } as State;
}

describe("subscriptions", () => {
  it("are those docs/architecture.md lists", () => {
    expect(SUBSCRIPTIONS).toEqual({
      support_agent: ["CustomerMessage"],
      inventory_agent: ["LowStockAlert", "StockReceived"],
      marketing_agent: ["ProductAdded", "LowStockAlert", "InventoryUpdated"],
    });
  });
});

describe("planDeliveries", () => {
  const events = [
    event("e1", "ProductAdded", { sku: "A" }),
    event("e1>LowStockAlert:A", "LowStockAlert", { sku: "A", available: 1, reorderPoint: 2 }, "inventory_service"),
    event("e2", "CustomerMessage", { customerId: "C-1", text: "hi" }),
    event("e3", "OrderShipped", { orderId: "O-1" }),
  ];
  let log: StoreLog;
  beforeAll(async () => {
    log = await logOf(events);
  });

  it("hands each agent the events it subscribes to after its cursor, one task per (event, agent), and moves the cursors to the end", async () => {
    const plan = await planDeliveries(stateWith({}), log);
    expect(plan.deliveries.map((d) => [d.agent, d.trigger.id])).toEqual([
      ["support_agent", "e2"],
      ["inventory_agent", "e1>LowStockAlert:A"],
      ["marketing_agent", "e1"],
      ["marketing_agent", "e1>LowStockAlert:A"],
    ]);
    expect(plan.deliveries.every((d) => d.attempt === 1 && d.taskId === taskIdFor(d.trigger.id, d.agent))).toBe(true);
    expect(plan.deliveries.map((d) => d.position)).toEqual([2, 1, 0, 1]);
    expect(plan.taskOps).toContainEqual({ op: "add", task: { taskId: "e2:support_agent", eventId: "e2", assignee: "support_agent" } });
    expect(plan.taskOps).toContainEqual({ op: "start", taskId: "e2:support_agent" });
    expect(plan.cursors).toEqual({ support_agent: 4, inventory_agent: 4, marketing_agent: 4 });
  });

  it("hands out nothing twice: events before a cursor are skipped", async () => {
    const plan = await planDeliveries(stateWith({ cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 1 } }), log);
    expect(plan.deliveries.map((d) => [d.agent, d.trigger.id])).toEqual([["marketing_agent", "e1>LowStockAlert:A"]]);
    expect(plan.cursors).toEqual({ marketing_agent: 4 });
  });

  it("reads only the log the pointer names: events after it are not handed out yet", async () => {
    const plan = await planDeliveries(stateWith({}), storeLog(log.store, log.threadId, { ...log.at, length: 2 }));
    expect(plan.deliveries.map((d) => [d.agent, d.trigger.id])).toEqual([
      ["inventory_agent", "e1>LowStockAlert:A"],
      ["marketing_agent", "e1"],
      ["marketing_agent", "e1>LowStockAlert:A"],
    ]);
    expect(plan.cursors).toEqual({ support_agent: 2, inventory_agent: 2, marketing_agent: 2 });
  });

  it("runs again a task that awaits a retry or whose run was interrupted, with a new attempt", async () => {
    const tasks: Record<string, Task> = {
      "e2:support_agent": { taskId: "e2:support_agent", eventId: "e2", assignee: "support_agent", status: "pending", attempts: 1, error: "stale proposal" },
      "e1:marketing_agent": { taskId: "e1:marketing_agent", eventId: "e1", assignee: "marketing_agent", status: "running", attempts: 1 },
      "e1>LowStockAlert:A:inventory_agent": {
        taskId: "e1>LowStockAlert:A:inventory_agent",
        eventId: "e1>LowStockAlert:A",
        assignee: "inventory_agent",
        status: "completed",
        attempts: 1,
      },
    };
    const plan = await planDeliveries(stateWith({ tasks, cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 4 } }), log);
    expect(plan.deliveries.map((d) => [d.taskId, d.attempt])).toEqual([
      ["e2:support_agent", 2],
      ["e1:marketing_agent", 2],
    ]);
    expect(plan.taskOps).toEqual([
      { op: "start", taskId: "e2:support_agent" },
      { op: "start", taskId: "e1:marketing_agent" },
    ]);
  });

  it(`fails a task for good after ${MAX_ATTEMPTS} attempts, saying why`, async () => {
    const tasks: Record<string, Task> = {
      "e2:support_agent": {
        taskId: "e2:support_agent",
        eventId: "e2",
        assignee: "support_agent",
        status: "pending",
        attempts: MAX_ATTEMPTS,
        error: "stale proposal: order:O-1 changed",
      },
    };
    const plan = await planDeliveries(stateWith({ tasks, cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 4 } }), log);
    expect(plan.deliveries).toEqual([]);
    expect(plan.taskOps).toEqual([
      { op: "fail", taskId: "e2:support_agent", error: `stale proposal: order:O-1 changed; gave up after ${MAX_ATTEMPTS} attempts`, retry: false },
    ]);
  });

  it(`forgets the oldest finished tasks once more than ${FINISHED_TASK_WINDOW} are kept`, async () => {
    const tasks: Record<string, Task> = {};
    for (let i = 0; i < FINISHED_TASK_WINDOW + 3; i++)
      tasks[`old-${i}`] = { taskId: `old-${i}`, eventId: "e1", assignee: "marketing_agent", status: "completed", attempts: 1 };
    const plan = await planDeliveries(stateWith({ tasks, cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 4 } }), log);
    expect(plan.taskOps).toEqual([{ op: "forget", taskIds: ["old-0", "old-1", "old-2"] }]);
  });

  it("gives each agent only its own memory", async () => {
    const plan = await planDeliveries(
      stateWith({ supportMemory: [note("support secret")], inventoryMemory: [note("inventory secret")], marketingMemory: [note("marketing secret")] }),
      log,
    );
    expect(plan.deliveries).not.toHaveLength(0);
    for (const delivery of plan.deliveries) {
      const text = JSON.stringify(delivery.memory);
      const own = delivery.agent.replace("_agent", "");
      expect(text).toContain(`${own} secret`);
      for (const other of ["support", "inventory", "marketing"].filter((a) => a !== own)) expect(text).not.toContain(`${other} secret`);
    }
  });
});

describe("selective context", () => {
  it("gives support only the writing customer's orders, newest first, the named one first", async () => {
    const orders = [
      order("O-1", "C-1", "A", "2026-03-01T08:00:00.000Z"),
      order("O-2", "C-2", "A", "2026-03-01T08:30:00.000Z"),
      order("O-3", "C-1", "B", "2026-03-01T09:00:00.000Z"),
    ];
    const log = await logOf(orders.flatMap(orderEvents));
    const context = await buildContext(stateWith({}), log, event("m", "CustomerMessage", { customerId: "C-1", orderId: "O-1", text: "refund" }), log.at.length);
    expect(context.orders.map((o) => o.orderId)).toEqual(["O-1", "O-3"]);
    expect(context.orders[0]).toEqual(orders[0]);
    expect(JSON.stringify(context)).not.toContain("C-2");
  });

  it("never shows another customer's order, even when the message names it", async () => {
    const log = await logOf([order("O-1", "C-1", "A"), order("O-2", "C-2", "A")].flatMap(orderEvents));
    const context = await buildContext(stateWith({}), log, event("m", "CustomerMessage", { customerId: "C-1", orderId: "O-2", text: "refund" }), log.at.length);
    expect(context.orders.map((o) => o.orderId)).toEqual(["O-1"]);
    expect(JSON.stringify(context)).not.toContain("C-2");
  });

  it("stays bounded however many orders the customer has", async () => {
    const orders = Array.from({ length: 2000 }, (_, i) => order(`O-${i}`, "C-1", "A", new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()));
    const log = await logOf(orders.flatMap(orderEvents));
    const context = await buildContext(stateWith({}), log, event("m", "CustomerMessage", { customerId: "C-1", text: "refund" }), log.at.length);
    expect(context.orders).toHaveLength(10);
    expect(context.orders[0].orderId).toBe("O-1999");
  });
});

describe("router", () => {
  it("goes to the approval gate (which ends the run) when no subscriber has anything left", async () => {
    const router = routerNode(memoryEventStore());
    const command = await router(stateWith({ cursors: {} }));
    expect(command).toBeInstanceOf(Command);
    expect(command.goto).toEqual([APPROVAL_GATE]);
  });

  it("fans deliveries out in parallel with Send and records the tasks and cursors it hands out", async () => {
    // A run without a checkpointer has no thread: its events are keyed under NO_THREAD.
    const log = await logOf([event("e2", "CustomerMessage", { customerId: "C-1", text: "hi" })], NO_THREAD);
    const router = routerNode(log.store);
    const command = await router(stateWith({ log: log.at }));
    expect(command.goto).toHaveLength(1);
    const send = (command.goto as Send[])[0];
    expect(send).toBeInstanceOf(Send);
    expect(send.node).toBe("support_agent");
    expect(command.update).toMatchObject({ cursors: { support_agent: 1, inventory_agent: 1, marketing_agent: 1 } });
  });

  it("reads the log of the run's own thread", async () => {
    const log = await logOf([event("e2", "CustomerMessage", { customerId: "C-1", text: "hi" })], "other-store");
    const router = routerNode(log.store);
    const command = await router(stateWith({ log: log.at }), { configurable: { thread_id: "other-store" } } as unknown as Parameters<typeof router>[1]);
    expect((command.goto as Send[]).map((s) => s.node)).toEqual(["support_agent"]);
  });
});
