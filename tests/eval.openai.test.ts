/**
 * The eval's ChatOpenAI plumbing (docs/eval.md): `runEval` with a model name
 * builds ChatOpenAI from the same variables a user sets (OPENAI_API_KEY,
 * OPENAI_BASE_URL) and drives the real store against a local
 * OpenAI-compatible server that answers with tool calls. The scripted
 * support clerk always refunds one mug of ORD-2001: right for the first case,
 * wrong for the second ("both mugs"), and the scores say so.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { runEval } from "../src/eval/index.js";

interface ChatRequest {
  model: string;
  messages: { role: string; content: string | null }[];
}

function answer(body: ChatRequest) {
  const system = body.messages.find((m) => m.role === "system")?.content ?? "";
  const done = body.messages.filter((m) => m.role === "tool").length;
  const toolCall = (name: string, args: Record<string, unknown>) => ({
    finish_reason: "tool_calls",
    message: {
      role: "assistant",
      content: null,
      tool_calls: [{ id: `call_${done + 1}`, type: "function", function: { name, arguments: JSON.stringify(args) } }],
    },
  });
  const stop = (content: string) => ({ finish_reason: "stop", message: { role: "assistant", content } });
  const steps = system.startsWith("You are support_agent")
    ? [
        toolCall("lookup_order", { orderId: "ORD-2001" }),
        toolCall("request_refund", { orderId: "ORD-2001", sku: "SKU-MUG", qty: 1, reason: "damaged" }),
        toolCall("draft_reply", { text: "I've asked for a refund of one mug on order ORD-2001.", orderId: "ORD-2001" }),
        stop("refund requested for one mug of ORD-2001"),
      ]
    : [stop("nothing to do")];
  const step = steps[Math.min(done, steps.length - 1)];
  return {
    id: `chatcmpl-${done}`,
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

describe("shopstate eval over ChatOpenAI and a local OpenAI-compatible server", () => {
  const models = new Set<string>();
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      void readBody(request).then((text) => {
        const body = JSON.parse(text) as ChatRequest;
        models.add(body.model);
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify(answer(body)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("scores each case from the model's tool calls, with the tokens the server reported", { timeout: 300_000 }, async () => {
    const config = loadConfig({ OPENAI_API_KEY: "sk-local", OPENAI_BASE_URL: baseUrl });
    const report = await runEval(config, { model: "local-model", agents: ["support"], limit: 2 });
    expect(models).toEqual(new Set(["local-model"]));
    expect(report.model).toBe("local-model");
    const [first, second] = report.cases;
    // Four support calls, and marketing's one on the stock update of the returned mug.
    expect(first).toMatchObject({ id: "sup-plain-01", correct: true, toolCalls: 3, tokens: 5 * 220, violations: [] });
    expect(second).toMatchObject({ id: "sup-plain-02", correct: false, toolCalls: 3, violations: [] });
    expect(second.checks.find((c) => !c.pass)).toMatchObject({ name: "refunds", detail: "expected [ORD-2001 SKU-MUG x2], got [ORD-2001 SKU-MUG x1]" });
    expect(report.scores.overall).toMatchObject({ cases: 2, correct: 1, score: 0.5, violations: 0 });
  });
});
