/**
 * Given/when/then tests of the business rules (docs/RULES.md) on the pure domain:
 * `decideAll` + `commit`, `validateInput`, `checkReferences`, `verify`. No graph.
 *
 * Input events are built through `validateInput`, so each test decides exactly
 * what the store would hold after ingest.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { approvalIdFor, decideAll, OWNER, type Conflict, type DecisionItem } from "../src/domain/decide.js";
import { derivedId, type EventOf, type StoredInputEvent, type StoreEvent, type SystemEvent, type SystemEventType } from "../src/domain/events.js";
import type { BasedOn, Proposal } from "../src/domain/proposals.js";
import { checkReferences, validateInput, type KnownEntities } from "../src/domain/validation.js";
import { project, replay, verify } from "../src/domain/verify.js";
import { commit, DEFAULT_POLICY, emptyWorld, type Policy, type World } from "../src/domain/world.js";

// ---------------------------------------------------------------- builders

let minute = 0;
beforeEach(() => {
  minute = 0;
});

/** Event time advances a minute per event, as a feed would. */
function nextAt(): string {
  minute += 1;
  return new Date(Date.UTC(2026, 2, 1, 9, 0, 0) + minute * 60_000).toISOString();
}

const FEED = "test-feed";

function inputEvent(type: string, id: string, data: Record<string, unknown>): StoredInputEvent {
  const result = validateInput({ id, type, at: nextAt(), data }, FEED);
  if (!result.ok) throw new Error(`test input ${id} is invalid: ${result.reason}`);
  return result.event;
}

const productAdded = (id: string, sku: string, initialStock: number, reorderPoint: number, priceCents: number) =>
  inputEvent("ProductAdded", id, { sku, name: `Product ${sku}`, priceCents, initialStock, reorderPoint });
const orderPlaced = (id: string, orderId: string, lines: Record<string, number>, customerId = "CUST-1") =>
  inputEvent("OrderPlaced", id, { orderId, customerId, lines: Object.entries(lines).map(([sku, qty]) => ({ sku, qty })) });
const orderShipped = (id: string, orderId: string) => inputEvent("OrderShipped", id, { orderId });
const orderDelivered = (id: string, orderId: string) => inputEvent("OrderDelivered", id, { orderId });
const orderCancelled = (id: string, orderId: string) => inputEvent("OrderCancelled", id, { orderId, reason: "customer changed their mind" });
const stockReceived = (id: string, sku: string, qty: number) => inputEvent("StockReceived", id, { sku, qty });
const stockAdjusted = (id: string, sku: string, delta: number) => inputEvent("StockAdjusted", id, { sku, delta, reason: "cycle count" });
const returnRestocked = (id: string, sku: string, qty: number) => inputEvent("ReturnRestocked", id, { sku, qty });
const approvalDecided = (id: string, approvalId: string, decision: "approved" | "denied", by = "manager@shop") =>
  inputEvent("ApprovalDecided", id, { approvalId, decision, by });

function proposal(agent: string, type: string, id: string, data: unknown, basedOn: BasedOn[] = []): Proposal {
  return { id, agent, taskId: `task-${id}`, causationId: "evt-trigger", at: nextAt(), type, data, basedOn };
}
const refundRequested = (id: string, orderId: string, sku: string, qty: number, reason = "damaged", basedOn: BasedOn[] = []) =>
  proposal("support_agent", "RefundRequested", id, { orderId, sku, qty, reason }, basedOn);
const reorderRequested = (id: string, sku: string, qty = 20, basedOn: BasedOn[] = []) =>
  proposal("inventory_agent", "ReorderRequested", id, { sku, qty }, basedOn);
const promotionPaused = (id: string, sku: string) => proposal("marketing_agent", "PromotionPaused", id, { sku, reason: "low stock" });
const promotionResumed = (id: string, sku: string) => proposal("marketing_agent", "PromotionResumed", id, { sku, reason: "restocked" });
const postDrafted = (id: string, sku: string) => proposal("marketing_agent", "PostDrafted", id, { postId: `post-${id}`, sku, text: `Buy ${sku}!` });

// ---------------------------------------------------------------- given / when

type Step = StoredInputEvent | Proposal;

interface Scenario {
  world: World;
  /** The log as the graph appends it: a decision's input events, then its facts. */
  log: StoreEvent[];
}

interface Outcome extends Scenario {
  facts: SystemEvent[];
  conflicts: Conflict[];
}

function isProposal(step: Step): step is Proposal {
  return "agent" in step;
}

function itemOf(step: Step): DecisionItem {
  return isProposal(step) ? { kind: "proposal", proposal: step } : { kind: "event", event: step };
}

/** Decides all steps in one call (one service round). */
function when(scenario: Scenario, ...steps: Step[]): Outcome {
  const { draft, facts, conflicts } = decideAll(scenario.world, steps.map(itemOf));
  const inputs = steps.filter((s): s is StoredInputEvent => !isProposal(s));
  return { world: commit(draft), log: [...scenario.log, ...inputs, ...facts], facts, conflicts };
}

/** Decides each step in its own round, in order. */
function given(...steps: Step[]): Scenario {
  return givenWithPolicy(DEFAULT_POLICY, ...steps);
}

function givenWithPolicy(policy: Policy, ...steps: Step[]): Scenario {
  let scenario: Scenario = { world: emptyWorld(policy), log: [] };
  for (const step of steps) {
    const outcome = when(scenario, step);
    scenario = { world: outcome.world, log: outcome.log };
  }
  return scenario;
}

function factsOf<T extends SystemEventType>(facts: readonly SystemEvent[], type: T): EventOf<T>[] {
  return facts.filter((f) => f.type === type) as EventOf<T>[];
}

const typesOf = (facts: readonly SystemEvent[]) => facts.map((f) => f.type);

function knownIn(world: World): KnownEntities {
  return {
    hasSku: (sku) => Object.hasOwn(world.catalog, sku),
    hasOrder: (orderId) => Object.hasOwn(world.orders, orderId),
    approvalStatus: (approvalId) => {
      const approval = world.approvals[approvalId];
      if (!approval) return undefined;
      return approval.status === "pending" ? "pending" : "decided";
    },
  };
}

const TEE = "SKU-TEE";
const MUG = "SKU-MUG";

// ---------------------------------------------------------------- validation

