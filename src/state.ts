/**
 * The shared world state: every channel, its reducer beside it, and the
 * synchronisation strategy it relies on.
 *
 * - append-only with dedup: the event log, conflicts, rejected inputs, messages.
 *   `DeltaValue` channels, so a checkpoint stores the step's writes rather than
 *   the whole history; their reducers are batching-invariant.
 * - single writer with optimistic versions: catalog, inventory, orders,
 *   approvals, promotions, reorders, posts. Only the owning service writes
 *   whole-entity patches; the version check is in the service (reducers stay pure).
 * - merge for disjoint fields: cursors (each subscriber its own key, max wins),
 *   per-agent memory (each agent its own channel).
 * - last-write-wins only where losing the older value is harmless: the inbox
 *   (consumed by `ingest`), the last ingest report, the policy (a copy of the
 *   newest PolicyChanged event).
 */
import type { BaseMessage } from "@langchain/core/messages";
import { DeltaValue, ReducedValue, StateSchema } from "@langchain/langgraph";
import { z } from "zod";
import type { Conflict } from "./domain/decide.js";
import type { StoreEvent } from "./domain/events.js";
import type { Proposal } from "./domain/proposals.js";
import type { RejectedInput } from "./domain/validation.js";
import { DEFAULT_POLICY, mergePatch, type Approval, type Order, type Policy, type Post, type Product, type PromotionStatus, type Reorder, type StockLevel } from "./domain/world.js";

// ---------------------------------------------------------------- delta channels

/**
 * A delta channel's value is stored as a snapshot at every checkpoint that
 * changes it. Our checkpointer (`persistence/saver.ts`) stores a snapshot as
 * the difference from the previous one, so this costs what the step added,
 * and loading any checkpoint never replays ancestors' writes. (LangGraph's
 * default, a whole snapshot every 100 updates, makes a long store reload and
 * re-store its whole log again and again.) On MemorySaver, which stores
 * snapshots whole, this is the ReducedValue behaviour.
 */
export const DELTA_SNAPSHOT_FREQUENCY = 1;

/**
 * LangGraph's default cadence: for a checkpointer that stores snapshots whole
 * (the LangGraph server's, PostgreSQL's, the stock SQLite saver), a snapshot
 * at every change would re-store the whole log at every step.
 */
export const WHOLE_SNAPSHOT_FREQUENCY = 100;

// ---------------------------------------------------------------- append-only logs

/**
 * An append-only list deduplicated by key: the reducer keeps the first of
 * duplicates, and `positionOf` finds an item. Both share a per-array index, so
 * appending costs O(new items), not O(log).
 */
export function appendOnly<T>(keyOf: (item: T) => string) {
  /** `length` is how many items the index covers; arrays that extend one another share it. */
  interface Index {
    positions: Map<string, number>;
    length: number;
  }
  const indexes = new WeakMap<readonly T[], Index>();
  const build = (items: readonly T[]): Index => ({ positions: new Map(items.map((item, position) => [keyOf(item), position])), length: items.length });
  const indexOf = (items: readonly T[]): Index => {
    let index = indexes.get(items);
    if (!index) {
      index = build(items);
      indexes.set(items, index);
    }
    return index;
  };
  /** Position of `key` in `items`, or -1. The index may cover a longer array that extends this one, so a hit is confirmed. */
  const positionOf = (items: readonly T[], key: string): number => {
    const position = indexOf(items).positions.get(key);
    return position !== undefined && position < items.length && keyOf(items[position]) === key ? position : -1;
  };
  const reducer = (current: readonly T[] | undefined, batches: readonly (T | readonly T[])[]): T[] => {
    const base = current ?? [];
    const added: T[] = [];
    const addedKeys = new Set<string>();
    for (const batch of batches) {
      for (const item of (Array.isArray(batch) ? batch : [batch]) as T[]) {
        const key = keyOf(item);
        if (addedKeys.has(key) || positionOf(base, key) >= 0) continue;
        addedKeys.add(key);
        added.push(item);
      }
    }
    if (added.length === 0) return base as T[];
    const next = base.concat(added);
    // Extend the shared index only if no other array grew from `base` first (a fork); otherwise start a new one.
    const shared = indexOf(base);
    const index = shared.length === base.length ? shared : build(base);
    added.forEach((item, i) => index.positions.set(keyOf(item), base.length + i));
    index.length = next.length;
    indexes.set(next, index);
    return next;
  };
  /**
   * True when `longer` is known to start with all of `shorter`: arrays share an
   * index only when each was made by appending to the previous one (a fork
   * starts a new index). False means unknown, not different.
   */
  const knownPrefix = (shorter: readonly T[], longer: readonly T[]): boolean => {
    const index = indexes.get(shorter);
    return index !== undefined && index === indexes.get(longer) && shorter.length <= longer.length;
  };
  return { reducer, positionOf, knownPrefix };
}

