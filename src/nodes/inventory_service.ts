/**
 * inventory_service: the single writer of the catalog, stock, promotions,
 * reorders and posts. Keeps rule 1, raises low-stock alerts once per crossing
 * (rule 5), allows one open reorder per SKU (rule 7) and no posts for a paused
 * promotion (rule 6); see docs/RULES.md.
 */
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { EMPTY_LOG, type EventStore } from "../persistence/event_store.js";
import { storeLog } from "../persistence/store_log.js";
import type { State, Update } from "../state.js";
import { threadIdOf } from "../thread.js";
import { decideRound, publish } from "./service_round.js";

export function inventoryServiceNode(events: EventStore) {
  return async function inventoryService(state: State, config?: LangGraphRunnableConfig): Promise<Update> {
    const round = await decideRound(state, storeLog(events, threadIdOf(config), state.log ?? EMPTY_LOG));
    if (!round) return {};
    return publish("inventory_service", round, ["catalog", "inventory", "promotions", "reorders", "posts"]);
  };
}
