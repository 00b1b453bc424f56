/**
 * Faults: a model that throws, is rate-limited (429), times out, returns
 * malformed tool calls, calls tools that do not exist, or spends its budget.
 * Model errors are retried by the tool loop's RetryPolicy, the task by the
 * router (3 attempts); then the task fails with the reason. The run does not
 * crash, the other events of the same run are processed, and nothing of the
 * failed task is applied.
 */
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { describe, expect, it, vi } from "vitest";
import { AgentBudgetError, withRetry } from "../src/agents/runtime.js";
import { AGENT_TOOLS } from "../src/agents/scopes.js";
import { OfflineChatModel } from "../src/llm/offline/model.js";
import { MAX_ATTEMPTS } from "../src/nodes/router.js";
import type { StoreEvent } from "../src/domain/events.js";
import type { Order } from "../src/domain/world.js";
import type { State } from "../src/state.js";
import { callTools, ev, models, ScriptedChatModel, shop, testStore, type Script } from "./support/agents.js";

const BUDGET = { toolCalls: 5, tokens: 20_000 };
/** The RetryPolicy's attempts per model node run (FAST_RETRY.maxAttempts). */
const MODEL_TRIES = 3;

const offlineSupport = new OfflineChatModel().bindTools(AGENT_TOOLS.support_agent.map((name) => ({ name, description: name, parameters: {} })));
const behaveOffline = (messages: BaseMessage[]) => offlineSupport.invoke(messages) as Promise<AIMessage>;

interface Run {
  state: State;
  /** The whole log and every order at the end of the run, from the event store. */
  events: StoreEvent[];
  orders: Record<string, Order>;
  model: ScriptedChatModel;
  messageId: string;
}

/** A shop, then one run with a customer message (handled by `script`) and an order that makes the tee run low. */
async function runDay(script: Script, extra: { modelTimeoutMs?: number } = {}): Promise<Run> {
  const model = new ScriptedChatModel(script);
  const store = testStore({ models: models({ support_agent: () => model }), budget: BUDGET, ...extra });
  await store.ingest(shop());
  const message = ev("CustomerMessage", { customerId: "C-ANN", orderId: "ORD-1", text: "Both mugs arrived broken, refund please" }, 10);
  const state = await store.ingest([message, ev("OrderPlaced", { orderId: "ORD-2", customerId: "C-BO", lines: [{ sku: "SKU-TEE", qty: 2 }] }, 11)]);
  return { state, events: await store.log.eventsOf(state), orders: await store.log.ordersOf(state), model, messageId: message.id };
}

function supportTask(run: Run) {
  return run.state.tasks[`${run.messageId}:support_agent`];
}

/** The same run's other work went through: ORD-2 confirmed, the low tee reordered and its promotion paused. */
function othersProcessed({ state, orders }: Pick<Run, "state" | "orders">) {
  expect(orders["ORD-2"].status).toBe("confirmed");
  expect(state.reorders["SKU-TEE"]).toBeDefined();
  expect(state.promotions["SKU-TEE"]).toBe("paused");
  for (const task of Object.values(state.tasks)) if (task.assignee !== "support_agent") expect(task.status, task.taskId).toBe("completed");
}

/** Nothing of the failed task reached the shared state. */
function nothingApplied(run: Run) {
  const { state, events, orders, messageId } = run;
  expect(events.filter((e) => e.causationId === messageId || e.source === "support_agent")).toEqual([]);
  expect(orders["ORD-1"].refundedCents).toBe(0);
  expect(state.approvals).toEqual({});
  expect(events.filter((e) => e.type === "ApprovalRequested")).toEqual([]);
  expect(state.proposals).toEqual([]);
  expect(state.messages.map((m) => m.id)).not.toContain(`msg-${messageId}`);
  expect(state.supportMemory.filter((n) => n.eventId === messageId)).toEqual([]);
}

function failedWith(run: Run, reason: RegExp) {
  const task = supportTask(run);
  expect(task.status).toBe("failed");
  expect(task.attempts).toBe(MAX_ATTEMPTS);
  expect(task.error).toMatch(reason);
  expect(task.error).toMatch(new RegExp(`gave up after ${MAX_ATTEMPTS} attempts`));
}

