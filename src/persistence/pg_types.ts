/**
 * How the store's PostgreSQL pool parses what the server sends: as `pg` does,
 * except a `bytea[]` column, which has a fast path.
 *
 * The stock `PostgresSaver` reads a checkpoint's channel values and pending
 * writes as `array_agg` of `bytea` arrays. `pg` parses those with
 * `postgres-array`, one character at a time through a closure and an array of
 * characters: on a state of about 100 KB, most of a `getTuple` went there
 * (bench/RESULTS.md gives the fork and state-at-a-checkpoint times on that
 * saver). The server writes `bytea` in hex (`bytea_output`'s default), so
 * every element is `"\\x<hex>"` or `NULL`, and `Buffer.from(hex)` decodes it
 * at once. Any other text (escape format, explicit bounds) goes to the stock
 * parser, so the values are the same either way.
 */
import pg from "pg";

type TypeId = Parameters<typeof pg.types.getTypeParser>[0];
type TypeFormat = Parameters<typeof pg.types.getTypeParser>[1];

/** `bytea[]`'s type OID (`pg_type.oid` for `_bytea`); `pg`'s `TypeId` names only scalar types. */
export const BYTEA_ARRAY_OID = 1001 as TypeId;

const stockByteaArray = pg.types.getTypeParser(BYTEA_ARRAY_OID, "text") as (text: string) => unknown;

/** The parsers the store's pools use: `pg`'s own, with the fast `bytea[]` one. */
export const STORE_PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: TypeId, format?: TypeFormat) =>
    oid === BYTEA_ARRAY_OID && format !== "binary" ? parseByteaArray : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** A `bytea[]` (of any dimension) in PostgreSQL's text format, as nested arrays of buffers and nulls. */
export function parseByteaArray(text: string): unknown {
  return parseHexByteaArray(text) ?? stockByteaArray(text);
}

const OPEN = 123; // {
const CLOSE = 125; // }
const COMMA = 44; // ,
const QUOTE = 34; // "
const HEX_PREFIX = '"\\\\x'; // an element's start: a quote, an escaped backslash, x

/** The hex-format text's arrays, or undefined for any text it does not expect (the stock parser reads those). */
export function parseHexByteaArray(text: string): unknown[] | undefined {
  let root: unknown[] | undefined;
  let current: unknown[] | undefined;
  const open: unknown[][] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === OPEN) {
      if (root && !current) return undefined;
      const array: unknown[] = [];
      if (current) {
        current.push(array);
        open.push(current);
      } else root = array;
      current = array;
      i += 1;
    } else if (!current) {
      return undefined;
    } else if (c === CLOSE) {
      current = open.pop();
      i += 1;
    } else if (c === COMMA) {
      i += 1;
    } else if (c === QUOTE) {
      if (!text.startsWith(HEX_PREFIX, i)) return undefined;
      const start = i + HEX_PREFIX.length;
      const end = text.indexOf('"', start);
      if (end < 0 || (end - start) % 2 !== 0) return undefined;
      const bytes = Buffer.from(text.slice(start, end), "hex");
      // Buffer.from stops at the first character that is not hex.
      if (bytes.length * 2 !== end - start) return undefined;
      current.push(bytes);
      i = end + 1;
    } else if (text.startsWith("NULL", i)) {
      current.push(null);
      i += 4;
    } else return undefined;
  }
  return current === undefined ? root : undefined;
}
