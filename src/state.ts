/**
 * The shared world state: every channel, its reducer beside it, and the
 * synchronisation strategy it relies on.
 *
 * - the history is not here: it lives in the event store, and `log` points
 *   at the log each checkpoint saw (persistence/event_store.ts).
 * - windows with dedup: recent events, conflicts, rejected inputs, messages,
 *   posts, agents' notes. `DeltaValue` channels, so a checkpoint stores the
 *   step's writes rather than the whole window.
 * - single writer with optimistic versions: catalog, inventory, approvals
 *   (pending), promotions, reorders, posts. Only the owning service writes
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
import { EMPTY_LOG, type LogPointer } from "./persistence/event_store.js";
import {
  DEFAULT_POLICY,
  mergePatch,
  type Approval,
  type Policy,
  type Post,
  type Product,
  type PromotionStatus,
  type Reorder,
  type StockLevel,
} from "./domain/world.js";
import {
  ApprovalShape,
  byKey,
  ConflictShape,
  EventShape,
  jsonSchemaOf,
  MessageShape,
  NoteShape,
  PolicyShape,
  PostShape,
  ProductShape,
  ProposalShape,
  publishing,
  RejectedShape,
  ReorderShape,
  StockLevelShape,
  TaskShape,
} from "./state_json_schema.js";

// ---------------------------------------------------------------- snapshot cadence

/**
 * Delta channels store a snapshot at every update, and a checkpoint where a
 * channel did not change stores nothing for it: loading that checkpoint walks
 * back through its ancestors to the channel's last snapshot (LangGraph's
 * `getDeltaChannelHistory`). Every growing channel is bounded (a window, or
 * pending items only), so a snapshot is small whichever checkpointer stores
 * it. Our SQLite saver stores a snapshot as its difference from the previous
 * one, and finds the last snapshot by index.
 */
export const SNAPSHOT_FREQUENCY = 1;

/**
 * A delta channel that stops changing (the catalog after the products are
 * listed, conflicts on a quiet day) is snapshotted again after this many
 * supersteps, so that the walk back to its last snapshot stays short. Stock
 * savers walk with one `getTuple` per ancestor: with LangGraph's default
 * bound (5,000 supersteps) every command on an old store read back to the
 * day its catalog last changed, and the stock SqliteSaver slowed down with
 * the store's age. Each ancestor is a whole checkpoint to load there: at 10
 * a fork on the stock SqliteSaver read 10.7 of them (42 ms at 10,000 input
 * events), at 4 it read 5.8, for 22% more bytes (those savers store every
 * snapshot whole; ours stores a snapshot as its difference from the last).
 * LangGraph reads the bound from the environment
 * (`LANGGRAPH_DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT`); `buildStoreGraph` sets
 * it to this value unless the environment already names one.
 */
export const MAX_SUPERSTEPS_WITHOUT_SNAPSHOT = 3;

// ---------------------------------------------------------------- windows

/** How many of the newest events the state shows (Studio's state panel); the log itself is in the event store. */
export const RECENT_EVENTS_WINDOW = 25;
/** How many messages the transcript keeps; the full conversation stays in the event store. */
export const MESSAGE_WINDOW = 50;
/** How many conflicts the state keeps. */
export const CONFLICT_WINDOW = 50;
/** How many rejected inputs the state keeps (a line rejected again within the window is recorded once). */
export const REJECTED_WINDOW = 200;
/** How many drafted posts the state keeps; every PostDrafted stays in the event store. */
export const POST_WINDOW = 50;

/**
 * A list deduplicated by key and windowed to its newest `size` items. A key
 * already in the window (or earlier in the same batch) is not added again.
 * A fold over the items one at a time (the window trimmed after each), so a
 * key that fell out may come back, and the result is the same however the
 * writes are batched (a DeltaValue replays all writes since a snapshot in one call).
 */
export function appendWindow<T>(keyOf: (item: T) => string, size: number) {
  return (current: readonly T[] | undefined, batches: readonly (T | readonly T[])[]): T[] => {
    const base = current ?? [];
    const all = [...base];
    let start = Math.max(0, all.length - size);
    const seen = new Set(all.slice(start).map(keyOf));
    let added = false;
    for (const batch of batches) {
      for (const item of (Array.isArray(batch) ? batch : [batch]) as T[]) {
        const key = keyOf(item);
        if (seen.has(key)) continue;
        seen.add(key);
        all.push(item);
        added = true;
        while (all.length - start > size) seen.delete(keyOf(all[start++]));
      }
    }
    return added ? all.slice(start) : (base as T[]);
  };
}

