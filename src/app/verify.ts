/**
 * `shopstate verify` (and import's check): the rules on a checkpoint's state
 * and its log, and a replay of the log from empty (docs/RULES.md, rule 9).
 */
import type { StoreEvent } from "../domain/events.js";
import { project, verify, type Violation } from "../domain/verify.js";
import type { Approval, World } from "../domain/world.js";
import { wholeLog } from "../persistence/store_log.js";
import type { State } from "../state.js";
import { logOf, type StoreSession } from "./session.js";

/**
 * The world a checkpoint describes: the state's entities, orders folded from
 * their streams (the whole log is read anyway), and approvals: the pending
 * ones from the state, the decided ones (which left it) from their streams.
 */
export function worldAt(values: Partial<State>, log: readonly StoreEvent[]): World {
  const folded = project(log);
  const decided = Object.fromEntries(Object.entries(folded.approvals).filter(([, a]) => a.status !== "pending")) as Record<string, Approval>;
  return {
    catalog: values.catalog ?? {},
    inventory: values.inventory ?? {},
    orders: folded.orders,
    approvals: { ...decided, ...(values.approvals ?? {}) },
    promotions: values.promotions ?? {},
    reorders: values.reorders ?? {},
    posts: values.posts ?? {},
    policy: values.policy ?? folded.policy,
  };
}

export async function verifyValues(
  session: Pick<StoreSession, "events" | "threadId">,
  values: Partial<State>,
): Promise<{ violations: Violation[]; eventCount: number }> {
  const log = await wholeLog(logOf(session, values));
  return { violations: verify(worldAt(values, log), log), eventCount: log.length };
}
