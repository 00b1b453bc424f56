/**
 * Snapshots of delta channels stored as differences from an earlier snapshot.
 *
 * LangGraph writes a full `DeltaSnapshot` of a delta channel every
 * `snapshotFrequency` updates. For a growing channel (the event log, the
 * orders map) each snapshot repeats everything before it, so storing them
 * whole makes the database grow with the square of the history. Our reducers
 * only ever extend arrays (`base.concat(added)`) and replace whole entries in
 * maps, so a new snapshot is usually an earlier one plus a few items: stored as
 * that difference, snapshots cost what they add.
 *
 * Elements are compared by identity: the new snapshot was built by the
 * reducers from the value we handed out (or were given) for the earlier one,
 * so unchanged items are the very same objects. Anything else is stored whole.
 * Maps in the state are bounded (by the catalog, or to pending items), so a
 * map is compared key by key.
 */

/** How a stored snapshot relates to the one it extends. */
export type SnapshotDiff =
  /** The earlier array without its first `drop` items (a window moving on), followed by `items`. */
  | { kind: "append"; drop: number; items: unknown[] }
  /** The earlier map with `set` entries replaced or added and `del` keys removed. */
  | { kind: "patch"; set: Record<string, unknown>; del: string[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The difference from `base` to `next`, or undefined when storing `next`
 * whole is as good (unrelated values, or most of it changed).
 */
export function diffSnapshot(base: unknown, next: unknown): SnapshotDiff | undefined {
  if (Array.isArray(base) && Array.isArray(next)) {
    // Where the kept part of `base` starts: 0 for a log, further on for a window.
    const drop = base.length === 0 || next.length === 0 ? base.length : base.indexOf(next[0]);
    if (drop < 0) return undefined;
    const kept = base.length - drop;
    if (kept > next.length) return undefined;
    for (let i = 0; i < kept; i++) if (base[drop + i] !== next[i]) return undefined;
    if (next.length - kept > next.length / 2 + 8) return undefined;
    return { kind: "append", drop, items: next.slice(kept) };
  }
  if (isPlainObject(base) && isPlainObject(next)) {
    const set: Record<string, unknown> = {};
    let changed = 0;
    for (const key of Object.keys(next)) {
      if (base[key] !== next[key] || !Object.prototype.hasOwnProperty.call(base, key)) {
        set[key] = next[key];
        changed++;
      }
    }
    const del = Object.keys(base).filter((key) => !Object.prototype.hasOwnProperty.call(next, key));
    if (changed + del.length > Object.keys(next).length / 2 + 8) return undefined;
    return { kind: "patch", set, del };
  }
  return undefined;
}

/**
 * Rebuilds the value a chain of diffs leads to, in one pass (a chain can be
 * long; applying diffs one at a time would copy the value once per diff).
 * `base` is not modified.
 */
export function applySnapshotDiffs(base: unknown, diffs: readonly SnapshotDiff[]): unknown {
  if (diffs.length === 0) return base;
  if (diffs[0].kind === "append") {
    if (!Array.isArray(base)) throw new Error(`snapshot diff: an 'append' diff needs an array to extend, found ${typeof base}`);
    let start = 0;
    const items: unknown[] = base.slice();
    for (const diff of diffs) {
      if (diff.kind !== "append") throw new Error("snapshot diff: an array snapshot's chain holds a 'patch' diff");
      start += diff.drop;
      for (const item of diff.items) items.push(item);
    }
    return start === 0 ? items : items.slice(start);
  }
  if (!isPlainObject(base)) throw new Error(`snapshot diff: a 'patch' diff needs an object to patch, found ${Array.isArray(base) ? "an array" : typeof base}`);
  const next: Record<string, unknown> = { ...base };
  for (const diff of diffs) {
    if (diff.kind !== "patch") throw new Error("snapshot diff: an object snapshot's chain holds an 'append' diff");
    for (const key of diff.del) delete next[key];
    for (const [key, value] of Object.entries(diff.set)) next[key] = value;
  }
  return next;
}
