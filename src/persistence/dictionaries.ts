/**
 * Preset deflate dictionaries for our SQLite checkpointer's columns
 * (docs/benchmarks.md, "Where the time went": `codec.ts`).
 *
 * Why: most stored values are a few hundred bytes of JSON (a channel's new
 * value, a snapshot's diff, a checkpoint's versions, a history line), too
 * little for deflate to find repeats within one value, while nearly all of
 * each (keys, channel and node names, event types, version counters) is the
 * same from row to row. Given examples of a column's values, deflate codes
 * those parts as references into them, and each row still decodes alone.
 *
 * Each column has its own dictionary, made once by
 * `scripts/deflate-dictionaries.ts` from a run of the benchmark's workload (on
 * a seed the benchmark does not measure) and kept in
 * src/persistence/dictionaries/<column>.v<N>.txt.
 *
 * A dictionary never changes once rows are written with it; tests pin its
 * bytes. Reading needs no marker: a raw deflate stream written without a
 * dictionary never refers back before its own start, so inflating it with one
 * gives the same text, and rows written before the dictionaries read as they
 * did. A better dictionary later is a new version that needs a marker in the
 * row saying which one wrote it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DICTIONARY_COLUMNS = ["checkpoint", "seeds", "metadata", "blobs", "writes", "steps"] as const;
/**
 * - `checkpoint`: a checkpoint without its values (versions, versions seen);
 * - `seeds`: a checkpoint's `delta_seeds`;
 * - `metadata`: a checkpoint's metadata;
 * - `blobs`: channel values and snapshot diffs (`checkpoint_blobs`);
 * - `writes`: pending writes (`checkpoint_writes`);
 * - `steps`: history lines (`shopstate_steps`).
 */
export type DictionaryColumn = (typeof DICTIONARY_COLUMNS)[number];

/**
 * The version of the dictionaries rows are written with. Version 0 is none
 * (an empty dictionary): the script made version 1 from a store written so.
 */
export const DICTIONARY_VERSION: number = 1;
const NONE = Buffer.alloc(0);

/** Where a column's dictionary of a version is kept (from src/ or dist/ alike, as the console finds its static files). */
export function dictionaryFile(column: DictionaryColumn, version = DICTIONARY_VERSION): string {
  return fileURLToPath(new URL(`../../src/persistence/dictionaries/${column}.v${version}.txt`, import.meta.url));
}

const loaded = new Map<DictionaryColumn, Buffer>();

/** A column's dictionary, read on first use. */
export function dictionaryOf(column: DictionaryColumn): Buffer {
  if (DICTIONARY_VERSION === 0) return NONE;
  let dictionary = loaded.get(column);
  if (!dictionary) {
    dictionary = readFileSync(dictionaryFile(column));
    loaded.set(column, dictionary);
  }
  return dictionary;
}
