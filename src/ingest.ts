/**
 * The `ingest` node: validates the inbox exactly as the CLI's lines (one
 * function for both), appends the valid events in order and records the bad
 * ones beside the log. Nothing valid is lost to a bad neighbour.
 */
import { z } from "zod";
import { eventFingerprint, isInputEvent, type StoreEvent, type StoredInputEvent, type SystemEvent } from "./domain/events.js";
import { checkReferences, contentHash, validateInput, type KnownEntities, type RejectedInput } from "./domain/validation.js";
import { loadConfig } from "./config.js";
import { assertModelChoice, OFFLINE_MODEL } from "./llm/model.js";
import { eventLog, type IngestReport, type State, type Update } from "./state.js";

/** Settings a run may carry: the graph's context schema, shown as a form in Studio. */
export const StoreContextSchema = z.object({
  approvalThresholdCents: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe("Refunds above this many cents wait for a person (default 10000). A change is recorded as a PolicyChanged event."),
  model: z
    .string()
    .min(1)
    .optional()
    .describe(`The agents' chat model: "${OFFLINE_MODEL}" (deterministic, no key needed) or an OpenAI model name such as "gpt-4o-mini" (needs OPENAI_API_KEY where the graph runs; without it the run fails at its first step, before changing anything). Default: OPENAI_MODEL when OPENAI_API_KEY is set, else ${OFFLINE_MODEL}.`),
});
export type StoreContext = z.infer<typeof StoreContextSchema>;

/** Source name for inbox items that come without an origin (a server run). */
export const INBOX_SOURCE = "inbox";

/** What `ingest` reads: the inbox and the entities an event may refer to. */
export type IngestState = Pick<State, "inbox" | "inboxOrigin" | "events" | "policy" | "catalog" | "orders" | "approvals">;

export function ingest(state: IngestState, runtime?: { context?: StoreContext }): Update {
  // A model the run cannot have fails the run here, before anything changes, rather than every agent task later.
  if (runtime?.context?.model !== undefined) assertModelChoice(runtime.context.model, loadConfig());
  const items = state.inbox ?? [];
  const origin = state.inboxOrigin ?? { source: INBOX_SOURCE };
  const log = state.events;
  const accepted: StoreEvent[] = [];
  const rejected: RejectedInput[] = [];
  let duplicates = 0;

  const known = knownEntities(state);
  const seenInBatch = new Map<string, string>();
  items.forEach((raw, index) => {
    const line = origin.lines?.[index] ?? index + 1;
    const reject = (reason: string, eventId?: string) => rejected.push({ source: origin.source, line, reason, hash: contentHash(raw), ...(eventId ? { eventId } : {}) });
    const result = validateInput(raw, origin.source);
    if (!result.ok) return reject(result.reason, result.eventId);
    const event = result.event;
    const fingerprint = eventFingerprint(event);
    const position = eventLog.positionOf(log, event.id);
    const earlier = position >= 0 ? eventFingerprint(log[position]) : seenInBatch.get(event.id);
    if (earlier !== undefined) {
      // Re-sending an event is a no-op; reusing its id for something else is an error.
      if (earlier === fingerprint) duplicates++;
      else reject(`event id '${event.id}' is already used by a different event`, event.id);
      return;
    }
    const problem = checkReferences(event, known);
    if (problem) return reject(problem, event.id);
    seenInBatch.set(event.id, fingerprint);
    known.add(event);
    accepted.push(event);
  });

  // A new approval threshold applies from this batch on, so it goes in first.
  const threshold = runtime?.context?.approvalThresholdCents;
  if (threshold !== undefined && threshold !== state.policy.approvalThresholdCents && accepted.length > 0) {
    accepted.unshift(policyChange(threshold, log.length, accepted[0].at));
  }

  const newestTime = accepted.reduce<string | undefined>((t, e) => (t === undefined || e.at > t ? e.at : t), undefined);
  const stamped = newestTime ? rejected.map((r) => ({ ...r, at: newestTime })) : rejected;
  const report: IngestReport = { received: items.length, accepted: accepted.filter(isInputEvent).length, duplicates, rejected: stamped };
  const update: Update = { inbox: [], inboxOrigin: null, lastIngest: report };
  if (accepted.length > 0) update.events = accepted;
  if (rejected.length > 0) update.rejected = stamped;
  return update;
}

/** A new approval threshold enters the log as a fact, so replays decide refunds the same way. */
function policyChange(approvalThresholdCents: number, logLength: number, at: string): SystemEvent {
  return { id: `policy-${logLength}`, type: "PolicyChanged", at, source: "config", v: 1, data: { approvalThresholdCents } };
}

/** Entities in the store plus those this batch creates, in batch order. */
function knownEntities(state: IngestState): KnownEntities & { add(event: StoredInputEvent): void } {
  const skus = new Set<string>();
  const orders = new Set<string>();
  return {
    hasSku: (sku: string) => skus.has(sku) || state.catalog[sku] !== undefined,
    hasOrder: (orderId: string) => orders.has(orderId) || state.orders[orderId] !== undefined,
    approvalStatus: (approvalId: string) => {
      const approval = state.approvals[approvalId];
      if (!approval) return undefined;
      return approval.status === "pending" ? ("pending" as const) : ("decided" as const);
    },
    add(event: StoredInputEvent) {
      if (event.type === "ProductAdded") skus.add(event.data.sku);
      if (event.type === "OrderPlaced") orders.add(event.data.orderId);
    },
  };
}
