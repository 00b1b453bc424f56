import { Command, Send } from "@langchain/langgraph";
import { APPROVAL_GATE } from "../src/approval_gate.js";
import type { StoreEvent } from "../src/domain/events.js";
import type { Order } from "../src/domain/world.js";
import { buildContext } from "../src/memory/context.js";
import { MAX_ATTEMPTS, planDeliveries, routerNode, SUBSCRIPTIONS, taskIdFor } from "../src/routing.js";
import { FINISHED_TASK_WINDOW, type MemoryNote, type State, type Task } from "../src/state.js";

const at = "2026-03-01T09:00:00.000Z";
const event = (id: string, type: string, data: Record<string, unknown>, source = "storefront"): StoreEvent => ({ id, type, at, source, v: 1, data }) as unknown as StoreEvent;
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
const note = (text: string): MemoryNote => ({ at, eventId: "x", note: text });

function stateWith(partial: Partial<State>): State {
  return {
    events: [],
    cursors: {},
    tasks: {},
    orders: {},
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
  const log = [
    event("e1", "ProductAdded", { sku: "A" }),
    event("e1>LowStockAlert:A", "LowStockAlert", { sku: "A", available: 1, reorderPoint: 2 }, "inventory_service"),
    event("e2", "CustomerMessage", { customerId: "C-1", text: "hi" }),
    event("e3", "OrderShipped", { orderId: "O-1" }),
  ];

  it("hands each agent the events it subscribes to after its cursor, one task per (event, agent), and moves the cursors to the end", () => {
    const plan = planDeliveries(stateWith({ events: log }));
    expect(plan.deliveries.map((d) => [d.agent, d.trigger.id])).toEqual([
      ["support_agent", "e2"],
      ["inventory_agent", "e1>LowStockAlert:A"],
      ["marketing_agent", "e1"],
      ["marketing_agent", "e1>LowStockAlert:A"],
    ]);
    expect(plan.deliveries.every((d) => d.attempt === 1 && d.taskId === taskIdFor(d.trigger.id, d.agent))).toBe(true);
    expect(plan.taskOps).toContainEqual({ op: "add", task: { taskId: "e2:support_agent", eventId: "e2", assignee: "support_agent" } });
    expect(plan.taskOps).toContainEqual({ op: "start", taskId: "e2:support_agent" });
    expect(plan.cursors).toEqual({ support_agent: 4, inventory_agent: 4, marketing_agent: 4 });
  });

  it("hands out nothing twice: events before a cursor are skipped", () => {
    const plan = planDeliveries(stateWith({ events: log, cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 1 } }));
    expect(plan.deliveries.map((d) => [d.agent, d.trigger.id])).toEqual([["marketing_agent", "e1>LowStockAlert:A"]]);
    expect(plan.cursors).toEqual({ marketing_agent: 4 });
  });

  it("runs again a task that awaits a retry or whose run was interrupted, with a new attempt", () => {
    const tasks: Record<string, Task> = {
      "e2:support_agent": { taskId: "e2:support_agent", eventId: "e2", assignee: "support_agent", status: "pending", attempts: 1, error: "stale proposal" },
      "e1:marketing_agent": { taskId: "e1:marketing_agent", eventId: "e1", assignee: "marketing_agent", status: "running", attempts: 1 },
      "e1>LowStockAlert:A:inventory_agent": { taskId: "e1>LowStockAlert:A:inventory_agent", eventId: "e1>LowStockAlert:A", assignee: "inventory_agent", status: "completed", attempts: 1 },
    };
    const plan = planDeliveries(stateWith({ events: log, tasks, cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 4 } }));
    expect(plan.deliveries.map((d) => [d.taskId, d.attempt])).toEqual([
      ["e2:support_agent", 2],
      ["e1:marketing_agent", 2],
    ]);
    expect(plan.taskOps).toEqual([
      { op: "start", taskId: "e2:support_agent" },
      { op: "start", taskId: "e1:marketing_agent" },
    ]);
  });

  it(`fails a task for good after ${MAX_ATTEMPTS} attempts, saying why`, () => {
    const tasks: Record<string, Task> = {
      "e2:support_agent": { taskId: "e2:support_agent", eventId: "e2", assignee: "support_agent", status: "pending", attempts: MAX_ATTEMPTS, error: "stale proposal: order:O-1 changed" },
    };
    const plan = planDeliveries(stateWith({ events: log, tasks, cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 4 } }));
    expect(plan.deliveries).toEqual([]);
    expect(plan.taskOps).toEqual([{ op: "fail", taskId: "e2:support_agent", error: `stale proposal: order:O-1 changed; gave up after ${MAX_ATTEMPTS} attempts`, retry: false }]);
  });

  it(`forgets the oldest finished tasks once more than ${FINISHED_TASK_WINDOW} are kept`, () => {
    const tasks: Record<string, Task> = {};
    for (let i = 0; i < FINISHED_TASK_WINDOW + 3; i++) tasks[`old-${i}`] = { taskId: `old-${i}`, eventId: "e1", assignee: "marketing_agent", status: "completed", attempts: 1 };
    const plan = planDeliveries(stateWith({ events: log, tasks, cursors: { support_agent: 4, inventory_agent: 4, marketing_agent: 4 } }));
    expect(plan.taskOps).toEqual([{ op: "forget", taskIds: ["old-0", "old-1", "old-2"] }]);
  });

  it("gives each agent only its own memory", () => {
    const plan = planDeliveries(stateWith({ events: log, supportMemory: [note("support secret")], inventoryMemory: [note("inventory secret")], marketingMemory: [note("marketing secret")] }));
    for (const delivery of plan.deliveries) {
      const text = JSON.stringify(delivery.memory);
      const own = delivery.agent.replace("_agent", "");
      expect(text).toContain(`${own} secret`);
      for (const other of ["support", "inventory", "marketing"].filter((a) => a !== own)) expect(text).not.toContain(`${other} secret`);
    }
  });
});

