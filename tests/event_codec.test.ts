/**
 * How the SQLite event store keeps a body (src/persistence/event_codec.ts,
 * docs/event-store.md "How the SQLite tables are laid out"): deflated with a
 * preset dictionary that never changes, decoded by a JS fast path for the
 * fixed-code block deflate writes for small bodies and by zlib for the rest.
 */
import { createHash } from "node:crypto";
import { constants, deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { OWNER } from "../src/domain/decide.js";
import { INPUT_EVENT_TYPES } from "../src/domain/events.js";
import { DICTIONARY_V1, DICTIONARY_V1_EVENTS, FORMAT_DEFLATE_V1, decodeBody, encodeBody } from "../src/persistence/event_codec.js";
import { inflateFixedBlock } from "../src/persistence/fixed_inflate.js";

const here = () => "event 7 of branch 0 of thread T";

/** A body of the benchmark's most frequent type, with values the dictionary does not hold. */
const inventoryUpdated = JSON.stringify({
  id: "g-4711>InventoryUpdated:SKU-CANDLE-12",
  type: "InventoryUpdated",
  at: "2026-01-05T17:42:09.318Z",
  source: "inventory_service",
  causationId: "g-4711",
  v: 1,
  data: { sku: "SKU-CANDLE-12", onHand: 1204, reserved: 88, returned: 5, available: 1116, version: 231, reason: "reserved for ORD-1650" },
});

describe("the preset dictionary of format 1", () => {
  it("is byte for byte the one the first compressed rows were written with (a change would make them unreadable)", () => {
    // If this fails, restore DICTIONARY_V1: a better dictionary is a new format tag beside it (event_codec.ts says why).
    expect(createHash("sha256").update(DICTIONARY_V1).digest("hex")).toBe("97501b4b63d1a6de09379892cd8f886e2a1f2ff6698d3f4accf57abae28d14e5");
    expect(DICTIONARY_V1.length).toBe(11_845);
  });

  it("holds an example of every event type", () => {
    const types = new Set(DICTIONARY_V1_EVENTS.map((e) => (e as { type: string }).type));
    // A type added since is stored and read all the same, only less compressed: a dictionary
    // with it is a new format tag, never an edit of this one.
    expect([...INPUT_EVENT_TYPES, ...Object.keys(OWNER)].filter((t) => !types.has(t))).toEqual([]);
    for (const event of DICTIONARY_V1_EVENTS) expect(Object.keys(event)).toEqual(expect.arrayContaining(["id", "type", "at", "source", "v", "data"]));
  });
});

describe("encodeBody and decodeBody", () => {
  it("store an event as a tagged BLOB a fraction of its JSON, and give the same text back", () => {
    const stored = encodeBody(inventoryUpdated);
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect((stored as Buffer)[0]).toBe(FORMAT_DEFLATE_V1);
    expect(stored.length).toBeLessThan(inventoryUpdated.length / 3);
    expect(decodeBody(stored, here)).toBe(inventoryUpdated);
  });

  it("keep a body deflate would not shorten as its text, and read text as it is (rows written before compression)", () => {
    expect(encodeBody("{}")).toBe("{}");
    expect(encodeBody('{"q":"øß"}')).toBe('{"q":"øß"}');
    expect(decodeBody(inventoryUpdated, here)).toBe(inventoryUpdated);
  });

  it("property: any event-shaped JSON, in any script, reads back exactly", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 300 });
    fc.assert(
      fc.property(text, text, fc.integer(), fc.array(fc.record({ sku: text, qty: fc.nat() }), { maxLength: 5 }), (id, reason, n, lines) => {
        const json = JSON.stringify({ id, type: "OrderPlaced", at: "2026-03-01T09:00:00Z", source: "test", v: 1, data: { reason, n, lines } });
        expect(decodeBody(encodeBody(json), here)).toBe(json);
      }),
      { numRuns: 300 },
    );
  });

  it("read a long body (deflate chooses its own codes there) through zlib", () => {
    const message = Array.from({ length: 400 }, (_, i) => `line ${i * 7919} of a long customer message`).join("\n");
    const json = JSON.stringify({
      id: "g-1",
      type: "CustomerMessage",
      at: "2026-03-01T09:00:00Z",
      source: "email",
      v: 1,
      data: { customerId: "C-1", text: message },
    });
    const stored = encodeBody(json) as Buffer;
    expect(inflateFixedBlock(stored, 1, DICTIONARY_V1)).toBeUndefined();
    expect(decodeBody(stored, here)).toBe(json);
  });

  it("refuse a body cut short, and a format this version does not know, naming the row", () => {
    const stored = encodeBody(inventoryUpdated) as Buffer;
    expect(() => decodeBody(stored.subarray(0, stored.length - 3), here)).toThrow();
    expect(() => decodeBody(Buffer.from([9, 1, 2]), here)).toThrow(
      "event store: the body of event 7 of branch 0 of thread T has format 9, which this version does not know",
    );
    expect(() => decodeBody(Buffer.alloc(0), here)).toThrow("has format (empty)");
  });
});

describe("the fixed-code decoder", () => {
  /** Deflate forced to the fixed codes (Z_FIXED), with the dictionary, behind a format byte. */
  const fixed = (text: string) =>
    Buffer.concat([Buffer.from([FORMAT_DEFLATE_V1]), deflateRawSync(text, { dictionary: DICTIONARY_V1, strategy: constants.Z_FIXED })]);

  it("agrees with zlib on long bodies, long and overlapping matches, and matches from the dictionary's first byte", () => {
    const cases = [
      inventoryUpdated,
      DICTIONARY_V1.toString("utf8"), // every match reaches the far end of the window
      "a".repeat(70_000), // overlapping copies, and more output than the first scratch buffer holds
      Array.from({ length: 3000 }, (_, i) => `{"n":${(i * 2654435761) % 1000003},"s":"é ✓ ${i}"}`).join(","),
    ];
    for (const text of cases) {
      expect(inflateFixedBlock(fixed(text), 1, DICTIONARY_V1)).toBe(text);
      expect(decodeBody(fixed(text), here)).toBe(text);
    }
  });

  it("property: agrees with zlib on any text it writes with fixed codes, and leaves the rest to it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 2000 }), (text) => {
        const stored = fixed(text);
        // Z_FIXED still writes a stored block where that is shorter (text with few repeats).
        const fixedCodes = ((stored[1] >> 1) & 3) === 1;
        expect(inflateFixedBlock(stored, 1, DICTIONARY_V1)).toBe(fixedCodes ? text : undefined);
        expect(decodeBody(stored, here)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("leaves to zlib what is not one final fixed-code block, or runs past its input", () => {
    const stored = deflateRawSync("stored as it is", { level: 0 });
    expect(inflateFixedBlock(stored, 0, DICTIONARY_V1)).toBeUndefined();
    const cut = fixed(inventoryUpdated);
    expect(inflateFixedBlock(cut.subarray(0, cut.length - 2), 1, DICTIONARY_V1)).toBeUndefined();
  });
});
