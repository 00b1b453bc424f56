/**
 * Scope (SPEC §4): each agent gets only its own tools, and a model that
 * tries another agent's tools — reading what it may not read, or proposing
 * events another agent owns — gets a recorded scope conflict and no effect.
 * Every agent here runs a hostile model that calls every other agent's tool.
 */
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { AGENT_TOOLS, TOOL_PROPOSES, type ToolName } from "../src/agents/scopes.js";
import { AGENTS, type AgentName } from "../src/domain/proposals.js";
import type { State } from "../src/state.js";
import { callTools, ev, ScriptedChatModel, shop, testStore } from "./support/agents.js";

/** Plausible arguments for every tool, so only scope stands in the way. */
const ARGS: Record<ToolName, Record<string, unknown>> = {
  lookup_order: { orderId: "ORD-1" },
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
    turn === 0 ? callTools(turn, foreignTools(agent).map((name) => ({ name, args: ARGS[name] }))) : new AIMessage("done: tried everything"),
  );
  return model;
}

describe("scope: hostile models call every other agent's tool", () => {
  const hostiles = Object.fromEntries(AGENTS.map((a) => [a, hostile(a)])) as Record<AgentName, ScriptedChatModel>;
  let state: State;
  let before: State;

  it("runs a day in which every agent is hostile", async () => {
    const store = testStore({ models: { support_agent: () => hostiles.support_agent, inventory_agent: () => hostiles.inventory_agent, marketing_agent: () => hostiles.marketing_agent } });
    before = await store.ingest(shop());
    // Two tees leave 2 of 4 (reorder point 3): a LowStockAlert for inventory and marketing; a message for support.
    state = await store.ingest([
      ev("OrderPlaced", { orderId: "ORD-2", customerId: "C-BO", lines: [{ sku: "SKU-TEE", qty: 2 }] }, 10),
      ev("CustomerMessage", { customerId: "C-ANN", orderId: "ORD-1", text: "Both mugs arrived broken, refund please" }, 11),
    ]);
    expect(state.events.some((e) => e.type === "LowStockAlert")).toBe(true);
    for (const agent of AGENTS) expect(hostiles[agent].calls.length, `${agent} ran`).toBeGreaterThan(0);
  });

  it("offers each agent exactly its own tools", () => {
    for (const agent of AGENTS) expect(hostiles[agent].boundTools.sort()).toEqual([...AGENT_TOOLS[agent]].sort());
  });

  it("records a scope conflict for every foreign tool call, by the agent that made it", () => {
    for (const agent of AGENTS) {
      const mine = state.conflicts.filter((c) => c.by === agent);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((c) => c.kind === "scope"), `${agent}: only scope conflicts`).toBe(true);
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
    expect(state.events.filter((e) => (AGENTS as readonly string[]).includes(e.source ?? ""))).toEqual([]);
    expect(state.orders["ORD-1"].refundedCents).toBe(0);
    expect(state.approvals).toEqual({});
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
    expect(state.orders["ORD-2"].refundedCents).toBe(0);
    expect(state.events.filter((e) => e.causationId === message.id)).toEqual([]);
    expect(state.tasks[`${message.id}:support_agent`].status).toBe("completed");
  });
});
