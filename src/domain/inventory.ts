/**
 * Stock rules (docs/RULES.md rules 1 and 5) as pure functions on one SKU's level.
 */
import { isLowStock } from "./rules.js";
import type { StockLevel } from "./world.js";

export interface StockDelta {
  onHand?: number;
  reserved?: number;
  returned?: number;
}

/** A new SKU's level before its first change (version 0, so the first change is version 1). */
export function initialStock(): StockLevel {
  return { onHand: 0, reserved: 0, returned: 0, available: 0, version: 0, lowStock: false };
}

/** The level after a change, with a new version; the low-stock flag is settled by `lowStockTransition`. */
export function applyStockDelta(stock: StockLevel, delta: StockDelta): StockLevel {
  const onHand = stock.onHand + (delta.onHand ?? 0);
  const reserved = stock.reserved + (delta.reserved ?? 0);
  const returned = stock.returned + (delta.returned ?? 0);
  return { onHand, reserved, returned, available: onHand - reserved, version: stock.version + 1, lowStock: stock.lowStock };
}

/** Rule 1, or undefined when the level obeys it. */
export function stockViolation(stock: StockLevel): string | undefined {
  if (stock.onHand < 0) return `onHand would be ${stock.onHand}, below 0`;
  if (stock.reserved < 0) return `reserved would be ${stock.reserved}, below 0`;
  if (stock.returned < 0) return `returned would be ${stock.returned}, below 0`;
  if (stock.reserved > stock.onHand) return `reserved (${stock.reserved}) would exceed onHand (${stock.onHand})`;
  if (stock.available !== stock.onHand - stock.reserved) return `available (${stock.available}) is not onHand - reserved`;
  return undefined;
}

/**
 * Rule 5: alert once per downward crossing of the reorder point, re-arm when
 * available rises above it. Returns the settled level and whether to alert.
 */
export function lowStockTransition(stock: StockLevel, reorderPoint: number): { stock: StockLevel; alert: boolean } {
  const low = isLowStock(stock, { reorderPoint });
  if (low && !stock.lowStock) return { stock: { ...stock, lowStock: true }, alert: true };
  if (!low && stock.lowStock) return { stock: { ...stock, lowStock: false }, alert: false };
  return { stock, alert: false };
}