export const eventLog = appendOnly<StoreEvent>((e) => e.id);
export const conflictLog = appendOnly<Conflict>((c) => c.id);
export const rejectedLog = appendOnly<RejectedInput>((r) => r.hash);

/** How many messages the transcript keeps; the full conversation stays in the event log. */
export const MESSAGE_WINDOW = 200;

/** Messages by id (a later write with the same id replaces it), windowed to the newest. */
export function appendMessages(current: BaseMessage[] | undefined, batches: readonly (BaseMessage | BaseMessage[])[]): BaseMessage[] {
  // Keyed by id; a message without one (never ours: our ids derive from events) is kept as itself.
  const byId = new Map<string | BaseMessage, BaseMessage>((current ?? []).map((m) => [m.id ?? m, m]));
  for (const batch of batches) for (const message of Array.isArray(batch) ? batch : [batch]) byId.set(message.id ?? message, message);
  const all = [...byId.values()];
  return all.length > MESSAGE_WINDOW ? all.slice(all.length - MESSAGE_WINDOW) : all;
}

// ---------------------------------------------------------------- keyed entities

/** Applies whole-entity patches in order (null removes); merging patches is batching-invariant. */
export function mergePatches<T>(current: Record<string, T> | undefined, patches: readonly Record<string, T | null>[]): Record<string, T> {
  const nonEmpty = patches.filter((p) => Object.keys(p).length > 0);
  if (nonEmpty.length === 0) return current ?? {};
  return mergePatch(current, Object.assign({}, ...nonEmpty) as Record<string, T | null>);
}

/**
 * A keyed map patched with whole entities by its single writer. A delta
 * channel: a checkpoint stores the step's patches, not the whole map.
 */
function entityMap<T>(description: string, snapshotFrequency: number) {
  return new DeltaValue(z.custom<Record<string, T>>().default(() => ({})).describe(description), {
    snapshotFrequency,
    inputSchema: z.custom<Record<string, T | null>>(),
    reducer: mergePatches<T>,
  });
}

// ---------------------------------------------------------------- tasks

