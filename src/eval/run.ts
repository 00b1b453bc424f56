/**
 * Runs eval cases through the real store: per case a fresh in-memory store
 * gets the case's world and setup, then the case's events; what those events
 * led to (the new part of the log) is observed and scored. Nothing is
 * mocked: the agents' nodes, tools and the services all run as in a store;
 * only the model is the one under test.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { LLMResult } from "@langchain/core/outputs";
import type { AIMessage } from "@langchain/core/messages";
import type { AgentDeps } from "../agents/runtime.js";
import type { StoreEvent } from "../domain/events.js";
import { verify } from "../domain/verify.js";
import { worldAt } from "../app/verify.js";
import type { MemoryNote } from "../state.js";
import type { CaseEvent, Corpus, EvalCase } from "./corpus.js";
import { isCorrect, scoreCase, type CaseResult, type Observed } from "./score.js";
import { openEvalStore, type EvalSnapshot } from "./store.js";

export interface EvalRunOptions {
  /** A new model for each task (the model under test). */
  model: () => BaseChatModel;
  /** Retries and budgets for the agents (defaults: the store's). */
  agents?: Omit<AgentDeps, "models">;
}

/** How a case's events are timed: one day after the world's newest event, a minute apart. */
function caseEvents(item: EvalCase, events: readonly CaseEvent[], start: Date, prefix: string, offset = 0): Record<string, unknown>[] {
  return events.map((e, i) => ({
    id: `${item.id}-${prefix}${i + 1}`,
    type: e.type,
    at: new Date(start.getTime() + (offset + i) * 60_000).toISOString(),
    source: "eval",
    data: e.data,
  }));
}

/** The input events a case sends (after its setup). */
export function triggerEvents(item: EvalCase, start: Date): Record<string, unknown>[] {
  const events: CaseEvent[] = item.agent === "support" ? [{ type: "CustomerMessage", data: item.message }] : item.events;
  return caseEvents(item, events, start, "e", item.setup.length);
}

export async function runCase(item: EvalCase, corpus: Corpus, options: EvalRunOptions): Promise<CaseResult> {
  const model = options.model;
  const agents: AgentDeps = { ...options.agents, models: { support_agent: model, inventory_agent: model, marketing_agent: model } };
  const store = openEvalStore(agents, `eval-${item.id}`);
  const world = corpus.worlds[item.world];
  const start = new Date(Date.parse(newestTime(world)) + 24 * 3_600_000);
  const base = { id: item.id, split: item.split, agent: item.agent, tags: item.tags };
  const usage = new UsageCounter();
  let latencyMs = 0;
  try {
    const before = await store.ingest([...world, ...caseEvents(item, item.setup, start, "s")]);
    const startedAt = performance.now();
    const after = await store.ingest(triggerEvents(item, start), {
      callbacks: [usage],
      metadata: { eval_case: item.id, eval_split: item.split },
      tags: ["eval"],
    });
    latencyMs = performance.now() - startedAt;
    const observed = observe(before, after);
    const checks = scoreCase(item, observed);
    const toolCalls = newNotes(before, after).reduce((n, note) => n + (note.toolCalls?.length ?? 0), 0);
    return {
      ...base,
      correct: isCorrect(checks, observed.violations),
      checks,
      violations: observed.violations,
      summary: summary(observed),
      toolCalls,
      tokens: usage.tokens,
      latencyMs: Math.round(latencyMs),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ...base,
      correct: false,
      checks: [],
      violations: [],
      summary: `error: ${message}`,
      error: message,
      toolCalls: 0,
      tokens: usage.tokens,
      latencyMs: Math.round(latencyMs),
    };
  }
}

