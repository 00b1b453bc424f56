/**
 * The event store: the history of every store, append-only, beside the
 * checkpoints (a table in the SQLite file, or in PostgreSQL). The graph's
 * state holds only a log pointer; the log *at* a checkpoint is exactly what
 * its pointer names (docs/architecture.md, "State, event store and checkpoints").
 *
 * Branches. A log is a chain of branches: branch 0 starts empty, and every
 * other branch continues its parent's log from a fork point. Positions are
 * absolute (an event keeps its position on every branch that inherits it), so
 * the log at `{branch, length}` is the parent's log up to the fork point, then
 * the branch's own events up to `length`.
 *
 * Appending at a pointer whose branch has already gone further (a rollback, a
 * Studio fork, `updateState` or `invoke(null)` at a past checkpoint, or a step
 * re-run after a crash) never changes what is there:
 * - if the branch (or a child forked at that point) already holds exactly
 *   these events there, the append is a no-op that points at them (the re-run
 *   of a step is idempotent);
 * - otherwise the events go on a new branch forked at the pointer, and the
 *   abandoned branch stays readable, byte for byte.
 * Events appended by a step whose checkpoint was never written are addressed
 * by no pointer, so they are invisible.
 */
import type { StoreEvent } from "../domain/events.js";

/** Where a checkpoint's log ends: a branch and the log's length on it. */
export interface LogPointer {
  branch: number;
  length: number;
}

/** The log of a store with no events yet. */
export const EMPTY_LOG: LogPointer = { branch: 0, length: 0 };

export interface LoggedEvent {
  position: number;
  event: StoreEvent;
}

export interface EventQuery {
  /** First position (inclusive), default 0. */
  from?: number;
  /** Last position (exclusive), default the pointer's length. */
  to?: number;
  /** Only these event types. */
  types?: readonly string[];
  /** Only this entity stream (`order:ORD-1`, `sku:SKU-MUG`, `customer:C-1`, `approval:A-1`; see domain/streams.ts). */
  stream?: string;
  /** Newest first (with `limit`: the newest `limit`). */
  descending?: boolean;
  limit?: number;
}

/** One segment of a log: positions [from, to) of a branch's own events. */
export interface Segment {
  branch: number;
  from: number;
  to: number;
}

export interface EventStore {
  /** Appends `events` to the log at `at` and returns the pointer to the log that holds them (see the header). */
  append(threadId: string, at: LogPointer, events: readonly StoreEvent[]): Promise<LogPointer>;
  /** Events of the log at `at`, oldest first unless `descending`, read through indexes (never a scan of the log). */
  read(threadId: string, at: LogPointer, query?: EventQuery): Promise<LoggedEvent[]>;
  /** The events with these ids in the log at `at`. */
  findIds(threadId: string, at: LogPointer, ids: readonly string[]): Promise<Map<string, LoggedEvent>>;
  /** How many events of the log at `at` match (types and stream as in `read`). */
  count(threadId: string, at: LogPointer, query?: Pick<EventQuery, "types" | "stream" | "from" | "to">): Promise<number>;
  /** Which of these streams have at least one event in the log at `at` (one query for many keys). */
  existingStreams(threadId: string, at: LogPointer, streams: readonly string[]): Promise<Set<string>>;
  /** How long a prefix the logs at `a` and `b` share (the fork point of two checkpoints). */
  commonLength(threadId: string, a: LogPointer, b: LogPointer): Promise<number>;
  /** Removes a store's whole history (its store is being deleted). */
  deleteThread(threadId: string): Promise<void>;
  close?(): Promise<void> | void;
}

/** A branch's lineage: where it forked from (branch 0 has no parent). */
export interface BranchRecord {
  branch: number;
  parent: number | null;
  forkAt: number;
}

/** The segments of the log at `at`, oldest first, from the store's branch records. */
export function segmentsOf(branches: ReadonlyMap<number, BranchRecord>, at: LogPointer): Segment[] {
  const segments: Segment[] = [];
  let branch: number | null = at.branch;
  let to = at.length;
  while (branch !== null && to > 0) {
    const record = branches.get(branch);
    if (!record) {
      if (branch === 0) {
        segments.push({ branch: 0, from: 0, to });
        break;
      }
      throw new Error(`event store: the log names branch ${branch}, which this store does not have (a database from another store, or a deleted history)`);
    }
    const from = Math.min(record.forkAt, to);
    if (from < to) segments.push({ branch, from, to });
    to = from;
    branch = record.parent;
  }
  return segments.reverse();
}

