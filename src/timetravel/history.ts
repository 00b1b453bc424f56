/**
 * History (SPEC §6): checkpoints newest first, each with who wrote it, the
 * time of the events it handled, its tags and a one-line summary from the
 * diff engine. Reads one page at a time (`limit`, `before`) through
 * `getStateHistory`, so printing ten checkpoints of a long thread loads about
 * ten, not all of them.
 *
 * The list is flat and mixes branches (that is how LangGraph lists a
 * thread); each entry carries its parent, and an entry whose parent is not
 * the next one in the list says where it branched from.
 */
import type { StateSnapshot } from "@langchain/langgraph";
import type { StoreGraph } from "../graph.js";
import type { State } from "../state.js";
import { diffStates, summariseStep } from "./diff.js";
import { checkpointConfig, checkpointIdOf, commonPrefixLength, headTuple, threadConfig, type Timeline } from "./refs.js";
import { tagsByCheckpoint } from "./tags.js";

/** A timeline whose states can be read through the graph. */
export interface GraphTimeline extends Timeline {
  graph: StoreGraph;
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
  const snapshots: StateSnapshot[] = [];
  const before = options.before ? checkpointConfig(timeline.threadId, options.before) : undefined;
  // One extra: the next older checkpoint is usually the last entry's parent and its id neighbour.
  for await (const snapshot of timeline.graph.getStateHistory(threadConfig(timeline.threadId), { limit: limit + 1, before })) snapshots.push(snapshot);
  const page = snapshots.slice(0, limit);
  const older = snapshots[limit];

  const byId = new Map(snapshots.map((s) => [idOf(s), s]));
  const parentOf = async (snapshot: StateSnapshot): Promise<StateSnapshot | undefined> => {
    const parentId = checkpointIdOf(snapshot.parentConfig);
    if (!parentId) return undefined;
    let parent = byId.get(parentId);
    if (!parent) {
      parent = await timeline.graph.getState(checkpointConfig(timeline.threadId, parentId));
      byId.set(parentId, parent);
    }
    return parent;
  };

  const headId = checkpointIdOf((await headTuple(timeline))?.config);
  const tags = timeline.db ? tagsByCheckpoint(timeline.db, timeline.threadId) : new Map<string, string[]>();
  const onBranch = currentBranch(page, headId);
  const entries: HistoryEntry[] = [];
  for (const [i, snapshot] of page.entries()) {
    const id = idOf(snapshot);
    const parent = await parentOf(snapshot);
    const parentId = parent ? idOf(parent) : undefined;
    const values = snapshot.values as State;
    const parentValues = parent?.values as State | undefined;
    const source = String(snapshot.metadata?.source ?? "");
    const writers = writersOf(source, parent, parentValues, values);
    const newerId = i > 0 ? idOf(page[i - 1]) : options.before;
    const olderId = i + 1 < page.length ? idOf(page[i + 1]) : older ? idOf(older) : undefined;
    const followsOlder = parentId === undefined || parentId === olderId;
    const branchedFrom = writers[0] === "rollback" || !followsOlder ? parentId : undefined;
    entries.push({
      checkpointId: id,
      shortId: shortIdOf(id, [newerId, olderId]),
      parentId,
      step: Number(snapshot.metadata?.step ?? 0),
      source,
      writers,
      at: eventTime(parentValues, values),
      createdAt: snapshot.createdAt,
      tags: tags.get(id) ?? [],
      // An input checkpoint holds the run's input as pending writes, not yet in the state.
      summary: source === "input" ? "input: a run starts" : summariseStep(parentValues, values, writers),
      next: [...snapshot.next],
      head: id === headId,
      onCurrentBranch: onBranch ? onBranch.has(id) : undefined,
      branchedFrom,
      branchedFromTags: branchedFrom ? (tags.get(branchedFrom) ?? []) : undefined,
    });
  }
  return { entries, nextBefore: older && page.length > 0 ? idOf(page[page.length - 1]) : undefined };
}

function idOf(snapshot: StateSnapshot): string {
  return checkpointIdOf(snapshot.config) as string;
}

/** The head and its ancestors within the page, when the page holds the head. */
function currentBranch(page: readonly StateSnapshot[], headId: string | undefined): Set<string> | undefined {
  if (!headId || !page.some((s) => idOf(s) === headId)) return undefined;
  const parents = new Map(page.map((s) => [idOf(s), checkpointIdOf(s.parentConfig)]));
  const branch = new Set<string>();
  for (let id: string | undefined = headId; id && parents.has(id); id = parents.get(id)) branch.add(id);
  return branch;
}

/**
 * Who wrote a checkpoint: the parent's tasks ran and produced it. An update
 * that changes nothing is a rollback (`updateState` on a past checkpoint).
 */
function writersOf(source: string, parent: StateSnapshot | undefined, parentValues: State | undefined, values: State): string[] {
  if (source === "input") return ["input"];
  // LangGraph's `__start__` task is the step that takes a run's input.
  if (source === "loop") return parent ? parent.tasks.map((t) => (t.name === "__start__" ? "start" : t.name)) : [];
  if (source === "update") {
    if (!parentValues) return ["update"];
    const diff = diffStates(parentValues, values);
    const same = diff.entities.length === 0 && diff.events.added.length === 0 && diff.events.removed.length === 0;
    return [same ? "rollback" : "update"];
  }
  return source ? [source] : [];
}

function eventTime(parentValues: State | undefined, values: State): string | undefined {
  const log = values.events ?? [];
  const added = log.slice(parentValues?.events?.length ?? 0);
  const times = (added.length > 0 ? added : log.slice(-1)).map((e) => e.at);
  return times.length > 0 ? times.reduce((a, b) => (a > b ? a : b)) : undefined;
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