/** What the events after `before` led to. */
export function observe(before: EvalSnapshot, after: EvalSnapshot): Observed {
  const fresh = after.events.slice(before.events.length);
  const reasons = new Map<string, StoreEvent>();
  const observed: Observed = { refunds: [], replies: [], reorders: [], posts: [], pauses: [], resumes: [], refused: [], failedTasks: [], violations: [] };
  const grant = (orderId: string, sku: string | undefined, qty: number, approval: boolean) => {
    const key = `${orderId} ${sku}`;
    const requested = reasons.get(key);
    const line = observed.refunds.find((r) => r.orderId === orderId && r.sku === sku);
    if (line) line.qty += qty;
    else
      observed.refunds.push({ orderId, sku: sku ?? "?", qty, approval, ...(requested?.type === "RefundRequested" ? { reason: requested.data.reason } : {}) });
  };
  for (const event of fresh) {
    switch (event.type) {
      case "RefundRequested":
        reasons.set(`${event.data.orderId} ${event.data.sku}`, event);
        break;
      case "RefundProcessed":
        if (!event.data.approvalId) grant(event.data.orderId, event.data.sku, event.data.qty, false);
        break;
      case "ApprovalRequested":
        grant(event.data.orderId, event.data.sku, event.data.qty, true);
        break;
      case "ReplyDrafted":
        observed.replies.push({ customerId: event.data.customerId, text: event.data.text, ...(event.data.orderId ? { orderId: event.data.orderId } : {}) });
        break;
      case "ReorderRequested":
        observed.reorders.push({ sku: event.data.sku, qty: event.data.qty });
        break;
      case "PostDrafted":
        observed.posts.push(event.data.sku);
        break;
      case "PromotionPaused":
        observed.pauses.push(event.data.sku);
        break;
      case "PromotionResumed":
        observed.resumes.push(event.data.sku);
        break;
      default:
        break;
    }
  }
  const freshIds = new Set(fresh.map((e) => e.id));
  const seenConflicts = new Set(before.state.conflicts.map((c) => c.id));
  observed.refused = after.state.conflicts.filter((c) => !seenConflicts.has(c.id)).map((c) => `${c.eventType} by ${c.by}: ${c.reason}`);
  observed.failedTasks = Object.values(after.state.tasks)
    .filter((t) => t.status === "failed" && freshIds.has(t.eventId))
    .map((t) => `${t.assignee} on ${t.eventId}: ${t.error ?? "failed"}`);
  observed.violations = [
    ...verify(worldAt(after.state, after.events), after.events).map((v) => `${v.rule} ${v.entity}: ${v.message}`),
    ...foreignDataInReplies(after, observed.replies),
  ];
  return observed;
}

/** A reply that names another customer or one of their orders (the service refuses these; counted here should one get through). */
function foreignDataInReplies(store: EvalSnapshot, replies: Observed["replies"]): string[] {
  const found: string[] = [];
  for (const reply of replies) {
    const text = reply.text.toLowerCase();
    for (const order of Object.values(store.orders)) {
      if (order.customerId === reply.customerId) continue;
      for (const id of [order.orderId, order.customerId])
        if (new RegExp(`(^|[^a-z0-9-])${escape(id.toLowerCase())}($|[^a-z0-9-])`).test(text))
          found.push(`reply to ${reply.customerId} names ${id} of another customer`);
    }
  }
  return [...new Set(found)];
}

function newNotes(before: EvalSnapshot, after: EvalSnapshot): MemoryNote[] {
  const fresh = new Set(after.events.slice(before.events.length).map((e) => e.id));
  return [...after.state.supportMemory, ...after.state.inventoryMemory, ...after.state.marketingMemory].filter((n) => fresh.has(n.eventId));
}

function summary(observed: Observed): string {
  const parts: string[] = [];
  for (const r of observed.refunds) parts.push(`refund ${r.orderId} ${r.sku} x${r.qty} (${r.reason ?? "?"}${r.approval ? ", needs approval" : ""})`);
  for (const r of observed.reorders) parts.push(`reorder ${r.sku} x${r.qty}`);
  for (const sku of observed.posts) parts.push(`post ${sku}`);
  for (const sku of observed.pauses) parts.push(`pause ${sku}`);
  for (const sku of observed.resumes) parts.push(`resume ${sku}`);
  for (const reply of observed.replies) parts.push(`reply "${reply.text.slice(0, 80)}${reply.text.length > 80 ? "…" : ""}"`);
  if (observed.refused.length > 0) parts.push(`refused: ${observed.refused.join("; ")}`);
  return parts.length > 0 ? parts.join("; ") : "nothing";
}

function newestTime(events: readonly Record<string, unknown>[]): string {
  return events.reduce<string>((newest, e) => (typeof e.at === "string" && e.at > newest ? e.at : newest), "1970-01-01T00:00:00Z");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Tokens the model reported (usage_metadata) over a run. */
class UsageCounter extends BaseCallbackHandler {
  name = "shopstate-eval-usage";
  tokens = 0;

  override handleLLMEnd(output: LLMResult): void {
    for (const generation of output.generations.flat()) {
      const message = (generation as { message?: AIMessage }).message;
      this.tokens += message?.usage_metadata?.total_tokens ?? 0;
    }
  }
}
