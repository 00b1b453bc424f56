/**
 * How serialized values are stored: values of a few hundred bytes or more are
 * deflated. Checkpoint values are JSON with the same keys over and over
 * (events, orders, agent deliveries), which deflate shrinks several times at a
 * cost of microseconds; the type column records it (`json+deflate`), so rows
 * written either way load.
 *
 * zlib's level 6 (its default) rather than 1: a value is written once and
 * stays, so the few more microseconds of a closer search buy bytes for good.
 * Rows that live only until the next checkpoint (a task's pending writes,
 * `writes.ts`) take `FAST_DEFLATE`.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";

/** Smaller values are stored as they are: deflate would save little and cost a call. */
export const DEFLATE_MIN_BYTES = 256;
const DEFLATE_SUFFIX = "+deflate";
export const STORED_DEFLATE = 6;
export const FAST_DEFLATE = 1;

export interface Stored {
  type: string;
  bytes: Uint8Array;
}

/** Serializes a value with the serializer and deflates it if worth it; `type` overrides the serializer's type name; `level` is zlib's. */
export async function encodeValue(serde: SerializerProtocol, value: unknown, type?: string, level = STORED_DEFLATE): Promise<Stored> {
  const [serdeType, bytes] = await serde.dumpsTyped(value);
  const name = type ?? serdeType;
  if (bytes.byteLength < DEFLATE_MIN_BYTES) return { type: name, bytes };
  return { type: name + DEFLATE_SUFFIX, bytes: deflateRawSync(bytes, { level }) };
}

/** Stores a text the serializer wrote (JSON) as a value of `type`, deflated if worth it; `level` is zlib's. */
export function encodeText(text: string, type: string, level = STORED_DEFLATE): Stored {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.byteLength < DEFLATE_MIN_BYTES) return { type, bytes };
  return { type: type + DEFLATE_SUFFIX, bytes: deflateRawSync(bytes, { level }) };
}

/** A stored value's serialized text, inflated if it was deflated, not parsed. */
export function storedJsonText(type: string, data: Uint8Array | string | null): string {
  if (data === null || !type.endsWith(DEFLATE_SUFFIX)) return storedText(data);
  return inflateRawSync(typeof data === "string" ? Buffer.from(data, "utf8") : data).toString("utf8");
}

/** The type a stored value was written with, without the compression suffix. */
export function baseType(type: string): string {
  return type.endsWith(DEFLATE_SUFFIX) ? type.slice(0, -DEFLATE_SUFFIX.length) : type;
}

/** Loads a stored value; `serdeType` overrides the serializer type (for types of our own, which are JSON). */
export function decodeValue(serde: SerializerProtocol, type: string, data: Uint8Array | string | null, serdeType?: string): Promise<unknown> {
  const deflated = type.endsWith(DEFLATE_SUFFIX);
  const name = serdeType ?? baseType(type);
  if (data === null) return serde.loadsTyped(name, "");
  const bytes = deflated ? inflateRawSync(typeof data === "string" ? Buffer.from(data, "utf8") : data) : data;
  if (name === "bytes") return serde.loadsTyped(name, typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  return serde.loadsTyped(name, typeof bytes === "string" ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
}

/** JSON kept in a column as text, deflated when long (our saver's `delta_seeds`). */
export function encodeJsonColumn(value: unknown): string | Uint8Array {
  const text = JSON.stringify(value);
  return text.length < DEFLATE_MIN_BYTES ? text : deflateRawSync(text, { level: STORED_DEFLATE });
}

/** Reads what `encodeJsonColumn` stored: text as it is, a BLOB inflated first. */
export function decodeJsonColumn(data: Uint8Array | string): unknown {
  return JSON.parse(typeof data === "string" ? data : inflateRawSync(data).toString("utf8"));
}

/** A stored text column (SQLite hands back TEXT or BLOB) as a string; empty for NULL. */
export function storedText(data: Uint8Array | string | null): string {
  if (data === null) return "";
  return typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
}
