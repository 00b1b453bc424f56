/**
 * order_service: the single writer of orders and approvals. Confirms or
 * rejects orders, moves them through shipping, decides refunds and parks the
 * large ones for a person (docs/RULES.md, rules 2-4). Orders are decided from
 * their streams in the event store (decisions.ts).
 */
import { AIMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { SystemEvent } from "../domain/events.js";
import { EMPTY_LOG, type EventStore } from "../persistence/event_store.js";
import { storeLog } from "../persistence/store_log.js";
import type { State, Update } from "../state.js";
import { threadIdOf } from "../thread.js";
import { decideRound, publish } from "./service_round.js";

export function orderServiceNode(events: EventStore) {
  return async function orderService(state: State, config?: LangGraphRunnableConfig): Promise<Update> {
    const round = await decideRound(state, storeLog(events, threadIdOf(config), state.log ?? EMPTY_LOG));
    if (!round) return {};
    const update = publish("order_service", round, ["approvals"]);
    if (round.draft.policy !== state.policy) update.policy = round.draft.policy;
    const replies = acceptedReplies(round.facts);
    if (replies.length > 0) update.messages = replies;
    return update;
  };
}

/** Replies it accepted join the transcript (support drafts them; a refused draft never shows). */
function acceptedReplies(facts: readonly SystemEvent[]): AIMessage[] {
  return facts.flatMap((fact) =>
    fact.type === "ReplyDrafted" ? [new AIMessage({ id: fact.data.messageId, content: fact.data.text, name: fact.source })] : [],
  );
}