describe("validateInput", () => {
  const valid = { id: "evt-1", type: "StockReceived", at: "2026-03-01T09:00:00Z", data: { sku: TEE, qty: 3 } };
  const withData = (data: Record<string, unknown>, type = valid.type) => ({ ...valid, type, data });

  function reasonFor(raw: unknown): string {
    const result = validateInput(raw, FEED);
    expect(result.ok).toBe(false);
    return result.ok ? "" : result.reason;
  }

  it("accepts a valid event and fills in source and schema version", () => {
    const result = validateInput(JSON.stringify(valid), FEED);
    expect(result).toEqual({ ok: true, event: { ...valid, at: "2026-03-01T09:00:00.000Z", source: FEED, v: 1 } });
  });

  it("keeps a source the event names itself", () => {
    const result = validateInput({ ...valid, source: "warehouse" }, FEED);
    expect(result.ok && result.event.source).toBe("warehouse");
  });

  it("refuses malformed JSON", () => {
    expect(reasonFor('{"id": "evt-1", "type": ')).toMatch(/malformed JSON/);
  });

  it("refuses a value that is not an object", () => {
    expect(reasonFor("[1, 2, 3]")).toMatch(/JSON object/);
    expect(reasonFor("42")).toMatch(/JSON object/);
  });

  it("refuses an event without a type", () => {
    const { type: _type, ...untyped } = valid;
    expect(reasonFor(untyped)).toMatch(/missing field 'type'/);
  });

  it("refuses an unknown event type and names it", () => {
    const reason = reasonFor({ ...valid, type: "OrderTeleported" });
    expect(reason).toMatch(/unknown event type 'OrderTeleported'/);
    expect(reason).toMatch(/OrderPlaced/);
  });

  it("reports the event id of an invalid event when it has one", () => {
    const result = validateInput({ ...valid, type: "Nope" }, FEED);
    expect(result).toMatchObject({ ok: false, eventId: "evt-1" });
  });

  it("names a missing data field", () => {
    const reason = reasonFor(withData({ orderId: "ORD-1", lines: [{ sku: TEE, qty: 1 }] }, "OrderPlaced"));
    expect(reason).toMatch(/missing field 'data\.customerId'/);
  });

  it("names a missing envelope field", () => {
    const { at: _at, ...timeless } = valid;
    expect(reasonFor(timeless)).toMatch(/missing field 'at'/);
  });

  it("names a wrongly typed field", () => {
    const reason = reasonFor(withData({ sku: TEE, qty: "3" }));
    expect(reason).toMatch(/data\.qty/);
    expect(reason).toMatch(/must be a number/);
  });

  it.each([
    [0, /at least 1/],
    [-2, /at least 1/],
    [1.5, /whole number/],
  ])("refuses quantity %s with a reason naming data.qty", (qty, message) => {
    const reason = reasonFor(withData({ sku: TEE, qty }));
    expect(reason).toMatch(/data\.qty/);
    expect(reason).toMatch(message);
  });

  it("refuses a zero quantity on an order line and names the line", () => {
    const reason = reasonFor(withData({ orderId: "ORD-1", customerId: "C-1", lines: [{ sku: TEE, qty: 0 }] }, "OrderPlaced"));
    expect(reason).toMatch(/data\.lines\.0\.qty/);
  });

  it("refuses an order with no lines", () => {
    expect(reasonFor(withData({ orderId: "ORD-1", customerId: "C-1", lines: [] }, "OrderPlaced"))).toMatch(/data\.lines/);
  });

  it("refuses an order that lists the same SKU twice", () => {
    const reason = reasonFor(
      withData(
        {
          orderId: "ORD-1",
          customerId: "C-1",
          lines: [
            { sku: TEE, qty: 1 },
            { sku: TEE, qty: 2 },
          ],
        },
        "OrderPlaced",
      ),
    );
    expect(reason).toMatch(/data\.lines/);
    expect(reason).toMatch(/same SKU twice/);
  });

  it("refuses a StockAdjusted with delta 0", () => {
    const reason = reasonFor(withData({ sku: TEE, delta: 0, reason: "count" }, "StockAdjusted"));
    expect(reason).toMatch(/data\.delta/);
    expect(reason).toMatch(/must not be 0/);
  });

  it("accepts a negative StockAdjusted delta", () => {
    expect(validateInput(withData({ sku: TEE, delta: -4, reason: "count" }, "StockAdjusted"), FEED).ok).toBe(true);
  });

  it("refuses unknown keys in the envelope and in data, naming them", () => {
    expect(reasonFor({ ...valid, priority: "high" })).toMatch(/unknown field\(s\) 'priority'/);
    expect(reasonFor(withData({ sku: TEE, qty: 3, colour: "red" }))).toMatch(/data: unknown field\(s\) 'colour'/);
  });

  it("refuses an unsupported schema version", () => {
    expect(reasonFor({ ...valid, v: 2 })).toMatch(/^v .*schema version/);
  });

  it("refuses a timestamp that is not ISO-8601", () => {
    expect(reasonFor({ ...valid, at: "yesterday" })).toMatch(/^at .*ISO-8601/);
  });

  it("refuses a negative price", () => {
    const reason = reasonFor(withData({ sku: TEE, name: "Tee", priceCents: -1, initialStock: 1, reorderPoint: 0 }, "ProductAdded"));
    expect(reason).toMatch(/data\.priceCents/);
  });

  it("refuses an ApprovalDecided whose decision is neither approved nor denied", () => {
    const reason = reasonFor(withData({ approvalId: "apr-1", decision: "maybe", by: "boss" }, "ApprovalDecided"));
    expect(reason).toMatch(/data\.decision/);
  });
});

describe("checkReferences", () => {
  const world = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 1 })).world;
  const known = knownIn(world);

  it("accepts events whose references resolve", () => {
    expect(checkReferences(stockReceived("evt-3", TEE, 1), known)).toBeUndefined();
    expect(checkReferences(orderShipped("evt-4", "ORD-1"), known)).toBeUndefined();
    expect(checkReferences(orderPlaced("evt-5", "ORD-2", { [TEE]: 1 }), known)).toBeUndefined();
  });

  it("flags an unknown SKU", () => {
    expect(checkReferences(stockReceived("evt-3", "SKU-GHOST", 1), known)).toMatch(/unknown SKU 'SKU-GHOST'/);
    expect(checkReferences(stockAdjusted("evt-3", "SKU-GHOST", -1), known)).toMatch(/unknown SKU 'SKU-GHOST'/);
    expect(checkReferences(returnRestocked("evt-3", "SKU-GHOST", 1), known)).toMatch(/unknown SKU 'SKU-GHOST'/);
  });

  it("flags an order line naming an unknown SKU", () => {
    expect(checkReferences(orderPlaced("evt-3", "ORD-2", { [TEE]: 1, "SKU-GHOST": 1 }), known)).toMatch(/unknown SKU 'SKU-GHOST'/);
  });

  it("flags an unknown order", () => {
    expect(checkReferences(orderShipped("evt-3", "ORD-404"), known)).toMatch(/unknown order 'ORD-404'/);
    expect(checkReferences(orderCancelled("evt-3", "ORD-404"), known)).toMatch(/unknown order 'ORD-404'/);
    const message = inputEvent("CustomerMessage", "evt-4", { customerId: "CUST-1", orderId: "ORD-404", text: "where is it?" });
    expect(checkReferences(message, known)).toMatch(/unknown order 'ORD-404'/);
  });

  it("accepts a customer message that names no order", () => {
    const message = inputEvent("CustomerMessage", "evt-4", { customerId: "CUST-1", text: "hello" });
    expect(checkReferences(message, known)).toBeUndefined();
  });

  it("flags a product or order that already exists", () => {
    expect(checkReferences(productAdded("evt-3", TEE, 1, 0, 100), known)).toMatch(/already exists/);
    expect(checkReferences(orderPlaced("evt-3", "ORD-1", { [TEE]: 1 }), known)).toMatch(/already exists/);
  });

  it("flags an unknown approval and one already decided", () => {
    expect(checkReferences(approvalDecided("evt-3", "apr-404", "approved"), known)).toMatch(/unknown approval 'apr-404'/);
    const decided: KnownEntities = { ...known, approvalStatus: () => "decided" };
    expect(checkReferences(approvalDecided("evt-3", "apr-1", "approved"), decided)).toMatch(/already decided/);
    const pending: KnownEntities = { ...known, approvalStatus: () => "pending" };
    expect(checkReferences(approvalDecided("evt-3", "apr-1", "approved"), pending)).toBeUndefined();
  });
});

