/**
 * The diff engine (docs/time-travel.md): what changed between two states, per entity,
 * before -> after, plus the events one log has that the other has not.
 *
 * It compares two checkpoints' values and reads the events between their log
 * pointers, so the CLI's `diff`, history's one-line summaries, the console and
 * the tests all use the same function.
 */
import { formatCents } from "../domain/money.js";
import type { StoreEvent } from "../domain/events.js";
import { streamKey } from "../domain/streams.js";
import { project } from "../domain/verify.js";
import type { Order } from "../domain/world.js";
import { EMPTY_LOG, type LoggedEvent } from "../persistence/event_store.js";
import { approvalById, readLog, type StoreLog } from "../persistence/store_log.js";
import type { State } from "../state.js";

/** The collections a diff reports, in the order they are shown. */
export const DIFF_COLLECTIONS = ["inventory", "orders", "promotions", "approvals", "tasks"] as const;
export type DiffCollection = (typeof DIFF_COLLECTIONS)[number];

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

export interface EntityChange {
  collection: DiffCollection;
  key: string;
  change: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
  /** Top-level fields that differ (for a value that is not an object, one change with field ""). */
  fields: FieldChange[];
}

export interface EventsDiff {
  /** How many events both logs start with (the log is append-only, so a fork shares a prefix). */
  common: number;
  /** Events only `after`'s log holds: appended between the two states. */
  added: StoreEvent[];
  /** Events only `before`'s log holds: on `before`'s branch (empty when before is an ancestor). */
  removed: StoreEvent[];
}

export interface StateDiff {
  entities: EntityChange[];
  events: EventsDiff;
}

type Comparable = Partial<Pick<State, "inventory" | "promotions" | "approvals" | "tasks" | "log">>;

/** One side of a diff: a checkpoint's values and the store's log they point at. */
export interface DiffSide {
  values: Comparable;
  log: StoreLog;
}

/**
 * Everything that differs between two checkpoints, per entity, and the events
 * in between. Orders, and approvals decided in between, are not in the state:
 * the ones the events in between name are folded from their streams at both
 * checkpoints, so a diff shows them as before.
 */
export async function diffStates(before: DiffSide, after: DiffSide): Promise<StateDiff> {
  const events = await diffEvents(before.log, after.log);
  const named = (key: "orderId" | "approvalId") => [
    ...new Set(
      [...events.added, ...events.removed].flatMap((e) => {
        const id = (e.data as Record<string, unknown>)[key];
        return typeof id === "string" ? [id] : [];
      }),
    ),
  ];
  const orderIds = named("orderId");
  const approvalIds = named("approvalId");
  const approvalsOf = async (side: DiffSide) => {
    const approvals: Record<string, unknown> = { ...(side.values.approvals ?? {}) };
    for (const id of approvalIds) {
      const approval = approvals[id] ?? (await approvalById(side.log, id));
      if (approval) approvals[id] = approval;
    }
    return approvals;
  };
  const approvals: [Record<string, unknown>, Record<string, unknown>] = [await approvalsOf(before), await approvalsOf(after)];
  const orders = await ordersOnBothSides(before.log, after.log, events, orderIds);
  const collections: Record<DiffCollection, [Record<string, unknown>, Record<string, unknown>]> = {
    inventory: [before.values.inventory ?? {}, after.values.inventory ?? {}],
    orders,
    promotions: [before.values.promotions ?? {}, after.values.promotions ?? {}],
    approvals,
    tasks: [before.values.tasks ?? {}, after.values.tasks ?? {}],
  };
  const entities: EntityChange[] = [];
  for (const collection of DIFF_COLLECTIONS) entities.push(...diffCollection(collection, ...collections[collection]));
  return { entities, events };
}

/**
 * The orders with these ids on each side, each folded from its own stream (as
 * `ordersById`). When one side's log is a prefix of the other's (one
 * checkpoint is an ancestor of the other, the usual diff), each stream is read
 * once, on the longer log, and the shorter side folds the events before the
 * point where the logs part.
 */
async function ordersOnBothSides(
  before: StoreLog,
  after: StoreLog,
  events: EventsDiff,
  ids: readonly string[],
): Promise<[Record<string, Order>, Record<string, Order>]> {
  const sameLog = before.store === after.store && before.threadId === after.threadId;
  const longer = !sameLog ? undefined : events.removed.length === 0 ? after : events.added.length === 0 ? before : undefined;
  const fold = (read: readonly LoggedEvent[], id: string) => project(read.map((e) => e.event)).orders[id];
  const [b, a]: [Record<string, Order>, Record<string, Order>] = [{}, {}];
  for (const id of new Set(ids)) {
    const stream = streamKey("order", id);
    const read = longer ? await readLog(longer, { stream }) : undefined;
    const shared = read?.filter((e) => e.position < events.common);
    const [ob, oa] = [
      fold(longer === before ? (read as LoggedEvent[]) : (shared ?? (await readLog(before, { stream }))), id),
      fold(longer === after ? (read as LoggedEvent[]) : (shared ?? (await readLog(after, { stream }))), id),
    ];
    if (ob) b[id] = ob;
    if (oa) a[id] = oa;
  }
  return [b, a];
}

/** The events after the point where two logs part (the log is append-only, so a fork shares a prefix). */
export async function diffEvents(before: StoreLog, after: StoreLog): Promise<EventsDiff> {
  const common = await after.store.commonLength(after.threadId, before.at, after.at);
  const [removed, added] = [await readLog(before, { from: common }), await readLog(after, { from: common })];
  return { common, added: added.map((e) => e.event), removed: removed.map((e) => e.event) };
}

/**
 * Keys in `before`'s order, then keys only `after` has. A step leaves most
 * collections untouched (the very same map) and replaces a few entries of the
 * others, so identity is checked before anything is compared.
 */
