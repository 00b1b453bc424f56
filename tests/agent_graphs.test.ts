/**
 * The per-agent graphs of langgraph.json (graphs/*_agent.ts), invoked
 * in-process on the offline model: the world from a batch of input events,
 * one trigger, the tool loop as visible steps, and the same decisions the
 * agent makes inside the store graph.
 */
import { AIMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { compileAgentGraph } from "../src/agents/debug_graph.js";
import { SUPPORT_AGENT } from "../src/nodes/support_agent.js";
import { loadConfig } from "../src/config.js";
import { demoLines } from "../src/demo.js";
import { compileStoreGraph } from "../src/graph.js";
import type { State } from "../src/state.js";
import { graph as inventoryAgent } from "../graphs/inventory_agent.js";
import { graph as marketingAgent } from "../graphs/marketing_agent.js";
import { graph as supportAgent } from "../graphs/support_agent.js";
import { callTools, FAST_RETRY, ScriptedChatModel, shop } from "./support/agents.js";
import { testLog } from "./support/log.js";

const demo = demoLines().map((l) => JSON.parse(l.text) as { id: string; type: string });
/** The demo day's input events up to and including `id`. */
const upTo = (id: string) => demo.slice(0, demo.findIndex((e) => e.id === id) + 1);

async function steps(graph: typeof supportAgent, input: Parameters<typeof supportAgent.invoke>[0]): Promise<string[]> {
  const names: string[] = [];
  for await (const chunk of await graph.stream(input, { streamMode: "updates" })) names.push(...Object.keys(chunk));
  return names;
}

describe("support_agent graph", () => {
  it("handles the newest customer message of the batch: looks the order up, requests the refund, drafts the reply, one step per model answer and tool round", async () => {
    const out = await supportAgent.invoke({ events: upTo("evt-041") });
    expect(out.status).toBe("completed");
    expect(out.triggerEvent?.id).toBe("evt-041");
    expect(out.candidates).toEqual(["evt-041"]);
    expect(out.rejected).toEqual([]);
    expect(out.toolCalls?.map((c) => c.name)).toEqual(["lookup_order", "request_refund", "draft_reply"]);
    expect(out.proposals?.map((p) => p.id)).toEqual(["evt-041>RefundRequested", "evt-041>ReplyDrafted"]);
    expect(out.reply).toMatch(/refund of 1 x Ceramic Mug on order ORD-1001/);
    // The services would accept the refund ($15.00, under the approval threshold).
    const processed = out.decisions?.facts.find((f) => f.type === "RefundProcessed");
    expect(processed?.data).toMatchObject({ orderId: "ORD-1001", sku: "SKU-MUG", qty: 1, amountCents: 1500 });
    expect(out.decisions?.conflicts).toEqual([]);

    expect(await steps(supportAgent, { events: upTo("evt-041") })).toEqual([
      "prepare",
      "model",
      "tools",
      "model",
      "tools",
      "model",
      "tools",
      "model",
      "finish",
    ]);
  });

  it("proposes exactly what the support agent appends in the store graph for the same message", async () => {
    const log = testLog("same");
    const store = compileStoreGraph({ checkpointer: new MemorySaver(), events: log.events });
    const config = { configurable: { thread_id: "same" }, recursionLimit: 500 };
    const state = (await store.invoke({ inbox: upTo("evt-043") }, config)) as State;
    const inStore = (await log.eventsOf(state))
      .filter((e) => e.source === "support_agent" && e.causationId === "evt-043")
      .map(({ id, type, data }) => ({ id, type, data }));
    expect(inStore.length).toBeGreaterThan(0);

    const out = await supportAgent.invoke({ events: upTo("evt-043") });
    expect(out.triggerEvent?.id).toBe("evt-043");
    expect(out.proposals?.map(({ id, type, data }) => ({ id, type, data }))).toEqual(inStore);
  });

  it("takes a new event as the trigger, appended after the batch; reports bad inputs with the CLI's reasons", async () => {
    const events = [
      ...shop(),
      { id: "bad", type: "OrderPlaced", at: "2026-03-01T09:30:00Z", data: { orderId: "O-9", customerId: "C-ANN", lines: [{ sku: "SKU-NOPE", qty: 1 }] } },
    ];
    const trigger = {
      id: "m-1",
      type: "CustomerMessage",
      at: "2026-03-01T10:00:00Z",
      data: { customerId: "C-ANN", text: "One mug from ORD-1 arrived broken, refund please" },
    };
    const out = await supportAgent.invoke({ events, trigger });
    expect(out.triggerEvent?.id).toBe("m-1");
    expect(out.rejected).toEqual([{ source: "events", line: 6, reason: expect.stringMatching(/unknown SKU 'SKU-NOPE'/) }]);
    expect(out.proposals?.find((p) => p.type === "RefundRequested")?.data).toMatchObject({ orderId: "ORD-1", sku: "SKU-MUG", qty: 1 });
  });

  it("refuses a trigger the agent does not handle, naming the candidates", async () => {
    await expect(supportAgent.invoke({ events: upTo("evt-041"), trigger: "evt-001" })).rejects.toThrow(
      /trigger 'evt-001' is a ProductAdded, which support_agent does not handle .*candidates: evt-041/,
    );
    await expect(supportAgent.invoke({ events: upTo("evt-010") })).rejects.toThrow(
      /no event of the batch is one support_agent subscribes to \(CustomerMessage\); candidates: none/,
    );
  });

  it.skipIf(loadConfig().openai.apiKey !== undefined)("refuses an OpenAI model when no key is set, before the model runs", async () => {
    await expect(supportAgent.invoke({ events: upTo("evt-041") }, { context: { model: "gpt-4o" } })).rejects.toThrow(
      /context.model 'gpt-4o' is an OpenAI model, but OPENAI_API_KEY is not set/,
    );
    const offline = await supportAgent.invoke({ events: upTo("evt-041") }, { context: { model: "offline" } });
    expect(offline.status).toBe("completed");
  });

  it("ends the task failed, with the reason, when the model keeps failing", async () => {
    const broken = new ScriptedChatModel(() => {
      throw Object.assign(new Error("server exploded"), { status: 500 });
    });
    const graph = compileAgentGraph(SUPPORT_AGENT, { models: { support_agent: () => broken }, retryPolicy: FAST_RETRY });
    const out = await graph.invoke({ events: upTo("evt-041") });
    expect(out.status).toBe("failed");
    expect(out.error).toMatch(/server exploded/);
    expect(out.proposals).toBeUndefined();
    expect(broken.calls.length).toBe(3);
  });

  it("has room for the whole tool-call budget: a model that never stops fails on the budget, not on the step limit", async () => {
    const endless = new ScriptedChatModel((_, turn) => callTools(turn, [{ name: "lookup_order", args: { orderId: "ORD-1001" } }]));
    const graph = compileAgentGraph(SUPPORT_AGENT, { models: { support_agent: () => endless }, retryPolicy: FAST_RETRY });
    const out = await graph.invoke({ events: upTo("evt-041") });
    expect(out.status).toBe("failed");
    expect(out.error).toMatch(/tool-call budget exceeded: 13 calls > 12/);
    expect(out.toolCalls?.length).toBe(12);
  });

  it("answers a call of another agent's read tool with an error and records the scope conflict", async () => {
    const script = (_: unknown, turn: number) => (turn === 0 ? callTools(0, [{ name: "read_stock", args: { sku: "SKU-MUG" } }]) : new AIMessage("done"));
    const graph = compileAgentGraph(SUPPORT_AGENT, { models: { support_agent: () => new ScriptedChatModel(script) }, retryPolicy: FAST_RETRY });
    const out = await graph.invoke({ events: upTo("evt-041") });
    expect(out.status).toBe("completed");
    expect(out.conflicts?.map((c) => [c.kind, c.reason])).toEqual([["scope", "support_agent called read_stock, a tool of inventory_agent"]]);
    expect(out.proposals).toEqual([]);
  });
});

describe("inventory_agent graph", () => {
  it("takes the newest low-stock alert the services derived from the batch and requests a reorder the service would accept", async () => {
    const out = await inventoryAgent.invoke({ events: upTo("evt-030") });
    expect(out.status).toBe("completed");
    expect(out.triggerEvent?.type).toBe("LowStockAlert");
    expect(out.candidates).toContain(out.triggerEvent?.id);
    const sku = (out.triggerEvent?.data as { sku: string }).sku;
    expect(out.toolCalls?.map((c) => c.name)).toEqual(["read_stock", "request_reorder"]);
    expect(out.proposals?.map((p) => [p.type, (p.data as { sku: string }).sku])).toEqual([["ReorderRequested", sku]]);
    expect(out.decisions?.facts.map((f) => f.type)).toContain("ReorderRequested");
    expect(out.decisions?.conflicts).toEqual([]);
  });
});

describe("marketing_agent graph", () => {
  it("drafts a post for a product added in the batch, chosen by id", async () => {
    const out = await marketingAgent.invoke({ events: upTo("evt-003"), trigger: "evt-002" });
    expect(out.status).toBe("completed");
    expect(out.triggerEvent?.id).toBe("evt-002");
    expect(out.proposals?.map((p) => [p.type, (p.data as { sku: string }).sku])).toEqual([["PostDrafted", "SKU-MUG"]]);
    expect(out.decisions?.facts.map((f) => f.type)).toEqual(["PostDrafted"]);
  });
});
