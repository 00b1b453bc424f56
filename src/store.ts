/**
 * A store opened on a SQLite file or on PostgreSQL (DATABASE_URL): its graph,
 * its thread, and the operations the CLI, the workers and tests run on it.
 * Everything that writes takes the store's lease.
 */
import type Database from "better-sqlite3";
import { Command, GraphRecursionError, type BaseCheckpointSaver, type BaseStore, type StateSnapshot } from "@langchain/langgraph";
import { APPROVAL_GATE, decisionEvent, decisionEventId, type Decision } from "./approval_gate.js";
import type { Approval } from "./domain/world.js";
import type { RunnableConfig } from "@langchain/core/runnables";
import { validateInput, type RejectedInput } from "./domain/validation.js";
import { compileStoreGraph, type StoreGraph } from "./graph.js";
import { SqliteStore } from "./memory/sqlite_store.js";
import { sqliteMeta, type StoreMeta } from "./persistence/backend.js";
import { connectPostgres, type PostgresBackend } from "./persistence/postgres.js";
import { PruneError, pruneCheckpoints, type PruneOptions, type PruneResult } from "./persistence/prune.js";
import { ShopstateSaver } from "./persistence/saver.js";
import { openDatabase, sqliteSaver } from "./persistence/sqlite.js";
import { threadIdFor, validateStoreName, type StoreRecord } from "./persistence/stores.js";
import { recordNewSteps } from "./timetravel/steps.js";
import { eventLog, WHOLE_SNAPSHOT_FREQUENCY, type State } from "./state.js";
import { eventFingerprint, type StoreEvent } from "./domain/events.js";

export class UsageError extends Error {
  override name = "UsageError";
}

export interface StoreSession {
  name: string;
  threadId: string;
  /** The store registry, write lease, tags and history lines (SQLite tables or PostgreSQL ones). */
  meta: StoreMeta;
  /** The SQLite connection, on a store opened on a SQLite file (prune and the benchmark need it). */
  db?: Database.Database;
  saver: BaseCheckpointSaver;
  /** The agents' knowledge store (customer facts), beside the checkpoints. */
  knowledge: BaseStore;
  graph: StoreGraph;
  /** The thread's config. The saver writes the store name into every checkpoint's metadata. */
  config: RunnableConfig;
  close(): void | Promise<void>;
}

/** A store opened on its SQLite file. */
export type SqliteStoreSession = StoreSession & { db: Database.Database; close(): void };

/** Refuses a store name that is not allowed, as a usage error saying why. */
export function assertStoreName(name: string): void {
  const problem = validateStoreName(name);
  if (problem) throw new UsageError(problem);
}

/** Where the stores live: a SQLite file, or PostgreSQL when DATABASE_URL is set. */
export type StoreLocation = { dbPath: string; databaseUrl?: undefined } | { databaseUrl: string };

/** Opens a store where the configuration says (PostgreSQL with a URL, else the SQLite file); `close` releases it all. */
export async function openStoreAt(location: StoreLocation, name: string): Promise<StoreSession> {
  if (location.databaseUrl === undefined) return openStore(location.dbPath, name);
  assertStoreName(name);
  const backend = await connectPostgres(location.databaseUrl);
  const session = openPostgresStore(backend, name);
  return { ...session, close: () => backend.close() };
}

/**
 * A store on a PostgreSQL connection that several stores share (a worker's):
 * closing the session leaves the connection open.
 */
export function openPostgresStore(backend: PostgresBackend, name: string): StoreSession {
  assertStoreName(name);
  const threadId = threadIdFor(name);
  backend.saver.names.set(threadId, name);
  return {
    name,
    threadId,
    meta: backend.meta,
    saver: backend.saver,
    knowledge: backend.knowledge,
    // The PostgreSQL saver stores channel values whole: snapshot delta channels at LangGraph's cadence, as on the server.
    graph: compileStoreGraph({ checkpointer: backend.saver, store: backend.knowledge, snapshotFrequency: WHOLE_SNAPSHOT_FREQUENCY }),
    config: { configurable: { thread_id: threadId } },
    close: () => undefined,
  };
}

export function openStore(dbPath: string, name: string): SqliteStoreSession {
  assertStoreName(name);
  const db = openDatabase(dbPath);
  const threadId = threadIdFor(name);
  const saver = sqliteSaver(db, new Map([[threadId, name]]));
  // The customer knowledge base lives in the same file, in its own tables.
  const knowledge = new SqliteStore(db);
  return {
    name,
    threadId,
    meta: sqliteMeta(db, dbPath, saver),
    db,
    saver,
    knowledge,
    graph: compileStoreGraph({ checkpointer: saver, store: knowledge }),
    config: { configurable: { thread_id: threadId } },
    close: () => {
      db.close();
    },
  };
}

