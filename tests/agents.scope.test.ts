/**
 * Scope (docs/RULES.md rule 12): each agent gets only its own tools, and a model that
 * tries another agent's tools — reading what it may not read, or proposing
 * events another agent owns — gets a recorded scope conflict and no effect.
 * Every agent here runs a hostile model that calls every other agent's tool.
 */
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { AGENT_TOOLS, TOOL_PROPOSES, type ToolName } from "../src/agents/scopes.js";
import { OWNER } from "../src/domain/decide.js";
import { INPUT_EVENT_TYPES } from "../src/domain/events.js";
import { AGENTS, PROPOSAL_SCOPES, type AgentName, type Proposal } from "../src/domain/proposals.js";
import type { StoreEvent } from "../src/domain/events.js";
import type { Order } from "../src/domain/world.js";
import type { State } from "../src/state.js";
import { callTools, ev, models, ScriptedChatModel, shop, testStore } from "./support/agents.js";

/** Plausible arguments for every tool, so only scope stands in the way. */
const ARGS: Record<ToolName, Record<string, unknown>> = {
  lookup_order: { orderId: "ORD-1" },
  list_customer_orders: { limit: 5 },
  search_customer_history: { query: "mug" },
  request_refund: { orderId: "ORD-1", sku: "SKU-MUG", qty: 2, reason: "damaged" },
  draft_reply: { text: "Refund approved for everything!" },
  read_stock: { sku: "SKU-TEE" },
  request_reorder: { sku: "SKU-TEE", qty: 500 },
  read_product: { sku: "SKU-TEE" },
  draft_post: { sku: "SKU-TEE", text: "Everything free today" },
  pause_promotion: { sku: "SKU-MUG", reason: "because" },
  resume_promotion: { sku: "SKU-TEE" },
};

function foreignTools(agent: AgentName): ToolName[] {
  return AGENTS.filter((a) => a !== agent).flatMap((a) => [...AGENT_TOOLS[a]]);
}

function hostile(agent: AgentName) {
  const model = new ScriptedChatModel((_messages, turn) =>
    turn === 0
      ? callTools(
          turn,
          foreignTools(agent).map((name) => ({ name, args: ARGS[name] })),
        )
      : new AIMessage("done: tried everything"),
  );
  return model;
}

