/**
 * Checks the rules of docs/RULES.md on a world and its log, and replays the log
 * through the decider from empty (rule 9). Pure: the CLI's `verify` and the
 * property tests both call it.
 */
import { decideAll, evolve, type DecisionItem } from "./decide.js";
import { isInputEvent, type StoreEvent } from "./events.js";
import { stockViolation } from "./inventory.js";
import { heldQty, orderViolation } from "./orders.js";
import { isAgentName } from "./proposals.js";
import { commit, draftOf, emptyWorld, type CollectionName, type World } from "./world.js";

export interface Violation {
  rule: string;
  entity: string;
  message: string;
  /** Events that touched the entity last, newest first, to start an investigation. */
  eventIds: string[];
}

/** The items a replay decides again: inputs, policy changes and the proposals that were accepted. */
export function replayItems(log: readonly StoreEvent[]): DecisionItem[] {
  const items: DecisionItem[] = [];
  for (const event of log) {
    if (isInputEvent(event) || event.type === "PolicyChanged") items.push({ kind: "event", event });
    else if (isAgentName(event.source)) {
      const { id, type, at, source, causationId, data } = event;
      items.push({ kind: "proposal", proposal: { id, type, at, agent: source, causationId: causationId ?? "", taskId: "", data, basedOn: [] } });
    }
  }
  return items;
}

/** Decides the whole log again from an empty store. */
export function replay(log: readonly StoreEvent[]): { world: World; facts: StoreEvent[] } {
  const { draft, facts } = decideAll(emptyWorld(), replayItems(log));
  return { world: commit(draft), facts };
}

/** Folds `evolve` over every event of the log: the world the facts describe. */
export function project(log: readonly StoreEvent[]): World {
  const draft = draftOf(emptyWorld());
  for (const event of log) evolve(draft, event);
  return commit(draft);
}

/** Every rule of docs/RULES.md that can be checked on a world and its log. */
export function verify(world: World, log: readonly StoreEvent[]): Violation[] {
  const violations: Violation[] = [];
  const touching = (entity: string) => lastEventsAbout(log, entity);
  const add = (rule: string, entity: string, message: string) => violations.push({ rule, entity, message, eventIds: touching(entity) });

  for (const [sku, stock] of Object.entries(world.inventory)) {
    const problem = stockViolation(stock);
    if (problem) add("1", `inventory:${sku}`, problem);
  }
  const approvals = Object.values(world.approvals);
  for (const order of Object.values(world.orders)) {
    const problem = orderViolation(order);
    if (problem) add("3", `order:${order.orderId}`, problem);
    for (const line of order.lines) {
      const held = heldQty(approvals, order.orderId, line.sku);
      if (line.refundedQty + held > line.qty)
        add("3", `order:${order.orderId}`, `${line.sku}: ${line.refundedQty} refunded + ${held} awaiting approval exceeds ${line.qty} ordered`);
    }
  }
  violations.push(...checkLog(log));

  const replayed = replay(log);
  for (const collection of ["inventory", "orders", "approvals", "promotions", "catalog", "reorders"] as const) {
    for (const difference of compareCollection(collection, replayed.world, world)) add("9", difference.entity, difference.message);
  }
  const logged = new Map(log.filter((e) => !isInputEvent(e) && e.type !== "PolicyChanged").map((e) => [e.id, e]));
  for (const fact of replayed.facts) {
    const original = logged.get(fact.id);
    if (!original) add("9", `event:${fact.id}`, `replay produces ${fact.type} ${fact.id}, which is not in the log`);
    else if (JSON.stringify(original.data) !== JSON.stringify(fact.data))
      add("9", `event:${fact.id}`, `replay gives ${fact.type} different data: ${JSON.stringify(fact.data)} vs logged ${JSON.stringify(original.data)}`);
    logged.delete(fact.id);
  }
  for (const extra of logged.values()) add("9", `event:${extra.id}`, `${extra.type} ${extra.id} is in the log but replay does not produce it`);
  return violations;
}

/** Rules visible only over time: 5, 6, 7, 10 and unique ids. */
function checkLog(log: readonly StoreEvent[]): Violation[] {
  const violations: Violation[] = [];
  const seen = new Set<string>();
  const draft = draftOf(emptyWorld());
  for (const event of log) {
    const entity = `event:${event.id}`;
    if (seen.has(event.id)) violations.push({ rule: "10", entity, message: `duplicate event id ${event.id}`, eventIds: [event.id] });
    seen.add(event.id);
    if (!event.source || !event.at) violations.push({ rule: "10", entity, message: `${event.type} lacks source or time`, eventIds: [event.id] });
    if (!isInputEvent(event) && event.type !== "PolicyChanged" && !event.causationId)
      violations.push({ rule: "10", entity, message: `${event.type} has no causationId`, eventIds: [event.id] });
    const sku = (event.data as { sku?: string }).sku;
    if (event.type === "PostDrafted" && draft.changes.promotions.get(event.data.sku) === "paused") {
      violations.push({
        rule: "6",
        entity: `inventory:${sku}`,
        message: `post ${event.data.postId} drafted while the promotion was paused`,
        eventIds: [event.id],
      });
    }
    if (event.type === "ReorderRequested" && draft.changes.reorders.get(event.data.sku)) {
      violations.push({ rule: "7", entity: `inventory:${sku}`, message: `second open reorder for ${event.data.sku}`, eventIds: [event.id] });
    }
    if (event.type === "LowStockAlert" && draft.changes.inventory.get(event.data.sku)?.lowStock) {
      violations.push({
        rule: "5",
        entity: `inventory:${sku}`,
        message: `LowStockAlert repeated without the stock rising above ${event.data.reorderPoint}`,
        eventIds: [event.id],
      });
    }
    evolve(draft, event);
  }
  return violations;
}

function compareCollection(collection: CollectionName, expected: World, actual: World): { entity: string; message: string }[] {
  const differences: { entity: string; message: string }[] = [];
  const left = expected[collection] as Record<string, unknown>;
  const right = actual[collection] as Record<string, unknown>;
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    const a = JSON.stringify(sortKeys(left[key]));
    const b = JSON.stringify(sortKeys(right[key]));
    if (a !== b) differences.push({ entity: `${collection}:${key}`, message: `state ${b ?? "(missing)"} but replay gives ${a ?? "(missing)"}` });
  }
  return differences;
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  return value;
}

function lastEventsAbout(log: readonly StoreEvent[], entity: string, limit = 3): string[] {
  const [kind, key] = [entity.slice(0, entity.indexOf(":")), entity.slice(entity.indexOf(":") + 1)];
  const found: string[] = [];
  for (let i = log.length - 1; i >= 0 && found.length < limit; i--) {
    const data = log[i].data as { sku?: string; orderId?: string; approvalId?: string; lines?: { sku: string }[] };
    const matches =
      kind === "event"
        ? log[i].id === key
        : kind === "order" || kind === "orders"
          ? data.orderId === key
          : kind === "approvals"
            ? data.approvalId === key
            : data.sku === key || data.lines?.some((l) => l.sku === key);
    if (matches) found.push(log[i].id);
  }
  return found;
}