export function storeRecord(session: StoreSession): Promise<StoreRecord | undefined> {
  return session.meta.findStore(session.name);
}

export interface RunOptions {
  approvalThresholdCents: number;
  maxSteps: number;
  /** How long to wait for another writer of the same store. */
  waitMs?: number;
  /**
   * When checkpoints reach the disk (LangGraph's `durability`). Default "sync":
   * each is written before the next superstep starts, so a killed process loses
   * at most the step in flight; the other modes are for measuring its cost.
   */
  durability?: "sync" | "async" | "exit";
}

export interface IngestOptions extends RunOptions {
  batchSize: number;
  /** Recorded when this ingest creates the store. */
  origin?: string;
  source: string;
  onProgress?: (done: number, total: number) => void;
  /** Groups lines into batches; defaults to fixed-size batches. */
  batches?: (lines: InputLine[]) => InputLine[][];
}

export interface InputLine {
  line: number;
  text: string;
}

export interface IngestResult {
  received: number;
  accepted: number;
  duplicates: number;
  rejected: RejectedInput[];
  /** True when a run stopped at the step limit; the next run picks up where it stopped. */
  stepLimitHit: boolean;
  eventCount: number;
  pendingApprovals: number;
  checkpointId: string;
}

/**
 * Appends input lines to the store and runs the team until quiet, batch by batch.
 *
 * Restartable: a run a killed process left unfinished is finished first from
 * its last checkpoint (the pending writes of its finished tasks are kept; new
 * input would make LangGraph drop them), then lines already in the log are
 * skipped without a run. Batches are cut from the whole input before that, so
 * a restart sends the same batches as an uninterrupted run would (a batch
 * enters the log whole: its input checkpoint is one write).
 */
export async function ingestLines(session: StoreSession, lines: InputLine[], options: IngestOptions): Promise<IngestResult> {
  return withLease(session, options.waitMs, async () => {
    await session.meta.registerStore(session.name, options.origin);
    const result = { received: 0, accepted: 0, duplicates: 0, rejected: [] as RejectedInput[], stepLimitHit: false };
    const finished = await finishInterruptedRun(session, options);
    result.stepLimitHit = finished.stepLimitHit;
    const log = finished.events;
    const batches = options.batches ? options.batches(lines) : chunk(lines, options.batchSize);
    let done = 0;
    // A run paused at the approval gate is resumed (its approvals left pending) only when new input follows.
    let paused = finished.paused;
    for (const batch of batches) {
      const fresh = batch.filter((l) => !alreadyLogged(log, l.text, options.source));
      result.received += batch.length - fresh.length;
      result.duplicates += batch.length - fresh.length;
      done += batch.length;
      if (fresh.length === 0) {
        options.onProgress?.(done, lines.length);
        continue;
      }
      if (paused) result.stepLimitHit ||= (await runGraph(session, LEAVE_PENDING, options)).stepLimitHit;
      const input = { inbox: fresh.map((l) => l.text), inboxOrigin: { source: options.source, lines: fresh.map((l) => l.line) } };
      const outcome = await runGraph(session, input, options);
      result.stepLimitHit ||= outcome.stepLimitHit;
      paused = outcome.paused;
      const report = outcome.values.lastIngest;
      if (report) {
        result.received += report.received;
        result.accepted += report.accepted;
        result.duplicates += report.duplicates;
        result.rejected.push(...report.rejected);
      }
      options.onProgress?.(done, lines.length);
    }
    const snapshot = await session.graph.getState(session.config);
    const values = snapshot.values as State;
    return {
      ...result,
      eventCount: values.events?.length ?? 0,
      pendingApprovals: Object.values(values.approvals ?? {}).filter((a) => a.status === "pending").length,
      checkpointId: String(snapshot.config.configurable?.checkpoint_id ?? ""),
    };
  });
}

/**
 * Whether a line is an event the log already holds, the same in type, time and
 * data (as `ingest` judges a duplicate). Anything else, a bad line or an id
 * reused for another event, goes to `ingest` to be decided and reported there.
 * The log's id index makes this O(1) per line.
 */
function alreadyLogged(log: readonly StoreEvent[], text: string, source: string): boolean {
  const checked = validateInput(text, source);
  if (!checked.ok) return false;
  const position = eventLog.positionOf(log, checked.event.id);
  return position >= 0 && eventFingerprint(log[position]) === eventFingerprint(checked.event);
}

/** Resuming the approval gate with no decisions: its approvals stay pending. */
const LEAVE_PENDING = new Command({ resume: { decisions: [] } });

/** Whether the thread is paused at the approval gate, waiting for decisions. */
export function pausedAtGate(snapshot: StateSnapshot): boolean {
  return snapshot.tasks.some((t) => t.name === APPROVAL_GATE && t.interrupts.length > 0);
}