describe("model faults are retried, then the task fails with the reason", () => {
  it("a model that throws", async () => {
    const run = await runDay(() => {
      throw new Error("model exploded");
    });
    failedWith(run, /model exploded/);
    expect(run.model.calls).toHaveLength(MAX_ATTEMPTS * MODEL_TRIES);
    othersProcessed(run);
    nothingApplied(run);
  });

  it("a model that is rate-limited (429)", async () => {
    const run = await runDay(() => {
      throw Object.assign(new Error("429 Rate limit reached for requests"), { status: 429 });
    });
    failedWith(run, /Rate limit/);
    expect(run.model.calls).toHaveLength(MAX_ATTEMPTS * MODEL_TRIES);
    othersProcessed(run);
    nothingApplied(run);
  });

  // The time-out applies to every agent's model here: generous enough for the offline ones on a busy machine.
  it("a model that never answers (time-out)", async () => {
    const run = await runDay(() => new Promise<AIMessage>(() => {}), { modelTimeoutMs: 150 });
    failedWith(run, /NodeTimeoutError|timed out|timeout/i);
    expect(run.model.calls).toHaveLength(MAX_ATTEMPTS * MODEL_TRIES);
    othersProcessed(run);
    nothingApplied(run);
  });

  it("a 400 (bad request) is not retried by the model node: the same request would fail again", async () => {
    const run = await runDay(() => {
      throw Object.assign(new Error("400 invalid schema for function"), { status: 400 });
    });
    failedWith(run, /invalid schema/);
    expect(run.model.calls).toHaveLength(MAX_ATTEMPTS);
    othersProcessed(run);
  });

  it("a model that spends more tokens than the budget", async () => {
    const run = await runDay((_m, turn) => {
      const answer = callTools(turn, [{ name: "lookup_order", args: { orderId: "ORD-1" } }]);
      answer.usage_metadata = { input_tokens: 30_000, output_tokens: 10, total_tokens: 30_010 };
      return answer;
    });
    failedWith(run, /token budget exceeded/);
    // Spending is not transient: no model-level retry.
    expect(run.model.calls).toHaveLength(MAX_ATTEMPTS);
    othersProcessed(run);
    nothingApplied(run);
  });
});

describe("bad tool calls are answered with errors; a model that persists runs out of budget", () => {
  it("malformed tool calls (arguments that are not JSON)", async () => {
    const run = await runDay(
      (_m, turn) =>
        new AIMessage({
          content: "",
          invalid_tool_calls: [
            { id: `bad-${turn}`, name: "request_refund", args: "{orderId: ORD-1, qty: lots", error: "Unexpected token", type: "invalid_tool_call" },
          ],
        }),
    );
    failedWith(run, /tool-call budget exceeded/);
    const told = run.model.calls[1].filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
    expect(String(told[0].content)).toMatch(/^error: malformed call of request_refund/);
    othersProcessed(run);
    nothingApplied(run);
  });

  it("tools that do not exist", async () => {
    const run = await runDay((_m, turn) => callTools(turn, [{ name: "delete_database", args: {} }]));
    failedWith(run, /tool-call budget exceeded/);
    const told = run.model.calls[1].filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
    expect(String(told[0].content)).toMatch(
      /no tool named delete_database; your tools are lookup_order, list_customer_orders, search_customer_history, request_refund, draft_reply/,
    );
    // An unknown tool is a fault, not another agent's tool: no scope conflict.
    expect(run.state.conflicts.filter((c) => c.by === "support_agent")).toEqual([]);
    othersProcessed(run);
    nothingApplied(run);
  });

  it("arguments that break the tool's schema are answered with the schema error, and the model can correct itself", async () => {
    const run = await runDay((messages, turn) =>
      turn === 0
        ? callTools(turn, [{ name: "request_refund", args: { orderId: "ORD-1", sku: "SKU-MUG", qty: "lots", reason: "smashed" } }])
        : behaveOffline(messages),
    );
    const told = run.model.calls[1].filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
    expect(told[0].status).toBe("error");
    expect(String(told[0].content)).toMatch(/^error: .*schema/i);
    expect(supportTask(run).status).toBe("completed");
    // The refund is the one the model asked for once corrected (both mugs), decided by order_service.
    expect(run.orders["ORD-1"].refundedCents).toBe(3000);
    othersProcessed(run);
  });
});

describe("recovery and atomicity", () => {
  it("a 429 followed by a good answer: the model node retries and the task completes", async () => {
    let failures = 0;
    const run = await runDay((messages) => {
      if (failures++ === 0) throw Object.assign(new Error("429 Too Many Requests"), { status: 429 });
      return behaveOffline(messages);
    });
    expect(supportTask(run)).toMatchObject({ status: "completed", attempts: 1 });
    expect(run.orders["ORD-1"].refundedCents).toBe(3000);
    othersProcessed(run);
  });

  it("a model that requests a refund and then fails: the drafted refund is not applied", async () => {
    const run = await runDay((_m, turn) => {
      if (turn === 0) return callTools(turn, [{ name: "request_refund", args: { orderId: "ORD-1", sku: "SKU-MUG", qty: 2, reason: "damaged" } }]);
      throw new Error("connection reset");
    });
    failedWith(run, /connection reset/);
    othersProcessed(run);
    nothingApplied(run);
  });
});