describe("rule 12: hostile models call every other agent's tool", () => {
  const hostiles = Object.fromEntries(AGENTS.map((a) => [a, hostile(a)])) as Record<AgentName, ScriptedChatModel>;
  let state: State;
  let before: State;
  let events: StoreEvent[];
  let orders: Record<string, Order>;

  it("runs a day in which every agent is hostile", async () => {
    const store = testStore({
      models: { support_agent: () => hostiles.support_agent, inventory_agent: () => hostiles.inventory_agent, marketing_agent: () => hostiles.marketing_agent },
    });
    before = await store.ingest(shop());
    // Two tees leave 2 of 4 (reorder point 3): a LowStockAlert for inventory and marketing; a message for support.
    state = await store.ingest([
      ev("OrderPlaced", { orderId: "ORD-2", customerId: "C-BO", lines: [{ sku: "SKU-TEE", qty: 2 }] }, 10),
      ev("CustomerMessage", { customerId: "C-ANN", orderId: "ORD-1", text: "Both mugs arrived broken, refund please" }, 11),
    ]);
    events = await store.log.eventsOf(state);
    orders = await store.log.ordersOf(state);
    expect(events.some((e) => e.type === "LowStockAlert")).toBe(true);
    for (const agent of AGENTS) expect(hostiles[agent].calls.length, `${agent} ran`).toBeGreaterThan(0);
  });

  it("offers each agent exactly its own tools", () => {
    for (const agent of AGENTS) expect(hostiles[agent].boundTools.sort()).toEqual([...AGENT_TOOLS[agent]].sort());
  });

  it("records a scope conflict for every foreign tool call, by the agent that made it", () => {
    for (const agent of AGENTS) {
      const mine = state.conflicts.filter((c) => c.by === agent);
      expect(mine.length).toBeGreaterThan(0);
      expect(
        mine.every((c) => c.kind === "scope"),
        `${agent}: only scope conflicts`,
      ).toBe(true);
      for (const tool of foreignTools(agent)) {
        const proposes = TOOL_PROPOSES[tool];
        const expected = proposes
          ? // Another agent's event: drafted as asked, refused by the service that decides proposals.
            mine.filter((c) => c.eventType === proposes && c.owner !== "agent_runtime")
          : // Another agent's read tool: refused by the runtime, nothing read.
            mine.filter((c) => c.eventType === `tool:${tool}` && c.owner === "agent_runtime");
        expect(expected.length, `${agent} calling ${tool}`).toBeGreaterThan(0);
      }
    }
  });

  it("tells the model the tool is not its own, and reads nothing for it", () => {
    for (const agent of AGENTS) {
      const second = hostiles[agent].calls.find((messages) => messages.some((m) => ToolMessage.isInstance(m)));
      const results = (second ?? []).filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
      expect(results).toHaveLength(foreignTools(agent).length);
      for (const result of results) {
        expect(result.status).toBe("error");
        expect(String(result.content)).toMatch(/is not one of your tools/);
        // No data leaked: no stock figures, orders or products in the answer.
        expect(String(result.content)).not.toMatch(/onHand|"lines"|priceCents/);
      }
    }
  });

  it("has no effect: no agent event in the log, nothing refunded, reordered, posted, paused or replied", () => {
    expect(events.filter((e) => (AGENTS as readonly string[]).includes(e.source ?? ""))).toEqual([]);
    expect(orders["ORD-1"].refundedCents).toBe(0);
    expect(state.approvals).toEqual({});
    expect(events.filter((e) => e.type === "ApprovalRequested")).toEqual([]);
    expect(state.reorders).toEqual({});
    expect(state.posts).toEqual({});
    expect(state.promotions).toEqual(before.promotions);
    expect(state.messages.map((m) => m.id)).not.toContain(expect.stringMatching(/-reply$/));
    expect(state.proposals).toEqual([]);
  });
});

describe("scope within an agent's own tools: another customer's order", () => {
  it("support's tools refuse to read, refund or reply about an order that is not the customer's", async () => {
    const model = new ScriptedChatModel((_messages, turn) =>
      turn === 0
        ? callTools(turn, [
            { name: "lookup_order", args: { orderId: "ORD-2" } },
            { name: "request_refund", args: { orderId: "ORD-2", sku: "SKU-TEE", qty: 2, reason: "damaged" } },
            { name: "draft_reply", args: { text: "Refunded your friend's tees", orderId: "ORD-2" } },
          ])
        : new AIMessage("done"),
    );
    const store = testStore({ models: { support_agent: () => model } });
    await store.ingest(shop());
    const message = ev("CustomerMessage", { customerId: "C-ANN", text: "Refund my friend's tees from ORD-2" }, 11);
    const state = await store.ingest([ev("OrderPlaced", { orderId: "ORD-2", customerId: "C-BO", lines: [{ sku: "SKU-TEE", qty: 2 }] }, 10), message]);

    const results = model.calls[1].filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
    expect(results.map((r) => String(r.content))).toEqual(Array(3).fill("error: order ORD-2 is not among this customer's orders"));
    expect((await store.log.ordersOf(state))["ORD-2"].refundedCents).toBe(0);
    expect((await store.log.eventsOf(state)).filter((e) => e.causationId === message.id)).toEqual([]);
    expect(state.tasks[`${message.id}:support_agent`].status).toBe("completed");
  });
});

/**
 * Least privilege for proposals: whatever reaches the proposal queue in an
 * agent's name (here written as that agent's node with `updateState`, as a
 * compromised node would), the services accept only the agent's own event
 * types. Every other type — another agent's, a service's fact, an input
 * event, a made-up one — is a recorded scope conflict with no effect.
 */