export const appendRecentEvents = appendWindow<StoreEvent>((e) => e.id, RECENT_EVENTS_WINDOW);
export const appendConflicts = appendWindow<Conflict>((c) => c.id, CONFLICT_WINDOW);
export const appendRejected = appendWindow<RejectedInput>((r) => r.hash, REJECTED_WINDOW);

/**
 * Messages by id (a later write with the same id replaces it in place), windowed
 * to the newest. A fold over the messages one at a time, like appendWindow, so
 * it is batching-invariant even when an id comes back after leaving the window.
 */
export function appendMessages(current: BaseMessage[] | undefined, batches: readonly (BaseMessage | BaseMessage[])[]): BaseMessage[] {
  // Keyed by id; a message without one (never ours: our ids derive from events) is kept as itself.
  const byId = new Map<string | BaseMessage, BaseMessage>((current ?? []).slice(-MESSAGE_WINDOW).map((m) => [m.id ?? m, m]));
  for (const batch of batches) {
    for (const message of Array.isArray(batch) ? batch : [batch]) {
      byId.set(message.id ?? message, message);
      // Map keys iterate in insertion order: the first is the oldest.
      if (byId.size > MESSAGE_WINDOW) byId.delete(byId.keys().next().value as string | BaseMessage);
    }
  }
  return [...byId.values()];
}

/** The log pointer: the last write wins (both services of a round write the same one). */
export function movePointer(_current: LogPointer, next: LogPointer): LogPointer {
  return next;
}

// ---------------------------------------------------------------- keyed entities

/** Applies whole-entity patches in order (null removes); merging patches is batching-invariant. */
export function mergePatches<T>(current: Record<string, T> | undefined, patches: readonly Record<string, T | null>[]): Record<string, T> {
  const nonEmpty = patches.filter((p) => Object.keys(p).length > 0);
  if (nonEmpty.length === 0) return current ?? {};
  return mergePatch(current, Object.assign({}, ...nonEmpty) as Record<string, T | null>);
}

/**
 * Applies patches one entry at a time, keeping the newest `size` keys after
 * each (a new key goes last; a replaced one keeps its place). Trimming after
 * every entry makes the result the same however the writes are batched, as a
 * DeltaValue reducer must be, also when a key that left the window comes back.
 */
export function mergeWindowed<T>(size: number) {
  return (current: Record<string, T> | undefined, patches: readonly Record<string, T | null>[]): Record<string, T> => {
    if (patches.every((p) => Object.keys(p).length === 0)) return current ?? {};
    const merged = new Map(Object.entries(current ?? {}));
    for (const patch of patches) {
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) merged.delete(key);
        else merged.set(key, value);
        if (merged.size > size) merged.delete(merged.keys().next().value as string);
      }
    }
    return Object.fromEntries(merged);
  };
}

/**
 * A keyed map patched with whole entities by its single writer. A delta
 * channel: a checkpoint stores the step's patches, not the whole map.
 */
function entityMap<T>(
  description: string,
  shape: z.ZodType,
  reducer: (current: Record<string, T>, patches: Record<string, T | null>[]) => Record<string, T> = mergePatches<T>,
) {
  return new DeltaValue(
    z
      .custom<Record<string, T>>()
      .default(() => ({}))
      .describe(description),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<Record<string, T | null>>(),
      reducer,
      jsonSchemaExtra: jsonSchemaOf(description, byKey(shape)),
    },
  );
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

/** Finished tasks kept in state; the router forgets older ones (their outcome is in the event store and the checkpoints). */
export const FINISHED_TASK_WINDOW = 50;

/** A task without its last error. Not `error: undefined`: a saver stores that key (LangGraph writes a record for it). */
function withoutError(task: Task): Task {
  const rest = { ...task };
  delete rest.error;
  return rest;
}

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
        else if (change.op === "complete") tasks[change.taskId] = { ...withoutError(task), status: "completed", result: change.result };
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
export const MEMORY_WINDOW = 20;

export function appendNotes(current: MemoryNote[] | undefined, notes: MemoryNote[]): MemoryNote[] {
  const all = (current ?? []).concat(notes);
  return all.length > MEMORY_WINDOW ? all.slice(all.length - MEMORY_WINDOW) : all;
}

