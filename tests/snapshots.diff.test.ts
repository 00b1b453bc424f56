/**
 * Snapshot diffs of maps: applied to the base they must rebuild the new map
 * exactly, however the map was made.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergePatch } from "../src/domain/world.js";
import { applySnapshotDiffs, diffSnapshot } from "../src/persistence/snapshots.js";

const key = fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h");
const patch = fc.dictionary(key, fc.option(fc.record({ n: fc.integer({ min: 0, max: 3 }) }), { nil: null }));

describe("snapshot diffs of patched maps", () => {
  it("rebuild the patched map exactly, after any sequence of patches", () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.record({ n: fc.integer() })), fc.array(patch, { maxLength: 6 }), (start, patches) => {
        const base = mergePatch(undefined, start);
        const next = patches.reduce((map, p) => mergePatch(map, p), base);
        const diff = diffSnapshot(base, next);
        const rebuilt = diff ? applySnapshotDiffs(base, [diff]) : next;
        expect(rebuilt).toEqual(next);
        expect(Object.keys(rebuilt as object).sort()).toEqual(Object.keys(next).sort());
      }),
    );
  });

  it("diffs a map made any other way key by key", () => {
    const base = mergePatch(undefined, { a: 1, b: 2 });
    const other = { a: 1, b: 5 };
    expect(diffSnapshot(base, other)).toEqual({ kind: "patch", set: { b: 5 }, del: [] });
  });
});
