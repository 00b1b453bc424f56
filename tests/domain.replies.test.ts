/**
 * docs/RULES.md rule 11: a reply never contains another customer's data. order_service
 * refuses a ReplyDrafted whose text names another customer's id or one of
 * their orders, whatever the case or punctuation; the customer's own ids and
 * ordinary words and numbers pass.
 */
import { describe, expect, it } from "vitest";
import { decideAll } from "../src/domain/decide.js";
import { customerLookup, foreignIdIn } from "../src/domain/orders.js";
import type { Proposal } from "../src/domain/proposals.js";
import { emptyWorld, type Order, type World } from "../src/domain/world.js";

const order = (orderId: string, customerId: string): Order => ({
  orderId,
  customerId,
  lines: [{ sku: "SKU-MUG", qty: 2, unitPriceCents: 1500, refundedQty: 0 }],
  status: "delivered",
  paidCents: 3000,
  refundedCents: 0,
  version: 3,
  placedAt: "2026-03-01T09:00:00.000Z",
});

const world: World = { ...emptyWorld(), orders: { "ORD-1": order("ORD-1", "C-ANN"), "ORD-2": order("ORD-2", "C-BO"), "1002": order("1002", "C-BO") } };
const index = customerLookup(world.orders);

describe("foreignIdIn", () => {
  it.each([
    ["Your order ORD-1 is on its way.", undefined],
    ["Refunded 2 x Ceramic Mug ($30.00) on ORD-1, C-ANN.", undefined],
    ["We sent 1002 thank-you notes today", "1002"],
    ["ORD-2 belongs to someone else.", "ORD-2"],
    ["(ord-2) is not yours", "ord-2"],
    ["Your neighbour C-BO: hello", "C-BO"],
    ["c-bo's order", "c-bo"],
    ["ORD-20 and C-BOB do not exist", undefined],
    ["", undefined],
  ])("%j names %j", (text, expected) => {
    expect(foreignIdIn(text, "C-ANN", index)).toBe(expected);
  });

  it("sees orders created in the same round (the draft's changes) as well as the base", () => {
    const withNew = customerLookup(world.orders, [order("ORD-9", "C-CY"), null]);
    expect(foreignIdIn("ORD-9 and C-CY", "C-ANN", withNew)).toBe("ORD-9");
    expect(foreignIdIn("C-CY", "C-ANN", withNew)).toBe("C-CY");
  });
});

describe("rule 11: order_service refuses a reply that names another customer", () => {
  const reply = (id: string, text: string): Proposal => ({
    id,
    agent: "support_agent",
    taskId: `task-${id}`,
    causationId: "evt-msg",
    at: "2026-03-01T10:00:00.000Z",
    type: "ReplyDrafted",
    data: { customerId: "C-ANN", orderId: "ORD-1", messageId: `msg-${id}`, text },
    basedOn: [],
  });

  it("given a reply naming another customer's order, when decided, then it is a rule conflict and nothing is appended", () => {
    const decided = decideAll(world, [{ kind: "proposal", proposal: reply("r1", "Good news: ORD-2 was refunded too.") }]);
    expect(decided.facts).toEqual([]);
    expect(decided.conflicts).toEqual([
      expect.objectContaining({
        kind: "rule",
        by: "support_agent",
        eventType: "ReplyDrafted",
        owner: "order_service",
        reason: "reply to C-ANN names ORD-2, which belongs to another customer",
      }),
    ]);
  });

  it("given a reply about the customer's own order, when decided, then it is appended", () => {
    const decided = decideAll(world, [{ kind: "proposal", proposal: reply("r2", "ORD-1: both mugs refunded, $30.00.") }]);
    expect(decided.conflicts).toEqual([]);
    expect(decided.facts.map((f) => [f.type, f.source])).toEqual([["ReplyDrafted", "support_agent"]]);
  });
});
