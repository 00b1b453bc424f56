/**
 * The documented JSON shapes of the CLI (docs/cli.md), built from state values.
 * The LangGraph server's state values use the same entity shapes, so the two
 * can be compared value for value.
 */
import type { Conflict } from "./domain/decide.js";
import type { Violation } from "./domain/verify.js";
import type { OrderStatus } from "./domain/events.js";
import { DEFAULT_POLICY, type Order, type OrderLine, type Policy, type PromotionStatus } from "./domain/world.js";
import type { IngestResult } from "./app/ingest.js";
import type { StoreEvent } from "./domain/events.js";
import type { EntityChange, StateDiff } from "./timetravel/diff.js";
import type { HistoryEntry, HistoryPage } from "./timetravel/history.js";
import type { State, TaskStatus } from "./state.js";

export interface StateView {
  inventory: Record<string, { onHand: number; reserved: number; returned: number; available: number; version: number }>;
  orders: Record<string, { customerId: string; status: OrderStatus; paidCents: number; refundedCents: number; lines: OrderLine[]; version: number }>;
  promotions: Record<string, PromotionStatus>;
  pendingApprovals: { id: string; kind: "refund"; orderId: string; sku: string; qty: number; amountCents: number }[];
  rejected: { source: string; line: number; reason: string }[];
  conflicts: Pick<Conflict, "id" | "by" | "eventId" | "kind" | "reason">[];
  openReorders: Record<string, { qty: number; eventId: string }>;
  posts: number;
  tasks: Record<TaskStatus, number>;
  policy: Policy;
  eventCount: number;
  checkpointId: string;
}

/** `orders` come from the event store (persistence/store_log.ts `allOrders`): they are not in the state. */
export function stateView(values: Partial<State>, checkpointId: string, allOrders: Record<string, Order> = {}): StateView {
  const inventory: StateView["inventory"] = {};
  for (const [sku, s] of Object.entries(values.inventory ?? {}))
    inventory[sku] = { onHand: s.onHand, reserved: s.reserved, returned: s.returned, available: s.available, version: s.version };
  const orders: StateView["orders"] = {};
  for (const [id, o] of Object.entries(allOrders))
    orders[id] = { customerId: o.customerId, status: o.status, paidCents: o.paidCents, refundedCents: o.refundedCents, lines: o.lines, version: o.version };
  const tasks: Record<TaskStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0 };
  for (const task of Object.values(values.tasks ?? {})) tasks[task.status]++;
  return {
    inventory,
    orders,
    promotions: { ...(values.promotions ?? {}) },
    pendingApprovals: Object.values(values.approvals ?? {})
      .filter((a) => a.status === "pending")
      .map(({ id, kind, orderId, sku, qty, amountCents }) => ({ id, kind, orderId, sku, qty, amountCents })),
    rejected: (values.rejected ?? []).map(({ source, line, reason }) => ({ source, line, reason })),
    conflicts: (values.conflicts ?? []).map(({ id, by, eventId, kind, reason }) => ({ id, by, eventId, kind, reason })),
    openReorders: Object.fromEntries(Object.entries(values.reorders ?? {}).map(([sku, r]) => [sku, { qty: r.qty, eventId: r.eventId }])),
    posts: Object.keys(values.posts ?? {}).length,
    tasks,
    policy: values.policy ?? DEFAULT_POLICY,
    eventCount: values.log?.length ?? 0,
    checkpointId,
  };
}

/** `ingest --json`. */
export interface IngestView extends Omit<IngestResult, "rejected"> {
  rejected: { source: string; line: number; reason: string }[];
  exitCode: number;
}

export function ingestView(result: IngestResult, exitCode: number): IngestView {
  return { ...result, rejected: result.rejected.map(({ source, line, reason }) => ({ source, line, reason })), exitCode };
}

/** `verify --json`. */
export interface VerifyView {
  ok: boolean;
  checkpointId: string;
  eventCount: number;
  violations: Violation[];
}

/** `history --json`: entries newest first; `next` is the `--before` value of the next page. */
export interface HistoryView {
  entries: HistoryEntry[];
  next: string | null;
}

export function historyView(page: HistoryPage): HistoryView {
  return { entries: page.entries, next: page.nextBefore ?? null };
}

/** `diff --json`: per-entity changes from `from` to `to`, and the events only one side has. */
export interface DiffView {
  from: string;
  to: string;
  entities: EntityChange[];
  events: { common: number; added: StoreEvent[]; removed: StoreEvent[] };
}

export function diffView(from: string, to: string, diff: StateDiff): DiffView {
  return { from, to, entities: diff.entities, events: diff.events };
}