function diffCollection(collection: DiffCollection, before: Record<string, unknown>, after: Record<string, unknown>): EntityChange[] {
  const changes: EntityChange[] = [];
  if (before === after) return changes;
  const compare = (key: string) => {
    const a = before[key];
    const b = after[key];
    if (a === b) return;
    if (a === undefined) changes.push({ collection, key, change: "added", after: b, fields: fieldChanges(undefined, b) });
    else if (b === undefined) changes.push({ collection, key, change: "removed", before: a, fields: fieldChanges(a, undefined) });
    else {
      const fields = fieldChanges(a, b);
      if (fields.length > 0) changes.push({ collection, key, change: "changed", before: a, after: b, fields });
    }
  };
  for (const key of Object.keys(before)) compare(key);
  for (const key of Object.keys(after)) if (!Object.prototype.hasOwnProperty.call(before, key)) compare(key);
  return changes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fieldChanges(before: unknown, after: unknown): FieldChange[] {
  if (!isRecord(before) && !isRecord(after)) return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ field: "", before, after }];
  const a = isRecord(before) ? before : {};
  const b = isRecord(after) ? after : {};
  const fields: FieldChange[] = [];
  for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) fields.push({ field, before: a[field], after: b[field] });
  }
  return fields;
}

// ---------------------------------------------------------------- one-line summaries

/** How many entity changes a summary names before saying "+N more". */
const SUMMARY_ENTITIES = 3;

/**
 * One line for one step: who wrote and what changed, e.g.
 * `inventory_service: SKU-TEE available 5→3; +2 events`.
 * `writers` are the nodes (or `input`, `rollback`, ...) that made the step.
 */
export async function summariseStep(
  parent: DiffSide | undefined,
  side: DiffSide & { values: { inbox?: unknown[] } },
  writers: readonly string[],
): Promise<string> {
  const diff = await diffStates(parent ?? { values: {}, log: { ...side.log, at: EMPTY_LOG } }, side);
  const values = side.values;
  const parentValues = parent?.values as { inbox?: unknown[] } | undefined;
  const parts: string[] = [];
  const entityChanges = diff.entities.filter((e) => e.collection !== "tasks");
  parts.push(...entityChanges.slice(0, SUMMARY_ENTITIES).map(describeEntity));
  if (entityChanges.length > SUMMARY_ENTITIES) parts.push(`+${entityChanges.length - SUMMARY_ENTITIES} more`);
  if (diff.events.added.length > 0) parts.push(`+${diff.events.added.length} event${diff.events.added.length === 1 ? "" : "s"}`);
  if (diff.events.removed.length > 0) parts.push(`-${diff.events.removed.length} event${diff.events.removed.length === 1 ? "" : "s"}`);
  const inbox = values.inbox?.length ?? 0;
  if (inbox > 0 && inbox !== (parentValues?.inbox?.length ?? 0)) parts.push(`${inbox} input item${inbox === 1 ? "" : "s"} in the inbox`);
  const tasks = describeTasks(diff.entities.filter((e) => e.collection === "tasks"));
  if (tasks) parts.push(tasks);
  const what = parts.length > 0 ? parts.join("; ") : "no change";
  return writers.length > 0 ? `${countedNames(writers)}: ${what}` : what;
}

/** `marketing_agent×3+router` from a list with repeats, first-seen order. */
export function countedNames(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${name}×${n}` : name)).join("+");
}

function describeEntity(change: EntityChange): string {
  const field = (name: string) => change.fields.find((f) => f.field === name);
  const arrow = (f: FieldChange, format: (v: unknown) => string = String) => `${format(f.before)}→${format(f.after)}`;
  const money = (v: unknown) => (typeof v === "number" ? formatCents(v) : String(v));
  const after = change.after as Record<string, unknown> | string | undefined;
  switch (change.collection) {
    case "inventory": {
      if (change.change === "added") return `${change.key} listed, available ${(after as Record<string, unknown>).available}`;
      if (change.change === "removed") return `${change.key} removed`;
      const f = field("available") ?? field("onHand") ?? field("reserved") ?? field("returned") ?? change.fields[0];
      return `${change.key} ${f.field} ${arrow(f)}`;
    }
    case "orders": {
      if (change.change === "added") return `${change.key} ${(after as Record<string, unknown>).status}`;
      if (change.change === "removed") return `${change.key} removed`;
      const status = field("status");
      if (status) return `${change.key} ${arrow(status)}`;
      const refunded = field("refundedCents");
      if (refunded) return `${change.key} refunded ${arrow(refunded, money)}`;
      return `${change.key} ${change.fields.map((f) => f.field).join(", ")} changed`;
    }
    case "promotions":
      if (change.change === "removed") return `${change.key} promotion removed`;
      return change.change === "added" ? `${change.key} promotion ${String(after)}` : `${change.key} promotion ${arrow(change.fields[0])}`;
    case "approvals": {
      if (change.change === "removed") return `approval ${change.key} removed`;
      const status = field("status");
      return change.change === "added"
        ? `approval ${change.key} ${(after as Record<string, unknown>).status}`
        : `approval ${change.key} ${status ? arrow(status) : "changed"}`;
    }
    case "tasks":
      return `task ${change.key} ${change.change}`;
    default: {
      const exhaustive: never = change.collection;
      return exhaustive;
    }
  }
}

/** Tasks change in bulk (one per event and agent), so a summary counts them by new status. */
function describeTasks(changes: readonly EntityChange[]): string | undefined {
  if (changes.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const change of changes) {
    const label = change.change === "removed" ? "forgotten" : String((change.after as { status?: string }).status ?? change.change);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return `tasks: ${[...counts].map(([status, n]) => `${n} ${status}`).join(", ")}`;
}