describe("withRetry: LangGraph's RetryPolicy semantics around each model call", () => {
  it("backs off exponentially up to maxInterval and gives up after maxAttempts", async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      const outcome = withRetry({ maxAttempts: 4, initialInterval: 10, backoffFactor: 3, maxInterval: 50, jitter: false }, async () => {
        calls++;
        throw new Error("boom");
      }).catch((error: Error) => error.message);
      const after = async (ms: number) => {
        await vi.advanceTimersByTimeAsync(ms);
        return calls;
      };
      expect(await after(0)).toBe(1);
      // Waits of 10, 30, then 50 (90 capped): each retry comes exactly when its wait is over.
      expect([await after(9), await after(1)]).toEqual([1, 2]);
      expect([await after(29), await after(1)]).toEqual([2, 3]);
      expect([await after(49), await after(1)]).toEqual([3, 4]);
      expect(await outcome).toBe("boom");
      expect(await after(1_000)).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not retry what retryOn refuses (a spent budget)", async () => {
    let calls = 0;
    await expect(
      withRetry({ maxAttempts: 3, initialInterval: 1, jitter: false }, async () => {
        calls++;
        throw new AgentBudgetError("token budget exceeded");
      }),
    ).rejects.toThrow("token budget exceeded");
    expect(calls).toBe(1);
  });
});

describe("one customer's failing task does not hold up the same agent's other work", () => {
  it("the model drafts a refund for C-BO and then fails; C-ANN's message in the same run is answered and refunded", async () => {
    const promptOf = (messages: BaseMessage[]) => messages.map((m) => String(m.content)).join("\n");
    const model = new ScriptedChatModel((messages, turn) => {
      if (!promptOf(messages).includes('"customerId":"C-BO"')) return behaveOffline(messages);
      if (turn === 0) return callTools(turn, [{ name: "request_refund", args: { orderId: "ORD-2", sku: "SKU-TEE", qty: 2, reason: "damaged" } }]);
      throw Object.assign(new Error("502 Bad Gateway from the model server"), { status: 502 });
    });
    const store = testStore({ models: models({ support_agent: () => model }), budget: BUDGET });
    await store.ingest([
      ...shop(),
      ev("OrderPlaced", { orderId: "ORD-2", customerId: "C-BO", lines: [{ sku: "SKU-TEE", qty: 2 }] }, 4),
      ev("OrderShipped", { orderId: "ORD-2" }, 5),
    ]);
    const bo = ev("CustomerMessage", { customerId: "C-BO", orderId: "ORD-2", text: "Both tees arrived torn, refund please" }, 10);
    const ann = ev("CustomerMessage", { customerId: "C-ANN", orderId: "ORD-1", text: "Both mugs arrived broken, refund please" }, 11);
    const state = await store.ingest([bo, ann, ev("OrderPlaced", { orderId: "ORD-3", customerId: "C-CY", lines: [{ sku: "SKU-MUG", qty: 1 }] }, 12)]);
    const events = await store.log.eventsOf(state);
    const orders = await store.log.ordersOf(state);

    const failed = state.tasks[`${bo.id}:support_agent`];
    expect(failed).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS });
    expect(failed.error).toMatch(/502 Bad Gateway.*gave up after 3 attempts/);
    // Nothing of C-BO's attempts was applied: the drafted refund never reached order_service.
    expect(orders["ORD-2"].refundedCents).toBe(0);
    expect(events.filter((e) => e.causationId === bo.id || (e.type === "RefundRequested" && (e.data as { orderId: string }).orderId === "ORD-2"))).toEqual([]);
    expect(state.messages.map((m) => m.id)).not.toContain(`msg-${bo.id}-reply`);

    // The same agent's other task, in the same run, went through: refund and reply; the new order was decided.
    expect(state.tasks[`${ann.id}:support_agent`].status).toBe("completed");
    expect(orders["ORD-1"].refundedCents).toBe(3000);
    expect(state.messages.map((m) => m.id)).toContain(`msg-${ann.id}-reply`);
    expect(orders["ORD-3"].status).toBe("confirmed");
  });

  it("garbage from the model (null or string arguments, empty or huge tool names, a thousand calls at once) is answered or bounded, never applied", async () => {
    const garbage = [
      new AIMessage({ content: "", tool_calls: [{ id: "g0", name: "request_refund", args: null as unknown as Record<string, unknown>, type: "tool_call" }] }),
      new AIMessage({
        content: "",
        tool_calls: [{ id: "g1", name: "request_refund", args: "refund everything" as unknown as Record<string, unknown>, type: "tool_call" }],
      }),
      new AIMessage({ content: "", tool_calls: [{ id: "g2", name: "", args: {}, type: "tool_call" }] }),
      new AIMessage({ content: "", tool_calls: [{ id: "g3", name: "x".repeat(10_000), args: {}, type: "tool_call" }] }),
      callTools(
        4,
        Array.from({ length: 1000 }, () => ({ name: "request_refund", args: { orderId: "ORD-1", sku: "SKU-MUG", qty: 1, reason: "damaged" } })),
      ),
    ];
    const run = await runDay((_m, turn) => garbage[Math.min(turn, garbage.length - 1)]);
    failedWith(run, /tool-call budget exceeded: 100\d calls > 5/);
    const told = run.model.calls[4].filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
    expect(told.map((m) => m.status)).toEqual(["error", "error", "error", "error"]);
    othersProcessed(run);
    nothingApplied(run);
  });
});
