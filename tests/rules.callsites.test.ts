/**
 * One predicate per rule, used everywhere (docs/RULES.md): with the predicates
 * of src/domain/rules.ts replaced, the services' decider, the stock rule's
 * transition and the offline marketing model all decide by the replacement. A
 * place that compared on its own would keep deciding the old way and fail here.
 */
import { decideAll } from "../src/domain/decide.js";
import type { StoredInputEvent } from "../src/domain/events.js";
import { initialStock, lowStockTransition } from "../src/domain/inventory.js";
import { isLowStock, needsApproval } from "../src/domain/rules.js";
import { validateInput } from "../src/domain/validation.js";
import { commit, emptyWorld } from "../src/domain/world.js";
import { marketingStep } from "../src/llm/offline/marketing.js";
import type { Transcript } from "../src/llm/offline/steps.js";

// Every rule "on": any stock is low, any refund needs approval.
vi.mock("../src/domain/rules.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../src/domain/rules.js")>()),
  isLowStock: vi.fn(() => true),
  needsApproval: vi.fn(() => true),
}));

const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute)).toISOString();
function input(type: string, id: string, minute: number, data: Record<string, unknown>): StoredInputEvent {
  const result = validateInput({ id, type, at: at(minute), data }, "test");
  if (!result.ok) throw new Error(result.reason);
  return result.event;
}

afterEach(() => vi.mocked(isLowStock).mockClear());

test("rule 5: the stock rule's transition asks isLowStock (plenty of stock counts as low when the predicate says so)", () => {
  const { alert } = lowStockTransition({ ...initialStock(), onHand: 100, available: 100 }, 5);
  expect(alert).toBe(true);
  expect(isLowStock).toHaveBeenCalledWith(expect.objectContaining({ available: 100 }), { reorderPoint: 5 });
});

test("rule 5: the offline marketing model asks isLowStock before a launch post", () => {
  const product = { sku: "SKU-MUG", name: "Mug", priceCents: 1500, reorderPoint: 3, reorderQty: 20 };
  const trigger = input("ProductAdded", "e1", 1, { sku: "SKU-MUG", name: "Mug", priceCents: 1500, initialStock: 100, reorderPoint: 3 });
  const reading = { product, stock: { onHand: 100, reserved: 0, returned: 0, available: 100, version: 1, lowStock: false }, promotion: "active" };
  const transcript = {
    trigger,
    context: { products: [product], stock: { "SKU-MUG": reading.stock }, promotions: { "SKU-MUG": "active" } },
    results: [{ name: "read_product", args: { sku: "SKU-MUG" }, content: JSON.stringify(reading), ok: true }],
  } as unknown as Transcript;
  // With the real predicate, 100 units against a reorder point of 3 gets a launch post (tests/agents.offline.test.ts).
  expect(marketingStep(transcript)).toEqual({ final: "no launch post for SKU-MUG: low stock" });
  expect(isLowStock).toHaveBeenCalledWith(reading.stock, product);
});

test("rule 4: the order service asks needsApproval (a $15 refund waits for a person when the predicate says so)", () => {
  let world = emptyWorld();
  const steps = [
    input("ProductAdded", "e1", 1, { sku: "SKU-MUG", name: "Mug", priceCents: 1500, initialStock: 10, reorderPoint: 0 }),
    input("OrderPlaced", "e2", 2, { orderId: "ORD-1", customerId: "C-1", lines: [{ sku: "SKU-MUG", qty: 1 }] }),
  ];
  for (const event of steps) world = commit(decideAll(world, [{ kind: "event", event }]).draft);
  const refund = {
    id: "p1",
    agent: "support_agent",
    taskId: "t1",
    causationId: "e2",
    at: at(3),
    type: "RefundRequested",
    data: { orderId: "ORD-1", sku: "SKU-MUG", qty: 1, reason: "damaged" },
    basedOn: [],
  };
  const { facts } = decideAll(world, [{ kind: "proposal", proposal: refund }]);
  expect(facts.map((f) => f.type)).toEqual(["RefundRequested", "ApprovalRequested"]);
  expect(needsApproval).toHaveBeenCalledWith(1500, world.policy);
});
