/**
 * The store's pool parses `bytea[]` columns (the stock PostgresSaver's
 * channel values and pending writes) on a fast path for the hex format the
 * server sends: it must give what `pg`'s own parser gives, for any nesting,
 * nulls and empty values, and leave every other text to that parser.
 */
import fc from "fast-check";
import pg from "pg";
import { BYTEA_ARRAY_OID, parseByteaArray, parseHexByteaArray, STORE_PG_TYPES } from "../src/persistence/pg_types.js";

const stock = pg.types.getTypeParser(BYTEA_ARRAY_OID, "text") as (text: string) => unknown;

type Element = Buffer | null | Element[];

/** An array as PostgreSQL writes it in text with `bytea_output = hex`: `{"\\x0a1b",NULL,{...}}`. */
function hexText(array: Element[]): string {
  const element = (e: Element): string => (e === null ? "NULL" : Array.isArray(e) ? hexText(e) : `"\\\\x${e.toString("hex")}"`);
  return `{${array.map(element).join(",")}}`;
}

const bytes = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));
const arrays = fc.letrec<{ array: Element[] }>((tie) => ({
  array: fc.array(fc.oneof({ depthSize: "small" }, bytes, fc.constant(null), tie("array")), { maxLength: 6 }),
})).array;

describe("the bytea[] parser", () => {
  it("gives what pg's parser gives, on the fast path, for any nesting of values, empty values and nulls", () => {
    fc.assert(
      fc.property(arrays, (array) => {
        const text = hexText(array);
        expect(parseHexByteaArray(text)).toEqual(stock(text));
        expect(parseByteaArray(text)).toEqual(array);
      }),
      { numRuns: 500 },
    );
  });

  it("reads a checkpoint's shape: channel, type and value per row", () => {
    const rows = [
      [Buffer.from("inventory"), Buffer.from("json"), Buffer.from('{"sku":"A"}')],
      [Buffer.from("__start__"), Buffer.from("empty"), Buffer.alloc(0)],
    ];
    expect(parseByteaArray(hexText(rows))).toEqual(rows);
  });

  it("leaves text it does not expect to pg's parser, which reads it", () => {
    const others = [
      '{"\\\\001abc"}', // bytea_output = escape
      '[0:1]={"\\\\x00","\\\\x01"}', // explicit bounds
      '{"\\\\x0g"}', // not hex
      '{"\\\\x012"}', // an odd number of digits
    ];
    for (const text of others) {
      expect(parseHexByteaArray(text)).toBeUndefined();
      let expected: unknown;
      try {
        expected = stock(text);
      } catch (error) {
        expect(() => parseByteaArray(text)).toThrow((error as Error).message);
        continue;
      }
      expect(parseByteaArray(text)).toEqual(expected);
    }
  });

  it("is what the store's pool uses for bytea[] in text, and pg's own parser for every other type", () => {
    expect(STORE_PG_TYPES.getTypeParser(BYTEA_ARRAY_OID, "text")).toBe(parseByteaArray);
    for (const oid of [17, 25, 114, 3802, 1009] as (typeof BYTEA_ARRAY_OID)[])
      expect(STORE_PG_TYPES.getTypeParser(oid, "text")).toBe(pg.types.getTypeParser(oid, "text"));
    expect(STORE_PG_TYPES.getTypeParser(BYTEA_ARRAY_OID, "binary")).toBe(pg.types.getTypeParser(BYTEA_ARRAY_OID, "binary"));
  });
});
