/**
 * The OpenAI path for real: a local OpenAI-compatible server (node:http on
 * 127.0.0.1, port 0) answers chat/completions with tool calls, then a final
 * message, and `ChatOpenAI` (built by `chatModelFromConfig` from the same
 * variables a user sets) drives the support agent through a full turn inside
 * the store's graph. The server's first answer is a 429, which the tool
 * loop's RetryPolicy retries (ChatOpenAI itself is built with maxRetries 0).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runToolLoop } from "../src/agents/runtime.js";
import { SUPPORT_AGENT } from "../src/nodes/support_agent.js";
import { AGENT_TOOLS } from "../src/agents/scopes.js";
import { loadConfig } from "../src/config.js";
import { chatModelFromConfig, loadOpenAI } from "../src/llm/model.js";
import { OfflineChatModel } from "../src/llm/offline/model.js";
import type { State } from "../src/state.js";
import { ev, FAST_RETRY, models, shop, testStore } from "./support/agents.js";

interface ChatRequest {
  model: string;
  messages: { role: string; content: string | null; tool_call_id?: string; tool_calls?: { id: string; function: { name: string; arguments: string } }[] }[];
  tools?: {
    type: string;
    function: { name: string; description: string; parameters: { type: string; properties: Record<string, { description?: string }>; required?: string[] } };
  }[];
}

interface Received {
  path: string;
  authorization?: string;
  body: ChatRequest;
}

// The key here is in each config, not in this process's environment: ChatOpenAI is loaded by hand, as the eval does.
beforeAll(loadOpenAI);

const REPLY = "Sorry about the mugs. I've asked for a refund of both; you'll hear from us soon.";

/** The scripted assistant: one step per tool result received so far. */
function answer(body: ChatRequest) {
  const toolResults = body.messages.filter((m) => m.role === "tool").length;
  const toolCall = (name: string, args: Record<string, unknown>, content: string | null = null) => ({
    finish_reason: "tool_calls",
    message: {
      role: "assistant",
      content,
      tool_calls: [{ id: `call_${toolResults + 1}`, type: "function", function: { name, arguments: JSON.stringify(args) } }],
    },
  });
  const steps = [
    toolCall("lookup_order", { orderId: "ORD-1" }, "Let me look up the order first."),
    toolCall("request_refund", { orderId: "ORD-1", sku: "SKU-MUG", qty: 2, reason: "damaged" }),
    toolCall("draft_reply", { text: REPLY, orderId: "ORD-1" }),
    { finish_reason: "stop", message: { role: "assistant", content: "refund requested for 2 mugs of ORD-1; reply drafted" } },
  ];
  const step = steps[Math.min(toolResults, steps.length - 1)];
  return {
    id: `chatcmpl-${toolResults}`,
    object: "chat.completion",
    created: 1_767_000_000,
    model: body.model,
    choices: [{ index: 0, logprobs: null, ...step }],
    usage: { prompt_tokens: 200, completion_tokens: 20, total_tokens: 220 },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

describe("support agent over ChatOpenAI and a local OpenAI-compatible server", () => {
  const received: Received[] = [];
  let server: Server;
  let baseUrl: string;
  let rateLimited = false;

  beforeAll(async () => {
    server = createServer((request, response) => {
      void readBody(request).then((text) => {
        received.push({ path: request.url ?? "", authorization: request.headers.authorization, body: JSON.parse(text) as ChatRequest });
        response.setHeader("content-type", "application/json");
        if (!rateLimited) {
          rateLimited = true;
          response.statusCode = 429;
          response.end(JSON.stringify({ error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } }));
          return;
        }
        response.end(JSON.stringify(answer(received.at(-1)!.body)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("picks ChatOpenAI with a key (no retries of its own, a time-out) and the offline model without", () => {
    expect(chatModelFromConfig(loadConfig({}))).toBeInstanceOf(OfflineChatModel);
    const model = chatModelFromConfig(loadConfig({ OPENAI_API_KEY: "test", OPENAI_MODEL: "gpt-test", OPENAI_BASE_URL: baseUrl }));
    expect(model).toBeInstanceOf(ChatOpenAI);
    expect((model as ChatOpenAI).model).toBe("gpt-test");
    expect((model as ChatOpenAI).timeout).toBeGreaterThan(0);
    // LangChain's own caller would retry a 429 up to 6 times by default, under the RetryPolicy's retries.
    expect((model as unknown as { caller: { maxRetries: number } }).caller.maxRetries).toBe(0);
  });

  let state: State;
  let messageId: string;
  it("runs a full support turn: lookup, refund, reply, final message", async () => {
    const config = loadConfig({ OPENAI_API_KEY: "test", OPENAI_MODEL: "gpt-test", OPENAI_BASE_URL: baseUrl });
    const store = testStore({ models: models({ support_agent: () => chatModelFromConfig(config) }) });
    await store.ingest(shop());
    const message = ev("CustomerMessage", { customerId: "C-ANN", text: "Both mugs from my last order arrived broken :(" }, 10);
    messageId = message.id;
    state = await store.ingest([message]);
    const events = await store.log.eventsOf(state);

    const task = state.tasks[`${messageId}:support_agent`];
    expect(task).toMatchObject({ status: "completed", attempts: 1, result: "refund requested for 2 mugs of ORD-1; reply drafted" });
    const refund = events.find((e) => e.type === "RefundRequested" && e.causationId === messageId);
    expect(refund).toMatchObject({
      id: `${messageId}>RefundRequested`,
      source: "support_agent",
      data: { orderId: "ORD-1", sku: "SKU-MUG", qty: 2, reason: "damaged" },
    });
    // The amount is order_service's: two mugs at 15.00.
    expect(events.find((e) => e.type === "RefundProcessed" && e.causationId === refund!.id)).toMatchObject({ data: { amountCents: 3000 } });
    expect((await store.log.ordersOf(state))["ORD-1"].refundedCents).toBe(3000);
    const reply = state.messages.find((m) => m.id === `msg-${messageId}-reply`);
    expect(reply?.content).toBe(REPLY);
    // The agent's private memory: its tool calls and what it wrote along the way.
    expect(state.supportMemory.at(-1)?.toolCalls?.map((c) => c.name)).toEqual(["lookup_order", "request_refund", "draft_reply"]);
    expect(state.supportMemory.at(-1)?.scratchpad).toBe("Let me look up the order first.");
  });

  it("the server saw one 429 (retried by the RetryPolicy, not by the client) and then four completions", () => {
    expect(received).toHaveLength(5);
    expect(received.every((r) => r.path === "/v1/chat/completions")).toBe(true);
    expect(received.every((r) => r.authorization === "Bearer test")).toBe(true);
    expect(received.every((r) => r.body.model === "gpt-test")).toBe(true);
  });

  it("offered the support agent's tools with their described zod schemas, and no amount to fill in", () => {
    const tools = received[1].body.tools ?? [];
    expect(tools.map((t) => t.function.name)).toEqual([...AGENT_TOOLS.support_agent]);
    for (const t of tools) {
      expect(t.function.description.length, t.function.name).toBeGreaterThan(10);
      for (const [field, schema] of Object.entries(t.function.parameters.properties)) expect(schema.description, `${t.function.name}.${field}`).toBeTruthy();
    }
    const refund = tools.find((t) => t.function.name === "request_refund")!.function.parameters;
    expect(Object.keys(refund.properties).sort()).toEqual(["orderId", "qty", "reason", "sku"]);
    expect(refund.required?.sort()).toEqual(["orderId", "qty", "reason", "sku"]);
  });

  it("sent the event and selective context as delimited blocks, then each tool result with its call id", () => {
    const first = received[1].body.messages;
    expect(first.map((m) => m.role)).toEqual(["system", "user"]);
    expect(first[1].content).toContain("<trigger_event>");
    expect(first[1].content).toContain(messageId);
    expect(first[1].content).toContain("<context>");

    const last = received[4].body.messages;
    expect(last.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "tool", "assistant", "tool"]);
    const tools = last.filter((m) => m.role === "tool");
    expect(tools.map((m) => m.tool_call_id)).toEqual(["call_1", "call_2", "call_3"]);
    expect(JSON.parse(tools[0].content ?? "{}").order).toMatchObject({ orderId: "ORD-1", customerId: "C-ANN" });
    expect(tools[1].content).toMatch(/^requested: refund of 2 x SKU-MUG on ORD-1/);
    expect(last[2].tool_calls?.[0].function).toEqual({ name: "lookup_order", arguments: JSON.stringify({ orderId: "ORD-1" }) });
  });
});

describe("ChatOpenAI against a server that never answers", () => {
  it("each call times out, is aborted and retried; then the attempt fails with the time-out", async () => {
    let requests = 0;
    let aborted = 0;
    const hanging = createServer((request) => {
      requests++;
      request.on("close", () => aborted++);
      request.resume();
    });
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/v1`;
      const model = () => chatModelFromConfig(loadConfig({ OPENAI_API_KEY: "test", OPENAI_MODEL: "gpt-test", OPENAI_BASE_URL: baseUrl }));
      const trigger = {
        id: "evt-hang",
        type: "CustomerMessage",
        at: "2026-03-01T10:00:00Z",
        source: "email",
        v: 1,
        data: { customerId: "C-ANN", text: "Where is my order?" },
      } as const;
      const context = { orders: [], products: [], stock: {}, promotions: {}, openReorders: {}, recentSales: {}, history: [] };
      const delivery = { taskId: "evt-hang:support_agent", agent: "support_agent" as const, attempt: 1, trigger, position: 0, context, memory: [] };
      await expect(runToolLoop(delivery, SUPPORT_AGENT, { models: { support_agent: model }, retryPolicy: FAST_RETRY, modelTimeoutMs: 200 })).rejects.toThrow(
        /timed out after 200 ms/,
      );
      expect(requests).toBe(FAST_RETRY.maxAttempts);
      // The abort reached the HTTP request: no connection is left hanging.
      await vi.waitFor(() => expect(aborted).toBe(requests));
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
