import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { InMemoryStore, type BaseStore } from "@langchain/langgraph-checkpoint";
import { systemEvent, type StoreEvent, type SystemEventData } from "../src/domain/events.js";
import { emptyWorld, type Order, type World } from "../src/domain/world.js";
import { localEmbeddings } from "../src/memory/embeddings.js";
import type { CustomerFact } from "../src/memory/facts.js";
import { customerNamespace, factOf, factsOf, MAX_FACT_TEXT_CHARS, recall, remember } from "../src/memory/knowledge.js";
import { SqliteStore } from "../src/memory/sqlite_store.js";
import { openDatabase } from "../src/persistence/sqlite.js";

const embeddings = localEmbeddings();
const everything = () => true;

let dir: string;
const opened: Database.Database[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-knowledge-"));
});
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function sqliteStore(): SqliteStore {
  const db = openDatabase(join(dir, "kb.db"));
  opened.push(db);
  return new SqliteStore(db);
}

const STORES: [string, () => BaseStore][] = [
  ["InMemoryStore", () => new InMemoryStore()],
  ["SqliteStore", sqliteStore],
];

function order(orderId: string, customerId: string, lines: [string, number, number][], extra: Partial<Order> = {}): Order {
  const orderLines = lines.map(([sku, qty, unitPriceCents]) => ({ sku, qty, unitPriceCents, refundedQty: 0 }));
  const paidCents = orderLines.reduce((sum, l) => sum + l.qty * l.unitPriceCents, 0);
  return { orderId, customerId, lines: orderLines, status: "confirmed", paidCents, refundedCents: 0, version: 1, placedAt: "2026-03-01T10:00:00Z", ...extra };
}

function world(): World {
  const w = emptyWorld();
  const product = (sku: string, name: string, priceCents: number) => ({ sku, name, priceCents, reorderPoint: 2, reorderQty: 10 });
  w.catalog = {
    "MUG-BLUE": product("MUG-BLUE", "Blue Mug", 1200),
    "LAMP-DESK": product("LAMP-DESK", "Desk Lamp", 4500),
    "BOWL-WALNUT": product("BOWL-WALNUT", "Walnut Salad Bowl", 6800),
    KETTLE: product("KETTLE", "Steel Kettle", 3900),
  };
  w.orders = {
    "O-1": order("O-1", "alice", [["MUG-BLUE", 2, 1200]]),
    "O-2": order("O-2", "alice", [["LAMP-DESK", 1, 4500]]),
    "O-3": order("O-3", "bob", [["KETTLE", 1, 3900]]),
    "O-9": order("O-9", "alice", [["KETTLE", 1, 3900]], { status: "rejected", paidCents: 0, rejectionReason: "out of stock: KETTLE" }),
  };
  return w;
}

const AT = "2026-03-02T09:00:00Z";
const input = <T extends StoreEvent["type"]>(id: string, type: T, data: unknown, at = AT) =>
  ({ id, type, at, source: "test", v: 1, data }) as unknown as Extract<StoreEvent, { type: T }>;
const system = <T extends keyof SystemEventData>(type: T, data: SystemEventData[T], causeId: string, at = AT) =>
  systemEvent(type, data, { id: causeId, at }, "test");

