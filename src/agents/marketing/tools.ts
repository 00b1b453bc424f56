/**
 * The marketing agent's tools: read a product with its stock and promotion,
 * draft a post, pause or resume a promotion. inventory_service refuses posts
 * for a paused promotion (rule 6) and anything based on stale stock.
 */
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import type { BasedOn } from "../../domain/proposals.js";
import { contextSku } from "../inventory/tools.js";
import { recordDraft, ToolRefusal, type AgentSession } from "../session.js";

// The tools' argument schemas, built once (see inventory/tools.ts).
const ReadProductArgs = z.object({ sku: z.string().min(1).describe("The product SKU, e.g. SKU-TEE") });
const DraftPostArgs = z.object({
  sku: z.string().min(1).describe("The product SKU the post promotes"),
  text: z.string().min(1).max(1000).describe("The post text"),
});
const PausePromotionArgs = z.object({
  sku: z.string().min(1).describe("The product SKU"),
  reason: z.string().min(1).max(500).describe("Why the promotion pauses, e.g. 'low stock: 2 available'"),
});
const ResumePromotionArgs = z.object({
  sku: z.string().min(1).describe("The product SKU"),
  reason: z.string().min(1).max(500).optional().describe("Why it resumes; defaults to the available stock"),
});

export function marketingTools(session: AgentSession) {
  const { context, trigger } = session.delivery;
  /** Proposals rest on the stock the agent saw, so a change since then makes them stale. */
  const basedOn = (sku: string): BasedOn[] => {
    const stock = context.stock[sku];
    if (!stock) throw new ToolRefusal(`no stock known for ${sku}`);
    return [{ entity: `inventory:${sku}`, version: stock.version }];
  };

  const readProduct = tool(
    ({ sku }) => {
      const key = contextSku(session, sku);
      return JSON.stringify({
        product: context.products.find((p) => p.sku === key),
        stock: context.stock[key] ?? null,
        promotion: context.promotions[key] ?? null,
      });
    },
    {
      name: "read_product",
      description: "Read a product (name, price, reorder point), its stock and whether its promotion is active or paused.",
      schema: ReadProductArgs,
    },
  );

  const draftPost = tool(
    ({ sku, text }) => {
      const key = contextSku(session, sku);
      recordDraft(session, { type: "PostDrafted", data: { postId: `post-${trigger.id}`, sku: key, text }, basedOn: basedOn(key) });
      return `drafted: post for ${key}`;
    },
    {
      name: "draft_post",
      description: "Draft a social media post promoting a product. Refused while the product's promotion is paused.",
      schema: DraftPostArgs,
    },
  );

  const pausePromotion = tool(
    ({ sku, reason }) => {
      const key = contextSku(session, sku);
      recordDraft(session, { type: "PromotionPaused", data: { sku: key, reason }, basedOn: basedOn(key) });
      return `requested: pause the promotion of ${key}`;
    },
    {
      name: "pause_promotion",
      description: "Pause a product's promotion (for example while it is low on stock).",
      schema: PausePromotionArgs,
    },
  );

  const resumePromotion = tool(
    ({ sku, reason }) => {
      const key = contextSku(session, sku);
      const available = context.stock[key]?.available;
      recordDraft(session, {
        type: "PromotionResumed",
        data: { sku: key, reason: reason ?? `restocked: ${available ?? "?"} available` },
        basedOn: basedOn(key),
      });
      return `requested: resume the promotion of ${key}`;
    },
    {
      name: "resume_promotion",
      description: "Resume a paused promotion once the product is back in stock.",
      schema: ResumePromotionArgs,
    },
  );

  return [readProduct, draftPost, pausePromotion, resumePromotion];
}
