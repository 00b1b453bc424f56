/**
 * The offline clerk reads plain English (docs/eval.md): the messages a
 * read-through found it getting wrong, through the support agent's real tool
 * loop (`runToolLoop`, what the graph node runs) on `OfflineChatModel`.
 * Orders beyond the delivery's newest few are paged through
 * `list_customer_orders`, never guessed.
 */
import { describe, expect, it } from "vitest";
import { runToolLoop, type ProposalDraft } from "../src/agents/runtime.js";
import { SUPPORT_AGENT } from "../src/nodes/support_agent.js";
import { ordersIn, ordersOfCustomer } from "../src/agents/support/orders.js";
import type { StoreEvent } from "../src/domain/events.js";
import type { Order, Product } from "../src/domain/world.js";
import { findOrderIds } from "../src/llm/offline/intent.js";
import { correctTypos, toEnglish, withoutDenials } from "../src/llm/offline/language.js";
import { OfflineChatModel } from "../src/llm/offline/model.js";
import { CUSTOMER_ORDERS_IN_CONTEXT, type Delivery } from "../src/memory/context.js";

const product = (sku: string, name: string, priceCents: number): Product => ({ sku, name, priceCents, reorderPoint: 2, reorderQty: 10 });
const MUG = product("SKU-MUG", "Ceramic Mug", 1500);
const TEE = product("SKU-TEE", "Organic Cotton Tee", 2500);
const LAMP = product("SKU-LAMP", "Desk Lamp", 4900);
const HOOD = product("SKU-HOOD", "Zip Hoodie", 5500);
const SOCKS = product("SKU-SOCKS", "Wool Socks", 1200);
const CATALOG = [MUG, TEE, LAMP, HOOD, SOCKS];

function order(orderId: string, placedAt: string, lines: [Product, number][], customerId = "C-DANA"): Order {
  const orderLines = lines.map(([p, qty]) => ({ sku: p.sku, qty, unitPriceCents: p.priceCents, refundedQty: 0 }));
  return {
    orderId,
    customerId,
    lines: orderLines,
    status: "delivered",
    paidCents: orderLines.reduce((s, l) => s + l.qty * l.unitPriceCents, 0),
    refundedCents: 0,
    version: 3,
    placedAt,
  };
}

const DANA = [
  order("ORD-2005", "2026-03-03T10:00:00Z", [[LAMP, 1]]),
  order("ORD-2001", "2026-02-10T10:00:00Z", [
    [MUG, 2],
    [TEE, 1],
  ]),
];

let seq = 0;
function delivery(text: string, orders: Order[], customerId = "C-DANA"): Delivery {
  const trigger: StoreEvent = { id: `msg-${++seq}`, type: "CustomerMessage", at: "2026-03-08T12:00:00Z", source: "email", v: 1, data: { customerId, text } };
  const skus = new Set(orders.flatMap((o) => o.lines.map((l) => l.sku)));
  return {
    taskId: `${trigger.id}:support_agent`,
    agent: "support_agent",
    attempt: 1,
    trigger,
    position: 0,
    context: { orders, products: CATALOG.filter((p) => skus.has(p.sku)), stock: {}, promotions: {}, openReorders: {}, recentSales: {}, history: [] },
    memory: [],
  };
}

async function ask(text: string, orders: Order[] = DANA, older: Order[] = []) {
  const d = delivery(text, orders);
  const outcome = await runToolLoop(
    d,
    SUPPORT_AGENT,
    { models: { support_agent: () => new OfflineChatModel() } },
    {},
    { customerOrders: ordersIn([...orders, ...older], CATALOG) },
  );
  const refunds = outcome.proposals
    .filter((p: ProposalDraft) => p.type === "RefundRequested")
    .map((p) => p.data as { orderId: string; sku: string; qty: number; reason: string });
  const reply = (outcome.proposals.find((p) => p.type === "ReplyDrafted")?.data as { text: string } | undefined)?.text ?? "";
  return { refunds: refunds.map(({ orderId, sku, qty, reason }) => ({ orderId, sku, qty, reason })), reply, tools: outcome.toolCalls.map((c) => c.name) };
}

