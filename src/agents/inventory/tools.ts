/**
 * The inventory agent's tools: read the stock and recent sales of the SKU the
 * event concerns, and ask for a reorder (at most one open per SKU: rule 7,
 * enforced by inventory_service).
 */
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { recordDraft, ToolRefusal, type AgentSession } from "../session.js";

/** The SKU as the context knows it, or a refusal: the agent reads only what its event concerns. */
export function contextSku(session: AgentSession, sku: string): string {
  const known = session.delivery.context.products.find((p) => p.sku.toLowerCase() === sku.trim().toLowerCase());
  if (!known) throw new ToolRefusal(`${sku} is not a product this task concerns`);
  return known.sku;
}

// The tools' argument schemas, built once: a task builds its tools around its session, and zod schemas cost far more to
// build than the tools that use them (each agent task would build them again).
const ReadStockArgs = z.object({ sku: z.string().min(1).describe("The product SKU, e.g. SKU-TEE") });
const RequestReorderArgs = z.object({
  sku: z.string().min(1).describe("The product SKU, e.g. SKU-TEE"),
  qty: z.number().int().positive().describe("Units to reorder (usually the product's reorder quantity)"),
});

export function inventoryTools(session: AgentSession) {
  const { context } = session.delivery;

  const readStock = tool(
    ({ sku }) => {
      const key = contextSku(session, sku);
      return JSON.stringify({
        product: context.products.find((p) => p.sku === key),
        stock: context.stock[key] ?? null,
        openReorder: context.openReorders[key] ?? null,
        recentSales: context.recentSales[key] ?? null,
      });
    },
    {
      name: "read_stock",
      description: "Read a product's stock (on hand, reserved, available, version), its reorder point and quantity, any open reorder, and its recent sales.",
      schema: ReadStockArgs,
    },
  );

  const requestReorder = tool(
    ({ sku, qty }) => {
      const key = contextSku(session, sku);
      recordDraft(session, { type: "ReorderRequested", data: { sku: key, qty } });
      return `requested: reorder of ${qty} x ${key}; inventory_service refuses it if one is already open`;
    },
    {
      name: "request_reorder",
      description: "Ask the supplier for more of a product. At most one reorder per SKU may be open.",
      schema: RequestReorderArgs,
    },
  );

  return [readStock, requestReorder];
}