/** Which branch holds each position of a log, as a function over its segments. */
function ownerAt(segments: readonly Segment[], position: number): number | undefined {
  for (const s of segments) if (position >= s.from && position < s.to) return s.branch;
  return undefined;
}

/** The shared prefix of two logs given their segments: positions held by the same branch on both. */
export function commonPrefix(a: readonly Segment[], aLength: number, b: readonly Segment[], bLength: number): number {
  const limit = Math.min(aLength, bLength);
  // Segment boundaries are the only places the owner can change.
  const cuts = [...new Set([0, ...a.flatMap((s) => [s.from, s.to]), ...b.flatMap((s) => [s.from, s.to])])].filter((p) => p < limit).sort((x, y) => x - y);
  for (const cut of cuts) {
    if (ownerAt(a, cut) !== ownerAt(b, cut)) return cut;
  }
  return limit;
}

/** Whether stored bodies hold exactly these events, in order (an append already made). */
export function sameEvents(stored: readonly string[], events: readonly StoreEvent[]): boolean {
  return stored.length === events.length && stored.every((body, i) => body === JSON.stringify(events[i]));
}

/** The error for an append at a pointer past its branch's last event (a log with a gap would follow). */
export function beyondTip(threadId: string, at: LogPointer, tip: number): Error {
  return new Error(
    `event store: cannot append at position ${at.length} of branch ${at.branch} of thread ${threadId}: the branch ends at ${tip} (a pointer from another database, or a deleted history)`,
  );
}

/** What a store found on one branch that an append at a pointer could use (read by the store, judged by `decideAppend`). */
export interface AppendCandidate {
  branch: BranchRecord;
  /** The stored bodies at positions [pointer, pointer + events) of the branch's own events. */
  stored: readonly string[];
  /** Where the branch's own events end; read only when nothing is stored at the pointer (it decides nothing otherwise). */
  tip: number | undefined;
}

/** What an append does: write on a branch at its tip, point at an identical run already there, or fork a new branch. */
export type AppendDecision =
  | { kind: "write"; branch: number; pointer: LogPointer }
  | { kind: "existing"; pointer: LogPointer }
  | { kind: "fork"; fork: BranchRecord; pointer: LogPointer };

/**
 * The branches an append at `at` may land on, in the order they are tried: the
 * pointer's own branch, then its children forked exactly at the pointer (an
 * earlier append at the same pointer that forked).
 */
export function appendCandidates(threadId: string, branches: ReadonlyMap<number, BranchRecord>, at: LogPointer): BranchRecord[] {
  const start = branches.get(at.branch);
  if (!start) throw new Error(`event store: cannot append at branch ${at.branch} of thread ${threadId}: no such branch`);
  return [start, ...[...branches.values()].filter((b) => b.parent === at.branch && b.forkAt === at.length)];
}

/**
 * Where an append of `events` at `at` goes (the header's rules), given what the
 * store found on each of `appendCandidates` in order and every branch record of
 * the thread: the first candidate at its tip takes the events, the first that
 * already holds exactly them is pointed at, and otherwise a new branch forks at
 * the pointer. A candidate that ends before the pointer is refused.
 */
export function decideAppend(
  threadId: string,
  branches: ReadonlyMap<number, BranchRecord>,
  at: LogPointer,
  events: readonly StoreEvent[],
  candidates: readonly AppendCandidate[],
): AppendDecision {
  const end = at.length + events.length;
  for (const { branch, stored, tip } of candidates) {
    if (stored.length === 0) {
      if (tip === undefined)
        throw new Error(`event store: branch ${branch.branch} of thread ${threadId} has nothing at ${at.length}, and its tip was not read`);
      if (tip === at.length) return { kind: "write", branch: branch.branch, pointer: { branch: branch.branch, length: end } };
      if (tip < at.length) throw beyondTip(threadId, at, tip);
    }
    if (sameEvents(stored, events)) return { kind: "existing", pointer: { branch: branch.branch, length: end } };
  }
  const fork: BranchRecord = { branch: Math.max(...branches.keys()) + 1, parent: at.branch, forkAt: at.length };
  return { kind: "fork", fork, pointer: { branch: fork.branch, length: end } };
}
