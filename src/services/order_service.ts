/**
 * order_service: the single writer of orders and approvals. Confirms or
 * rejects orders, moves them through shipping, decides refunds and parks the
 * large ones for a person (SPEC §5 rules 2-4).
 */
import { AIMessage } from "@langchain/core/messages";
import type { SystemEvent } from "../domain/events.js";
import type { State, Update } from "../state.js";
import { decideRound, publish } from "./decisions.js";

export function orderService(state: State): Update {
  const round = decideRound(state);
  if (!round) return {};
  const update = publish("order_service", round, ["orders", "approvals"]);
  if (round.draft.policy !== state.policy) update.policy = round.draft.policy;
  const replies = acceptedReplies(round.facts);
  if (replies.length > 0) update.messages = replies;
  return update;
}

/** Replies it accepted join the transcript (support drafts them; a refused draft never shows). */
function acceptedReplies(facts: readonly SystemEvent[]): AIMessage[] {
  return facts.flatMap((fact) => (fact.type === "ReplyDrafted" ? [new AIMessage({ id: fact.data.messageId, content: fact.data.text, name: fact.source })] : []));
}
