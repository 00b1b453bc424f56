/**
 * What both services do each round: fold the decider over the same new items
 * (input events since their cursor, then queued proposals) and keep what each
 * owns. Running the same pure fold, they agree without talking to each other.
 */
import { decideAll, OWNER, type Conflict, type DecisionItem, type ServiceName } from "../domain/decide.js";
import { isInputEvent, type SystemEvent } from "../domain/events.js";
import { draftOf, patchesOf, type Draft, type World } from "../domain/world.js";
import { eventLog, type State, type TaskOp, type Update } from "../state.js";

/** Both services share one cursor: they always decide the same items together. */
export const SERVICES_CURSOR = "services";

export interface ServiceRound {
  draft: Draft;
  facts: SystemEvent[];
  conflicts: Conflict[];
  /** Where the services' cursor stands once this round's facts are in the log. */
  cursor: number;
  decidedProposals: string[];
}

export function worldOf(state: Pick<State, "catalog" | "inventory" | "orders" | "approvals" | "promotions" | "reorders" | "posts" | "policy">): World {
  const { catalog, inventory, orders, approvals, promotions, reorders, posts, policy } = state;
  return { catalog, inventory, orders, approvals, promotions, reorders, posts, policy };
}

export function decideRound(state: State): ServiceRound | undefined {
  const log = state.events;
  const items: DecisionItem[] = [];
  for (let i = state.cursors[SERVICES_CURSOR] ?? 0; i < log.length; i++) {
    const event = log[i];
    // The services' own facts are already applied; inputs and policy changes are new.
    if (isInputEvent(event) || event.type === "PolicyChanged") items.push({ kind: "event", event });
  }
  for (const proposal of state.proposals) items.push({ kind: "proposal", proposal });
  if (items.length === 0 && (state.cursors[SERVICES_CURSOR] ?? 0) >= log.length) return undefined;
  const { draft, facts, conflicts } = items.length > 0 ? decideAll(worldOf(state), items) : { draft: draftOf(worldOf(state)), facts: [], conflicts: [] };
  const newFacts = facts.filter((f) => eventLog.positionOf(log, f.id) < 0);
  return { draft, facts, conflicts, cursor: log.length + newFacts.length, decidedProposals: state.proposals.map((p) => p.id) };
}

/** The part of a round that `service` publishes: its facts, its conflicts, its channels. */
export function publish<C extends keyof ReturnType<typeof patchesOf>>(service: ServiceName, round: ServiceRound, channels: readonly C[]): Update {
  const patches = patchesOf(round.draft);
  const conflicts = round.conflicts.filter((c) => c.owner === service);
  const retries: TaskOp[] = conflicts
    .filter((c) => c.kind === "stale" && c.taskId)
    .map((c) => ({ op: "fail", taskId: c.taskId as string, error: `stale proposal: ${c.reason}`, retry: true }));
  const update: Update = {
    events: round.facts.filter((f) => OWNER[f.type] === service),
    cursors: { [SERVICES_CURSOR]: round.cursor },
  };
  for (const channel of channels) if (Object.keys(patches[channel]).length > 0) (update as Record<string, unknown>)[channel] = patches[channel];
  if (conflicts.length > 0) update.conflicts = conflicts;
  if (retries.length > 0) update.tasks = retries;
  if (round.decidedProposals.length > 0) update.proposals = { dequeue: round.decidedProposals };
  return update;
}