// ---------------------------------------------------------------- rule 1

describe("rule 1: stock effects and bounds", () => {
  const stocked = () => given(productAdded("evt-1", TEE, 10, 2, 2500));

  it("a new product has its initial stock on hand", () => {
    expect(stocked().world.inventory[TEE]).toMatchObject({ onHand: 10, reserved: 0, returned: 0, available: 10, version: 1 });
  });

  it("confirming an order reserves its units", () => {
    const { world, facts } = when(stocked(), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    expect(typesOf(facts)).toEqual(["OrderConfirmed", "InventoryUpdated"]);
    expect(world.inventory[TEE]).toMatchObject({ onHand: 10, reserved: 3, returned: 0, available: 7, version: 2 });
    expect(world.orders["ORD-1"]).toMatchObject({ status: "confirmed", paidCents: 7500, refundedCents: 0, version: 1 });
    expect(world.orders["ORD-1"].lines).toEqual([{ sku: TEE, qty: 3, unitPriceCents: 2500, refundedQty: 0 }]);
  });

  it("shipping takes the units out of onHand and reserved", () => {
    const { world } = when(given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 })), orderShipped("evt-3", "ORD-1"));
    expect(world.inventory[TEE]).toMatchObject({ onHand: 7, reserved: 0, returned: 0, available: 7 });
    expect(world.orders["ORD-1"]).toMatchObject({ status: "shipped", version: 2 });
  });

  it("delivering a shipped order changes no stock", () => {
    const shipped = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), orderShipped("evt-3", "ORD-1"));
    const { world } = when(shipped, orderDelivered("evt-4", "ORD-1"));
    expect(world.inventory[TEE]).toEqual(shipped.world.inventory[TEE]);
    expect(world.orders["ORD-1"]).toMatchObject({ status: "delivered", version: 3 });
  });

  it("cancelling an unshipped order releases its reservation", () => {
    const { world } = when(given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 })), orderCancelled("evt-3", "ORD-1"));
    expect(world.inventory[TEE]).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    expect(world.orders["ORD-1"].status).toBe("cancelled");
  });

  it("a shipped order cannot be cancelled", () => {
    const shipped = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), orderShipped("evt-3", "ORD-1"));
    const { world, facts, conflicts } = when(shipped, orderCancelled("evt-4", "ORD-1"));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "rule", eventId: "evt-4", entity: "order:ORD-1" }]);
    expect(world.orders).toEqual(shipped.world.orders);
  });

  it("refunding an unshipped line releases its reservation", () => {
    const confirmed = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    const { world } = when(confirmed, refundRequested("prop-1", "ORD-1", TEE, 1));
    expect(world.inventory[TEE]).toMatchObject({ onHand: 10, reserved: 2, returned: 0, available: 8 });
    expect(world.orders["ORD-1"].lines[0].refundedQty).toBe(1);
  });

  it("shipping a partly refunded order ships only the units still owed", () => {
    const partly = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), refundRequested("prop-1", "ORD-1", TEE, 1));
    const { world } = when(partly, orderShipped("evt-3", "ORD-1"));
    expect(world.inventory[TEE]).toMatchObject({ onHand: 8, reserved: 0, available: 8 });
  });

  it("refunding a shipped line adds its units to returned", () => {
    const shipped = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), orderShipped("evt-3", "ORD-1"));
    const { world } = when(shipped, refundRequested("prop-1", "ORD-1", TEE, 2, "damaged"));
    expect(world.inventory[TEE]).toMatchObject({ onHand: 7, reserved: 0, returned: 2, available: 7 });
  });

  it("refunding a shipped line for non-delivery adds nothing to returned", () => {
    const shipped = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), orderShipped("evt-3", "ORD-1"));
    const { world, facts } = when(shipped, refundRequested("prop-1", "ORD-1", TEE, 3, "not_delivered"));
    expect(factsOf(facts, "RefundProcessed")).toMatchObject([{ data: { qty: 3, amountCents: 7500 } }]);
    expect(world.inventory[TEE]).toEqual(shipped.world.inventory[TEE]);
  });

  it("ReturnRestocked moves units from returned to onHand", () => {
    const returned = given(
      productAdded("evt-1", TEE, 10, 2, 2500),
      orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }),
      orderShipped("evt-3", "ORD-1"),
      refundRequested("prop-1", "ORD-1", TEE, 2, "damaged"),
    );
    const { world } = when(returned, returnRestocked("evt-4", TEE, 2));
    expect(world.inventory[TEE]).toMatchObject({ onHand: 9, reserved: 0, returned: 0, available: 9 });
  });

  it("ReturnRestocked of more than was returned is refused with no effect", () => {
    const returned = given(
      productAdded("evt-1", TEE, 10, 2, 2500),
      orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }),
      orderShipped("evt-3", "ORD-1"),
      refundRequested("prop-1", "ORD-1", TEE, 2, "damaged"),
    );
    const { world, facts, conflicts } = when(returned, returnRestocked("evt-4", TEE, 3));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([
      { kind: "rule", eventId: "evt-4", eventType: "ReturnRestocked", entity: `inventory:${TEE}`, owner: "inventory_service", by: FEED },
    ]);
    expect(conflicts[0].reason).toMatch(/only 2 returned/);
    expect(world.inventory).toEqual(returned.world.inventory);
  });

  it("ReturnRestocked with nothing returned is refused", () => {
    const { facts, conflicts } = when(stocked(), returnRestocked("evt-2", TEE, 1));
    expect(facts).toEqual([]);
    expect(conflicts).toHaveLength(1);
  });

  it("a StockAdjusted that keeps rule 1 applies its delta", () => {
    const reserved = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    expect(when(reserved, stockAdjusted("evt-3", TEE, -7)).world.inventory[TEE]).toMatchObject({ onHand: 3, reserved: 3, available: 0 });
    expect(when(reserved, stockAdjusted("evt-3", TEE, 5)).world.inventory[TEE]).toMatchObject({ onHand: 15, reserved: 3, available: 12 });
  });

  it("a StockAdjusted that would put reserved above onHand is a conflict with no effect", () => {
    const reserved = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    const { world, facts, conflicts } = when(reserved, stockAdjusted("evt-3", TEE, -8));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "rule", eventId: "evt-3", eventType: "StockAdjusted", entity: `inventory:${TEE}`, owner: "inventory_service" }]);
    expect(conflicts[0].reason).toMatch(/rule 1/);
    expect(world.inventory).toEqual(reserved.world.inventory);
  });

  it("a StockAdjusted that would make onHand negative is a conflict with no effect", () => {
    const { world, facts, conflicts } = when(stocked(), stockAdjusted("evt-2", TEE, -11));
    expect(facts).toEqual([]);
    expect(conflicts).toHaveLength(1);
    expect(world.inventory[TEE]).toMatchObject({ onHand: 10, version: 1 });
  });
});

