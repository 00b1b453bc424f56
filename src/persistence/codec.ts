/**
 * How serialized values are stored: values of more than a few dozen bytes are
 * deflated, each column with its own preset dictionary (dictionaries.ts).
 * Checkpoint values are JSON with the same keys over and over (channel and
 * node names, event types, versions), which deflate shrinks several times at a
 * cost of microseconds; the type column records it (`json+deflate`), so rows
 * written either way load. A value deflate would not shorten is stored as it is.
 *
 * zlib's level 6 (its default) rather than 1: a value is written once and
 * stays, so the few more microseconds of a closer search buy bytes for good.
 * Rows that live only until the next checkpoint (a task's pending writes,
 * `writes.ts`) take `FAST_DEFLATE`.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { dictionaryOf } from "./dictionaries.js";
import { inflateFixedBlock } from "./fixed_inflate.js";

/** Smaller values are stored as they are: deflate would save less than the type's suffix costs. */
export const DEFLATE_MIN_BYTES = 64;
const DEFLATE_SUFFIX = "+deflate";
export const STORED_DEFLATE = 6;
export const FAST_DEFLATE = 1;

export interface Stored {
  type: string;
  bytes: Uint8Array;
}

/** How a column's values are deflated: the column's preset dictionary (dictionaries.ts) and zlib's level. */
export interface Deflation {
  dictionary: Buffer;
  level?: number;
}

function deflate(bytes: Uint8Array | string, { dictionary, level = STORED_DEFLATE }: Deflation): Buffer {
  return deflateRawSync(bytes, { level, dictionary });
}

function inflate(data: Uint8Array | string, dictionary: Buffer): Buffer {
  return inflateRawSync(typeof data === "string" ? Buffer.from(data, "utf8") : data, { dictionary });
}

/** Serializes a value with the serializer and deflates it if worth it; `type` overrides the serializer's type name. */
export async function encodeValue(serde: SerializerProtocol, value: unknown, deflation: Deflation, type?: string): Promise<Stored> {
  const [serdeType, bytes] = await serde.dumpsTyped(value);
  const name = type ?? serdeType;
  return shorter(name, bytes, deflation);
}

/** The value deflated, when that is shorter. */
function shorter(type: string, bytes: Uint8Array, deflation: Deflation): Stored {
  if (bytes.byteLength < DEFLATE_MIN_BYTES) return { type, bytes };
  const deflated = deflate(bytes, deflation);
  return deflated.byteLength < bytes.byteLength ? { type: type + DEFLATE_SUFFIX, bytes: deflated } : { type, bytes };
}

/** Stores a text the serializer wrote (JSON) as a value of `type`, deflated if worth it. */
export function encodeText(text: string, type: string, deflation: Deflation): Stored {
  return shorter(type, Buffer.from(text, "utf8"), deflation);
}

/** A stored value's serialized text, inflated (with the column's `dictionary`) if it was deflated, not parsed. */
export function storedJsonText(type: string, data: Uint8Array | string | null, dictionary: Buffer): string {
  if (data === null || !type.endsWith(DEFLATE_SUFFIX)) return storedText(data);
  return inflate(data, dictionary).toString("utf8");
}

/** The type a stored value was written with, without the compression suffix. */
export function baseType(type: string): string {
  return type.endsWith(DEFLATE_SUFFIX) ? type.slice(0, -DEFLATE_SUFFIX.length) : type;
}

/**
 * Loads a stored value, inflated with the column's `dictionary` if it was
 * deflated; `serdeType` overrides the serializer type (for types of our own,
 * which are JSON).
 */
export function decodeValue(
  serde: SerializerProtocol,
  type: string,
  data: Uint8Array | string | null,
  dictionary: Buffer,
  serdeType?: string,
): Promise<unknown> {
  const deflated = type.endsWith(DEFLATE_SUFFIX);
  const name = serdeType ?? baseType(type);
  if (data === null) return serde.loadsTyped(name, "");
  const bytes = deflated ? inflate(data, dictionary) : data;
  if (name === "bytes") return serde.loadsTyped(name, typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  return serde.loadsTyped(name, typeof bytes === "string" ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
}

/** JSON kept in a column as text, deflated when long (our saver's `delta_seeds`). */
export function encodeJsonColumn(value: unknown, dictionary: Buffer): string | Uint8Array {
  const text = JSON.stringify(value);
  if (text.length < DEFLATE_MIN_BYTES) return text;
  const deflated = deflate(text, { dictionary });
  return deflated.byteLength < Buffer.byteLength(text) ? deflated : text;
}

/** Reads what `encodeJsonColumn` stored: text as it is, a BLOB inflated (with the column's `dictionary`) first. */
export function decodeJsonColumn(data: Uint8Array | string, dictionary: Buffer): unknown {
  return JSON.parse(typeof data === "string" ? data : inflate(data, dictionary).toString("utf8"));
}

/** Format tag of a tagged value: deflate-raw with the column's dictionary (version 1). */
export const TAG_DEFLATE_V1 = 1;

/**
 * JSON kept in a column with no type beside it (an event's body, a
 * checkpoint's metadata, a history line): deflated with the column's
 * dictionary behind a format tag when that is shorter, else as it was given.
 */
export function encodeTagged<T extends string | Uint8Array>(json: T, dictionary: Buffer, level = STORED_DEFLATE): Buffer | T {
  const deflated = deflate(json, { dictionary, level });
  if (deflated.length + 1 >= (typeof json === "string" ? Buffer.byteLength(json) : json.byteLength)) return json;
  return Buffer.concat([Buffer.of(TAG_DEFLATE_V1), deflated]);
}

/**
 * The text of a tagged value, or undefined if it has no tag this version
 * knows. Small values are one fixed-code block, which `inflateFixedBlock`
 * decodes without zlib's cost per call.
 */
export function inflateTagged(stored: Uint8Array, dictionary: Buffer): string | undefined {
  if (stored[0] !== TAG_DEFLATE_V1) return undefined;
  return inflateFixedBlock(stored, 1, dictionary) ?? inflate(stored.subarray(1), dictionary).toString("utf8");
}

/** The error for a stored value whose format tag this version does not know; `what` names the row. */
export function unknownFormat(what: string, tag: number | undefined): Error {
  return new Error(`${what} has format ${tag ?? "(empty)"}, which this version does not know (written by a newer shopstate?)`);
}

/**
 * What `encodeTagged` stored. JSON text never starts with a control byte other
 * than whitespace, so text stored as a BLOB (the stock saver's metadata, our
 * rows from before) reads as text; `what` names the column for the error an
 * unknown format gets.
 */
export function decodeTaggedJson(stored: Uint8Array | string, dictionary: Buffer, what: string): string {
  if (typeof stored === "string") return stored;
  const text = inflateTagged(stored, dictionary);
  if (text !== undefined) return text;
  const first = stored[0];
  if (first === undefined || first >= 0x20 || first === 0x09 || first === 0x0a || first === 0x0d) return storedText(stored);
  throw unknownFormat(what, first);
}

/** A checkpoint's metadata as JSON text: ours deflated with its dictionary, a stock saver's row plain (`decodeTaggedJson`). */
export function metadataText(stored: Uint8Array | string): string {
  return decodeTaggedJson(stored, dictionaryOf("metadata"), "a checkpoint's metadata");
}

/** A stored text column (SQLite hands back TEXT or BLOB) as a string; empty for NULL. */
export function storedText(data: Uint8Array | string | null): string {
  if (data === null) return "";
  return typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
}
