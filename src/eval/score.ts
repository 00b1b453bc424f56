/**
 * Scoring one case: what the store decided against what the case expects.
 * Pure: the runner observes, this judges. A case is correct when every
 * check passes and no rule is violated; the score of a run is the share of
 * correct cases, per part of the corpus.
 */
import type { RefundReason } from "../domain/events.js";
import type { EvalCase, ReplyStatus, Split } from "./corpus.js";

/** What a case's events led to in the store (its setup excluded). */
export interface Observed {
  /** Refunds granted per order line: refunded at once, or waiting for a person (`approval`). */
  refunds: { orderId: string; sku: string; qty: number; reason?: RefundReason; approval: boolean }[];
  /** Replies the store accepted (order_service refuses one that names another customer's data). */
  replies: { customerId: string; orderId?: string; text: string }[];
  reorders: { sku: string; qty: number }[];
  posts: string[];
  pauses: string[];
  resumes: string[];
  /** Proposals the services refused (a refused reply, a refund for another customer's order, ...). */
  refused: string[];
  /** Agent tasks that failed (model errors, budgets). */
  failedTasks: string[];
  /** Broken rules of the store (docs/eval.md): must always be empty. */
  violations: string[];
}

export interface Usage {
  toolCalls: number;
  tokens: number;
  latencyMs: number;
}

export interface Check {
  name: string;
  pass: boolean;
  /** What was expected and what happened, when they differ. */
  detail?: string;
}

export interface CaseResult extends Usage {
  id: string;
  split: Split;
  agent: EvalCase["agent"];
  tags: string[];
  correct: boolean;
  checks: Check[];
  violations: string[];
  /** One line on what the store did, for the table and the docs. */
  summary: string;
  /** The run failed before it could be judged (counts as wrong). */
  error?: string;
}

/** Ways a reply states an order's status. */
const STATUS_WORDS: Record<ReplyStatus, RegExp> = {
  confirmed: /\b(confirmed|not (yet )?shipped|(has ?n[o']t|has not) (yet )?shipped|not (been )?sent|being prepared|processing)\b/i,
  shipped: /\b(shipped|on (its|the) way|in transit|dispatched)\b/i,
  delivered: /\bdelivered\b/i,
  cancelled: /\bcancell?ed\b/i,
  rejected: /\brejected\b/i,
};

export function scoreCase(item: EvalCase, observed: Observed): Check[] {
  const checks: Check[] = [];
  const check = (name: string, pass: boolean, detail?: string) => checks.push({ name, pass, ...(pass || !detail ? {} : { detail }) });
  switch (item.agent) {
    case "support": {
      const { expect } = item;
      const want = expect.refunds.map((r) => `${r.orderId} ${r.sku} x${r.qty}`).sort();
      const got = observed.refunds.map((r) => `${r.orderId} ${r.sku} x${r.qty}`).sort();
      check("refunds", sameList(want, got), `expected [${want.join(", ")}], got [${got.join(", ")}]`);
      for (const wanted of expect.refunds) {
        if (!wanted.reason) continue;
        const granted = observed.refunds.find((r) => r.orderId === wanted.orderId && r.sku === wanted.sku);
        if (granted)
          check(
            `reason ${wanted.sku}`,
            granted.reason !== undefined && wanted.reason.includes(granted.reason),
            `expected ${wanted.reason.join(" or ")}, got ${granted.reason ?? "none"}`,
          );
      }
      const waits = observed.refunds.some((r) => r.approval);
      check(
        "approval",
        waits === expect.approval,
        `expected ${expect.approval ? "a refund waiting for approval" : "no approval"}, got ${waits ? "one" : "none"}`,
      );
      const replies = observed.replies.filter((r) => r.customerId === item.message.customerId);
      check(
        "one reply",
        replies.length === 1,
        `expected one accepted reply, got ${replies.length}${observed.refused.length > 0 ? ` (refused: ${observed.refused.join("; ")})` : ""}`,
      );
      const text = replies.map((r) => r.text).join("\n");
      if (expect.reply?.status)
        check(`reply states ${expect.reply.status}`, STATUS_WORDS[expect.reply.status].test(text), `reply: ${JSON.stringify(text.slice(0, 160))}`);
      for (const word of expect.reply?.includes ?? [])
        check(`reply names ${word}`, text.toLowerCase().includes(word.toLowerCase()), `reply: ${JSON.stringify(text.slice(0, 160))}`);
      break;
    }
    case "inventory": {
      const want = item.expect.reorders.map((r) => `${r.sku} x${r.qty}`).sort();
      const got = observed.reorders.map((r) => `${r.sku} x${r.qty}`).sort();
      check("reorders", sameList(want, got), `expected [${want.join(", ")}], got [${got.join(", ")}]`);
      break;
    }
    case "marketing": {
      for (const key of ["posts", "pauses", "resumes"] as const) {
        const want = [...item.expect[key]].sort();
        const got = [...observed[key]].sort();
        check(key, sameList(want, got), `expected [${want.join(", ")}], got [${got.join(", ")}]`);
      }
      break;
    }
    default: {
      const exhaustive: never = item;
      throw new Error(`unhandled case ${JSON.stringify(exhaustive)}`);
    }
  }
  if (observed.failedTasks.length > 0) check("no failed task", false, observed.failedTasks.join("; "));
  return checks;
}

/** A case is correct when every check passes and no rule is broken. */
export function isCorrect(checks: readonly Check[], violations: readonly string[]): boolean {
  return violations.length === 0 && checks.every((c) => c.pass);
}

export interface PartScore {
  cases: number;
  correct: number;
  /** correct / cases (1 for an empty part). */
  score: number;
  violations: number;
  toolCalls: number;
  tokens: number;
  latencyMs: number;
}

export interface Scores {
  overall: PartScore;
  tuning: PartScore;
  heldout: PartScore;
  byAgent: Partial<Record<EvalCase["agent"], PartScore>>;
}

export function summarise(results: readonly CaseResult[]): Scores {
  const byAgent: Scores["byAgent"] = {};
  for (const agent of new Set(results.map((r) => r.agent))) byAgent[agent] = partScore(results.filter((r) => r.agent === agent));
  return {
    overall: partScore(results),
    tuning: partScore(results.filter((r) => r.split === "tuning")),
    heldout: partScore(results.filter((r) => r.split === "heldout")),
    byAgent,
  };
}

export function partScore(results: readonly CaseResult[]): PartScore {
  const correct = results.filter((r) => r.correct).length;
  const sum = (f: (r: CaseResult) => number) => results.reduce((total, r) => total + f(r), 0);
  return {
    cases: results.length,
    correct,
    score: results.length === 0 ? 1 : round(correct / results.length),
    violations: sum((r) => r.violations.length),
    toolCalls: sum((r) => r.toolCalls),
    tokens: sum((r) => r.tokens),
    latencyMs: Math.round(sum((r) => r.latencyMs)),
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
