/**
 * The offline marketer: reads the product the event concerns, then drafts a
 * launch post for a new product in stock, pauses the promotion of a product
 * low on stock, or resumes it once stock recovers.
 */
import { formatCents } from "../../domain/money.js";
import { isLowStock } from "../../domain/rules.js";
import type { Product, PromotionStatus, StockLevel } from "../../domain/world.js";
import { call, final, parsed, resultsOf, type Step, type Transcript } from "./steps.js";

interface ProductReading {
  product?: Product;
  stock: StockLevel | null;
  promotion: PromotionStatus | null;
}

export function marketingStep(transcript: Transcript): Step {
  const { trigger } = transcript;
  const sku = (trigger.data as { sku?: unknown }).sku;
  if (typeof sku !== "string") return final(`ignored ${trigger.type}`);
  const reads = resultsOf(transcript, "read_product");
  // Most stock changes need nothing from marketing: the context says so without a tool call.
  if (reads.length === 0 && !worthReading(transcript, sku))
    return final(
      `nothing to do for ${sku} (${transcript.context.promotions[sku] ?? "no promotion"}, ${transcript.context.stock[sku]?.available ?? "?"} available)`,
    );
  if (reads.length === 0) return call("read_product", { sku });
  const { product, stock, promotion } = parsed<ProductReading>(reads[0]) ?? { stock: null, promotion: null };
  if (!product || !stock) return final(`no product ${sku}`);
  const low = isLowStock(stock, product);

  const proposed = transcript.results.find((r) => r.name !== "read_product");
  if (proposed) {
    const done =
      ({ draft_post: "launch post for", pause_promotion: "pause", resume_promotion: "resume" } as Record<string, string>)[proposed.name] ?? proposed.name;
    return final(proposed.ok ? `${done} ${sku}` : `${done} ${sku} refused: ${proposed.content.replace(/^error:\s*/, "")}`);
  }

  if (trigger.type === "ProductAdded") {
    if (promotion !== "active" || low) return final(`no launch post for ${sku}: ${low ? "low stock" : "promotion paused"}`);
    return call("draft_post", { sku, text: `New in store: ${product.name}, ${formatCents(product.priceCents)}. Get yours while stocks last!` });
  }
  if (trigger.type === "LowStockAlert" && promotion === "active") return call("pause_promotion", { sku, reason: `low stock: ${stock.available} available` });
  if (trigger.type === "InventoryUpdated" && promotion === "paused" && !low)
    return call("resume_promotion", { sku, reason: `restocked: ${stock.available} available` });
  return final(`nothing to do for ${sku} (${promotion}, ${stock.available} available)`);
}

/** Whether the context suggests there is something to do for `sku` (then the clerk reads the product to confirm). */
function worthReading(transcript: Transcript, sku: string): boolean {
  const { trigger, context } = transcript;
  const product = context.products.find((p) => p.sku === sku);
  const stock = context.stock[sku];
  if (!product || !stock) return true;
  const promotion = context.promotions[sku];
  const low = isLowStock(stock, product);
  if (trigger.type === "ProductAdded") return true;
  if (trigger.type === "LowStockAlert") return promotion === "active";
  if (trigger.type === "InventoryUpdated") return promotion === "paused" && !low;
  return false;
}