function agentMemory(agent: string) {
  const description = `Private memory of ${agent}: only its own deliveries carry it.`;
  return new DeltaValue(
    z
      .custom<MemoryNote[]>()
      .default(() => [])
      .describe(description),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<MemoryNote[]>(),
      reducer: (current: MemoryNote[], batches: MemoryNote[][]) => appendNotes(current, batches.flat()),
      jsonSchemaExtra: jsonSchemaOf(description, z.array(NoteShape)),
    },
  );
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
    .describe(
      "Input events to ingest (docs/events.md): envelopes {id, type, at, source?, causationId?, v?, data}, or their JSON texts. Bad ones are recorded in `rejected` with a reason; the good ones are processed.",
    )
    .meta({
      examples: [
        [
          {
            id: "e1",
            type: "ProductAdded",
            at: "2026-03-01T09:00:00Z",
            data: { sku: "SKU-MUG", name: "Mug", priceCents: 1500, initialStock: 10, reorderPoint: 2 },
          },
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
    .describe(
      "Optional: where the inbox items come from (a file name and each item's line), for rejection reports. Leave empty: items are then reported as inbox:1, inbox:2, ...",
    );
}

/**
 * The graph's input: a batch of events, and optionally where it came from.
 * Declared apart from the state so Studio's input form shows these two
 * fields rather than every channel (the other channels are not input).
 */
export const StoreInput = new StateSchema({ inbox: inboxField(), inboxOrigin: inboxOriginField() });

// ---------------------------------------------------------------- the schema

/**
 * The working set. Every channel is bounded however long the store runs:
 * - the history (every event) lives in the event store; `log` points at the
 *   log this checkpoint saw, `recentEvents` is a window of it;
 * - orders live in their streams in the event store (persistence/store_log.ts);
 * - approvals hold the pending ones only, reorders the open ones;
 * - catalog, inventory and promotions grow with the catalog, not with time;
 * - conflicts, rejected inputs, messages, posts, finished tasks and agents'
 *   notes are windows of their newest items (the window sizes above); what
 *   falls out of a window never decides anything (rule checks read entities
 *   and the event store), so replays agree whatever the windows held.
 */
export const StoreState = new StateSchema({
  /** Input: events to ingest (objects, or JSON texts of them). Last write wins: `ingest` consumes it and clears it. */
  inbox: inboxField(),
  /** Input: where the inbox came from, for rejection reports (file and line numbers). Last write wins, cleared with the inbox. */
  inboxOrigin: inboxOriginField(),

  /** Where this checkpoint's log ends in the event store: `{branch, length}`. Written by whoever appends (ingest, the services); last write wins. Bounded: two numbers. */
  log: new ReducedValue(
    z
      .custom<LogPointer>()
      .default(() => EMPTY_LOG)
      .describe("The log this checkpoint saw: a branch of the event store and a length."),
    {
      inputSchema: z.custom<LogPointer>(),
      reducer: movePointer,
      jsonSchemaExtra: jsonSchemaOf(
        "The log this checkpoint saw: a branch of the event store and a length (docs/event-store.md).",
        z.object({ branch: z.number().int(), length: z.number().int() }),
      ),
    },
  ),
  /** The newest events of the log, a window for Studio's state panel and quick looks. Bounded: RECENT_EVENTS_WINDOW. */
  recentEvents: new DeltaValue(
    z
      .custom<StoreEvent[]>()
      .default(() => [])
      .describe("The newest events of the log (a window; the whole log is in the event store)."),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<StoreEvent[]>(),
      reducer: appendRecentEvents,
      jsonSchemaExtra: jsonSchemaOf(
        `The newest events of the log (a window of ${RECENT_EVENTS_WINDOW}; the whole log is in the event store).`,
        z.array(EventShape),
      ),
    },
  ),
  /** Products. Single writer (inventory_service), whole-entity patches. Bounded by the catalog. */
  catalog: entityMap<Product>("Products by SKU (written by inventory_service).", ProductShape),
  /** Stock per SKU. Single writer (inventory_service) with optimistic versions: `version` grows with every change and proposals based on an older one are refused by the service. Bounded by the catalog. */
  inventory: entityMap<StockLevel>("Stock levels by SKU (written by inventory_service).", StockLevelShape),
  /** Refunds waiting for a human decision. Single writer (order_service); a decided one leaves the state (its stream keeps it). Bounded: pending ones only. */
  approvals: entityMap<Approval>("Pending refund approvals by id (written by order_service).", ApprovalShape),
  /** Promotion status per SKU. Single writer (inventory_service, accepting marketing's proposals). Bounded by the catalog. */
  promotions: entityMap<PromotionStatus>("Promotion status by SKU.", z.enum(["active", "paused"])),
  /** Open reorders by SKU. Single writer (inventory_service, accepting inventory_agent's proposals). Bounded: one per SKU at most (rule 7). */
  reorders: entityMap<Reorder>("Open reorders by SKU.", ReorderShape),
  /** Posts drafted by marketing. Single writer (inventory_service, which refuses posts for a paused promotion). Bounded: POST_WINDOW newest. */
  posts: entityMap<Post>("The newest marketing posts by id.", PostShape, mergeWindowed<Post>(POST_WINDOW)),
  /** The approval threshold in force. Last write wins (order_service): it is only a copy of the newest PolicyChanged event in the log. */
  policy: publishing(
    z.custom<Policy>().default(() => DEFAULT_POLICY),
    jsonSchemaOf("The approval threshold in force (a copy of the newest PolicyChanged event).", PolicyShape.default(DEFAULT_POLICY)),
  ),

  /** Agent tasks, one per (event, agent). ADD / START / COMPLETE / FAIL ops merged per task id: the router adds and starts, the agent completes or fails, a service asks for a retry. Bounded: unfinished ones plus FINISHED_TASK_WINDOW finished. */
  tasks: new DeltaValue(
    z.custom<Record<string, Task>>().default(() => ({})),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<TaskOp[]>(),
      reducer: (current: Record<string, Task>, batches: TaskOp[][]) => applyTaskOps(current, batches.flat()),
      jsonSchemaExtra: jsonSchemaOf("Agent tasks by id, one per (event, agent): unfinished ones and the newest finished.", byKey(TaskShape)),
    },
  ),
  /** Agent proposals waiting for the services. A queue: agents enqueue, the services dequeue what they decided (both dequeue the same ids, harmlessly). Bounded: one round's proposals. */
  proposals: new ReducedValue(
    z.custom<Proposal[]>().default(() => []),
    {
      inputSchema: z.custom<ProposalOp>(),
      reducer: applyProposalOps,
      jsonSchemaExtra: jsonSchemaOf("Agent proposals waiting for the services (one round's).", z.array(ProposalShape)),
    },
  ),
  /** Rejected writes and proposals: who, what, why. Deduplicated by id. Bounded: CONFLICT_WINDOW newest. */
  conflicts: new DeltaValue(
    z.custom<Conflict[]>().default(() => []),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<Conflict[]>(),
      reducer: appendConflicts,
      jsonSchemaExtra: jsonSchemaOf(`Refused writes and proposals: who, what, why (the newest ${CONFLICT_WINDOW}).`, z.array(ConflictShape)),
    },
  ),
  /** Inputs that failed validation (not events). Deduplicated by content hash. Bounded: REJECTED_WINDOW newest. */
  rejected: new DeltaValue(
    z.custom<RejectedInput[]>().default(() => []),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<RejectedInput[]>(),
      reducer: appendRejected,
      jsonSchemaExtra: jsonSchemaOf(`Inputs that failed validation, with the reason (the newest ${REJECTED_WINDOW}).`, z.array(RejectedShape)),
    },
  ),
  /** The conversation: customer messages and accepted support replies. By message id (ids derive from events). Bounded: MESSAGE_WINDOW newest. */
  messages: new DeltaValue(
    z.custom<BaseMessage[]>().default(() => []),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<BaseMessage[]>(),
      reducer: appendMessages,
      jsonSchemaExtra: jsonSchemaOf(`The conversation: customer messages and accepted replies (the newest ${MESSAGE_WINDOW}).`, z.array(MessageShape)),
    },
  ),
  /** Per-subscriber position in the log: events before it have been handed out. Merge of disjoint keys, and a cursor only moves forward (max wins). Bounded: one per subscriber. */
  cursors: new DeltaValue(
    z.custom<Record<string, number>>().default(() => ({})),
    {
      snapshotFrequency: SNAPSHOT_FREQUENCY,
      inputSchema: z.custom<Record<string, number>>(),
      reducer: advanceCursors,
      jsonSchemaExtra: jsonSchemaOf("Each subscriber's position in the log.", z.record(z.string(), z.number().int())),
    },
  ),
  /** The last ingest step's report. Last write wins: only the newest batch's report matters. */
  lastIngest: publishing(
    z.custom<IngestReport | null>().default(() => null),
    jsonSchemaOf(
      "What the last ingest step did with its inbox.",
      z
        .object({ received: z.number().int(), accepted: z.number().int(), duplicates: z.number().int(), rejected: z.array(RejectedShape) })
        .nullable()
        .default(null),
    ),
  ),

  /** Private memory of each agent: notes, windowed (MEMORY_WINDOW). Only the router reads them, to put an agent's own notes in its deliveries. */
  supportMemory: agentMemory("support_agent"),
  inventoryMemory: agentMemory("inventory_agent"),
  marketingMemory: agentMemory("marketing_agent"),
});

export type State = typeof StoreState.State;
export type Update = typeof StoreState.Update;