// ---------------------------------------------------------------- rule 2

describe("rule 2: no oversell", () => {
  it("an order that does not fit available is rejected with a reason", () => {
    const stocked = given(productAdded("evt-1", TEE, 2, 0, 2500));
    const { world, facts } = when(stocked, orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    expect(typesOf(facts)).toEqual(["OrderRejected"]);
    expect(factsOf(facts, "OrderRejected")[0].data.reason).toMatch(/SKU-TEE: ordered 3, available 2/);
    expect(world.orders["ORD-1"]).toMatchObject({ status: "rejected", paidCents: 0 });
    expect(world.inventory).toEqual(stocked.world.inventory);
  });

  it("an order for exactly what is available is confirmed", () => {
    const { world } = when(given(productAdded("evt-1", TEE, 3, 0, 2500)), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    expect(world.orders["ORD-1"].status).toBe("confirmed");
    expect(world.inventory[TEE]).toMatchObject({ onHand: 3, reserved: 3, available: 0 });
  });

  it("two orders for the same SKU in one batch are decided in log order: first confirmed, second rejected", () => {
    const stocked = given(productAdded("evt-1", TEE, 5, 0, 2500));
    const { world, facts } = when(stocked, orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), orderPlaced("evt-3", "ORD-2", { [TEE]: 3 }));
    expect(factsOf(facts, "OrderConfirmed").map((f) => f.data.orderId)).toEqual(["ORD-1"]);
    const rejected = factsOf(facts, "OrderRejected");
    expect(rejected.map((f) => f.data.orderId)).toEqual(["ORD-2"]);
    expect(rejected[0].data.reason).toMatch(/available 2/);
    expect(world.inventory[TEE]).toMatchObject({ onHand: 5, reserved: 3, available: 2 });
  });

  it("log order decides which of two competing orders wins", () => {
    const stocked = given(productAdded("evt-1", TEE, 5, 0, 2500));
    const { world } = when(stocked, orderPlaced("evt-2", "ORD-2", { [TEE]: 3 }), orderPlaced("evt-3", "ORD-1", { [TEE]: 3 }));
    expect(world.orders["ORD-2"].status).toBe("confirmed");
    expect(world.orders["ORD-1"].status).toBe("rejected");
  });

  it("orders in one batch that together fit are all confirmed", () => {
    const { world } = when(
      given(productAdded("evt-1", TEE, 5, 0, 2500)),
      orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }),
      orderPlaced("evt-3", "ORD-2", { [TEE]: 2 }),
    );
    expect([world.orders["ORD-1"].status, world.orders["ORD-2"].status]).toEqual(["confirmed", "confirmed"]);
    expect(world.inventory[TEE]).toMatchObject({ reserved: 5, available: 0 });
  });

  it("an order with one line that does not fit is rejected whole, reserving nothing", () => {
    const stocked = given(productAdded("evt-1", TEE, 5, 0, 2500), productAdded("evt-2", MUG, 1, 0, 1500));
    const { world, facts } = when(stocked, orderPlaced("evt-3", "ORD-1", { [TEE]: 2, [MUG]: 2 }));
    expect(typesOf(facts)).toEqual(["OrderRejected"]);
    expect(factsOf(facts, "OrderRejected")[0].data.reason).toMatch(/SKU-MUG/);
    expect(world.inventory).toEqual(stocked.world.inventory);
  });

  it("reserved units are not available to a later order", () => {
    const { world } = when(
      given(productAdded("evt-1", TEE, 5, 0, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 4 })),
      orderPlaced("evt-3", "ORD-2", { [TEE]: 2 }),
    );
    expect(world.orders["ORD-2"].status).toBe("rejected");
  });
});

// ---------------------------------------------------------------- rule 3

describe("rule 3: refunds", () => {
  const confirmedOrder = (qty: number, priceCents: number) =>
    given(productAdded("evt-1", TEE, 10, 0, priceCents), orderPlaced("evt-2", "ORD-1", { [TEE]: qty }));

  it("the amount is unit price x quantity", () => {
    const { world, facts } = when(confirmedOrder(3, 2500), refundRequested("prop-1", "ORD-1", TEE, 2));
    expect(factsOf(facts, "RefundProcessed")).toMatchObject([{ data: { orderId: "ORD-1", sku: TEE, qty: 2, amountCents: 5000 } }]);
    expect(world.orders["ORD-1"]).toMatchObject({ refundedCents: 5000, paidCents: 7500 });
  });

  it("a request for more than was ordered is capped to what is left", () => {
    const { world, facts } = when(confirmedOrder(2, 2500), refundRequested("prop-1", "ORD-1", TEE, 5));
    expect(factsOf(facts, "RefundProcessed")).toMatchObject([{ data: { qty: 2, amountCents: 5000 } }]);
    expect(world.orders["ORD-1"].lines[0].refundedQty).toBe(2);
    expect(world.orders["ORD-1"].refundedCents).toBe(5000);
  });

  it("a refund that finds nothing left becomes RefundRejected", () => {
    const refunded = given(productAdded("evt-1", TEE, 10, 0, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }), refundRequested("prop-1", "ORD-1", TEE, 2));
    const { world, facts } = when(refunded, refundRequested("prop-2", "ORD-1", TEE, 1));
    expect(typesOf(facts)).toEqual(["RefundRequested", "RefundRejected"]);
    expect(factsOf(facts, "RefundRejected")[0].data.reason).toMatch(/nothing left/);
    expect(world.orders).toEqual(refunded.world.orders);
  });

  it("two refunds in one batch are decided in log order", () => {
    const { world, facts } = when(confirmedOrder(3, 2500), refundRequested("prop-1", "ORD-1", TEE, 2), refundRequested("prop-2", "ORD-1", TEE, 2));
    expect(factsOf(facts, "RefundProcessed").map((f) => f.data.qty)).toEqual([2, 1]);
    expect(world.orders["ORD-1"]).toMatchObject({ refundedCents: 7500, paidCents: 7500 });
  });

  it("a refund never takes its amount from the message", () => {
    const cheeky = proposal("support_agent", "RefundRequested", "prop-1", { orderId: "ORD-1", sku: TEE, qty: 1, reason: "other", amountCents: 500_000 });
    const before = confirmedOrder(1, 2500);
    const { world, facts, conflicts } = when(before, cheeky);
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "invalid" }]);
    expect(world.orders).toEqual(before.world.orders);
  });

  it("quantities held by pending approvals count as taken", () => {
    const parked = given(productAdded("evt-1", TEE, 10, 0, 6000), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }), refundRequested("prop-1", "ORD-1", TEE, 2));
    expect(Object.values(parked.world.approvals)).toMatchObject([{ status: "pending", qty: 2 }]);
    const { facts } = when(parked, refundRequested("prop-2", "ORD-1", TEE, 1));
    expect(typesOf(facts)).toEqual(["RefundRequested", "RefundRejected"]);
    expect(factsOf(facts, "RefundRejected")[0].data.reason).toMatch(/awaiting approval/);
  });

  it("a later refund gets only what pending approvals leave", () => {
    const parked = given(productAdded("evt-1", TEE, 10, 0, 6000), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), refundRequested("prop-1", "ORD-1", TEE, 2));
    const { facts } = when(parked, refundRequested("prop-2", "ORD-1", TEE, 5));
    expect(factsOf(facts, "RefundProcessed")).toMatchObject([{ data: { qty: 1, amountCents: 6000 } }]);
  });

  it("cancelling refunds paidCents - refundedCents", () => {
    const partly = given(productAdded("evt-1", TEE, 10, 0, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), refundRequested("prop-1", "ORD-1", TEE, 1));
    const { world, facts } = when(partly, orderCancelled("evt-3", "ORD-1"));
    expect(factsOf(facts, "RefundProcessed")).toMatchObject([{ data: { orderId: "ORD-1", amountCents: 5000 } }]);
    expect(world.orders["ORD-1"]).toMatchObject({ status: "cancelled", paidCents: 7500, refundedCents: 7500 });
    expect(world.inventory[TEE]).toMatchObject({ onHand: 10, reserved: 0 });
  });

  it("a cancelled order has nothing left to refund", () => {
    const cancelled = given(productAdded("evt-1", TEE, 10, 0, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), orderCancelled("evt-3", "ORD-1"));
    const { world, facts } = when(cancelled, refundRequested("prop-1", "ORD-1", TEE, 1));
    expect(typesOf(facts)).toEqual(["RefundRequested", "RefundRejected"]);
    expect(world.orders).toEqual(cancelled.world.orders);
  });

  it("a rejected order has nothing to refund", () => {
    const rejected = given(productAdded("evt-1", TEE, 1, 0, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    const { facts } = when(rejected, refundRequested("prop-1", "ORD-1", TEE, 1));
    expect(typesOf(facts)).toEqual(["RefundRequested", "RefundRejected"]);
  });

  it("a refund for a SKU the order does not contain is rejected", () => {
    const { facts } = when(confirmedOrder(1, 2500), refundRequested("prop-1", "ORD-1", MUG, 1));
    expect(typesOf(facts)).toEqual(["RefundRequested", "RefundRejected"]);
    expect(factsOf(facts, "RefundRejected")[0].data.reason).toMatch(/no line for SKU-MUG/);
  });

  it("a refund for an unknown order is a conflict", () => {
    const { facts, conflicts } = when(confirmedOrder(1, 2500), refundRequested("prop-1", "ORD-404", TEE, 1));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "rule", entity: "order:ORD-404", by: "support_agent" }]);
  });
});

