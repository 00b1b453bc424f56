/**
 * `npx tsx scripts/deflate-dictionaries.ts --version N [--events E --seed S]`
 *
 * Writes the preset deflate dictionaries of our SQLite checkpointer's columns
 * (src/persistence/dictionaries.ts says how they are used) as
 * src/persistence/dictionaries/<column>.v<N>.txt.
 *
 * How: runs the benchmark's store workload (bench/generator.ts, a seed the
 * benchmark does not use) into a throwaway store on our saver, reads each
 * column's values back as the serializer wrote them (before deflate), and
 * joins samples spread evenly over the run, oldest first (deflate codes a
 * repeat near the end of its window in fewer bits), each cut to a few
 * thousand characters, until the dictionary has its size. The sizes and
 * sample lengths are the ones that saved the most on a 10,000-event store.
 *
 * A dictionary, once rows are written with it, never changes: the script
 * refuses to overwrite a version that exists. A better one is a new version,
 * with a format marker of its own (see dictionaries.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateWorkload } from "../bench/generator.js";
import { ingestBatch, openBenchStore } from "../bench/stores.js";
import { DICTIONARY_COLUMNS, dictionaryFile, dictionaryOf, type DictionaryColumn } from "../src/persistence/dictionaries.js";
import { storedJsonText } from "../src/persistence/codec.js";
import { decodeStepRecord } from "../src/persistence/steps_table.js";

const { values: args } = parseArgs({
  options: {
    version: { type: "string" },
    events: { type: "string", default: "2000" },
    seed: { type: "string", default: "7" },
  },
});
if (!args.version) throw new Error("--version N is required: the dictionaries' version (a new one for every new set)");
const version = Number(args.version);

/** Dictionary bytes and the longest sample taken from one value, per column. */
const SHAPE: Record<DictionaryColumn, { bytes: number; sampleChars: number }> = {
  checkpoint: { bytes: 8192, sampleChars: 4000 },
  seeds: { bytes: 8192, sampleChars: 4000 },
  metadata: { bytes: 8192, sampleChars: 1000 },
  blobs: { bytes: 32768, sampleChars: 1000 },
  writes: { bytes: 32768, sampleChars: 2000 },
  steps: { bytes: 8192, sampleChars: 1000 },
};
const SAMPLES = 256;

for (const column of DICTIONARY_COLUMNS) {
  if (existsSync(dictionaryFile(column, version)))
    throw new Error(`${dictionaryFile(column, version)} exists: a written dictionary never changes; pick a new --version`);
}

const dir = mkdtempSync(join(tmpdir(), "shopstate-dictionaries-"));
try {
  const store = await openBenchStore("ours", dir);
  const lines = generateWorkload({ events: Number(args.events), seed: Number(args.seed) }).map((text, i) => ({ line: i + 1, text }));
  for (let i = 0; i < lines.length; i += 50) await ingestBatch(store, lines.slice(i, i + 50));
  const db = store.session.db!;
  type Row = { type: string | null; value: Uint8Array | string | null };
  const texts = (column: DictionaryColumn, sql: string) =>
    (db.prepare(sql).all() as Row[]).map((r) => (typeof r.value === "string" ? r.value : storedJsonText(r.type ?? "", r.value, dictionaryOf(column))));
  const values: Record<DictionaryColumn, string[]> = {
    checkpoint: texts("checkpoint", "SELECT type, checkpoint AS value FROM checkpoints ORDER BY rowid"),
    seeds: texts(
      "seeds",
      "SELECT CASE WHEN typeof(delta_seeds) = 'blob' THEN 'json+deflate' ELSE 'json' END AS type, delta_seeds AS value FROM checkpoints ORDER BY rowid",
    ),
    metadata: texts("metadata", "SELECT 'json' AS type, metadata AS value FROM checkpoints ORDER BY rowid"),
    blobs: texts("blobs", "SELECT type, blob AS value FROM checkpoint_blobs ORDER BY rowid"),
    writes: texts("writes", "SELECT type, value FROM checkpoint_writes ORDER BY rowid"),
    steps: (db.prepare("SELECT record FROM shopstate_steps ORDER BY rowid").all() as { record: Uint8Array | string }[]).map((r) =>
      JSON.stringify(decodeStepRecord(r.record)),
    ),
  };
  await store.close();
  mkdirSync(dictionaryFile("checkpoint", version).replace(/[^/]*$/, ""), { recursive: true });
  for (const column of DICTIONARY_COLUMNS) {
    const { bytes, sampleChars } = SHAPE[column];
    const all = values[column];
    const step = Math.max(1, Math.floor(all.length / SAMPLES));
    const samples: string[] = [];
    let length = 0;
    for (let i = all.length - 1; i >= 0 && length < bytes; i -= step) {
      const sample = all[i].slice(0, sampleChars);
      samples.unshift(sample);
      length += Buffer.byteLength(sample);
    }
    const dictionary = Buffer.from(samples.join(""), "utf8").subarray(-bytes);
    writeFileSync(dictionaryFile(column, version), dictionary);
    process.stdout.write(`${dictionaryFile(column, version)}: ${dictionary.length} bytes from ${samples.length} of ${all.length} values\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