export const TASK_STATUSES = ["pending", "running", "completed", "failed"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** One per (event, handler). */
export interface Task {
  taskId: string;
  eventId: string;
  assignee: string;
  status: TaskStatus;
  attempts: number;
  result?: string;
  error?: string;
}

export type TaskOp =
  | { op: "add"; task: Pick<Task, "taskId" | "eventId" | "assignee"> }
  | { op: "start"; taskId: string }
  | { op: "complete"; taskId: string; result: string }
  /** `retry: true` puts the task back to pending for another attempt. */
  | { op: "fail"; taskId: string; error: string; retry: boolean }
  /** Drops finished tasks from state; their story stays in the event log and the checkpoints. */
  | { op: "forget"; taskIds: string[] };

/** Finished tasks kept in state; the router forgets older ones. */
export const FINISHED_TASK_WINDOW = 500;

/**
 * ADD / START / COMPLETE / FAIL / FORGET, applied in order. A plain fold over
 * the ops, so it gives the same result however the writes are batched (as a
 * DeltaValue reducer must); ops on unknown tasks are ignored.
 */
export function applyTaskOps(current: Record<string, Task> | undefined, ops: readonly TaskOp[]): Record<string, Task> {
  const tasks: Record<string, Task> = { ...(current ?? {}) };
  for (const change of ops) {
    switch (change.op) {
      case "add":
        if (!tasks[change.task.taskId]) tasks[change.task.taskId] = { ...change.task, status: "pending", attempts: 0 };
        break;
      case "forget":
        for (const taskId of change.taskIds) delete tasks[taskId];
        break;
      case "start":
      case "complete":
      case "fail": {
        const task = tasks[change.taskId];
        if (!task) break;
        if (change.op === "start") tasks[change.taskId] = { ...task, status: "running", attempts: task.attempts + 1 };
        else if (change.op === "complete") tasks[change.taskId] = { ...task, status: "completed", result: change.result, error: undefined };
        else tasks[change.taskId] = { ...task, status: change.retry ? "pending" : "failed", error: change.error };
        break;
      }
      default: {
        const exhaustive: never = change;
        throw new Error(`unknown task op ${JSON.stringify(exhaustive)}`);
      }
    }
  }
  return tasks;
}

/** The oldest finished tasks beyond the window, to forget. Unfinished tasks are never forgotten. */
export function tasksToForget(tasks: Record<string, Task>, window = FINISHED_TASK_WINDOW): string[] {
  const finished = Object.values(tasks).filter((t) => t.status === "completed" || t.status === "failed");
  return finished.slice(0, Math.max(0, finished.length - window)).map((t) => t.taskId);
}

// ---------------------------------------------------------------- cursors

/** Each subscriber's position only moves forward; writes to different keys merge. */
export function advanceCursors(current: Record<string, number> | undefined, writes: readonly Record<string, number>[]): Record<string, number> {
  const merged = { ...(current ?? {}) };
  for (const write of writes) for (const [key, position] of Object.entries(write)) merged[key] = Math.max(merged[key] ?? 0, position);
  return merged;
}

// ---------------------------------------------------------------- proposals queue

export type ProposalOp = { enqueue: Proposal[] } | { dequeue: string[] };

/** Proposals waiting for a service; the services dequeue what they decided. */
export function applyProposalOps(current: Proposal[] | undefined, op: ProposalOp): Proposal[] {
  const queue = current ?? [];
  if ("enqueue" in op) {
    const known = new Set(queue.map((p) => p.id));
    const added: Proposal[] = [];
    for (const proposal of op.enqueue) {
      if (known.has(proposal.id)) continue;
      known.add(proposal.id);
      added.push(proposal);
    }
    return added.length === 0 ? queue : queue.concat(added);
  }
  const done = new Set(op.dequeue);
  return done.size === 0 ? queue : queue.filter((p) => !done.has(p.id));
}

// ---------------------------------------------------------------- agent memory

export interface MemoryNote {
  at: string;
  eventId: string;
  note: string;
  /** The task's tool calls, with the reason when one did nothing. */
  toolCalls?: { name: string; args: unknown; error?: string }[];
  /** What the model wrote beside its tool calls (a short scratchpad). */
  scratchpad?: string;
}

/** How many notes an agent keeps in its private memory. */
export const MEMORY_WINDOW = 50;

export function appendNotes(current: MemoryNote[] | undefined, notes: MemoryNote[]): MemoryNote[] {
  const all = (current ?? []).concat(notes);
  return all.length > MEMORY_WINDOW ? all.slice(all.length - MEMORY_WINDOW) : all;
}

function agentMemory(agent: string, snapshotFrequency: number) {
  return new DeltaValue(z.custom<MemoryNote[]>().default(() => []).describe(`Private memory of ${agent}: only its own deliveries carry it.`), {
    snapshotFrequency,
    inputSchema: z.custom<MemoryNote[]>(),
    reducer: (current: MemoryNote[], batches: MemoryNote[][]) => appendNotes(current, batches.flat()),
  });
}

// ---------------------------------------------------------------- ingest report

/** What the last `ingest` step did with its inbox (for the CLI and server clients). */
export interface IngestReport {
  received: number;
  accepted: number;
  duplicates: number;
  rejected: RejectedInput[];
}

// ---------------------------------------------------------------- input

/**
 * The inbox: anything goes in, so that `ingest` (not LangGraph's input
 * parsing) rejects a bad event with the same reason the CLI gives.
 */
function inboxField() {
  return z
    .array(z.unknown())
    .default(() => [])
    .describe("Input events to ingest (SPEC §3): envelopes {id, type, at, source?, causationId?, v?, data}, or their JSON texts. Bad ones are recorded in `rejected` with a reason; the good ones are processed.")
    .meta({
      examples: [
        [
          { id: "e1", type: "ProductAdded", at: "2026-03-01T09:00:00Z", data: { sku: "SKU-MUG", name: "Mug", priceCents: 1500, initialStock: 10, reorderPoint: 2 } },
          { id: "e2", type: "OrderPlaced", at: "2026-03-01T09:05:00Z", data: { orderId: "ORD-1", customerId: "CUST-1", lines: [{ sku: "SKU-MUG", qty: 2 }] } },
        ],
      ],
    });
}

function inboxOriginField() {
  return z
    .object({ source: z.string(), lines: z.array(z.number().int()).optional() })
    .nullable()
    .default(null)
    .describe("Optional: where the inbox items come from (a file name and each item's line), for rejection reports. Leave empty: items are then reported as inbox:1, inbox:2, ...");
}

/**
 * The graph's input: a batch of events, and optionally where it came from.
 * Declared apart from the state so Studio's input form shows these two
 * fields rather than every channel (the other channels are not input).
 */
export const StoreInput = new StateSchema({ inbox: inboxField(), inboxOrigin: inboxOriginField() });

// ---------------------------------------------------------------- the schema

/**
 * The schema, with delta channels snapshotting every `snapshotFrequency`
 * updates. The store uses `DELTA_SNAPSHOT_FREQUENCY`; the benchmark builds the
 * graph with LangGraph's default (100) for the stock savers, which store
 * snapshots whole.
 */
export function createStoreState(snapshotFrequency: number = DELTA_SNAPSHOT_FREQUENCY) {
  return new StateSchema({
    /** Input: events to ingest (objects, or JSON texts of them). Last write wins: `ingest` consumes it and clears it. */
    inbox: inboxField(),
    /** Input: where the inbox came from, for rejection reports (file and line numbers). Last write wins, cleared with the inbox. */
    inboxOrigin: inboxOriginField(),

    /** The event log. Append-only, deduplicated by id (re-sending an event is a no-op); every service and the ingest node append. */
    events: new DeltaValue(z.custom<StoreEvent[]>().default(() => []), {
      snapshotFrequency,
      inputSchema: z.custom<StoreEvent[]>(),
      reducer: eventLog.reducer,
    }),
    /** Products. Single writer (inventory_service), whole-entity patches. */
    catalog: entityMap<Product>("Products by SKU (written by inventory_service).", snapshotFrequency),
    /** Stock per SKU. Single writer (inventory_service) with optimistic versions: `version` grows with every change and proposals based on an older one are refused by the service. */
    inventory: entityMap<StockLevel>("Stock levels by SKU (written by inventory_service).", snapshotFrequency),
    /** Orders. Single writer (order_service) with optimistic versions, checked in the service. */
    orders: entityMap<Order>("Orders by id (written by order_service).", snapshotFrequency),
    /** Refunds waiting for a human decision, and their outcome. Single writer (order_service). */
    approvals: entityMap<Approval>("Refund approvals by id (written by order_service).", snapshotFrequency),
    /** Promotion status per SKU. Single writer (inventory_service, accepting marketing's proposals). */
    promotions: entityMap<PromotionStatus>("Promotion status by SKU.", snapshotFrequency),
    /** Open reorders by SKU. Single writer (inventory_service, accepting inventory_agent's proposals). */
    reorders: entityMap<Reorder>("Open reorders by SKU.", snapshotFrequency),
    /** Posts drafted by marketing. Single writer (inventory_service, which refuses posts for a paused promotion). */
    posts: entityMap<Post>("Marketing posts by id.", snapshotFrequency),
    /** The approval threshold in force. Last write wins (order_service): it is only a copy of the newest PolicyChanged event in the log. */
    policy: z.custom<Policy>().default(() => DEFAULT_POLICY),

    /** Agent tasks, one per (event, agent). ADD / START / COMPLETE / FAIL ops merged per task id: the router adds and starts, the agent completes or fails, a service asks for a retry. */
    tasks: new DeltaValue(z.custom<Record<string, Task>>().default(() => ({})), {
      snapshotFrequency,
      inputSchema: z.custom<TaskOp[]>(),
      reducer: (current: Record<string, Task>, batches: TaskOp[][]) => applyTaskOps(current, batches.flat()),
    }),
    /** Agent proposals waiting for the services. A queue: agents enqueue, the services dequeue what they decided (both dequeue the same ids, harmlessly). */
    proposals: new ReducedValue(z.custom<Proposal[]>().default(() => []), {
      inputSchema: z.custom<ProposalOp>(),
      reducer: applyProposalOps,
    }),
    /** Rejected writes and proposals: who, what, why. Append-only, deduplicated by id. */
    conflicts: new DeltaValue(z.custom<Conflict[]>().default(() => []), {
      snapshotFrequency,
      inputSchema: z.custom<Conflict[]>(),
      reducer: conflictLog.reducer,
    }),
    /** Inputs that failed validation (not events). Append-only, deduplicated by content hash. */
    rejected: new DeltaValue(z.custom<RejectedInput[]>().default(() => []), {
      snapshotFrequency,
      inputSchema: z.custom<RejectedInput[]>(),
      reducer: rejectedLog.reducer,
    }),
    /** The conversation: customer messages and support replies. Append-only by message id (ids derive from events), windowed to the newest MESSAGE_WINDOW. */
    messages: new DeltaValue(z.custom<BaseMessage[]>().default(() => []), {
      snapshotFrequency,
      inputSchema: z.custom<BaseMessage[]>(),
      reducer: appendMessages,
    }),
    /** Per-subscriber position in the event log: events before it have been handed out. Merge of disjoint keys, and a cursor only moves forward (max wins). */
    cursors: new DeltaValue(z.custom<Record<string, number>>().default(() => ({})), {
      snapshotFrequency,
      inputSchema: z.custom<Record<string, number>>(),
      reducer: advanceCursors,
    }),
    /** The last ingest step's report. Last write wins: only the newest batch's report matters. */
    lastIngest: z.custom<IngestReport | null>().default(() => null),

    /** Private memory of each agent: append-only notes, windowed. Only the router reads them, to put an agent's own notes in its deliveries. */
    supportMemory: agentMemory("support_agent", snapshotFrequency),
    inventoryMemory: agentMemory("inventory_agent", snapshotFrequency),
    marketingMemory: agentMemory("marketing_agent", snapshotFrequency),
  });
}

export const StoreState = createStoreState();

export type State = typeof StoreState.State;
export type Update = typeof StoreState.Update;
