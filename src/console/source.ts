/**
 * Where the console reads and writes a store (docs/console.md): the CLI's
 * database (db_source.ts) or a LangGraph server (server_source.ts). Pages and
 * JSON routes only see this interface, so they never know which one serves them.
 */
import type { Decision } from "../nodes/approval_gate.js";
import type { Approval } from "../domain/world.js";
import type { StoreLog } from "../persistence/store_log.js";
import type { RejectedInput } from "../domain/validation.js";
import type { State } from "../state.js";
import type { HistoryPage } from "../timetravel/history.js";
import type { StateDiff } from "../timetravel/diff.js";

export interface StoreListing {
  name: string;
  /** Extra facts shown beside the name (checkpoints, origin, creation time). */
  detail: string;
}

/** A store's state at one checkpoint and the log it points at. */
export interface Snapshot {
  values: Partial<State>;
  checkpointId: string;
  log: StoreLog;
}

export interface Decided {
  approvals: Approval[];
  rejected: Pick<RejectedInput, "source" | "line" | "reason">[];
}

export interface ConsoleSource {
  /** `database` (shopstate ui) or `server` (the LangGraph server's app). */
  readonly kind: "database" | "server";
  /** Where the stores are, for the page footer (a path or a URL without password). */
  readonly where: string;
  /** The store shown when the request names none. */
  defaultStore(): Promise<string>;
  stores(): Promise<StoreListing[]>;
  /** The state at the head, or at `at` (an id, unique prefix, tag or head~N). */
  snapshot(store: string, at?: string): Promise<Snapshot>;
  history(store: string, page: { limit: number; before?: string }): Promise<HistoryPage>;
  /** What changed from `from` to `to`, with both checkpoint ids resolved. */
  diff(store: string, from: string, to: string): Promise<{ from: string; to: string; diff: StateDiff }>;
  tag(store: string, label: string, at: string): Promise<{ label: string; checkpointId: string }>;
  rollback(store: string, at: string): Promise<{ from: string; newHead: string; previousHead?: string }>;
  decide(store: string, decisions: Decision[]): Promise<Decided>;
  close(): Promise<void>;
}

/** The store does not exist, or a ref names no checkpoint: a 404 with this message. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** This source cannot do that (e.g. tags on a LangGraph server): a 501 with this message. */
export class UnsupportedError extends Error {
  override name = "UnsupportedError";
}