// ---------------------------------------------------------------- rule 4

describe("rule 4: refunds above the approval threshold wait for a person", () => {
  const order = (priceCents: number, qty = 2, policy = DEFAULT_POLICY) =>
    givenWithPolicy(policy, productAdded("evt-1", TEE, 10, 0, priceCents), orderPlaced("evt-2", "ORD-1", { [TEE]: qty }));

  it("the default threshold is 10000 cents", () => {
    expect(DEFAULT_POLICY.approvalThresholdCents).toBe(10_000);
    expect(emptyWorld().policy.approvalThresholdCents).toBe(10_000);
  });

  it("a refund of exactly the threshold is processed at once", () => {
    const { world, facts } = when(order(5000), refundRequested("prop-1", "ORD-1", TEE, 2));
    expect(typesOf(facts)).toContain("RefundProcessed");
    expect(typesOf(facts)).not.toContain("ApprovalRequested");
    expect(world.approvals).toEqual({});
  });

  it("a refund above the threshold is parked as a pending approval", () => {
    const before = order(5001);
    const { world, facts } = when(before, refundRequested("prop-1", "ORD-1", TEE, 2, "wrong_item"));
    const approvalId = approvalIdFor("prop-1");
    expect(typesOf(facts)).toEqual(["RefundRequested", "ApprovalRequested"]);
    expect(factsOf(facts, "ApprovalRequested")[0].data).toEqual({ approvalId, orderId: "ORD-1", sku: TEE, qty: 2, amountCents: 10_002, reason: "wrong_item" });
    expect(world.approvals[approvalId]).toMatchObject({
      id: approvalId,
      kind: "refund",
      orderId: "ORD-1",
      customerId: "CUST-1",
      sku: TEE,
      qty: 2,
      amountCents: 10_002,
      status: "pending",
    });
    expect(world.orders).toEqual(before.world.orders);
    expect(world.inventory).toEqual(before.world.inventory);
  });

  it("the threshold is configurable through the policy", () => {
    const { facts } = when(order(2500, 2, { approvalThresholdCents: 1000 }), refundRequested("prop-1", "ORD-1", TEE, 1));
    expect(typesOf(facts)).toEqual(["RefundRequested", "ApprovalRequested"]);
  });

  it("an approved ApprovalDecided processes the refund", () => {
    const approvalId = approvalIdFor("prop-1");
    const parked = given(productAdded("evt-1", TEE, 10, 0, 6000), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }), refundRequested("prop-1", "ORD-1", TEE, 2));
    const { world, facts } = when(parked, approvalDecided("evt-3", approvalId, "approved", "alice"));
    expect(factsOf(facts, "RefundProcessed")).toMatchObject([
      { data: { orderId: "ORD-1", sku: TEE, qty: 2, amountCents: 12_000, approvalId, decidedBy: "alice" } },
    ]);
    expect(world.approvals[approvalId]).toMatchObject({ status: "approved", decidedBy: "alice" });
    expect(world.orders["ORD-1"]).toMatchObject({ refundedCents: 12_000 });
    expect(world.inventory[TEE]).toMatchObject({ reserved: 0, onHand: 10 });
  });

  it("an approved refund of a shipped order returns its units, unless it was for non-delivery", () => {
    const shippedWithRefund = (reason: string) =>
      given(
        productAdded("evt-1", TEE, 10, 0, 6000),
        orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }),
        orderShipped("evt-3", "ORD-1"),
        refundRequested("prop-1", "ORD-1", TEE, 2, reason),
      );
    const damaged = when(shippedWithRefund("damaged"), approvalDecided("evt-4", approvalIdFor("prop-1"), "approved"));
    expect(damaged.world.inventory[TEE]).toMatchObject({ onHand: 8, reserved: 0, returned: 2 });
    const lost = when(shippedWithRefund("not_delivered"), approvalDecided("evt-4", approvalIdFor("prop-1"), "approved"));
    expect(factsOf(lost.facts, "RefundProcessed")).toHaveLength(1);
    expect(lost.world.inventory[TEE]).toMatchObject({ onHand: 8, reserved: 0, returned: 0 });
  });

  it("a denied ApprovalDecided becomes RefundRejected and refunds nothing", () => {
    const approvalId = approvalIdFor("prop-1");
    const parked = given(productAdded("evt-1", TEE, 10, 0, 6000), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }), refundRequested("prop-1", "ORD-1", TEE, 2));
    const { world, facts } = when(parked, approvalDecided("evt-3", approvalId, "denied", "bob"));
    expect(factsOf(facts, "RefundRejected")).toMatchObject([{ data: { approvalId, decidedBy: "bob" } }]);
    expect(typesOf(facts)).not.toContain("RefundProcessed");
    expect(world.approvals[approvalId]).toMatchObject({ status: "denied", decidedBy: "bob" });
    expect(world.orders).toEqual(parked.world.orders);
    expect(world.inventory).toEqual(parked.world.inventory);
  });

  it("a denied approval frees its quantity for a later refund", () => {
    const approvalId = approvalIdFor("prop-1");
    const denied = given(
      productAdded("evt-1", TEE, 10, 0, 6000),
      orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }),
      refundRequested("prop-1", "ORD-1", TEE, 2),
      approvalDecided("evt-3", approvalId, "denied"),
    );
    const { facts } = when(denied, refundRequested("prop-2", "ORD-1", TEE, 1));
    expect(factsOf(facts, "RefundProcessed")).toMatchObject([{ data: { qty: 1, amountCents: 6000 } }]);
  });

  it("deciding an approval twice is a conflict", () => {
    const approvalId = approvalIdFor("prop-1");
    const approved = given(
      productAdded("evt-1", TEE, 10, 0, 6000),
      orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }),
      refundRequested("prop-1", "ORD-1", TEE, 2),
      approvalDecided("evt-3", approvalId, "approved"),
    );
    const { world, facts, conflicts } = when(approved, approvalDecided("evt-4", approvalId, "approved"));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "rule", eventId: "evt-4" }]);
    expect(world.orders["ORD-1"].refundedCents).toBe(12_000);
  });

  it("cancelling an order rejects its pending approvals and refunds the whole order", () => {
    const approvalId = approvalIdFor("prop-1");
    const parked = given(productAdded("evt-1", TEE, 10, 0, 6000), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }), refundRequested("prop-1", "ORD-1", TEE, 2));
    const { world, facts } = when(parked, orderCancelled("evt-3", "ORD-1"));
    expect(factsOf(facts, "RefundRejected")).toMatchObject([{ data: { approvalId } }]);
    expect(world.approvals[approvalId].status).toBe("denied");
    expect(world.orders["ORD-1"]).toMatchObject({ status: "cancelled", refundedCents: 12_000 });
  });
});

