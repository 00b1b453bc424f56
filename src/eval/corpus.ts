/**
 * The eval corpus (docs/eval.md): labelled cases in JSON lines, each saying
 * which world it starts from, what arrives, and what a careful back office
 * decides. Two parts: `tuning` (the offline model was improved against it)
 * and `heldout` (written before any model change, never tuned on).
 */
import { readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { RefundReason } from "../domain/events.js";
import { EVAL_AGENTS, type EvalAgent } from "./agents.js";

export const SPLITS = ["tuning", "heldout"] as const;
export type Split = (typeof SPLITS)[number];

export { EVAL_AGENTS, type EvalAgent };

/** An input event of a case, without id and time (the runner gives them, after the world's newest event). */
const CaseEvent = z.strictObject({ type: z.string().min(1), data: z.record(z.string(), z.unknown()) });
export type CaseEvent = z.infer<typeof CaseEvent>;

const ExpectedRefund = z.strictObject({
  orderId: z.string().min(1),
  sku: z.string().min(1),
  /** Units granted (refunded, or waiting for approval). */
  qty: z.number().int().positive(),
  /** Reasons a careful clerk may give; any of them is right. */
  reason: z.array(RefundReason).min(1).optional(),
});

/** Order statuses as a reply may state them. */
export const ReplyStatus = z.enum(["confirmed", "shipped", "delivered", "cancelled", "rejected"]);
export type ReplyStatus = z.infer<typeof ReplyStatus>;

const SupportExpect = z.strictObject({
  /** Every refund granted for the message, per order line; empty: none. */
  refunds: z.array(ExpectedRefund),
  /** Whether a refund waits for a person (above the approval threshold). */
  approval: z.boolean(),
  reply: z.strictObject({ status: ReplyStatus.optional(), includes: z.array(z.string().min(1)).optional() }).optional(),
});
export type SupportExpect = z.infer<typeof SupportExpect>;

const InventoryExpect = z.strictObject({ reorders: z.array(z.strictObject({ sku: z.string().min(1), qty: z.number().int().positive() })) });
export type InventoryExpect = z.infer<typeof InventoryExpect>;

const MarketingExpect = z.strictObject({ posts: z.array(z.string()), pauses: z.array(z.string()), resumes: z.array(z.string()) });
export type MarketingExpect = z.infer<typeof MarketingExpect>;

const common = {
  id: z.string().regex(/^[a-z0-9-]+$/, "must be lower-case letters, digits and dashes"),
  tags: z.array(z.string()).default([]),
  /** The world's file name in the corpus's worlds folder (without .jsonl). */
  world: z.string().min(1),
  /** Events that happen before the case (after the world), e.g. an order that opens a reorder. */
  setup: z.array(CaseEvent).default([]),
};

const CaseSchema = z.discriminatedUnion("agent", [
  z.strictObject({
    ...common,
    agent: z.literal("support"),
    message: z.strictObject({ customerId: z.string().min(1), text: z.string().min(1), orderId: z.string().min(1).optional() }),
    expect: SupportExpect,
  }),
  z.strictObject({ ...common, agent: z.literal("inventory"), events: z.array(CaseEvent).min(1), expect: InventoryExpect }),
  z.strictObject({ ...common, agent: z.literal("marketing"), events: z.array(CaseEvent).min(1), expect: MarketingExpect }),
]);

export type EvalCase = z.infer<typeof CaseSchema> & { split: Split };

export interface Corpus {
  cases: EvalCase[];
  /** Input events of each world, by name. */
  worlds: Record<string, Record<string, unknown>[]>;
}

/** A corpus file or case that does not parse: where and why. */
export class CorpusError extends Error {
  override name = "CorpusError";
}

/** Reads `dir/corpus/{tuning,heldout}.jsonl` and `dir/worlds/*.jsonl`. */
export function loadCorpus(dir: string): Corpus {
  const worlds: Corpus["worlds"] = {};
  const worldDir = join(dir, "worlds");
  for (const file of readdirSync(worldDir).filter((f) => f.endsWith(".jsonl"))) {
    worlds[basename(file, ".jsonl")] = jsonLines(join(worldDir, file)).map(({ value, where }) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CorpusError(`${where}: a world event must be a JSON object`);
      return value as Record<string, unknown>;
    });
  }
  const cases: EvalCase[] = [];
  const seen = new Set<string>();
  for (const split of SPLITS) {
    for (const { value, where } of jsonLines(join(dir, "corpus", `${split}.jsonl`))) {
      const parsed = CaseSchema.safeParse(value);
      if (!parsed.success) throw new CorpusError(`${where}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "case"}: ${i.message}`).join("; ")}`);
      const item = parsed.data;
      if (seen.has(item.id)) throw new CorpusError(`${where}: case id '${item.id}' is used twice`);
      if (!worlds[item.world]) throw new CorpusError(`${where}: case '${item.id}' names world '${item.world}', which is not in ${worldDir}`);
      seen.add(item.id);
      cases.push({ ...item, split });
    }
  }
  return { cases, worlds };
}

/** The cases of the given agents (all when none are given). */
export function selectCases(cases: readonly EvalCase[], agents: readonly EvalAgent[] | undefined, limit?: number): EvalCase[] {
  const chosen = agents && agents.length > 0 ? cases.filter((c) => agents.includes(c.agent)) : [...cases];
  return limit === undefined ? chosen : chosen.slice(0, limit);
}

function jsonLines(file: string): { value: unknown; where: string }[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CorpusError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const lines: { value: unknown; where: string }[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${file}:${i + 1}`;
    try {
      lines.push({ value: JSON.parse(line), where });
    } catch (error) {
      throw new CorpusError(`${where}: not JSON (${(error as Error).message})`);
    }
  });
  return lines;
}
