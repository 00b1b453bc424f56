/**
 * inventory_agent: keeps shelves stocked. On a LowStockAlert it asks for a
 * reorder unless one is open (rule 7 is enforced by inventory_service too).
 * Subscribes to LowStockAlert and StockReceived.
 */
import type { Delivery } from "../../memory/context.js";
import type { Update } from "../../state.js";
import { runAgent, type AgentOutcome } from "../runtime.js";

/** The rule-based buyer behind the inventory agent's interface. */
export function inventoryBuyer(delivery: Delivery): AgentOutcome {
  const trigger = delivery.trigger;
  if (trigger.type === "StockReceived") {
    const stock = delivery.context.stock[trigger.data.sku];
    return { proposals: [], note: `received ${trigger.data.qty} of ${trigger.data.sku}; available now ${stock?.available ?? "unknown"}` };
  }
  if (trigger.type !== "LowStockAlert") return { proposals: [], note: `ignored ${trigger.type}` };
  const { sku } = trigger.data;
  const product = delivery.context.products.find((p) => p.sku === sku);
  const open = delivery.context.openReorders[sku];
  if (!product) return { proposals: [], note: `no product ${sku}` };
  if (open) return { proposals: [], note: `reorder for ${sku} already open (${open.eventId})` };
  return {
    proposals: [{ type: "ReorderRequested", data: { sku, qty: product.reorderQty } }],
    note: `reorder ${product.reorderQty} of ${sku} (available ${trigger.data.available}, reorder point ${trigger.data.reorderPoint})`,
  };
}

export function inventoryAgent(delivery: Delivery): Promise<Update> {
  return runAgent(delivery, inventoryBuyer);
}