/**
 * Runs a paused or interrupted run to its end: a run paused at the approval
 * gate is resumed with no decisions (its approvals stay pending), any other
 * is continued from its last checkpoint. Returns whether it hit the step limit.
 */
export async function finishPendingRun(session: StoreSession, options: RunOptions): Promise<boolean> {
  const snapshot = await session.graph.getState(session.config);
  if (!unfinished(snapshot)) return false;
  return (await runGraph(session, pausedAtGate(snapshot) ? LEAVE_PENDING : null, options)).stepLimitHit;
}

/**
 * Continues a run that stopped before its end (a killed process, the step
 * limit) from its last checkpoint, with `invoke(null)`: tasks whose writes
 * were saved are not run again. A pause at the approval gate is left as it is.
 */
export async function finishInterruptedRun(session: StoreSession, options: RunOptions): Promise<{ stepLimitHit: boolean; paused: boolean; events: StoreEvent[] }> {
  const snapshot = await session.graph.getState(session.config);
  const values = snapshot.values as State;
  if (!unfinished(snapshot) || pausedAtGate(snapshot)) return { stepLimitHit: false, paused: pausedAtGate(snapshot), events: values.events ?? [] };
  const outcome = await runGraph(session, null, options);
  return { stepLimitHit: outcome.stepLimitHit, paused: outcome.paused, events: outcome.values.events ?? [] };
}

/**
 * Whether the head checkpoint has a superstep to finish. Not `snapshot.next`:
 * it leaves out tasks whose writes were saved, so a process killed after every
 * task of a step finished but before the step's checkpoint would look done,
 * and that step's writes would never be applied (found by `npm run chaos`).
 */
function unfinished(snapshot: StateSnapshot): boolean {
  return snapshot.tasks.length > 0;
}

interface RunOutcome {
  values: State;
  stepLimitHit: boolean;
  /** The run ended paused at the approval gate. */
  paused: boolean;
}

async function runGraph(session: StoreSession, input: Partial<State> | Command | null, options: RunOptions): Promise<RunOutcome> {
  const outcome = await invokeGraph(session, input, options);
  // The run's checkpoints get their history lines now, while our SQLite saver still has their states in memory (a failed
  // run's get them when read). Other savers (PostgreSQL's) cache no states: history computes their lines on first read.
  if (session.saver instanceof ShopstateSaver) await recordNewSteps({ ...session, saver: session.saver });
  return outcome;
}

async function invokeGraph(session: StoreSession, input: Partial<State> | Command | null, options: RunOptions): Promise<RunOutcome> {
  try {
    const values = (await session.graph.invoke(input as never, {
      ...session.config,
      // A lost write lease stops the run at its next step (see withLease).
      signal: leaseLost.get(session),
      // See RunOptions.durability and README, "Crashes and concurrent writers".
      durability: options.durability ?? "sync",
      recursionLimit: options.maxSteps,
      // Every traced run of this invocation (agents' model calls included) is searchable by store (docs/eval.md).
      metadata: { store: session.name },
      context: { approvalThresholdCents: options.approvalThresholdCents, model: undefined },
    })) as State & { __interrupt__?: unknown[] };
    return { values, stepLimitHit: false, paused: (values.__interrupt__?.length ?? 0) > 0 };
  } catch (error) {
    // A lost lease's abort is reported by withLease, with why.
    if (!(error instanceof GraphRecursionError)) throw error;
    return { values: (await session.graph.getState(session.config)).values as State, stepLimitHit: true, paused: false };
  }
}

export interface DecideResult {
  /** The decisions as the services settled them: approved (refund processed) or denied, or still pending if refused. */
  approvals: Approval[];
  rejected: RejectedInput[];
  stepLimitHit: boolean;
  /** True when the decisions resumed a run paused at the approval gate. */
  resumed: boolean;
}

/**
 * Records people's decisions on pending approvals as ApprovalDecided events:
 * by resuming the run paused at the gate, or as ordinary input when nothing
 * is paused. Either way the services then process or reject each refund.
 */
