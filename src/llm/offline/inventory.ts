/**
 * The offline buyer: on a LowStockAlert it reads the stock and asks for the
 * product's reorder quantity unless a reorder is open; on StockReceived it
 * reads the stock and notes it.
 */
import type { Product, Reorder, StockLevel } from "../../domain/world.js";
import { call, final, parsed, resultsOf, type Step, type Transcript } from "./steps.js";

interface StockReading {
  product?: Product;
  stock: StockLevel | null;
  openReorder: Reorder | null;
}

export function inventoryStep(transcript: Transcript): Step {
  const { trigger } = transcript;
  if (trigger.type !== "LowStockAlert" && trigger.type !== "StockReceived") return final(`ignored ${trigger.type}`);
  const { sku } = trigger.data;
  const reads = resultsOf(transcript, "read_stock");
  if (reads.length === 0) return call("read_stock", { sku });
  const reading = parsed<StockReading>(reads[0]);
  if (trigger.type === "StockReceived") return final(`received ${trigger.data.qty} of ${sku}; available now ${reading?.stock?.available ?? "unknown"}`);

  if (!reading?.product) return final(`no product ${sku}`);
  if (reading.openReorder) return final(`reorder for ${sku} already open (${reading.openReorder.eventId})`);
  const requested = resultsOf(transcript, "request_reorder");
  if (requested.length === 0) return call("request_reorder", { sku, qty: reading.product.reorderQty });
  if (!requested[0].ok) return final(`reorder of ${sku} refused: ${requested[0].content.replace(/^error:\s*/, "")}`);
  return final(`reorder ${reading.product.reorderQty} of ${sku} (available ${trigger.data.available}, reorder point ${trigger.data.reorderPoint})`);
}