describe("factOf", () => {
  const w = world();
  const cases: [string, StoreEvent, Partial<CustomerFact> | null][] = [
    [
      "an order, with what was paid",
      input("e1", "OrderPlaced", { orderId: "O-1", customerId: "alice", lines: [{ sku: "MUG-BLUE", qty: 2 }] }),
      { eventId: "e1", customerId: "alice", kind: "order", orderId: "O-1", at: AT, text: "Order O-1 placed: 2 × Blue Mug (MUG-BLUE), total $24.00" },
    ],
    [
      "an order not yet confirmed, at list price",
      input("e2", "OrderPlaced", {
        orderId: "O-7",
        customerId: "carol",
        lines: [
          { sku: "BOWL-WALNUT", qty: 1 },
          { sku: "MUG-BLUE", qty: 3 },
        ],
      }),
      {
        customerId: "carol",
        kind: "order",
        orderId: "O-7",
        text: "Order O-7 placed: 1 × Walnut Salad Bowl (BOWL-WALNUT), 3 × Blue Mug (MUG-BLUE), total $104.00",
      },
    ],
    [
      "a rejected order says why",
      input("e3", "OrderPlaced", { orderId: "O-9", customerId: "alice", lines: [{ sku: "KETTLE", qty: 1 }] }),
      { kind: "order", text: "Order O-9 placed: 1 × Steel Kettle (KETTLE) (rejected: out of stock: KETTLE)" },
    ],
    [
      "a second placement with a used order id is not described as the first order",
      input("e5", "OrderPlaced", { orderId: "O-1", customerId: "bob", lines: [{ sku: "LAMP-DESK", qty: 1 }] }),
      { customerId: "bob", orderId: "O-1", text: "Order O-1 placed: 1 × Desk Lamp (LAMP-DESK), total $45.00" },
    ],
    [
      "an order of an unknown product names its SKU",
      input("e4", "OrderPlaced", { orderId: "O-8", customerId: "dave", lines: [{ sku: "NEW-1", qty: 1 }] }),
      { customerId: "dave", text: "Order O-8 placed: 1 × NEW-1" },
    ],
    [
      "a processed refund, found by the order's customer",
      system(
        "RefundProcessed",
        { orderId: "O-2", sku: "LAMP-DESK", qty: 1, amountCents: 4500, reason: "damaged", approvalId: "A-1", decidedBy: "maria", version: 2 },
        "m1",
      ),
      {
        eventId: "m1>RefundProcessed",
        customerId: "alice",
        kind: "refund",
        orderId: "O-2",
        text: "Refund of $45.00 processed on order O-2 for 1 × Desk Lamp (LAMP-DESK) (reason: damaged, approved by maria)",
      },
    ],
    [
      "a rejected refund",
      system("RefundRejected", { orderId: "O-1", sku: "MUG-BLUE", reason: "already refunded in full" }, "m2"),
      { customerId: "alice", kind: "refund", text: "Refund on order O-1 for Blue Mug (MUG-BLUE) rejected: already refunded in full" },
    ],
    [
      "a refund waiting for a person",
      system("ApprovalRequested", { approvalId: "A-2", orderId: "O-3", sku: "KETTLE", qty: 1, amountCents: 3900, reason: "not_delivered" }, "m3"),
      {
        customerId: "bob",
        kind: "refund",
        orderId: "O-3",
        text: "Refund of $39.00 on order O-3 for 1 × Steel Kettle (KETTLE) awaits a person's approval (reason: not_delivered)",
      },
    ],
    [
      "a reply",
      system("ReplyDrafted", { customerId: "alice", orderId: "O-1", messageId: "m4", text: "Sorry about the mug!\nA refund is on its way." }, "m4"),
      { customerId: "alice", kind: "reply", orderId: "O-1", text: 'Reply to the customer about order O-1: "Sorry about the mug! A refund is on its way."' },
    ],
    [
      "a customer message",
      input("m5", "CustomerMessage", { customerId: "bob", subject: "Kettle", text: "Where is my kettle?" }),
      { customerId: "bob", kind: "message", text: 'Customer wrote (subject: Kettle): "Where is my kettle?"' },
    ],
    ["a refund of an unknown order", system("RefundRejected", { orderId: "O-404", reason: "no such order" }, "m6"), null],
    ["stock received", input("s1", "StockReceived", { sku: "KETTLE", qty: 5 }), null],
    ["a post", system("PostDrafted", { postId: "P-1", sku: "KETTLE", text: "Kettles are back" }, "s2"), null],
  ];

  it.each(cases)("%s", (_name, event, expected) => {
    const fact = factOf(event, w);
    if (expected === null) expect(fact).toBeNull();
    else expect(fact).toMatchObject(expected);
  });

  it("omits orderId when the event has none", () => {
    expect(factOf(input("m7", "CustomerMessage", { customerId: "bob", text: "hi" }), w)).not.toHaveProperty("orderId");
  });

  it("cuts long messages to one bounded line", () => {
    const text = `${"My lamp flickers. ".repeat(200)}\n\nPlease help.`;
    const fact = factOf(input("m8", "CustomerMessage", { customerId: "alice", text }), w);
    expect(fact?.text.length).toBe(MAX_FACT_TEXT_CHARS);
    expect(fact?.text).toMatch(/^Customer wrote: "My lamp flickers\. My lamp/);
    expect(fact?.text.endsWith("…")).toBe(true);
    expect(fact?.text).not.toContain("\n");
  });

  it("factsOf keeps log order and drops the rest", () => {
    const events = cases.map(([, e]) => e);
    expect(factsOf(events, w).map((f) => f.eventId)).toEqual(events.filter((e) => factOf(e, w) !== null).map((e) => e.id));
  });
});

describe("customerNamespace", () => {
  it("encodes the characters namespace labels may not hold, reversibly", async () => {
    expect(customerNamespace("alice")).toEqual(["customers", "alice", "facts"]);
    expect(customerNamespace("a.b:c%d")).toEqual(["customers", "a%2Eb%3Ac%25d", "facts"]);
    expect(customerNamespace("a%2Eb")).not.toEqual(customerNamespace("a.b"));
    const store = new InMemoryStore();
    await remember(store, [fact("e1", "alice@example.com", "Order O-1 placed: 1 × Blue Mug")], embeddings);
    const found = await recall(store, { customerId: "alice@example.com", query: "mug", k: 3, isInBranch: everything, embeddings });
    expect(found.map((f) => f.eventId)).toEqual(["e1"]);
  });
});

function fact(eventId: string, customerId: string, text: string, at = AT, kind: CustomerFact["kind"] = "order"): CustomerFact {
  return { eventId, customerId, kind, text, at };
}

/** A customer's history: some orders, a refund, a reply; and another customer with look-alike facts. */
function history(): CustomerFact[] {
  const w = world();
  const events: StoreEvent[] = [
    input("e1", "OrderPlaced", { orderId: "O-1", customerId: "alice", lines: [{ sku: "MUG-BLUE", qty: 2 }] }, "2026-03-01T10:00:00Z"),
    input("e2", "OrderPlaced", { orderId: "O-2", customerId: "alice", lines: [{ sku: "LAMP-DESK", qty: 1 }] }, "2026-03-02T10:00:00Z"),
    input("e3", "OrderPlaced", { orderId: "O-3", customerId: "bob", lines: [{ sku: "KETTLE", qty: 1 }] }, "2026-03-02T11:00:00Z"),
    input("e4", "CustomerMessage", { customerId: "alice", orderId: "O-2", text: "The desk lamp arrived broken" }, "2026-03-03T10:00:00Z"),
    system("RefundProcessed", { orderId: "O-2", sku: "LAMP-DESK", qty: 1, amountCents: 4500, reason: "damaged", version: 2 }, "e4", "2026-03-03T10:00:00Z"),
    system("ReplyDrafted", { customerId: "alice", orderId: "O-2", messageId: "e4", text: "We refunded the lamp." }, "e4", "2026-03-03T10:00:00Z"),
    input("e5", "CustomerMessage", { customerId: "bob", text: "My desk lamp and blue mug are broken, refund please" }, "2026-03-04T10:00:00Z"),
  ];
  return factsOf(events, w);
}

describe.each(STORES)("remember and recall on %s", (_name, makeStore) => {
  it("ranks the customer's facts by the query, best first, with scores", async () => {
    const store = makeStore();
    await remember(store, history(), embeddings);
    const found = await recall(store, { customerId: "alice", query: "refund for the desk lamp", k: 2, isInBranch: everything, embeddings });
    expect(found[0]).toMatchObject({ eventId: "e4>RefundProcessed", customerId: "alice", kind: "refund", orderId: "O-2" });
    expect(found[1].orderId).toBe("O-2");
    expect(found[0].score).toBeGreaterThanOrEqual(found[1].score);
    expect(found[0]).not.toHaveProperty("embedding");
  });

  it("never returns another customer's facts", async () => {
    const store = makeStore();
    await remember(store, history(), embeddings);
    // Even a fact of bob's slipped into alice's namespace is filtered out by customerId.
    await store.put(customerNamespace("alice"), "stray", { ...fact("stray", "bob", "desk lamp blue mug broken refund"), embedding: [], embeddingModel: "x" });
    const found = await recall(store, {
      customerId: "alice",
      query: "My desk lamp and blue mug are broken, refund please",
      k: 50,
      isInBranch: everything,
      embeddings,
    });
    expect(found.length).toBe(5);
    expect(found.every((f) => f.customerId === "alice")).toBe(true);
    expect(await recall(store, { customerId: "nobody", query: "lamp", k: 5, isInBranch: everything, embeddings })).toEqual([]);
  });

  it("sees only facts whose event is in the reader's branch", async () => {
    const store = makeStore();
    await remember(store, history(), embeddings);
    // After a rollback to before e4, the refund and reply are an abandoned branch.
    const branch = new Set(["e1", "e2", "e3"]);
    const found = await recall(store, { customerId: "alice", query: "refund for the desk lamp", k: 5, isInBranch: (id) => branch.has(id), embeddings });
    expect(found.map((f) => f.eventId)).toEqual(["e2", "e1"]);
  });

  it("keeps scopes apart: the same event id in two stores' logs is two facts", async () => {
    const store = makeStore();
    await remember(store, [fact("e1", "alice", "Order O-1 placed: 1 × Blue Mug")], embeddings, "north");
    await remember(store, [fact("e1", "alice", "Order O-1 placed: 1 × Desk Lamp")], embeddings, "south");
    const read = async (scope?: string) =>
      (await recall(store, { customerId: "alice", query: "order", k: 5, isInBranch: everything, embeddings, scope })).map((f) => f.text);
    expect(await read("north")).toEqual(["Order O-1 placed: 1 × Blue Mug"]);
    expect(await read("south")).toEqual(["Order O-1 placed: 1 × Desk Lamp"]);
    expect(await read()).toEqual([]);
    expect(customerNamespace("alice", "a.b")).toEqual(["stores", "a%2Eb", "customers", "alice", "facts"]);
  });

  it("is idempotent: remembering the same events again changes nothing", async () => {
    const store = makeStore();
    await remember(store, history(), embeddings);
    const first = await recall(store, { customerId: "alice", query: "lamp", k: 10, isInBranch: everything, embeddings });
    await remember(store, history(), embeddings);
    await remember(store, history().slice(0, 2), embeddings);
    expect(await store.search(customerNamespace("alice"), { limit: 100 })).toHaveLength(5);
    expect(await recall(store, { customerId: "alice", query: "lamp", k: 10, isInBranch: everything, embeddings })).toEqual(first);
  });

  it("breaks ties newest first by instant, not by string (an empty query ranks by time)", async () => {
    const store = makeStore();
    // b reads as the newest string but is the oldest instant (09:45Z).
    await remember(
      store,
      [fact("a", "c", "x", "2026-03-01T10:00:00Z"), fact("b", "c", "y", "2026-03-01T10:45:00+01:00"), fact("c", "c", "z", "2026-03-01T10:30:00Z")],
      embeddings,
    );
    const found = await recall(store, { customerId: "c", query: "", k: 3, isInBranch: everything, embeddings });
    expect(found.map((f) => [f.eventId, f.score])).toEqual([
      ["c", 0],
      ["a", 0],
      ["b", 0],
    ]);
  });

  it("re-embeds facts stored by another embedding model instead of comparing across models", async () => {
    const store = makeStore();
    await remember(store, history(), embeddings);
    const other = localEmbeddings(64);
    const found = await recall(store, { customerId: "alice", query: "blue mug", k: 1, isInBranch: everything, embeddings: other });
    expect(found.map((f) => f.eventId)).toEqual(["e1"]);
  });

  it("keeps no vectors for the local embedding, and ranks as if it had stored them", async () => {
    const withoutVectors = makeStore();
    await remember(withoutVectors, history(), embeddings);
    const stored = await withoutVectors.search(customerNamespace("alice"), { limit: 100 });
    expect(stored.length).toBeGreaterThan(0);
    for (const item of stored) expect(item.value).not.toHaveProperty("embedding");
    // The same facts written by a model that stores its vectors (the same function, not marked recomputable).
    const withVectors = makeStore();
    const storing = { ...embeddings, recomputable: false };
    await remember(withVectors, history(), storing);
    expect((await withVectors.search(customerNamespace("alice"), { limit: 1 }))[0].value).toHaveProperty("embedding");
    for (const query of ["blue mug", "lamp", "refund broken"]) {
      const a = await recall(withoutVectors, { customerId: "alice", query, k: 5, isInBranch: everything, embeddings });
      const b = await recall(withVectors, { customerId: "alice", query, k: 5, isInBranch: everything, embeddings: storing });
      expect(a).toEqual(b);
    }
  });

  it("finds the order despite typos and word order", async () => {
    const store = makeStore();
    await remember(store, history(), embeddings);
    for (const query of ["my blu mugg", "mugs blue, two of them", "the lamp on my dsk"]) {
      const [best] = await recall(store, { customerId: "alice", query, k: 1, isInBranch: everything, embeddings });
      expect([query, best.orderId]).toEqual([query, query.includes("lamp") ? "O-2" : "O-1"]);
    }
  });

  it("with 3,000 facts for one customer returns exactly k, bounded, and finds the one that matches", async () => {
    const store = makeStore();
    const products = ["Blue Mug (MUG-BLUE)", "Desk Lamp (LAMP-DESK)", "Steel Kettle (KETTLE)"];
    const many = Array.from({ length: 3000 }, (_, i) =>
      fact(
        `h${i}`,
        "alice",
        `Order O-${1000 + i} placed: ${1 + (i % 4)} × ${products[i % 3]}, total $${10 + (i % 50)}.00`,
        new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
      ),
    );
    many[1234] = fact("h1234", "alice", "Order O-2234 placed: 1 × Walnut Salad Bowl (BOWL-WALNUT), total $68.00", many[1234].at);
    // Long messages too, so the bound is tested on texts that need cutting.
    const long = Array.from(
      { length: 20 },
      (_, i) => factOf(input(`long${i}`, "CustomerMessage", { customerId: "alice", text: "walnut bowl ".repeat(300) }), world()) as CustomerFact,
    );
    await remember(store, [...many, ...long], embeddings);
    await remember(store, [fact("bob1", "bob", "Order O-1 placed: 1 × Walnut Salad Bowl (BOWL-WALNUT)")], embeddings);

    const k = 8;
    const found = await recall(store, {
      customerId: "alice",
      query: "walnut salad bowl order",
      k,
      isInBranch: (id) => !id.startsWith("long"),
      embeddings,
      pageSize: 250,
    });
    expect(found).toHaveLength(k);
    expect(found[0].eventId).toBe("h1234");
    expect(found.reduce((n, f) => n + f.text.length, 0)).toBeLessThanOrEqual(k * MAX_FACT_TEXT_CHARS);

    const withLong = await recall(store, { customerId: "alice", query: "walnut bowl", k, isInBranch: everything, embeddings });
    expect(withLong).toHaveLength(k);
    expect(withLong.filter((f) => f.eventId.startsWith("long"))).not.toHaveLength(0);
    expect(withLong.reduce((n, f) => n + f.text.length, 0)).toBeLessThanOrEqual(k * MAX_FACT_TEXT_CHARS);
    expect(withLong.every((f) => f.customerId === "alice")).toBe(true);
  });
});

describe("recall on a store that caps its page size", () => {
  /** Like a server that returns at most 100 items whatever limit is asked for. */
  class CappedStore extends InMemoryStore {
    override batch: InMemoryStore["batch"] = (operations) =>
      super.batch(operations.map((op) => ("namespacePrefix" in op ? { ...op, limit: Math.min(op.limit ?? 10, 100) } : op)) as unknown as typeof operations);
  }

  it("still reads every fact (it stops on an empty page, not a short one)", async () => {
    const store = new CappedStore();
    const facts = Array.from({ length: 300 }, (_, i) => fact(`f${i}`, "alice", `Order O-${i} placed: 1 × Blue Mug (MUG-BLUE)`));
    facts[250] = fact("f250", "alice", "Order O-250 placed: 1 × Walnut Salad Bowl (BOWL-WALNUT)");
    await remember(store, facts, embeddings);
    expect(await store.search(customerNamespace("alice"), { limit: 500 })).toHaveLength(100);
    const [best] = await recall(store, { customerId: "alice", query: "walnut bowl", k: 1, isInBranch: everything, embeddings });
    expect(best.eventId).toBe("f250");
  });
});

describe("InMemoryStore and SqliteStore recall the same facts", () => {
  it("gives identical results for the same history and queries", async () => {
    const results = await Promise.all(
      STORES.map(async ([, makeStore]) => {
        const store = makeStore();
        await remember(store, history(), embeddings);
        const out = [];
        for (const query of ["broken lamp", "mug", "refund", "where is my order", ""]) {
          for (const customerId of ["alice", "bob"])
            out.push(await recall(store, { customerId, query, k: 3, isInBranch: (id) => id !== "e2", embeddings, pageSize: 2 }));
        }
        return out;
      }),
    );
    expect(results[1]).toEqual(results[0]);
    expect(results[0].flat().length).toBeGreaterThan(10);
  });
});