export async function decideApprovals(session: StoreSession, decisions: Decision[], options: RunOptions): Promise<DecideResult> {
  return withLease(session, options.waitMs, async () => {
    // A decision command killed mid-run may have recorded some decisions already: finish its run, then judge.
    const finished = await finishInterruptedRun(session, options);
    const snapshot = await session.graph.getState(session.config);
    const before = snapshot.values as State;
    const toRecord: Decision[] = [];
    for (const d of decisions) {
      const approval = before.approvals?.[d.approvalId];
      if (approval?.status === "pending") {
        toRecord.push(d);
        continue;
      }
      // The same decision by the same person is already in the log: a retried command, nothing to do.
      if (approval && recordedDecision(before.events ?? [], d)) continue;
      const pending = Object.values(before.approvals ?? {}).filter((a) => a.status === "pending").map((a) => a.id);
      const why = approval ? `it was already ${approval.status}${approval.decidedBy ? ` by ${approval.decidedBy}` : ""}` : "there is no such approval";
      throw new UsageError(`cannot decide approval '${d.approvalId}': ${why} (pending: ${pending.length > 0 ? pending.join(", ") : "none"})`);
    }
    if (toRecord.length === 0) {
      return { approvals: decisions.map((d) => before.approvals[d.approvalId]), rejected: [], stepLimitHit: finished.stepLimitHit, resumed: false };
    }
    const resumed = pausedAtGate(snapshot);
    let stepLimitHit = finished.stepLimitHit;
    let outcome: RunOutcome;
    if (resumed) {
      outcome = await runGraph(session, new Command({ resume: { decisions: toRecord } }), options);
    } else {
      stepLimitHit ||= await finishPendingRun(session, options);
      outcome = await runGraph(session, { inbox: toRecord.map((d) => decisionEvent(d)), inboxOrigin: { source: "approval" } }, options);
    }
    const after = outcome.values;
    return {
      approvals: decisions.map((d) => after.approvals[d.approvalId]),
      rejected: after.lastIngest?.rejected ?? [],
      stepLimitHit: stepLimitHit || outcome.stepLimitHit,
      resumed,
    };
  });
}

/** Whether the log holds this decision (same verdict, same person) for its approval. */
function recordedDecision(log: readonly StoreEvent[], d: Decision): boolean {
  const position = eventLog.positionOf(log, decisionEventId(d.approvalId));
  if (position < 0) return false;
  const event = log[position];
  return event.type === "ApprovalDecided" && event.data.decision === d.decision && event.data.by === d.by;
}

/** The lease signal of each session's write in progress, for the graph runs in it (`invokeGraph`). */
const leaseLost = new WeakMap<StoreSession, AbortSignal>();

/**
 * Runs `work` holding the store's write lease (one writer per store, SPEC §6). If the lease is lost meanwhile, the
 * session's graph runs abort at their next step (work that invokes a graph itself passes `lost` as its signal) and
 * withLease throws the LeaseLostError: what was checkpointed stays, and the next command resumes from it.
 */
export async function withLease<T>(session: StoreSession, waitMs: number | undefined, work: (lost: AbortSignal) => Promise<T>): Promise<T> {
  const lease = await session.meta.acquireLease(session.name, session.threadId, waitMs ?? 0);
  leaseLost.set(session, lease.lost);
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    const value = await work(lease.lost);
    lease.lost.throwIfAborted();
    outcome = { ok: true, value };
  } catch (caught) {
    // An abort surfaces from LangGraph as its own error: report why instead.
    outcome = { ok: false, error: lease.lost.aborted ? lease.lost.reason : caught };
  } finally {
    leaseLost.delete(session);
  }
  try {
    await lease.release();
  } catch (releaseError) {
    if (outcome.ok) throw releaseError;
    // The work's error is the one to report: a release that also fails is added to it, not put in its place.
    if (outcome.error instanceof Error) outcome.error.message += ` (releasing the write lease of store '${session.name}' also failed: ${(releaseError as Error).message ?? String(releaseError)})`;
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Items in runs of `size`, in order (the last one shorter). */
export function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Deletes a store's checkpoints and its name. */
export async function deleteStore(session: StoreSession, waitMs?: number): Promise<void> {
  // All under the lease: a writer that got in between would write to a store whose name, tags or history lines are going.
  await withLease(session, waitMs, async () => {
    await session.saver.deleteThread(session.threadId);
    await session.meta.forgetStore(session.name);
    await session.meta.forgetTags(session.threadId);
    await session.meta.forgetSteps(session.threadId);
  });
}

/** The store's state values at its head (or an empty state if it has none). */
export async function headValues(session: StoreSession): Promise<{ values: State; checkpointId: string }> {
  const snapshot = await session.graph.getState(session.config);
  return { values: snapshot.values as State, checkpointId: String(snapshot.config.configurable?.checkpoint_id ?? "") };
}

/** Removes the store's old checkpoints (never tagged ones) and reclaims the space; see persistence/prune.ts. */
export async function pruneStore(session: StoreSession, options: PruneOptions, waitMs?: number): Promise<PruneResult> {
  const { saver, db } = session;
  if (!(saver instanceof ShopstateSaver) || !db) {
    throw new UsageError(`prune works on SQLite stores only (it rewrites our SQLite saver's snapshots); store '${session.name}' is in ${session.meta.where}`);
  }
  return withLease(session, waitMs, async () => {
    try {
      return await pruneCheckpoints(db, saver, session.graph, session.threadId, options);
    } catch (error) {
      if (error instanceof PruneError) throw new UsageError(error.message);
      throw error;
    }
  });
}
