/**
 * inventory_service: the single writer of the catalog, stock, promotions,
 * reorders and posts. Keeps rule 1, raises low-stock alerts once per crossing
 * (rule 5), allows one open reorder per SKU (rule 7) and no posts for a paused
 * promotion (rule 6).
 */
import type { State, Update } from "../state.js";
import { decideRound, publish } from "./decisions.js";

export function inventoryService(state: State): Update {
  const round = decideRound(state);
  if (!round) return {};
  return publish("inventory_service", round, ["catalog", "inventory", "promotions", "reorders", "posts"]);
}
