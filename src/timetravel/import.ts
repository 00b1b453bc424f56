/**
 * `shopstate import`: rebuilds a new store from an exported event log
 * (`events --json`), system events included. Nothing is decided again by an
 * agent: the agents' accepted proposals are in the log, and the services'
 * pure decider folds the inputs and those proposals back into the entities
 * (the same replay `verify` does). The log is checked before anything is
 * written and the new store is read back and compared with the file.
 *
 * What is not in the log does not come back: rejected input lines, conflicts,
 * the conversation window, agents' private notes and finished tasks.
 */
import { OWNER } from "../domain/decide.js";
import { isInputEvent, type StoreEvent } from "../domain/events.js";
import { validateInput } from "../domain/validation.js";
import { replay, sortKeys, verify, type Violation } from "../domain/verify.js";
import { AGENTS } from "../domain/proposals.js";
import { verifyValues } from "../app/verify.js";
import { EMPTY_LOG } from "../persistence/event_store.js";
import { wholeLog } from "../persistence/store_log.js";
import { SERVICES_CURSOR } from "../nodes/service_round.js";
import { POST_WINDOW, RECENT_EVENTS_WINDOW, type State, type Update } from "../state.js";
import { withLease } from "../app/lease.js";
import { logOf, type StoreSession } from "../app/session.js";
import { UsageError } from "../errors.js";
import { checkpointIdOf, headTuple, threadConfig } from "./refs.js";

/** A log that does not replay to a consistent store (exit 1): nothing was written. */
export class ImportVerifyError extends Error {
  override name = "ImportVerifyError";
  constructor(readonly violations: Violation[]) {
    super(`the exported log does not replay to a consistent store (${violations.length} violation(s)); nothing was imported`);
  }
}

export interface ImportResult {
  store: string;
  eventCount: number;
  checkpointId: string;
  /** The new store's log equals the file, event for event. */
  identical: boolean;
  violations: Violation[];
}

/** Reads an exported log: a JSON array of event envelopes, oldest first. Bad input names the event. */
export function parseEventLog(text: string, source: string): StoreEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source}: malformed JSON: ${(error as Error).message} (expected the output of 'shopstate events --json')`);
  }
  if (!Array.isArray(parsed)) throw new UsageError(`${source}: expected a JSON array of events (the output of 'shopstate events --json')`);
  const seen = new Set<string>();
  return parsed.map((raw, index) => {
    const where = `${source}: event #${index + 1}`;
    const event = checkEnvelope(raw, where);
    if (seen.has(event.id)) throw new UsageError(`${where}: duplicate event id '${event.id}'`);
    seen.add(event.id);
    return event;
  });
}

function checkEnvelope(raw: unknown, where: string): StoreEvent {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UsageError(`${where}: expected an event object`);
  const candidate = raw as Record<string, unknown>;
  const type = String(candidate.type);
  if (type in OWNER) {
    for (const field of ["id", "at", "source"] as const) {
      if (typeof candidate[field] !== "string" || candidate[field] === "") throw new UsageError(`${where} (${type}): missing field '${field}'`);
    }
    if (typeof candidate.data !== "object" || candidate.data === null) throw new UsageError(`${where} (${type}): missing field 'data'`);
    return { ...(candidate as unknown as StoreEvent), v: 1 };
  }
  const result = validateInput(raw, "import");
  if (!result.ok) throw new UsageError(`${where}${result.eventId ? ` (${result.eventId})` : ""}: ${result.reason}`);
  // An exported event is already in stored form: keep it as written (key order included), so the
  // new log equals the file byte for byte; fill in what a hand-written one lacks.
  const same = JSON.stringify(sortKeys(result.event)) === JSON.stringify(sortKeys(raw));
  return same ? (raw as StoreEvent) : result.event;
}

/**
 * Writes the log and the entities it implies into a new, empty store, then
 * reads it back: the log must equal the file and verify must pass.
 */
export async function importLog(session: StoreSession, log: readonly StoreEvent[], waitMs?: number): Promise<ImportResult> {
  return withLease(session, waitMs, async () => {
    if (await headTuple(session))
      throw new UsageError(
        `store '${session.name}' already exists; import builds a new store: pass --thread NEW_NAME (or delete it with 'shopstate stores --delete ${session.name}')`,
      );
    const { world } = replay(log);
    const before = verify(world, log);
    if (before.length > 0) throw new ImportVerifyError(before);

    await session.meta.registerStore(session.name, "import");
    const pointer = await session.events.append(session.threadId, EMPTY_LOG, log);
    const everyoneCaughtUp = Object.fromEntries([SERVICES_CURSOR, ...AGENTS].map((name) => [name, log.length]));
    const values: Update = {
      log: pointer,
      recentEvents: log.slice(-RECENT_EVENTS_WINDOW),
      catalog: world.catalog,
      inventory: world.inventory,
      approvals: Object.fromEntries(Object.entries(world.approvals).filter(([, a]) => a.status === "pending")),
      promotions: world.promotions,
      reorders: world.reorders,
      posts: Object.fromEntries(Object.entries(world.posts).slice(-POST_WINDOW)),
      policy: world.policy,
      cursors: everyoneCaughtUp,
    };
    // As the router: it is the node that moves cursors, and nothing is scheduled after a router
    // write without a route, so the new store is at rest, like one at the end of a run.
    const written = await session.graph.updateState(threadConfig(session.threadId), values, "router");

    const stored = (await session.graph.getState(threadConfig(session.threadId))).values as State;
    const storedLog = await wholeLog(logOf(session, stored));
    const identical = JSON.stringify(storedLog) === JSON.stringify(log);
    const { violations } = await verifyValues(session, stored);
    return { store: session.name, eventCount: storedLog.length, checkpointId: checkpointIdOf(written) ?? "", identical, violations };
  });
}

/** How many input events a log holds (the rest were produced by the services and agents). */
export function inputCount(log: readonly StoreEvent[]): number {
  return log.filter(isInputEvent).length;
}
