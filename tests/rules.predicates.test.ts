/**
 * The one-comparison rules of docs/RULES.md as predicates (src/domain/rules.ts),
 * given/when/then, and the defaults that read them. The rules' effects on the
 * store are in tests/domain.rules.test.ts; that every place that applies a rule
 * calls its predicate is in tests/rules.callsites.test.ts.
 */
import { loadConfig } from "../src/config.js";
import { DEFAULT_APPROVAL_THRESHOLD_CENTS, isLowStock, needsApproval } from "../src/domain/rules.js";
import { DEFAULT_POLICY, emptyWorld } from "../src/domain/world.js";

describe("rule 4: a refund above the approval threshold waits for a person", () => {
  test("given the default policy, when a refund is one cent above the threshold, then it needs approval", () => {
    expect(needsApproval(DEFAULT_APPROVAL_THRESHOLD_CENTS + 1, DEFAULT_POLICY)).toBe(true);
  });

  test("given the default policy, when a refund is exactly the threshold or less, then it does not", () => {
    expect(needsApproval(DEFAULT_APPROVAL_THRESHOLD_CENTS, DEFAULT_POLICY)).toBe(false);
    expect(needsApproval(1, DEFAULT_POLICY)).toBe(false);
  });

  test("given a store policy of 1000 cents, when a refund is 1001 cents, then it needs approval", () => {
    expect(needsApproval(1001, { approvalThresholdCents: 1000 })).toBe(true);
    expect(needsApproval(1000, { approvalThresholdCents: 1000 })).toBe(false);
  });

  test("the default threshold is one constant: the domain's policy, a new world and the configuration all read it", () => {
    expect(DEFAULT_APPROVAL_THRESHOLD_CENTS).toBe(10_000);
    expect(DEFAULT_POLICY.approvalThresholdCents).toBe(DEFAULT_APPROVAL_THRESHOLD_CENTS);
    expect(emptyWorld().policy.approvalThresholdCents).toBe(DEFAULT_APPROVAL_THRESHOLD_CENTS);
    expect(loadConfig({}).approvalThresholdCents).toBe(DEFAULT_APPROVAL_THRESHOLD_CENTS);
  });
});

describe("rule 5: a SKU is low on stock at or below its reorder point", () => {
  const product = { reorderPoint: 5 };

  test("given a reorder point of 5, when 5 are available, then the SKU is low", () => {
    expect(isLowStock({ available: 5 }, product)).toBe(true);
  });

  test("given a reorder point of 5, when fewer are available (none included), then the SKU is low", () => {
    expect(isLowStock({ available: 4 }, product)).toBe(true);
    expect(isLowStock({ available: 0 }, product)).toBe(true);
  });

  test("given a reorder point of 5, when 6 are available, then the SKU is not low", () => {
    expect(isLowStock({ available: 6 }, product)).toBe(false);
  });
});
