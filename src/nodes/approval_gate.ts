/**
 * Human approval (docs/RULES.md, rule 4). A large refund is already held as data by
 * order_service (a pending approval); this module is how a person's decision
 * gets back in:
 *
 * - the `approval_gate` node runs last in every run. If the run produced new
 *   pending approvals it pauses with `interrupt()` so Studio, the server and
 *   the CLI show them. It runs alone in its superstep and writes nothing before
 *   pausing, so a pause never holds anyone else's pending writes.
 * - resuming with decisions turns them into `ApprovalDecided` input events and
 *   sends them through `ingest` (validated like any input, replayable like
 *   everything else); resuming with none leaves the approvals pending.
 * - `approve` / `deny` on the CLI build the same decisions: they resume the
 *   paused run, or send the events as ordinary input when nothing is paused.
 */
import { Command, END, interrupt, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { z } from "zod";
import { contentHash } from "../domain/validation.js";
import type { Approval } from "../domain/world.js";
import { EMPTY_LOG, type EventStore } from "../persistence/event_store.js";
import { readLog, storeLog, type StoreLog } from "../persistence/store_log.js";
import type { State, Update } from "../state.js";
import { threadIdOf } from "../thread.js";

export const APPROVAL_GATE = "approval_gate";

/** Source of the decisions the gate sends to `ingest`, for rejection reports. */
export const GATE_SOURCE = "approval_gate";

/** One person's decision on one pending approval, as a resume value carries it. */
export const DecisionSchema = z.strictObject({
  approvalId: z.string().trim().min(1).describe("The pending approval's id (see `shopstate approvals`)."),
  decision: z.enum(["approved", "denied"]).describe("approved processes the refund; denied rejects it."),
  by: z.string().trim().min(1).max(200).describe("Who decided."),
  reason: z.string().max(500).optional().describe("Why (required by the CLI for a denial)."),
  at: z.iso.datetime({ offset: true }).optional().describe("When it was decided; defaults to the time the gate receives it."),
});
export type Decision = z.infer<typeof DecisionSchema>;

/** What the gate shows a person while it waits. */
export interface ApprovalRequest {
  kind: "approvals";
  message: string;
  pendingApprovals: Pick<Approval, "id" | "orderId" | "customerId" | "sku" | "qty" | "amountCents" | "reason" | "requestedAt">[];
  /** The shape of a resume value, for a person at Studio's resume box. */
  resumeWith: { decisions: Decision[] };
}

/** The id of the event that records a decision: one decision per approval. */
export function decisionEventId(approvalId: string): string {
  return `decision-${approvalId}`;
}

/**
 * A decision as the input event that records it. Takes what a person sent as
 * is: `ingest` validates the event and rejects a malformed one with a reason.
 */
export function decisionEvent(decision: Partial<Record<keyof Decision, unknown>>, now: () => string = () => new Date().toISOString()): Record<string, unknown> {
  const { approvalId, decision: verdict, by, reason, at } = decision;
  return {
    id: decisionEventId(String(approvalId ?? "")),
    type: "ApprovalDecided",
    at: at ?? now(),
    source: "approval",
    v: 1,
    data: { approvalId, decision: verdict, by, ...(reason !== undefined ? { reason } : {}) },
  };
}

/**
 * Pending approvals requested at or after log position `from`, oldest first:
 * the requests since then, read by type, that are still pending. Never every
 * pending approval: in a store nobody works they pile up.
 */
export async function newPendingApprovals(state: Pick<State, "approvals">, log: StoreLog, from: number): Promise<Approval[]> {
  const requests = await readLog(log, { from, types: ["ApprovalRequested"] });
  return requests
    .map(({ event }) => state.approvals[(event.data as { approvalId: string }).approvalId])
    .filter((a): a is Approval => a !== undefined && a.status === "pending");
}

/** The gate's cursor: approvals requested before it have been shown to a person. */
const CURSOR = APPROVAL_GATE;

export function approvalGateNode(events: EventStore) {
  return async function approvalGate(state: State, config?: LangGraphRunnableConfig): Promise<Command<unknown, Update, "ingest" | typeof END>> {
    const log = storeLog(events, threadIdOf(config), state.log ?? EMPTY_LOG);
    const pending = await newPendingApprovals(state, log, state.cursors[CURSOR] ?? 0);
    const seen: Update = { cursors: { [CURSOR]: log.at.length } };
    if (pending.length === 0) return new Command({ update: seen, goto: END });

    const request: ApprovalRequest = {
      kind: "approvals",
      message: `${pending.length} refund(s) above the approval threshold wait for a person. Resume with decisions to record them, or with nothing to leave them pending.`,
      pendingApprovals: pending.map(({ id, orderId, customerId, sku, qty, amountCents, reason, requestedAt }) => ({
        id,
        orderId,
        customerId,
        sku,
        qty,
        amountCents,
        reason,
        requestedAt,
      })),
      resumeWith: { decisions: [{ approvalId: pending[0].id, decision: "approved", by: "your name", reason: "checked the photos" }] },
    };
    const resumed = readResume(interrupt(request));
    if ("problem" in resumed) {
      // Not shown as seen: the next run asks again.
      const rejection = { source: GATE_SOURCE, line: 1, reason: resumed.problem, hash: contentHash(resumed.value) };
      return new Command({ update: { rejected: [rejection], lastIngest: { received: 1, accepted: 0, duplicates: 0, rejected: [rejection] } }, goto: END });
    }
    if (resumed.decisions.length === 0) return new Command({ update: seen, goto: END });
    // Decisions are input like any other: ingest validates them and the services decide them.
    return new Command({
      update: { ...seen, inbox: resumed.decisions.map((d) => decisionEvent(d)), inboxOrigin: { source: GATE_SOURCE } },
      goto: "ingest",
    });
  };
}

/** The decisions in a resume value: a list, `{decisions: [...]}`, or nothing (none). */
export function readResume(value: unknown): { decisions: Partial<Decision>[] } | { problem: string; value: unknown } {
  if (value === null || value === undefined || value === "") return { decisions: [] };
  const list = Array.isArray(value)
    ? value
    : typeof value === "object" && Array.isArray((value as { decisions?: unknown }).decisions)
      ? (value as { decisions: unknown[] }).decisions
      : undefined;
  if (!list || list.some((d) => typeof d !== "object" || d === null || Array.isArray(d))) {
    return {
      problem: `approval_gate: cannot read the resume value ${JSON.stringify(value).slice(0, 200)}; expected {"decisions": [{"approvalId", "decision": "approved" | "denied", "by", "reason"?}]} or nothing to leave the approvals pending`,
      value,
    };
  }
  return { decisions: list as Partial<Decision>[] };
}
