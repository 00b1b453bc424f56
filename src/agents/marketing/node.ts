/**
 * marketing_agent: drafts posts for new products and pauses a product's
 * promotion while it is low on stock, resuming it when stock recovers.
 * Subscribes to ProductAdded, LowStockAlert and InventoryUpdated.
 */
import { formatCents } from "../../domain/money.js";
import type { Delivery } from "../../memory/context.js";
import type { Update } from "../../state.js";
import { runAgent, type AgentOutcome } from "../runtime.js";

/** The rule-based marketer behind the marketing agent's interface. */
export function marketer(delivery: Delivery): AgentOutcome {
  const trigger = delivery.trigger;
  const sku = (trigger.data as { sku?: string }).sku;
  if (!sku) return { proposals: [], note: `ignored ${trigger.type}` };
  const product = delivery.context.products.find((p) => p.sku === sku);
  const stock = delivery.context.stock[sku];
  const promotion = delivery.context.promotions[sku];
  if (!product || !stock) return { proposals: [], note: `no product ${sku}` };
  const basedOn = [{ entity: `inventory:${sku}`, version: stock.version }];
  const low = stock.available <= product.reorderPoint;

  if (trigger.type === "ProductAdded") {
    if (promotion !== "active" || low) return { proposals: [], note: `no launch post for ${sku}: ${low ? "low stock" : "promotion paused"}` };
    const text = `New in store: ${product.name}, ${formatCents(product.priceCents)}. Get yours while stocks last!`;
    return { proposals: [{ type: "PostDrafted", data: { postId: `post-${trigger.id}`, sku, text }, basedOn }], note: `launch post for ${sku}` };
  }
  if (trigger.type === "LowStockAlert" && promotion === "active") {
    return { proposals: [{ type: "PromotionPaused", data: { sku, reason: `low stock: ${stock.available} available` }, basedOn }], note: `pause ${sku}` };
  }
  if (trigger.type === "InventoryUpdated" && promotion === "paused" && !low) {
    return { proposals: [{ type: "PromotionResumed", data: { sku, reason: `restocked: ${stock.available} available` }, basedOn }], note: `resume ${sku}` };
  }
  return { proposals: [], note: `nothing to do for ${sku} (${promotion}, ${stock.available} available)` };
}

export function marketingAgent(delivery: Delivery): Promise<Update> {
  return runAgent(delivery, marketer);
}
