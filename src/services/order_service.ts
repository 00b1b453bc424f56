/**
 * order_service: the single writer of orders and approvals. Confirms or
 * rejects orders, moves them through shipping, decides refunds and parks the
 * large ones for a person (SPEC §5 rules 2-4).
 */
import type { State, Update } from "../state.js";
import { decideRound, publish } from "./decisions.js";

export function orderService(state: State): Update {
  const round = decideRound(state);
  if (!round) return {};
  const update = publish("order_service", round, ["orders", "approvals"]);
  if (round.draft.policy !== state.policy) update.policy = round.draft.policy;
  return update;
}