// ---------------------------------------------------------------- rule 5

describe("rule 5: LowStockAlert once per downward crossing", () => {
  const alertsIn = (facts: readonly SystemEvent[]) => factsOf(facts, "LowStockAlert");

  it("alerts when available drops to the reorder point", () => {
    const { world, facts } = when(given(productAdded("evt-1", TEE, 12, 10, 1000)), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }));
    expect(alertsIn(facts)).toMatchObject([{ data: { sku: TEE, available: 10, reorderPoint: 10 } }]);
    expect(world.inventory[TEE].lowStock).toBe(true);
  });

  it("does not alert again while available stays at or below the point", () => {
    const low = given(productAdded("evt-1", TEE, 12, 10, 1000), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }));
    expect(alertsIn(when(low, orderPlaced("evt-3", "ORD-2", { [TEE]: 1 })).facts)).toEqual([]);
  });

  it("a rise that stays at or below the point does not re-arm", () => {
    const low = given(productAdded("evt-1", TEE, 12, 10, 1000), orderPlaced("evt-2", "ORD-1", { [TEE]: 4 }), stockReceived("evt-3", TEE, 2));
    expect(low.world.inventory[TEE]).toMatchObject({ available: 10, lowStock: true });
    expect(alertsIn(when(low, orderPlaced("evt-4", "ORD-2", { [TEE]: 1 })).facts)).toEqual([]);
  });

  it("re-arms when available rises above the point, then alerts on the next crossing", () => {
    const low = given(productAdded("evt-1", TEE, 12, 10, 1000), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }));
    const rearmed = when(low, stockReceived("evt-3", TEE, 5));
    expect(alertsIn(rearmed.facts)).toEqual([]);
    expect(rearmed.world.inventory[TEE]).toMatchObject({ available: 15, lowStock: false });
    const again = when(rearmed, orderPlaced("evt-4", "ORD-2", { [TEE]: 5 }));
    expect(alertsIn(again.facts)).toMatchObject([{ data: { available: 10 } }]);
  });

  it("counts exactly one alert per crossing over a longer day", () => {
    const day = given(
      productAdded("evt-1", TEE, 12, 10, 1000),
      orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }), // 10: crossing 1
      orderPlaced("evt-3", "ORD-2", { [TEE]: 1 }), // 9
      stockReceived("evt-4", TEE, 3), // 12: re-armed
      orderPlaced("evt-5", "ORD-3", { [TEE]: 3 }), // 9: crossing 2
      orderCancelled("evt-6", "ORD-3"), // 12: re-armed
      stockAdjusted("evt-7", TEE, -1), // 11
      stockAdjusted("evt-8", TEE, -5), // 6: crossing 3
    );
    expect(day.log.filter((e) => e.type === "LowStockAlert").map((e) => e.causationId)).toEqual(["evt-2", "evt-5", "evt-8"]);
  });

  it.each([
    [5, 5],
    [0, 3],
  ])("a product added with stock %s at or below reorder point %s alerts at once", (stock, reorderPoint) => {
    const { world, facts } = when({ world: emptyWorld(), log: [] }, productAdded("evt-1", TEE, stock, reorderPoint, 1000));
    expect(typesOf(facts)).toEqual(["ProductListed", "InventoryUpdated", "LowStockAlert"]);
    expect(alertsIn(facts)).toMatchObject([{ data: { sku: TEE, available: stock, reorderPoint } }]);
    expect(world.inventory[TEE].lowStock).toBe(true);
  });

  it("a product added above its reorder point does not alert", () => {
    const { facts } = when({ world: emptyWorld(), log: [] }, productAdded("evt-1", TEE, 6, 5, 1000));
    expect(alertsIn(facts)).toEqual([]);
  });
});

// ---------------------------------------------------------------- rule 6

describe("rule 6: no posts while a promotion is paused", () => {
  const listed = () => given(productAdded("evt-1", TEE, 10, 2, 1000));

  it("a new product's promotion starts active and can be promoted", () => {
    const { world, facts } = when(listed(), postDrafted("prop-1", TEE));
    expect(listed().world.promotions[TEE]).toBe("active");
    expect(typesOf(facts)).toEqual(["PostDrafted"]);
    expect(world.posts["post-prop-1"]).toMatchObject({ sku: TEE });
  });

  it("PostDrafted is refused while the promotion is paused", () => {
    const paused = given(productAdded("evt-1", TEE, 10, 2, 1000), promotionPaused("prop-1", TEE));
    expect(paused.world.promotions[TEE]).toBe("paused");
    const { world, facts, conflicts } = when(paused, postDrafted("prop-2", TEE));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "rule", by: "marketing_agent", eventType: "PostDrafted", taskId: "task-prop-2" }]);
    expect(conflicts[0].reason).toMatch(/paused/);
    expect(world.posts).toEqual({});
  });

  it("a post is accepted again once the promotion resumes", () => {
    const resumed = given(productAdded("evt-1", TEE, 10, 2, 1000), promotionPaused("prop-1", TEE), promotionResumed("prop-2", TEE));
    expect(resumed.world.promotions[TEE]).toBe("active");
    expect(typesOf(when(resumed, postDrafted("prop-3", TEE)).facts)).toEqual(["PostDrafted"]);
  });

  it("pausing a paused promotion is a conflict", () => {
    const paused = given(productAdded("evt-1", TEE, 10, 2, 1000), promotionPaused("prop-1", TEE));
    expect(when(paused, promotionPaused("prop-2", TEE)).conflicts).toMatchObject([{ kind: "rule" }]);
  });
});

