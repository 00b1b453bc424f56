/**
 * The `ingest` node: validates the inbox exactly as the CLI's lines (one
 * function for both), appends the valid events in order and records the bad
 * ones beside the log. Nothing valid is lost to a bad neighbour.
 */
import { z } from "zod";
import { eventFingerprint, isInputEvent, type StoreEvent, type StoredInputEvent, type SystemEvent } from "../domain/events.js";
import { checkReferences, contentHash, validateInput, type KnownEntities, type RejectedInput } from "../domain/validation.js";
import { loadConfig } from "../config.js";
import { assertModelChoice, OFFLINE_MODEL } from "../llm/model.js";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { DEFAULT_APPROVAL_THRESHOLD_CENTS } from "../domain/rules.js";
import { streamKey } from "../domain/streams.js";
import { EMPTY_LOG, type EventStore } from "../persistence/event_store.js";
import { storeLog, streamExists, type StoreLog } from "../persistence/store_log.js";
import { threadIdOf } from "../thread.js";
import type { IngestReport, State, Update } from "../state.js";

/** Settings a run may carry: the graph's context schema, shown as a form in Studio. */
export const StoreContextSchema = z.object({
  approvalThresholdCents: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe(`Refunds above this many cents wait for a person (default ${DEFAULT_APPROVAL_THRESHOLD_CENTS}). A change is recorded as a PolicyChanged event.`),
  model: z
    .string()
    .min(1)
    .optional()
    .describe(
      `The agents' chat model: "${OFFLINE_MODEL}" (deterministic, no key needed) or an OpenAI model name such as "gpt-4o-mini" (needs OPENAI_API_KEY where the graph runs; without it the run fails at its first step, before changing anything). Default: OPENAI_MODEL when OPENAI_API_KEY is set, else ${OFFLINE_MODEL}.`,
    ),
});
export type StoreContext = z.infer<typeof StoreContextSchema>;

/** Source name for inbox items that come without an origin (a server run). */
export const INBOX_SOURCE = "inbox";

/** What `ingest` reads: the inbox, the log pointer and the entities an event may refer to. */
export type IngestState = Pick<State, "inbox" | "inboxOrigin" | "log" | "policy" | "catalog" | "approvals">;

/** The `ingest` node, reading and appending the store's log in `events`. */
export function ingestNode(events: EventStore) {
  return async function ingest(state: IngestState, config?: LangGraphRunnableConfig & { context?: StoreContext }): Promise<Update> {
    return ingestBatch(state, storeLog(events, threadIdOf(config), state.log ?? EMPTY_LOG), config?.context);
  };
}

export async function ingestBatch(state: IngestState, log: StoreLog, context?: StoreContext): Promise<Update> {
  // A model the run cannot have fails the run here, before anything changes, rather than every agent task later.
  if (context?.model !== undefined) assertModelChoice(context.model, loadConfig());
  const items = state.inbox ?? [];
  const origin = state.inboxOrigin ?? { source: INBOX_SOURCE };
  const accepted: StoreEvent[] = [];
  const rejected: RejectedInput[] = [];
  let duplicates = 0;

  // Validate every item first: the valid ones tell which ids and entities to look up in the log, in one pass each.
  const checked = items.map((raw, index) => ({ raw, line: origin.lines?.[index] ?? index + 1, result: validateInput(raw, origin.source) }));
  const valid = checked.flatMap((c) => (c.result.ok ? [c.result.event] : []));
  const logged = await log.store.findIds(
    log.threadId,
    log.at,
    valid.map((e) => e.id),
  );
  const known = await knownEntities(state, log, valid);

  const seenInBatch = new Map<string, string>();
  for (const { raw, line, result } of checked) {
    const reject = (reason: string, eventId?: string) =>
      rejected.push({ source: origin.source, line, reason, hash: contentHash(raw), ...(eventId ? { eventId } : {}) });
    if (!result.ok) {
      reject(result.reason, result.eventId);
      continue;
    }
    const event = result.event;
    const fingerprint = eventFingerprint(event);
    const inLog = logged.get(event.id);
    const earlier = inLog ? eventFingerprint(inLog.event) : seenInBatch.get(event.id);
    if (earlier !== undefined) {
      // Re-sending an event is a no-op; reusing its id for something else is an error.
      if (earlier === fingerprint) duplicates++;
      else reject(`event id '${event.id}' is already used by a different event`, event.id);
      continue;
    }
    const problem = checkReferences(event, known);
    if (problem) {
      reject(problem, event.id);
      continue;
    }
    seenInBatch.set(event.id, fingerprint);
    known.add(event);
    accepted.push(event);
  }

  // A new approval threshold applies from this batch on, so it goes in first.
  const threshold = context?.approvalThresholdCents;
  if (threshold !== undefined && threshold !== state.policy.approvalThresholdCents && accepted.length > 0) {
    accepted.unshift(policyChange(threshold, log.at.length, accepted[0].at));
  }

  const newestTime = accepted.reduce<string | undefined>((t, e) => (t === undefined || e.at > t ? e.at : t), undefined);
  const stamped = newestTime ? rejected.map((r) => ({ ...r, at: newestTime })) : rejected;
  const report: IngestReport = { received: items.length, accepted: accepted.filter(isInputEvent).length, duplicates, rejected: stamped };
  const update: Update = { inbox: [], inboxOrigin: null, lastIngest: report };
  if (accepted.length > 0) {
    update.log = await log.store.append(log.threadId, log.at, accepted);
    update.recentEvents = accepted;
  }
  if (rejected.length > 0) update.rejected = stamped;
  return update;
}

/** A new approval threshold enters the log as a fact, so replays decide refunds the same way. */
function policyChange(approvalThresholdCents: number, logLength: number, at: string): SystemEvent {
  return { id: `policy-${logLength}`, type: "PolicyChanged", at, source: "config", v: 1, data: { approvalThresholdCents } };
}

/**
 * Entities in the store plus those this batch creates, in batch order. Orders
 * and decided approvals live in the event store: the ones the batch names are
 * looked up there first, so the checks below stay synchronous.
 */
async function knownEntities(
  state: IngestState,
  log: StoreLog,
  batch: readonly StoredInputEvent[],
): Promise<KnownEntities & { add(event: StoredInputEvent): void }> {
  const orderIds = new Set<string>();
  const approvalIds = new Set<string>();
  for (const event of batch) {
    const data = event.data as { orderId?: string; approvalId?: string };
    if (data.orderId) orderIds.add(data.orderId);
    if (data.approvalId && !state.approvals[data.approvalId]) approvalIds.add(data.approvalId);
  }
  const loggedOrders = new Set<string>();
  for (const id of orderIds) if (await streamExists(log, streamKey("order", id))) loggedOrders.add(id);
  const requested = new Set<string>();
  for (const id of approvalIds) if (await streamExists(log, streamKey("approval", id))) requested.add(id);

  const skus = new Set<string>();
  const orders = new Set<string>();
  return {
    hasSku: (sku: string) => skus.has(sku) || state.catalog[sku] !== undefined,
    hasOrder: (orderId: string) => orders.has(orderId) || loggedOrders.has(orderId),
    approvalStatus: (approvalId: string) => {
      if (state.approvals[approvalId]?.status === "pending") return "pending" as const;
      return requested.has(approvalId) || state.approvals[approvalId] ? ("decided" as const) : undefined;
    },
    add(event: StoredInputEvent) {
      if (event.type === "ProductAdded") skus.add(event.data.sku);
      if (event.type === "OrderPlaced") orders.add(event.data.orderId);
    },
  };
}
