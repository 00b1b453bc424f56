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
 */

/** How a stored snapshot relates to the one it extends. */
export type SnapshotDiff =
  /** The earlier array followed by `items`. */
  | { kind: "append"; items: unknown[] }
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
    if (next.length < base.length) return undefined;
    for (let i = 0; i < base.length; i++) if (base[i] !== next[i]) return undefined;
    return { kind: "append", items: next.slice(base.length) };
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

/** Rebuilds the value a diff was taken to. `base` is not modified. */
export function applySnapshotDiff(base: unknown, diff: SnapshotDiff): unknown {
  if (diff.kind === "append") {
    if (!Array.isArray(base)) throw new Error(`snapshot diff: an 'append' diff needs an array to extend, found ${typeof base}`);
    return base.concat(diff.items);
  }
  if (!isPlainObject(base)) throw new Error(`snapshot diff: a 'patch' diff needs an object to patch, found ${Array.isArray(base) ? "an array" : typeof base}`);
  const next: Record<string, unknown> = { ...base };
  for (const key of diff.del) delete next[key];
  for (const [key, value] of Object.entries(diff.set)) next[key] = value;
  return next;
}
