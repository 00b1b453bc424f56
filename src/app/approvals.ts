/**
 * `shopstate approve` / `deny`: people's decisions on pending refunds, on the
 * same path as the approval gate's resume (docs/RULES.md, rule 4).
 */
import { Command } from "@langchain/langgraph";
import { decisionEvent, decisionEventId, type Decision } from "../nodes/approval_gate.js";
import type { RejectedInput } from "../domain/validation.js";
import type { Approval } from "../domain/world.js";
import { UsageError } from "../errors.js";
import { approvalById, type StoreLog } from "../persistence/store_log.js";
import type { State } from "../state.js";
import { withLease } from "./lease.js";
import { finishInterruptedRun, finishPendingRun, pausedAtGate, runGraph, type RunOptions, type RunOutcome } from "./run.js";
import { logOf, type StoreSession } from "./session.js";

export interface DecideResult {
  /** The decisions as the services settled them: approved (refund processed) or denied, or still pending if refused. */
  approvals: Approval[];
  rejected: RejectedInput[];
  stepLimitHit: boolean;
  /** True when the decisions resumed a run paused at the approval gate. */
  resumed: boolean;
}

/** An approval as the log at these values knows it: pending ones from the state, decided ones from their stream. */
async function approvalAt(values: State, log: StoreLog, approvalId: string): Promise<Approval | undefined> {
  return values.approvals?.[approvalId] ?? (await approvalById(log, approvalId));
}

/**
 * Records people's decisions on pending approvals as ApprovalDecided events:
 * by resuming the run paused at the gate, or as ordinary input when nothing
 * is paused. Either way the services then process or reject each refund.
 */
export async function decideApprovals(session: StoreSession, decisions: Decision[], options: RunOptions): Promise<DecideResult> {
  return withLease(session, options.waitMs, async (lost) => {
    // A decision command killed mid-run may have recorded some decisions already: finish its run, then judge.
    const finished = await finishInterruptedRun(session, options, lost);
    const snapshot = await session.graph.getState(session.config);
    const before = snapshot.values as State;
    const beforeLog = logOf(session, before);
    const toRecord: Decision[] = [];
    for (const d of decisions) {
      const approval = await approvalAt(before, beforeLog, d.approvalId);
      if (approval?.status === "pending") {
        toRecord.push(d);
        continue;
      }
      // The same decision by the same person is already in the log: a retried command, nothing to do.
      if (approval && (await recordedDecision(beforeLog, d))) continue;
      const pending = Object.values(before.approvals ?? {})
        .filter((a) => a.status === "pending")
        .map((a) => a.id);
      const why = approval ? `it was already ${approval.status}${approval.decidedBy ? ` by ${approval.decidedBy}` : ""}` : "there is no such approval";
      throw new UsageError(`cannot decide approval '${d.approvalId}': ${why} (pending: ${pending.length > 0 ? pending.join(", ") : "none"})`);
    }
    const settled = async (values: State) =>
      Promise.all(decisions.map(async (d) => (await approvalAt(values, logOf(session, values), d.approvalId)) as Approval));
    if (toRecord.length === 0) {
      return { approvals: await settled(before), rejected: [], stepLimitHit: finished.stepLimitHit, resumed: false };
    }
    const resumed = pausedAtGate(snapshot);
    let stepLimitHit = finished.stepLimitHit;
    let outcome: RunOutcome;
    if (resumed) {
      outcome = await runGraph(session, new Command({ resume: { decisions: toRecord } }), options, lost);
    } else {
      stepLimitHit ||= await finishPendingRun(session, options, lost);
      outcome = await runGraph(session, { inbox: toRecord.map((d) => decisionEvent(d)), inboxOrigin: { source: "approval" } }, options, lost);
    }
    return {
      approvals: await settled(outcome.values),
      rejected: outcome.values.lastIngest?.rejected ?? [],
      stepLimitHit: stepLimitHit || outcome.stepLimitHit,
      resumed,
    };
  });
}

/** Whether the log holds this decision (same verdict, same person) for its approval. */
async function recordedDecision(log: StoreLog, d: Decision): Promise<boolean> {
  const found = (await log.store.findIds(log.threadId, log.at, [decisionEventId(d.approvalId)])).get(decisionEventId(d.approvalId));
  const event = found?.event;
  return event?.type === "ApprovalDecided" && event.data.decision === d.decision && event.data.by === d.by;
}
