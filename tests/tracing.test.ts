/**
 * LangSmith tracing from the CLI (docs/eval.md), against local HTTP servers:
 * one that accepts the LangSmith API (the traces arrive, with the store, the
 * agent, its task id and the triggering event as metadata), one that answers
 * 503, and a closed port. When traces cannot be sent the command still
 * succeeds and says so in exactly one line, with none of the SDK's warnings.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { cli, tempDir } from "./support/cli.js";
import { freePort } from "./support/net.js";

const EVENTS = [
  {
    id: "e-1",
    type: "ProductAdded",
    at: "2026-03-01T07:00:00Z",
    data: { sku: "SKU-MUG", name: "Ceramic Mug", priceCents: 1500, initialStock: 40, reorderPoint: 8 },
  },
  { id: "e-2", type: "OrderPlaced", at: "2026-03-01T08:00:00Z", data: { orderId: "ORD-1", customerId: "C-ANN", lines: [{ sku: "SKU-MUG", qty: 2 }] } },
  { id: "e-3", type: "CustomerMessage", at: "2026-03-01T09:00:00Z", data: { customerId: "C-ANN", text: "One mug from ORD-1 arrived broken, refund please" } },
];

interface Received {
  method: string;
  path: string;
  body: string;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A stand-in for LangSmith: `status` for every request, bodies recorded (gunzipped when sent compressed). */
async function langsmith(status: number): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = request.headers["content-encoding"] === "gzip" ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
      received.push({ method: request.method ?? "", path: request.url ?? "", body });
      response.writeHead(status, { "content-type": "application/json" });
      response.end(status < 400 ? "{}" : JSON.stringify({ detail: "unavailable" }));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, received };
}

async function ingestTraced(endpoint: string) {
  const dir = tempDir();
  const file = join(dir, "events.jsonl");
  writeFileSync(file, EVENTS.map((e) => JSON.stringify(e)).join("\n"));
  return cli(["--thread", "traced", "ingest", file], {
    env: {
      SHOPSTATE_DB: join(dir, "db.sqlite"),
      LANGSMITH_TRACING: "true",
      LANGSMITH_API_KEY: "test-key",
      LANGSMITH_ENDPOINT: endpoint,
      LANGSMITH_PROJECT: "shopstate-test",
    },
    timeoutMs: 240_000,
  });
}

const SDK_NOISE = /\[LANGSMITH\]|fetch failed|Failed to (fetch|send)|Error exporting batch/;

describe("tracing to LangSmith from the CLI", () => {
  it("sends every agent's model calls with the store, agent, task id and triggering event as metadata", { timeout: 300_000 }, async () => {
    const { url, received } = await langsmith(200);
    const run = await ingestTraced(url);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const uploads = received.filter((r) => r.method === "POST" && /\/runs(\/multipart|\/batch)?$/.test(r.path));
    expect(uploads.length).toBeGreaterThan(0);
    const sent = uploads.map((u) => u.body).join("\n");
    for (const expected of [
      '"agent":"support_agent"',
      '"task_id":"e-3:support_agent"',
      '"trigger_event_id":"e-3"',
      '"trigger_event_type":"CustomerMessage"',
      '"store":"traced"',
      '"agent":"marketing_agent"',
    ]) {
      expect(sent, expected).toContain(expected);
    }
  });

  it("prints one line, and nothing from the SDK, when LangSmith answers with errors", { timeout: 300_000 }, async () => {
    const { url, received } = await langsmith(503);
    const run = await ingestTraced(url);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Ingested 3 of 3 events/);
    expect(run.stderr.trim().split("\n")).toEqual([`shopstate: LangSmith traces could not be sent: ${url} answered 503 Service Unavailable`]);
    expect(run.stderr).not.toMatch(SDK_NOISE);
    // The first refused upload stops the rest: nothing is retried against a failing service.
    expect(received.filter((r) => /\/runs/.test(r.path)).length).toBeLessThanOrEqual(1);
  });

  it("prints one line when nothing listens at the endpoint, and the command finishes", { timeout: 300_000 }, async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await ingestTraced(url);
    expect(run.code).toBe(0);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^shopstate: LangSmith traces could not be sent: ${url} is unreachable \\(ECONNREFUSED\\)$`)),
    ]);
    expect(run.stderr).not.toMatch(SDK_NOISE);
  });

  it("sends nothing without a key, even with tracing on", { timeout: 300_000 }, async () => {
    const { url, received } = await langsmith(200);
    const dir = tempDir();
    writeFileSync(join(dir, "events.jsonl"), EVENTS.map((e) => JSON.stringify(e)).join("\n"));
    const run = await cli(["ingest", join(dir, "events.jsonl")], {
      env: { SHOPSTATE_DB: join(dir, "db.sqlite"), LANGSMITH_TRACING: "true", LANGSMITH_ENDPOINT: url },
      timeoutMs: 240_000,
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(received).toEqual([]);
  });
});