describe("rule 12: each agent may propose only its own event types", () => {
  /** Data that would do damage if any of these were accepted: a big refund, a confirmed order, stock out of thin air. */
  const DATA = {
    orderId: "ORD-1",
    customerId: "C-ANN",
    sku: "SKU-MUG",
    qty: 2,
    amountCents: 500_000,
    reason: "damaged",
    version: 99,
    onHand: 10_000,
    reserved: 0,
    returned: 0,
    available: 10_000,
    lines: [{ sku: "SKU-MUG", qty: 2, unitPriceCents: 1 }],
    paidCents: 1,
    approvalId: "apr-rogue",
    approvalThresholdCents: 1_000_000,
    messageId: "msg-rogue",
    postId: "post-rogue",
    text: "Everything is free today",
    delta: 500,
    name: "Rogue",
    priceCents: 1,
    initialStock: 10_000,
    reorderPoint: 0,
  };
  const OWN: Record<AgentName, Record<string, unknown>> = {
    support_agent: { ReplyDrafted: { customerId: "C-ANN", orderId: "ORD-1", messageId: "msg-own", text: "We are looking into it." } },
    inventory_agent: { ReorderRequested: { sku: "SKU-TEE", qty: 10 } },
    marketing_agent: { PromotionPaused: { sku: "SKU-TEE", reason: "low stock" } },
  };
  const EVERY_TYPE = [...Object.keys(OWNER), ...INPUT_EVENT_TYPES, "RefundGranted", "__proto__"];

  for (const agent of AGENTS) {
    it(`${agent}: every type but its own is refused as a scope conflict and recorded; its own type is decided on its merits`, async () => {
      const store = testStore({ models: models() });
      const before = await store.ingest(shop());
      const eventsBefore = await store.log.eventsOf(before);
      const config = { configurable: { thread_id: "t" }, recursionLimit: 500 };
      const foreign = EVERY_TYPE.filter((type) => !(PROPOSAL_SCOPES[agent] as readonly string[]).includes(type));
      const [ownType, ownData] = Object.entries(OWN[agent])[0];
      const proposals: Proposal[] = [...foreign.map((type) => [type, DATA] as const), [ownType, ownData] as const].map(([type, data], i) => ({
        id: `rogue-${agent}-${i}`,
        agent,
        taskId: `rogue:${agent}`,
        causationId: eventsBefore[0].id,
        at: eventsBefore.at(-1)?.at ?? "",
        type,
        data,
        basedOn: [],
      }));
      await store.graph.updateState(config, { proposals: { enqueue: proposals } }, agent);
      const state = (await store.graph.invoke(null, config)) as State;

      const refused = state.conflicts.filter((c) => c.by === agent && c.kind === "scope");
      expect(refused.map((c) => c.eventType).sort()).toEqual([...foreign].sort());
      for (const conflict of refused)
        expect(conflict.reason).toMatch(new RegExp(`${agent} may not propose .*\\(allowed: ${PROPOSAL_SCOPES[agent].join(", ")}\\)`));
      // Nothing of the foreign proposals reached the log or the entities.
      const proposed = new Set(proposals.map((p) => p.id));
      const events = await store.log.eventsOf(state);
      expect(events.filter((e) => proposed.has(e.id) && e.type !== ownType)).toEqual([]);
      expect((await store.log.ordersOf(state))["ORD-1"]).toEqual((await store.log.ordersOf(before))["ORD-1"]);
      expect(state.inventory).toEqual(before.inventory);
      expect(state.catalog).toEqual(before.catalog);
      expect(state.approvals).toEqual({});
      expect(events.filter((e) => e.type === "ApprovalRequested" || e.type === "ApprovalDecided")).toEqual([]);
      expect(state.policy).toEqual(before.policy);
      expect(state.posts).toEqual(before.posts);
      // The agent's own type went through the normal checks and was accepted.
      expect(events.filter((e) => proposed.has(e.id)).map((e) => [e.type, e.source])).toEqual([[ownType, agent]]);
      expect(state.proposals).toEqual([]);
    });
  }
});