// ---------------------------------------------------------------- rule 7

describe("rule 7: at most one open reorder per SKU", () => {
  const reordered = () => given(productAdded("evt-1", TEE, 10, 2, 1000), productAdded("evt-2", MUG, 10, 2, 1000), reorderRequested("prop-1", TEE, 30));

  it("a reorder is recorded as open", () => {
    expect(reordered().world.reorders[TEE]).toMatchObject({ sku: TEE, qty: 30, eventId: "prop-1" });
  });

  it("a second reorder for a SKU with an open one is refused", () => {
    const before = reordered();
    const { world, facts, conflicts } = when(before, reorderRequested("prop-2", TEE));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "rule", by: "inventory_agent", entity: `inventory:${TEE}`, owner: "inventory_service" }]);
    expect(conflicts[0].reason).toMatch(/already open/);
    expect(world.reorders).toEqual(before.world.reorders);
  });

  it("a reorder for another SKU is independent", () => {
    expect(typesOf(when(reordered(), reorderRequested("prop-2", MUG)).facts)).toEqual(["ReorderRequested"]);
  });

  it("StockReceived closes the open reorder with ReorderClosed", () => {
    const { world, facts } = when(reordered(), stockReceived("evt-3", TEE, 30));
    expect(factsOf(facts, "ReorderClosed")).toMatchObject([{ data: { sku: TEE, reorderId: "prop-1" }, causationId: "evt-3" }]);
    expect(world.reorders).toEqual({});
    expect(typesOf(when({ world, log: [] }, reorderRequested("prop-2", TEE)).facts)).toEqual(["ReorderRequested"]);
  });

  it("StockReceived for another SKU leaves the reorder open", () => {
    const { world, facts } = when(reordered(), stockReceived("evt-3", MUG, 5));
    expect(typesOf(facts)).not.toContain("ReorderClosed");
    expect(world.reorders[TEE]).toBeDefined();
  });
});

// ---------------------------------------------------------------- rule 8

describe("rule 8: proposals are checked for version, scope and shape", () => {
  const shipped = () => given(productAdded("evt-1", TEE, 10, 2, 1000), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }), orderShipped("evt-3", "ORD-1"));

  it("a proposal based on a stale order version is a stale conflict carrying its task id", () => {
    const before = shipped();
    expect(before.world.orders["ORD-1"].version).toBe(2);
    const stale = refundRequested("prop-1", "ORD-1", TEE, 1, "damaged", [{ entity: "order:ORD-1", version: 1 }]);
    const { world, facts, conflicts } = when(before, stale);
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([
      { kind: "stale", taskId: "task-prop-1", entity: "order:ORD-1", by: "support_agent", eventId: "prop-1", owner: "order_service" },
    ]);
    expect(world).toEqual(before.world);
  });

  it("the same proposal on the current version is accepted", () => {
    const fresh = refundRequested("prop-1", "ORD-1", TEE, 1, "damaged", [{ entity: "order:ORD-1", version: 2 }]);
    const { facts, conflicts } = when(shipped(), fresh);
    expect(conflicts).toEqual([]);
    expect(typesOf(facts)).toContain("RefundProcessed");
  });

  it("a proposal based on a stale inventory version is a stale conflict", () => {
    const before = shipped();
    const stale = reorderRequested("prop-1", TEE, 20, [{ entity: `inventory:${TEE}`, version: before.world.inventory[TEE].version - 1 }]);
    expect(when(before, stale).conflicts).toMatchObject([{ kind: "stale", entity: `inventory:${TEE}`, taskId: "task-prop-1", owner: "inventory_service" }]);
  });

  it.each([
    ["marketing_agent", "RefundRequested", { orderId: "ORD-1", sku: TEE, qty: 1, reason: "damaged" }],
    ["support_agent", "ReorderRequested", { sku: TEE, qty: 5 }],
    ["inventory_agent", "PostDrafted", { postId: "p-1", sku: TEE, text: "hi" }],
    ["support_agent", "OrderConfirmed", { orderId: "ORD-9" }],
    ["intruder", "RefundRequested", { orderId: "ORD-1", sku: TEE, qty: 1, reason: "damaged" }],
  ])("%s proposing %s is a scope conflict", (agent, type, data) => {
    const before = shipped();
    const { world, facts, conflicts } = when(before, proposal(agent, type, "prop-1", data));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "scope", by: agent, eventType: type, taskId: "task-prop-1" }]);
    expect(world).toEqual(before.world);
  });

  it.each([
    ["a zero quantity", { orderId: "ORD-1", sku: TEE, qty: 0, reason: "damaged" }],
    ["a missing sku", { orderId: "ORD-1", qty: 1, reason: "damaged" }],
    ["an unknown reason", { orderId: "ORD-1", sku: TEE, qty: 1, reason: "because" }],
    ["no data at all", null],
  ])("a RefundRequested with %s is an invalid conflict", (_what, data) => {
    const { facts, conflicts } = when(shipped(), proposal("support_agent", "RefundRequested", "prop-1", data));
    expect(facts).toEqual([]);
    expect(conflicts).toMatchObject([{ kind: "invalid", by: "support_agent", taskId: "task-prop-1" }]);
  });
});

// ---------------------------------------------------------------- rule 9

