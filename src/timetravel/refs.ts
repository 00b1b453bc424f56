/**
 * References to checkpoints (docs/time-travel.md): a full id, a unique id prefix, a tag,
 * `head`, or `head~N` (N steps back along the parent chain from the current
 * head, so after a rollback it follows the new branch).
 *
 * Only public saver calls: `getTuple` and `list(config, {limit, before})`.
 * Checkpoint ids are UUIDv6, which sort by time as strings, and every saver
 * lists newest first and treats `before` as "ids smaller than this one". So
 * the ids starting with a prefix P are the newest ones below `P~` ('~' sorts
 * after every hex digit and '-'): two of them mean ambiguous, none means not
 * found, and no reference ever scans the whole thread.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { StoreMeta } from "../persistence/backend.js";
import { UsageError } from "../errors.js";

/** What a reference is resolved in: one store's checkpoints and, when it has them, its tags (and cheap checkpoint headers). */
export interface Timeline {
  saver: BaseCheckpointSaver;
  threadId: string;
  meta?: StoreMeta;
}

export interface ResolvedRef {
  checkpointId: string;
  /** The checkpoint's config, ready for getState / updateState / invoke. */
  config: RunnableConfig;
}

/** A reference that names no checkpoint (exit 2): says what was not found and what is close. */
export class RefNotFoundError extends UsageError {
  override name = "RefNotFoundError";
  constructor(
    readonly ref: string,
    message: string,
    readonly closeMatches: string[] = [],
  ) {
    super(closeMatches.length > 0 ? `${message}; close matches: ${closeMatches.join(", ")}` : message);
  }
}

/** Shortest prefix accepted, so a typo of two characters does not silently pick a checkpoint. */
export const MIN_PREFIX = 4;
const AFTER_EVERY_ID_CHAR = "~";
const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkpointConfig(threadId: string, checkpointId: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: "", checkpoint_id: checkpointId } };
}

export function threadConfig(threadId: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: "" } };
}

export function checkpointIdOf(config: RunnableConfig | undefined): string | undefined {
  const id = config?.configurable?.checkpoint_id;
  return typeof id === "string" ? id : undefined;
}

/** Resolves a reference to a checkpoint of the timeline, or throws RefNotFoundError. */
export async function resolveRef(timeline: Timeline, ref: string): Promise<ResolvedRef> {
  const text = ref.trim();
  const found = (checkpointId: string): ResolvedRef => ({ checkpointId, config: checkpointConfig(timeline.threadId, checkpointId) });

  const back = /^head(?:~(\d+))?$/i.exec(text);
  if (back) return found(await walkBack(timeline, Number(back[1] ?? 0), text));

  const tag = await timeline.meta?.findTag(timeline.threadId, text);
  if (tag) return found(tag.checkpointId);

  const id = text.toLowerCase();
  if (FULL_ID.test(id)) {
    const tuple = await timeline.saver.getTuple(checkpointConfig(timeline.threadId, id));
    if (tuple) return found(id);
    throw new RefNotFoundError(ref, `no checkpoint ${id} in this store`, await closeMatches(timeline, text));
  }
  if (/^[0-9a-f-]+$/.test(id) && id.length >= MIN_PREFIX) {
    const matches = await idsWithPrefix(timeline, id, 2);
    if (matches.length === 1) return found(matches[0]);
    if (matches.length > 1) {
      const more = await idsWithPrefix(timeline, id, 5);
      throw new RefNotFoundError(
        ref,
        `checkpoint prefix '${id}' is ambiguous: it matches ${more.length >= 5 ? "5 or more" : more.length} checkpoints (give more characters)`,
        more,
      );
    }
    throw new RefNotFoundError(ref, `no checkpoint id starts with '${id}' in this store`, await closeMatches(timeline, text));
  }
  const kind = /^[0-9a-f-]+$/.test(id)
    ? `'${text}' is too short for an id prefix (at least ${MIN_PREFIX} characters) and is not a tag`
    : `no tag, checkpoint id or head~N named '${text}'`;
  throw new RefNotFoundError(ref, kind, await closeMatches(timeline, text));
}

/** The newest checkpoint of the thread, or undefined for an empty store. */
export async function headTuple(timeline: Timeline): Promise<CheckpointTuple | undefined> {
  return timeline.saver.getTuple(threadConfig(timeline.threadId));
}

async function walkBack(timeline: Timeline, steps: number, ref: string): Promise<string> {
  const head = await headTuple(timeline);
  if (!head) throw new RefNotFoundError(ref, "the store has no checkpoints yet");
  let tuple: CheckpointTuple = head;
  for (let i = 0; i < steps; i++) {
    const parent: RunnableConfig | undefined = tuple.parentConfig;
    const next: CheckpointTuple | undefined = parent ? await timeline.saver.getTuple(parent) : undefined;
    if (!next)
      throw new RefNotFoundError(ref, `${ref} goes past the first checkpoint: the current branch has only ${i + 1} checkpoint(s) (head~0 to head~${i})`);
    tuple = next;
  }
  return checkpointIdOf(tuple.config) as string;
}

/** Up to `limit` checkpoint ids of the thread that start with `prefix`, newest first. */
export async function idsWithPrefix(timeline: Timeline, prefix: string, limit: number): Promise<string[]> {
  return (await idsBefore(timeline, prefix + AFTER_EVERY_ID_CHAR, limit)).filter((id) => id.startsWith(prefix));
}

/**
 * Up to `limit` checkpoint ids below `before`, newest first: from the
 * backend's headers when it has them (no states loaded, ids compared by code
 * point whatever the database's collation), else from the saver's `list`.
 */
async function idsBefore(timeline: Timeline, before: string, limit: number): Promise<string[]> {
  if (timeline.meta?.listHeaders) return (await timeline.meta.listHeaders(timeline.threadId, { limit, before })).map((h) => h.checkpointId);
  const ids: string[] = [];
  for await (const tuple of timeline.saver.list(threadConfig(timeline.threadId), { limit, before: checkpointConfig(timeline.threadId, before) }))
    ids.push(checkpointIdOf(tuple.config) as string);
  return ids;
}

/** Tags within two edits or sharing a prefix, and the ids nearest to the text in id order. */
async function closeMatches(timeline: Timeline, text: string): Promise<string[]> {
  const matches: string[] = [];
  if (timeline.meta) {
    for (const tag of await timeline.meta.listTags(timeline.threadId)) {
      const a = tag.label.toLowerCase();
      const b = text.toLowerCase();
      if (editDistance(a, b) <= 2 || (b.length >= 2 && (a.startsWith(b) || b.startsWith(a)))) matches.push(`${tag.label} (tag)`);
    }
  }
  const id = text.toLowerCase();
  if (/^[0-9a-f-]+$/.test(id) && id.length >= 2) {
    for (const candidate of await idsBefore(timeline, id + AFTER_EVERY_ID_CHAR, 3)) {
      if (commonPrefixLength(candidate, id) >= Math.min(id.length - 1, 8)) matches.push(candidate);
    }
  }
  return matches;
}

export function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}
