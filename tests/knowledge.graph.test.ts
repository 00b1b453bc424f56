/**
 * The knowledge store in a run: the router remembers customer facts under the
 * thread's scope and hands each support delivery the customer's closest facts
 * from this branch only — not another customer's, not the future, not a
 * branch abandoned by a rollback.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { InMemoryStore, MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { searchDeliveryHistory } from "../src/agents/runtime.js";
import type { SearchHistory } from "../src/agents/session.js";
import { compileStoreGraph } from "../src/graph.js";
import type { Delivery } from "../src/memory/context.js";
import { customerNamespace } from "../src/memory/knowledge.js";
import type { State } from "../src/state.js";

const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute)).toISOString();
const ev = (id: string, type: string, data: Record<string, unknown>, minute: number) => ({ id, type, at: at(minute), data });

const shop = [
  ev("p-mug", "ProductAdded", { sku: "MUG", name: "Blue Mug", priceCents: 1_500, initialStock: 20, reorderPoint: 1 }, 0),
  ev("p-lamp", "ProductAdded", { sku: "LAMP", name: "Desk Lamp", priceCents: 4_000, initialStock: 20, reorderPoint: 1 }, 0),
  ev("o-1", "OrderPlaced", { orderId: "O-1", customerId: "C-ANN", lines: [{ sku: "MUG", qty: 2 }] }, 1),
  ev("o-2", "OrderPlaced", { orderId: "O-2", customerId: "C-BEN", lines: [{ sku: "LAMP", qty: 1 }] }, 2),
  ev("s-1", "OrderShipped", { orderId: "O-1" }, 3),
];

/** A graph whose support agent records the history pool each delivery carried. */
function recordingGraph() {
  const seen = new Map<string, string[]>();
  const searchHistory: SearchHistory = (delivery: Delivery, query, k) => {
    seen.set(
      delivery.trigger.id,
      delivery.context.history.map((f) => f.eventId),
    );
    return searchDeliveryHistory(delivery, query, k);
  };
  const store = new InMemoryStore();
  const graph = compileStoreGraph({ checkpointer: new MemorySaver(), store, agents: { searchHistory } });
  const config = { configurable: { thread_id: "kb-thread" }, recursionLimit: 500 };
  const run = async (inbox: unknown[], from: RunnableConfig = config) => (await graph.invoke({ inbox } as never, from)) as State;
  return { graph, store, config, run, seen };
}

describe("customer facts in the run", () => {
  it("are remembered under the thread's scope and reach the customer's own support deliveries only", async () => {
    const { store, run, seen } = recordingGraph();
    await run([...shop, ev("m-1", "CustomerMessage", { customerId: "C-ANN", text: "One blue mug arrived cracked, refund please" }, 10)]);
    await run([ev("m-2", "CustomerMessage", { customerId: "C-ANN", text: "Did my mug refund go through?" }, 20)]);

    const facts = await store.search(customerNamespace("C-ANN", "kb-thread"), { limit: 100 });
    const kinds = facts.map((f) => f.value.kind);
    expect(kinds).toEqual(expect.arrayContaining(["order", "message", "refund", "reply"]));
    expect(await store.search(customerNamespace("C-ANN"), { limit: 10 })).toEqual([]);

    // The first message saw only the order before it; the second sees the refund and the reply too.
    expect(seen.get("m-1")).toEqual(["o-1"]);
    const second = seen.get("m-2") ?? [];
    expect(second).toEqual(expect.arrayContaining(["o-1", "m-1"]));
    expect(second.some((id) => id.includes("RefundProcessed"))).toBe(true);
    expect(second).not.toContain("o-2");
    expect(second).not.toContain("m-2");
  });

  it("after a rollback, a message does not see the facts of the abandoned branch", async () => {
    const { graph, config, run, seen } = recordingGraph();
    await run(shop);
    const beforeComplaint = (await graph.getState(config)).config;
    await run([ev("m-1", "CustomerMessage", { customerId: "C-ANN", text: "One blue mug arrived cracked, refund please" }, 10)]);

    // Fork from before the complaint (what `shopstate rollback` does) and carry on there.
    const fork = await graph.updateState(beforeComplaint, undefined);
    await run([ev("m-9", "CustomerMessage", { customerId: "C-ANN", text: "Where is my mug order?" }, 30)], { ...config, ...fork });

    const pool = seen.get("m-9") ?? [];
    expect(pool).toContain("o-1");
    expect(pool).not.toContain("m-1");
    expect(pool.some((id) => id.startsWith("m-1>"))).toBe(false);
  });
});
