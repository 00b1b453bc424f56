/**
 * The preset deflate dictionaries of our checkpointer's columns
 * (src/persistence/dictionaries.ts, docs/benchmarks.md on `codec.ts`): frozen
 * bytes, rows written before them still read, and the codec and the history
 * lines read back what they wrote.
 */
import { createHash } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { FastJsonPlusSerializer } from "../src/persistence/serde.js";
import { DICTIONARY_COLUMNS, DICTIONARY_VERSION, dictionaryOf } from "../src/persistence/dictionaries.js";
import {
  decodeJsonColumn,
  decodeValue,
  encodeJsonColumn,
  encodeTagged,
  encodeText,
  encodeValue,
  metadataText,
  storedJsonText,
} from "../src/persistence/codec.js";
import { decodeStepRecord, encodeStepRecord, type StepRecord } from "../src/persistence/steps_table.js";

const serde = new FastJsonPlusSerializer();

/** What a column's values look like: JSON with the column's keys, and any text in it. */
const jsonValue = fc.oneof(
  fc.jsonValue(),
  fc.record({
    writers: fc.array(fc.constantFrom("router", "support_agent", "inventory_agent", "input"), { maxLength: 4 }),
    summary: fc.string({ unit: "grapheme", maxLength: 300 }),
    next: fc.array(fc.string(), { maxLength: 3 }),
  }),
);

describe("the checkpointer's deflate dictionaries", () => {
  it("are byte for byte the ones rows were first written with (a change would make those rows unreadable)", () => {
    // If this fails, restore the file: a better dictionary is a new version beside it (dictionaries.ts says why).
    expect(DICTIONARY_VERSION).toBe(1);
    const pinned: Record<(typeof DICTIONARY_COLUMNS)[number], [number, string]> = {
      checkpoint: [8192, "a2ee858253c231d895cecf18a6a2ada32b5e0caa1731c168bcd9bf997e20a505"],
      seeds: [8192, "2cc5eb867a3bb8c0fe7a5364fe3ab4933acf689e3328f10da5e7955ad015405d"],
      metadata: [8192, "dbd7d388e397369beb17e13562d8844895f6c43350a64c760f7415029b623073"],
      blobs: [32768, "0e6e3bcec02d1c7a83d7d6a01aa4f5be7b99fec5cad81cae4cebbbdbaf1c4c33"],
      writes: [32768, "2ed359357bc73675c87dd4d0dd45e0caf892057844d7dbf91e570ed669a4c46e"],
      steps: [8192, "5e0177c0a25210ff991ac707aef65d75b0cfb411beb9d534b200d9412e114775"],
    };
    for (const column of DICTIONARY_COLUMNS) {
      const dictionary = dictionaryOf(column);
      expect([column, dictionary.length, createHash("sha256").update(dictionary).digest("hex")]).toEqual([column, ...pinned[column]]);
    }
  });

  it("property: a value deflated before the dictionaries (with none) reads back the same with its column's", () => {
    fc.assert(
      fc.property(fc.constantFrom(...DICTIONARY_COLUMNS), jsonValue, (column, value) => {
        const text = JSON.stringify(value) ?? "null";
        const old = deflateRawSync(text, { level: 6 });
        expect(storedJsonText("json+deflate", old, dictionaryOf(column))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("property: every encoder reads back what it wrote, through the same column's dictionary", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...DICTIONARY_COLUMNS), jsonValue, async (column, value) => {
        const dictionary = dictionaryOf(column);
        const stored = await encodeValue(serde, value, { dictionary });
        expect(await decodeValue(serde, stored.type, stored.bytes, dictionary)).toEqual(await serde.loadsTyped("json", JSON.stringify(value) ?? "null"));
        const text = encodeText(JSON.stringify(value) ?? "null", "packed", { dictionary, level: 1 });
        expect(storedJsonText(text.type, text.bytes, dictionary)).toBe(JSON.stringify(value) ?? "null");
        expect(decodeJsonColumn(encodeJsonColumn(value, dictionary), dictionary)).toEqual(JSON.parse(JSON.stringify(value) ?? "null"));
      }),
      { numRuns: 200 },
    );
  });

  it("shorten a typical value by more than deflate alone, and leave a tiny one as it is", async () => {
    // A checkpoint's seeds as the benchmark writes them: ids and versions differ row to row, channel names do not.
    const seeds = {
      __start__: ["1f1ee832-53bf-6990-8baa-3263219066f3", "000000003767.f2gb2lcd"],
      "branch:to:ingest": ["1f1ee832-56e0-6610-8bb5-481b84110e02", "000000003781.3jh8jwta"],
      "branch:to:approval_gate": ["1f1ee832-568f-6d00-8bb4-7d8a4c566700", "000000003780.n7uun04s"],
    };
    const size = (stored: string | Uint8Array) => (typeof stored === "string" ? Buffer.byteLength(stored) : stored.byteLength);
    const withDictionary = size(encodeJsonColumn(seeds, dictionaryOf("seeds")));
    const without = size(encodeJsonColumn(seeds, Buffer.alloc(0)));
    expect(withDictionary).toBeLessThan(without * 0.8);
    const plain = await encodeValue(serde, { ok: true }, { dictionary: dictionaryOf("blobs") });
    expect(plain.type).toBe("json");
  });
});

describe("a history line as stored", () => {
  const line: StepRecord = { writers: ["support_agent"], at: "2026-03-01T09:00:00.000Z", summary: "replied to C-ERIN about ORD-1011", next: ["router"] };

  it("is a tagged BLOB when the dictionary shortens it, and reads back", () => {
    const stored = encodeStepRecord(line);
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect((stored as Buffer).byteLength).toBeLessThan(JSON.stringify(line).length / 2);
    expect(decodeStepRecord(stored)).toEqual(line);
  });

  it("reads a row from before the dictionaries (JSON text) as it is", () => {
    expect(decodeStepRecord(JSON.stringify(line))).toEqual(line);
  });

  it("refuses a format it does not know, saying where and why", () => {
    expect(() => decodeStepRecord(Buffer.of(7, 1, 2))).toThrow(/shopstate_steps: a history line has format 7.*newer shopstate/);
  });

  it("property: any line, in any script, reads back exactly", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 400 }), fc.array(fc.string(), { maxLength: 4 }), (summary, writers) => {
        const record: StepRecord = { writers, summary, next: [] };
        expect(decodeStepRecord(encodeStepRecord(record))).toEqual(record);
      }),
      { numRuns: 300 },
    );
  });
});

describe("a checkpoint's metadata as stored", () => {
  const metadata = { source: "loop", step: 412, parents: {}, store: "main", writes: { router: { tasks: 3 } } };
  const json = JSON.stringify(metadata);

  it("is deflated with its dictionary by our saver, and a stock saver's plain JSON (a BLOB of text) reads as it is", () => {
    const stored = encodeTagged(json, dictionaryOf("metadata"));
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect(metadataText(stored)).toBe(json);
    expect(metadataText(Buffer.from(json))).toBe(json);
    expect(metadataText(Buffer.from(` \n${json}`))).toBe(` \n${json}`);
    expect(metadataText(json)).toBe(json);
  });

  it("property: any metadata reads back exactly", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const text = JSON.stringify(value);
        expect(metadataText(encodeTagged(text, dictionaryOf("metadata")))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
