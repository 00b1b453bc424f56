/**
 * The business rules that are one comparison each, as one predicate each
 * (docs/RULES.md): every place that applies a rule calls its predicate here,
 * the services' decider, `verify` and the offline model alike, so changing a
 * rule changes it everywhere. Pure; imports nothing.
 */

/**
 * Refunds above this many cents wait for a person unless the store's policy
 * says otherwise (docs/RULES.md rule 4). `SHOPSTATE_APPROVAL_THRESHOLD_CENTS`
 * and a run's `approvalThresholdCents` override it.
 */
export const DEFAULT_APPROVAL_THRESHOLD_CENTS = 10_000;

/**
 * Rule 4: a refund of `amountCents` waits for a person when it is larger than
 * the policy's threshold (a refund of exactly the threshold does not).
 */
export function needsApproval(amountCents: number, policy: { approvalThresholdCents: number }): boolean {
  return amountCents > policy.approvalThresholdCents;
}

/**
 * Rule 5: a SKU is low on stock when what is available (on hand, less what
 * orders reserve) is at or below the product's reorder point.
 */
export function isLowStock(stock: { available: number }, product: { reorderPoint: number }): boolean {
  return stock.available <= product.reorderPoint;
}
