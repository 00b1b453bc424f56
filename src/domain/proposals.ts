/**
 * What agents may propose (docs/RULES.md rule 12). A proposal is a request, not a fact: a
 * service checks its scope, the version of the entities it was based on and
 * the rules, and only then appends it to the log (or records a conflict).
 */
import { z } from "zod";
import { RefundReason } from "./events.js";

export const AGENTS = ["support_agent", "inventory_agent", "marketing_agent"] as const;
export type AgentName = (typeof AGENTS)[number];

const sku = z.string().min(1).describe("The product SKU, e.g. SKU-TEE");

/** The data each proposable event type carries, described for tool schemas. */
export const ProposalData = {
  RefundRequested: z.strictObject({
    orderId: z.string().min(1).describe("The order the refund is for"),
    sku,
    qty: z.number().int().positive().describe("Units to refund; the amount is computed by order_service"),
    reason: RefundReason.describe("Why: damaged, wrong_item, not_delivered, not_as_described, changed_mind or other"),
    note: z.string().max(500).optional().describe("A short note for the audit trail"),
  }),
  ReplyDrafted: z.strictObject({
    customerId: z.string().min(1).describe("The customer the reply is for"),
    orderId: z.string().optional().describe("The order the reply is about, if any"),
    messageId: z.string().min(1).describe("Id of the reply message"),
    text: z.string().min(1).max(4000).describe("The reply text"),
  }),
  ReorderRequested: z.strictObject({
    sku,
    qty: z.number().int().positive().describe("Units to reorder from the supplier"),
  }),
  PostDrafted: z.strictObject({
    postId: z.string().min(1).describe("Id of the post"),
    sku,
    text: z.string().min(1).max(1000).describe("The post text"),
  }),
  PromotionPaused: z.strictObject({ sku, reason: z.string().min(1).max(500).describe("Why the promotion pauses") }),
  PromotionResumed: z.strictObject({ sku, reason: z.string().min(1).max(500).describe("Why the promotion resumes") }),
} as const;
export type ProposalType = keyof typeof ProposalData;
export const PROPOSAL_TYPES = Object.keys(ProposalData) as ProposalType[];

/** Which agent may propose which events; anything else is a scope conflict. */
export const PROPOSAL_SCOPES: Record<AgentName, readonly ProposalType[]> = {
  support_agent: ["ReplyDrafted", "RefundRequested"],
  inventory_agent: ["ReorderRequested"],
  marketing_agent: ["PostDrafted", "PromotionPaused", "PromotionResumed"],
};

/** An entity a proposal was based on, at the version the agent saw (rule 8). */
export interface BasedOn {
  /** `order:<id>` or `inventory:<sku>`. */
  entity: string;
  version: number;
}

export interface Proposal {
  /** Deterministic: derived from the triggering event, the agent, the type and the attempt. */
  id: string;
  agent: string;
  taskId: string;
  /** The event that triggered the agent. */
  causationId: string;
  at: string;
  /** Unknown on purpose: the service refuses types outside the agent's scope. */
  type: string;
  data: unknown;
  basedOn: BasedOn[];
}

export function isAgentName(name: string): name is AgentName {
  return (AGENTS as readonly string[]).includes(name);
}
