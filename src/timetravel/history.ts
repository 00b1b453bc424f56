/**
 * History (docs/time-travel.md): checkpoints newest first, each with who wrote it, the
 * time of the events it handled, its tags and a one-line summary from the
 * diff engine. Reads one page at a time (`limit`, `before`) of checkpoint
 * headers (ids, parents, metadata; no states) and each checkpoint's stored
 * line (`steps.ts`), so a page costs the same at any depth; a line not stored
 * yet is computed from the states once.
 *
 * The list is flat and mixes branches (that is how LangGraph lists a
 * thread); each entry carries its parent, and an entry whose parent is not
 * the next one in the list says where it branched from.
 */
import type { CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import type { EventStore } from "../persistence/event_store.js";
import type { StoreGraph } from "../graph.js";
import type { CheckpointHeader } from "../persistence/sqlite_headers.js";
import { checkpointConfig, checkpointIdOf, commonPrefixLength, threadConfig, type Timeline } from "./refs.js";
import { computeSteps, type StepRecord } from "./steps.js";
import { tagsByCheckpoint } from "../persistence/backend.js";

/** A timeline whose states can be read through the graph. */
export interface GraphTimeline extends Timeline {
  graph: StoreGraph;
  /** The event store holding the store's log (history lines read the events between checkpoints). */
  events: EventStore;
}

export interface HistoryEntry {
  checkpointId: string;
  /** The shortest prefix of the id that no other checkpoint of the store shares (at least 8 characters). */
  shortId: string;
  parentId?: string;
  step: number;
  /** `input` (a run took input), `loop` (a superstep), `update` (a rollback or an import), `fork`. */
  source: string;
  /** The nodes that wrote this checkpoint (one per task), or `input` / `rollback` / `update`. */
  writers: string[];
  /** Time of the triggering event: the newest event the step appended, else the newest in the log. */
  at?: string;
  createdAt?: string;
  tags: string[];
  summary: string;
  /** Nodes that run next from here (empty at the end of a run). */
  next: string[];
  head: boolean;
  /** True when the entry is an ancestor of the head (or the head); unknown on pages that do not reach the head. */
  onCurrentBranch?: boolean;
  /** Set when the entry does not simply follow the next older entry: a rollback, or the first step of a branch. */
  branchedFrom?: string;
  /** The tags of `branchedFrom`, which may be far down the list. */
  branchedFromTags?: string[];
}

export interface HistoryPage {
  entries: HistoryEntry[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  nextBefore?: string;
}

/** Shortest id prefix shown, so ids line up and look alike. */
const MIN_SHORT_ID = 8;

export async function historyPage(timeline: GraphTimeline, options: { limit: number; before?: string }): Promise<HistoryPage> {
  const limit = Math.max(1, Math.floor(options.limit));
  // One extra: the next older checkpoint is usually the last entry's parent and its id neighbour.
  const headers = await headersOf(timeline, { limit: limit + 1, before: options.before });
  const page = headers.slice(0, limit);
  const older = headers[limit];
  const records = await recordsOf(timeline, page);

  const headId = options.before === undefined && headers.length > 0 ? headers[0].checkpointId : (await headersOf(timeline, { limit: 1 }))[0]?.checkpointId;
  const tags = timeline.meta ? await tagsByCheckpoint(timeline.meta, timeline.threadId) : new Map<string, string[]>();
  const onBranch = currentBranch(page, headId);
  const entries: HistoryEntry[] = [];
  for (const [i, header] of page.entries()) {
    const id = header.checkpointId;
    const { parentId } = header;
    const record = records.get(id) as StepRecord;
    const newerId = i > 0 ? page[i - 1].checkpointId : options.before;
    const olderId = i + 1 < page.length ? page[i + 1].checkpointId : older?.checkpointId;
    const followsOlder = parentId === undefined || parentId === olderId;
    const branchedFrom = record.writers[0] === "rollback" || !followsOlder ? parentId : undefined;
    entries.push({
      checkpointId: id,
      shortId: shortIdOf(id, [newerId, olderId]),
      parentId,
      step: Number(header.metadata?.step ?? 0),
      source: String(header.metadata?.source ?? ""),
      writers: record.writers,
      at: record.at,
      createdAt: header.createdAt,
      tags: tags.get(id) ?? [],
      summary: record.summary,
      next: record.next,
      head: id === headId,
      onCurrentBranch: onBranch ? onBranch.has(id) : undefined,
      branchedFrom,
      branchedFromTags: branchedFrom ? (tags.get(branchedFrom) ?? []) : undefined,
    });
  }
  return { entries, nextBefore: older && page.length > 0 ? page[page.length - 1].checkpointId : undefined };
}

/** Checkpoints newest first without their states: from the backend's rows (our SQLite saver's, PostgreSQL's), else any saver's `list`. */
async function headersOf(timeline: GraphTimeline, options: { limit: number; before?: string }): Promise<CheckpointHeader[]> {
  if (timeline.meta?.listHeaders) return timeline.meta.listHeaders(timeline.threadId, options);
  const before = options.before ? checkpointConfig(timeline.threadId, options.before) : undefined;
  const headers: CheckpointHeader[] = [];
  for await (const tuple of timeline.saver.list(threadConfig(timeline.threadId), { limit: options.limit, before })) {
    headers.push({
      checkpointId: checkpointIdOf(tuple.config) as string,
      parentId: checkpointIdOf(tuple.parentConfig),
      metadata: tuple.metadata ?? ({} as CheckpointMetadata),
      createdAt: tuple.checkpoint.ts,
    });
  }
  return headers;
}

/**
 * The history lines of a page: stored ones (kept beside the checkpoints, in
 * SQLite or PostgreSQL), the rest computed from the states and stored for next time.
 */
async function recordsOf(timeline: GraphTimeline, page: readonly CheckpointHeader[]): Promise<Map<string, StepRecord>> {
  const meta = timeline.meta;
  const records = meta
    ? await meta.storedSteps(
        timeline.threadId,
        page.map((h) => h.checkpointId),
      )
    : new Map<string, StepRecord>();
  const missing = page.filter((h) => !records.has(h.checkpointId));
  const computed = await computeSteps(timeline, missing);
  if (meta) await meta.storeSteps(timeline.threadId, computed);
  for (const [id, record] of computed) records.set(id, record);
  return records;
}

/** The head and its ancestors within the page, when the page holds the head. */
function currentBranch(page: readonly CheckpointHeader[], headId: string | undefined): Set<string> | undefined {
  if (!headId || !page.some((h) => h.checkpointId === headId)) return undefined;
  const parents = new Map(page.map((h) => [h.checkpointId, h.parentId]));
  const branch = new Set<string>();
  for (let id: string | undefined = headId; id && parents.has(id); id = parents.get(id)) branch.add(id);
  return branch;
}

/**
 * Ids sort by time, so the checkpoints sharing the longest prefix with an id
 * are its neighbours in the list: one character more than the longer common
 * prefix with either neighbour is unique in the whole store.
 */
export function shortIdOf(id: string, neighbours: readonly (string | undefined)[]): string {
  const shared = Math.max(0, ...neighbours.filter((n): n is string => n !== undefined).map((n) => commonPrefixLength(id, n)));
  const length = Math.max(MIN_SHORT_ID, shared + 1);
  // A prefix never ends at a dash: one more character reads better and is as unique.
  return id.slice(0, id[length - 1] === "-" ? length + 1 : length);
}
