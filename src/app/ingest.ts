/**
 * `shopstate ingest`: appends input lines to a store and runs the team until
 * quiet, batch by batch, restartably.
 */
import { eventFingerprint } from "../domain/events.js";
import { MAX_INPUT_BYTES, type RejectedInput } from "../domain/validation.js";
import { withLease } from "./lease.js";
import { finishInterruptedRun, headValues, LEAVE_PENDING, runGraph, type RunOptions } from "./run.js";
import { assertCurrentLayout, logOf, type StoreSession } from "./session.js";

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
 *
 * Each line is parsed once, here: the graph's inbox gets the parsed value
 * (`ingest` validates it), or the text itself when it is not JSON, so that
 * `ingest` reports it with the same reason as any other bad line.
 */
export async function ingestLines(session: StoreSession, lines: InputLine[], options: IngestOptions): Promise<IngestResult> {
  return withLease(session, options.waitMs, async (lost) => {
    await assertCurrentLayout(session);
    await session.meta.registerStore(session.name, options.origin);
    const result = { received: 0, accepted: 0, duplicates: 0, rejected: [] as RejectedInput[], stepLimitHit: false };
    const finished = await finishInterruptedRun(session, options, lost);
    result.stepLimitHit = finished.stepLimitHit;
    const log = logOf(session, finished.values);
    const batches = options.batches ? options.batches(lines) : chunk(lines, options.batchSize);
    let done = 0;
    // A run paused at the approval gate is resumed (its approvals left pending) only when new input follows.
    let paused = finished.paused;
    for (const batch of batches) {
      const parsed = batch.map((l) => ({ ...l, value: parseLine(l.text) }));
      const logged = await log.store.findIds(
        log.threadId,
        log.at,
        parsed.flatMap((l) => idOf(l.value) ?? []),
      );
      const fresh = parsed.filter((l) => !alreadyLogged(l.value, logged));
      result.received += batch.length - fresh.length;
      result.duplicates += batch.length - fresh.length;
      done += batch.length;
      if (fresh.length === 0) {
        options.onProgress?.(done, lines.length);
        continue;
      }
      if (paused) result.stepLimitHit ||= (await runGraph(session, LEAVE_PENDING, options, lost)).stepLimitHit;
      const input = { inbox: fresh.map((l) => l.value), inboxOrigin: { source: options.source, lines: fresh.map((l) => l.line) } };
      const outcome = await runGraph(session, input, options, lost);
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
    const { values, checkpointId } = await headValues(session);
    return {
      ...result,
      eventCount: values.log?.length ?? 0,
      pendingApprovals: Object.values(values.approvals ?? {}).filter((a) => a.status === "pending").length,
      checkpointId,
    };
  });
}

/**
 * Deeper than this, a line goes to the graph as its text: the checkpointer's
 * serializer recurses once per level, and 20,000 nested arrays overflow its
 * stack (tests/hostile.inputs.test.ts). `ingest` parses the text and rejects
 * it with the same reason. A valid event nests four levels.
 */
const MAX_INBOX_DEPTH = 32;

/** A line's JSON value, or its text when it is not JSON, too long, a JSON string or too deep (ingest rejects it with the reason). */
function parseLine(text: string): unknown {
  if (Buffer.byteLength(text, "utf8") > MAX_INPUT_BYTES) return text;
  try {
    const value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
    // A JSON string would read as a line's text in the inbox; a deep value would overflow the serializer.
    return typeof value === "string" || nestedDeeperThan(value, MAX_INBOX_DEPTH) ? text : value;
  } catch {
    return text;
  }
}

/** Whether a JSON value has more than `limit` levels of arrays and objects (level by level, without recursion). */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > limit) return true;
    level = level.flatMap((v) => (v !== null && typeof v === "object" ? Object.values(v) : []));
  }
  return false;
}

function idOf(value: unknown): string | undefined {
  const id = value !== null && typeof value === "object" ? (value as { id?: unknown }).id : undefined;
  return typeof id === "string" ? id : undefined;
}

/**
 * Whether a line is an event the log already holds, the same in type, time and
 * data (as `ingest` judges a duplicate). Anything else, a bad line or an id
 * reused for another event, goes to `ingest` to be decided and reported there.
 */
function alreadyLogged(value: unknown, logged: ReadonlyMap<string, { event: Parameters<typeof eventFingerprint>[0] }>): boolean {
  const id = idOf(value);
  const found = id === undefined ? undefined : logged.get(id);
  if (!found) return false;
  const { type, at, data } = value as { type?: unknown; at?: unknown; data?: unknown };
  return eventFingerprint({ type, at, data } as Parameters<typeof eventFingerprint>[0]) === eventFingerprint(found.event);
}

/** Items in runs of `size`, in order (the last one shorter). */
export function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