describe("the offline clerk reads plain English", () => {
  it("a denied complaint is not the reason: 'it is NOT broken, just return it'", async () => {
    expect((await ask("It is NOT broken, just return it please - the lamp from ORD-2005.")).refunds).toEqual([
      { orderId: "ORD-2005", sku: "SKU-LAMP", qty: 1, reason: "changed_mind" },
    ]);
    expect((await ask("ORD-2001: the tee is not torn or stained, it just isn't my style. Return please.")).refunds).toEqual([
      { orderId: "ORD-2001", sku: "SKU-TEE", qty: 1, reason: "changed_mind" },
    ]);
    // A complaint that is not denied still counts.
    expect((await ask("The lamp from ORD-2005 is broken, not what I hoped. Refund.")).refunds).toEqual([
      { orderId: "ORD-2005", sku: "SKU-LAMP", qty: 1, reason: "damaged" },
    ]);
    expect(withoutDenials("it is NOT broken or cracked, just return it")).not.toMatch(/broken|cracked/);
  });

  it("several items get a refund each, with their own counts, and one reply naming them", async () => {
    const { refunds, reply } = await ask("1 mug and 1 tee from ORD-2001 arrived broken, refund please");
    expect(refunds).toEqual([
      { orderId: "ORD-2001", sku: "SKU-MUG", qty: 1, reason: "damaged" },
      { orderId: "ORD-2001", sku: "SKU-TEE", qty: 1, reason: "damaged" },
    ]);
    expect(reply).toMatch(/1 x Ceramic Mug on order ORD-2001 \(\$15\.00 at most\) and 1 x Organic Cotton Tee on order ORD-2001 \(\$25\.00 at most\)/);
    expect((await ask("The mug (ORD-2001) and the lamp (ORD-2005) both arrived damaged")).refunds.map((r) => `${r.orderId} ${r.sku} x${r.qty}`)).toEqual([
      "ORD-2001 SKU-MUG x1",
      "ORD-2005 SKU-LAMP x1",
    ]);
    // Named only as what was ordered, or said to be fine: not asked about.
    expect((await ask("one of my mugs came chipped and the tee is fine")).refunds.map((r) => r.sku)).toEqual(["SKU-MUG"]);
  });

  it("spelled-out numbers and one-slip typos, plurals kept", async () => {
    expect((await ask("Two of the mugs in ORD-2001 arrived chipped. Refund please.")).refunds).toEqual([
      { orderId: "ORD-2001", sku: "SKU-MUG", qty: 2, reason: "damaged" },
    ]);
    expect((await ask("my mugg arived brokn, refnud pls ORD-2001")).refunds).toEqual([{ orderId: "ORD-2001", sku: "SKU-MUG", qty: 1, reason: "damaged" }]);
    expect(correctTypos("the mugs were damagd", CATALOG)).toBe("the mugs were damaged");
  });

  it("no order id: the newest order holding the product", async () => {
    expect((await ask("The lamp I bought flickers and died. Refund please.")).refunds).toEqual([
      { orderId: "ORD-2005", sku: "SKU-LAMP", qty: 1, reason: "damaged" },
    ]);
  });

  it("COVID-19 and other codes are not order ids; ids shaped like the customer's, or called an order, are", async () => {
    expect(findOrderIds("Due to COVID-19 my XR-200 lamp from ORD-2005 (ref UPS-88231) broke", new Set(["ORD"]))).toEqual(["ORD-2005"]);
    expect(findOrderIds("order #4417 and ORD-B1", new Set(["ORD"]))).toEqual(["ORD-B1", "4417"]);
    const { refunds, reply } = await ask("Due to COVID-19 delays the lamp arrived late and broken. Refund please.");
    expect(refunds).toEqual([{ orderId: "ORD-2005", sku: "SKU-LAMP", qty: 1, reason: "damaged" }]);
    expect(reply).not.toContain("COVID");
  });

  it("'cash back' asks for money back", async () => {
    expect((await ask("Can I get cash back for the broken mug from ORD-2001?")).refunds).toEqual([
      { orderId: "ORD-2001", sku: "SKU-MUG", qty: 1, reason: "damaged" },
    ]);
  });

  it("Spanish", async () => {
    expect(toEnglish("La taza del pedido ORD-5001 llegó rota. Quiero un reembolso.")).toBe("la mug del order ord-5001 arrived broken. quiero un refund.");
    expect((await ask("La taza del pedido ORD-2001 llegó rota. Quiero un reembolso.")).refunds).toEqual([
      { orderId: "ORD-2001", sku: "SKU-MUG", qty: 1, reason: "damaged" },
    ]);
    const status = await ask("¿Dónde está mi pedido ORD-2005?");
    expect(status.refunds).toEqual([]);
    expect(status.reply).toBe("Order ORD-2005 is delivered.");
    // English that happens to hold a Spanish-looking word is left alone.
    expect(toEnglish("The mug is broken")).toBe("The mug is broken");
  });

  it("the same message read again with its order changed since is read with the order as it now is", async () => {
    const text = "Both mugs from ORD-2001 arrived broken, refund please";
    expect((await ask(text)).refunds).toEqual([{ orderId: "ORD-2001", sku: "SKU-MUG", qty: 2, reason: "damaged" }]);
    // readSupportMessage keeps its readings: one of the same text must not answer for orders that changed.
    const refunded = DANA.map((o) =>
      o.orderId === "ORD-2001" ? { ...o, lines: o.lines.map((l) => (l.sku === MUG.sku ? { ...l, refundedQty: l.qty } : l)) } : o,
    );
    const again = await ask(text, refunded);
    expect(again.refunds).toEqual([]);
    expect(again.reply).toMatch(/Ceramic Mug on order ORD-2001 has already been refunded in full/);
  });

  describe("orders outside the context window are paged, not guessed", () => {
    // Twelve orders: the context holds the ten newest; the hoodie and the socks are older.
    const all = [
      order("ORD-4001", "2026-01-05T10:00:00Z", [[HOOD, 1]]),
      order("ORD-4002", "2026-01-06T10:00:00Z", [[SOCKS, 3]]),
      ...Array.from({ length: 10 }, (_, i) => order(`ORD-41${String(i).padStart(2, "0")}`, `2026-02-${String(i + 1).padStart(2, "0")}T10:00:00Z`, [[MUG, 1]])),
    ].sort((a, b) => (a.placedAt < b.placedAt ? 1 : -1));
    const context = all.slice(0, CUSTOMER_ORDERS_IN_CONTEXT);
    const older = all.slice(CUSTOMER_ORDERS_IN_CONTEXT);

    it("an order id of theirs beyond the window", async () => {
      const { refunds, tools } = await ask("The hoodie from ORD-4001 has a hole in it, refund please", context, older);
      expect(refunds).toEqual([{ orderId: "ORD-4001", sku: "SKU-HOOD", qty: 1, reason: "damaged" }]);
      expect(tools).toEqual(["list_customer_orders", "lookup_order", "request_refund", "draft_reply"]);
    });

    it("a product only an older order holds", async () => {
      const { refunds } = await ask("The wool socks I bought a while ago have holes, refund them", context, older);
      expect(refunds).toEqual([{ orderId: "ORD-4002", sku: "SKU-SOCKS", qty: 3, reason: "damaged" }]);
    });

    it("an id that is not theirs stays foreign after paging: no refund, not repeated", async () => {
      const { refunds, reply, tools } = await ask("Refund ORD-2999, the hoodie broke", context, [
        ...older,
        order("ORD-2999", "2026-01-01T10:00:00Z", [[HOOD, 1]], "C-EVE"),
      ]);
      expect(refunds).toEqual([]);
      expect(reply).not.toContain("ORD-2999");
      expect(tools.filter((t) => t === "list_customer_orders").length).toBeGreaterThanOrEqual(1);
    });

    it("a customer with few orders is not paged", async () => {
      expect((await ask("The mug from ORD-2001 broke, refund it")).tools).not.toContain("list_customer_orders");
    });

    it("pages newest first from a cursor, only the customer's", () => {
      const mixed = [...all, order("ORD-9", "2026-03-01T10:00:00Z", [[MUG, 1]], "C-EVE")];
      expect(ordersOfCustomer(mixed, "C-DANA", { limit: 3 }).map((o) => o.orderId)).toEqual(["ORD-4109", "ORD-4108", "ORD-4107"]);
      expect(ordersOfCustomer(mixed, "C-DANA", { before: "ORD-4100", limit: 5 }).map((o) => o.orderId)).toEqual(["ORD-4002", "ORD-4001"]);
      expect(ordersOfCustomer(mixed, "C-DANA", { before: "ORD-9", limit: 5 })).toEqual([]);
    });
  });
});