describe("rule 9: verify and replay", () => {
  /** A small day touching every kind of fact. */
  const day = () =>
    given(
      productAdded("evt-1", TEE, 12, 10, 2500),
      productAdded("evt-2", MUG, 5, 1, 6000),
      orderPlaced("evt-3", "ORD-1", { [TEE]: 3, [MUG]: 2 }),
      orderPlaced("evt-4", "ORD-2", { [MUG]: 4 }),
      orderShipped("evt-5", "ORD-1"),
      refundRequested("prop-1", "ORD-1", TEE, 1, "damaged"),
      refundRequested("prop-2", "ORD-1", MUG, 2, "wrong_item"),
      reorderRequested("prop-3", TEE),
      promotionPaused("prop-4", TEE),
      stockReceived("evt-6", TEE, 10),
      returnRestocked("evt-7", TEE, 1),
      approvalDecided("evt-8", approvalIdFor("prop-2"), "approved"),
      orderDelivered("evt-9", "ORD-1"),
      stockAdjusted("evt-10", MUG, -1),
    );

  it("the day touches approvals, returns, reorders and promotions", () => {
    const { world } = day();
    expect(world.approvals[approvalIdFor("prop-2")].status).toBe("approved");
    expect(world.inventory[MUG].returned).toBe(2);
    expect(world.promotions[TEE]).toBe("paused");
    expect(world.orders["ORD-2"].status).toBe("rejected");
  });

  it("verify finds nothing wrong with a consistent world", () => {
    const { world, log } = day();
    expect(verify(world, log)).toEqual([]);
  });

  it("replaying the log from empty reproduces the world", () => {
    const { world, log } = day();
    expect(replay(log).world).toEqual(world);
    expect(project(log)).toEqual(world);
  });

  it("a tampered stock level is a rule 9 violation", () => {
    const { world, log } = day();
    const stock = world.inventory[TEE];
    const tampered: World = { ...world, inventory: { ...world.inventory, [TEE]: { ...stock, onHand: stock.onHand + 5, available: stock.available + 5 } } };
    const violations = verify(tampered, log);
    expect(violations).toContainEqual(expect.objectContaining({ rule: "9", entity: `inventory:${TEE}` }));
    expect(violations.filter((v) => v.rule !== "9")).toEqual([]);
  });

  it("a tampered order is a rule 9 violation", () => {
    const { world, log } = day();
    const order = world.orders["ORD-1"];
    const tampered: World = { ...world, orders: { ...world.orders, "ORD-1": { ...order, version: order.version + 1 } } };
    expect(verify(tampered, log)).toContainEqual(expect.objectContaining({ rule: "9", entity: "orders:ORD-1" }));
  });

  it("a fact missing from the log is a rule 9 violation", () => {
    const { world, log } = day();
    const dropped = log.findIndex((e) => e.type === "ReorderClosed");
    const gapped = log.filter((_, i) => i !== dropped);
    expect(verify(world, gapped)).toContainEqual(expect.objectContaining({ rule: "9", entity: `event:${log[dropped].id}` }));
  });

  it("a threshold changed by a PolicyChanged fact in the log is replayed the same way", () => {
    const before = given(productAdded("evt-1", TEE, 10, 0, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 2 }));
    const policy = {
      id: "policy-2",
      type: "PolicyChanged",
      at: nextAt(),
      source: "config",
      v: 1,
      data: { approvalThresholdCents: 1000 },
    } as const satisfies StoreEvent;
    const { draft, facts } = decideAll(before.world, [
      { kind: "event", event: policy },
      { kind: "proposal", proposal: refundRequested("prop-1", "ORD-1", TEE, 1) },
    ]);
    const world = commit(draft);
    const log = [...before.log, policy, ...facts];
    expect(typesOf(facts)).toEqual(["RefundRequested", "ApprovalRequested"]);
    expect(world.policy.approvalThresholdCents).toBe(1000);
    expect(verify(world, log)).toEqual([]);
    expect(replay(log).world).toEqual(world);
  });

  it("a stock level breaking rule 1 is reported as rule 1", () => {
    const { world, log } = day();
    const stock = world.inventory[MUG];
    const broken: World = { ...world, inventory: { ...world.inventory, [MUG]: { ...stock, reserved: stock.onHand + 1, available: -1 } } };
    expect(verify(broken, log)).toContainEqual(expect.objectContaining({ rule: "1", entity: `inventory:${MUG}` }));
  });

  it("an order refunded beyond what was paid is reported as rule 3", () => {
    const { world, log } = day();
    const order = world.orders["ORD-1"];
    const broken: World = { ...world, orders: { ...world.orders, "ORD-1": { ...order, refundedCents: order.paidCents + 1 } } };
    expect(verify(broken, log)).toContainEqual(expect.objectContaining({ rule: "3", entity: "order:ORD-1" }));
  });
});

// ---------------------------------------------------------------- rule 10

describe("rule 10: produced events are auditable and deterministic", () => {
  it("facts carry the producing service, the triggering event and derived ids", () => {
    const placed = orderPlaced("evt-2", "ORD-1", { [TEE]: 3 });
    const { facts } = when(given(productAdded("evt-1", TEE, 10, 2, 2500)), placed);
    expect(facts.map((f) => f.id)).toEqual([derivedId("evt-2", "OrderConfirmed"), derivedId("evt-2", "InventoryUpdated", TEE)]);
    for (const fact of facts) {
      expect(fact.source).toBe(OWNER[fact.type]);
      expect(fact.causationId).toBe(placed.id);
      expect(fact.at).toBe(placed.at);
      expect(fact.v).toBe(1);
    }
    expect(facts.map((f) => f.source)).toEqual(["order_service", "inventory_service"]);
  });

  it("an accepted proposal is logged under its agent; what it causes points back to it", () => {
    const refund = refundRequested("prop-1", "ORD-1", TEE, 1);
    const { facts } = when(given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 })), refund);
    const [accepted, ...caused] = facts;
    expect(accepted).toMatchObject({ id: "prop-1", type: "RefundRequested", source: "support_agent", causationId: refund.causationId, at: refund.at });
    expect(caused.map((f) => [f.type, f.source, f.causationId])).toEqual([
      ["RefundProcessed", "order_service", "prop-1"],
      ["InventoryUpdated", "inventory_service", "prop-1"],
    ]);
    expect(caused.map((f) => f.id)).toEqual([derivedId("prop-1", "RefundProcessed"), derivedId("prop-1", "InventoryUpdated", TEE)]);
  });

  it("deciding the same inputs twice gives the same facts", () => {
    const steps = () => [productAdded("evt-1", TEE, 12, 10, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }), orderShipped("evt-3", "ORD-1")];
    minute = 0;
    const first = when({ world: emptyWorld(), log: [] }, ...steps());
    minute = 0;
    const second = when({ world: emptyWorld(), log: [] }, ...steps());
    expect(second.facts).toEqual(first.facts);
  });

  it("verify flags a produced event with no causationId, and a duplicate event id", () => {
    const { world, log } = given(productAdded("evt-1", TEE, 10, 2, 2500), orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }));
    const orphaned = log.map((e) => (e.type === "OrderConfirmed" ? { ...e, causationId: undefined } : e));
    expect(verify(world, orphaned)).toContainEqual(expect.objectContaining({ rule: "10", entity: `event:${derivedId("evt-2", "OrderConfirmed")}` }));
    expect(verify(world, [...log, log[0]])).toContainEqual(expect.objectContaining({ rule: "10", entity: "event:evt-1" }));
  });

  it("each change of a stock level or an order bumps its version", () => {
    const { log } = given(
      productAdded("evt-1", TEE, 10, 2, 2500),
      orderPlaced("evt-2", "ORD-1", { [TEE]: 3 }),
      refundRequested("prop-1", "ORD-1", TEE, 1),
      orderShipped("evt-3", "ORD-1"),
    );
    const stockVersions = log.flatMap((e) => (e.type === "InventoryUpdated" ? [e.data.version] : []));
    expect(stockVersions).toEqual([1, 2, 3, 4]);
    const orderVersions = log.flatMap((e) =>
      e.type === "OrderConfirmed" || e.type === "RefundProcessed" || e.type === "OrderStatusChanged" ? [e.data.version] : [],
    );
    expect(orderVersions).toEqual([1, 2, 3]);
  });
});