describe("selective context", () => {
  it("gives support only the writing customer's orders, newest first, the named one first", () => {
    const orders = {
      "O-1": order("O-1", "C-1", "A", "2026-03-01T08:00:00.000Z"),
      "O-2": order("O-2", "C-2", "A", "2026-03-01T08:30:00.000Z"),
      "O-3": order("O-3", "C-1", "B", "2026-03-01T09:00:00.000Z"),
    };
    const context = buildContext(stateWith({ orders }), event("m", "CustomerMessage", { customerId: "C-1", orderId: "O-1", text: "refund" }));
    expect(context.orders.map((o) => o.orderId)).toEqual(["O-1", "O-3"]);
    expect(JSON.stringify(context)).not.toContain("C-2");
  });

  it("stays bounded however many orders the customer has", () => {
    const orders = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`O-${i}`, order(`O-${i}`, "C-1", "A", new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString())]));
    const context = buildContext(stateWith({ orders }), event("m", "CustomerMessage", { customerId: "C-1", text: "refund" }));
    expect(context.orders).toHaveLength(10);
    expect(context.orders[0].orderId).toBe("O-1999");
  });
});

describe("router", () => {
  const router = routerNode();
  it("goes to the approval gate (which ends the run) when no subscriber has anything left", async () => {
    const command = await router(stateWith({ events: [], cursors: {} }));
    expect(command).toBeInstanceOf(Command);
    expect(command.goto).toEqual([APPROVAL_GATE]);
  });

  it("fans deliveries out in parallel with Send and records the tasks and cursors it hands out", async () => {
    const command = await router(stateWith({ events: [event("e2", "CustomerMessage", { customerId: "C-1", text: "hi" })] }));
    expect(command.goto).toHaveLength(1);
    const send = (command.goto as Send[])[0];
    expect(send).toBeInstanceOf(Send);
    expect(send.node).toBe("support_agent");
    expect(command.update).toMatchObject({ cursors: { support_agent: 1, inventory_agent: 1, marketing_agent: 1 } });
  });
});
