/**
 * The store graph on a real LangGraph server (`langgraphjs dev`, as `npm run
 * dev` starts it), driven with @langchain/langgraph-sdk. A run on the server
 * and a run in-process give the same inventory, orders and promotions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { MemorySaver } from "@langchain/langgraph";
import { demoLines } from "../src/demo.js";
import { compileStoreGraph } from "../src/graph.js";
import type { State } from "../src/state.js";
import { stateView } from "../src/views.js";

const root = resolve(import.meta.dirname, "..");

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function waitForServer(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dev server exited early:\n${log()}`);
    try {
      if ((await fetch(`${url}/ok`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`dev server did not start:\n${log()}`);
}

let server: ChildProcess;
let client: Client;

beforeAll(async () => {
  const port = await freePort();
  let output = "";
  server = spawn(process.execPath, [resolve(root, "node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs"), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? root, LANGGRAPH_CLI_NO_ANALYTICS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so the server's workers stop with it.
    detached: true,
  });
  server.stdout?.on("data", (d) => (output += d));
  server.stderr?.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  await waitForServer(url, server, () => output);
  client = new Client({ apiUrl: url });
});

afterAll(async () => {
  if (!server?.pid || server.exitCode !== null) return;
  const exited = new Promise((done) => server.once("exit", done));
  process.kill(-server.pid, "SIGTERM");
  await exited;
});

describe("the store graph on the LangGraph server", () => {
  it("ingests a batch, rejects bad events like the CLI, and matches an in-process run value for value", async () => {
    const inbox = demoLines()
      .slice(0, 30)
      .map((l) => JSON.parse(l.text) as unknown);
    inbox.push("{truncated", { id: "bad-1", type: "OrderPlaced", at: "2026-03-01T10:00:00Z", data: { orderId: "X", customerId: "C", lines: [{ sku: "SKU-NOPE", qty: 1 }] } });

    const thread = await client.threads.create({ threadId: randomUUID() });
    await client.runs.wait(thread.thread_id, "store", { input: { inbox }, config: { recursion_limit: 200 } });
    const remote = (await client.threads.getState<State>(thread.thread_id)).values;

    const local = compileStoreGraph({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "local" }, recursionLimit: 200 };
    await local.invoke({ inbox }, config);
    const mine = (await local.getState(config)).values as State;

    const view = (v: State) => {
      const { inventory, orders, promotions, pendingApprovals, rejected } = stateView(v, "");
      return { inventory, orders, promotions, pendingApprovals, rejected };
    };
    expect(view(remote)).toEqual(view(mine));
    expect(remote.rejected.map((r) => [r.source, r.line])).toEqual([
      ["inbox", 31],
      ["inbox", 32],
    ]);
    expect(remote.rejected[1].reason).toMatch(/unknown SKU 'SKU-NOPE'/);
    expect(remote.orders["ORD-1011"].status).toBe("rejected");

    const history = await client.threads.getHistory(thread.thread_id, { limit: 5 });
    expect(history.length).toBe(5);
  });
});
