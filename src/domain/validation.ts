/**
 * Input validation, shared by the CLI and the graph's `inbox`: one function
 * decides whether a line is an event we accept, and says why not otherwise.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { INPUT_EVENT_TYPES, InputEventSchema, type InputEvent, type StoredInputEvent } from "./events.js";
import { identifierProblem, visible } from "./text.js";

/** Where an input came from: a file and line, or a position in a run's inbox. */
export interface InputOrigin {
  source: string;
  line: number;
}

/** An input that failed validation. Not an event: it is kept beside the log. */
export interface RejectedInput extends InputOrigin {
  reason: string;
  /** sha256 of the input's text, so the same bad line ingested twice is recorded once. */
  hash: string;
  /** The event id, when the input had a readable one. */
  eventId?: string;
  /** Time of the batch it arrived in (the newest valid event time seen), for audit. */
  at?: string;
}

export type Validation = { ok: true; event: StoredInputEvent } | { ok: false; reason: string; eventId?: string };

/** The largest input line (or inbox item, as JSON) in UTF-8 bytes: an event is a few hundred; 64 KiB leaves room for a long message. */
export const MAX_INPUT_BYTES = 64 * 1024;

/** JSON text of a value, or undefined for what JSON cannot hold (a cycle, a BigInt, nesting deeper than the stack). */
function jsonText(raw: unknown): string | undefined {
  try {
    return JSON.stringify(raw);
  } catch {
    return undefined;
  }
}

export function contentHash(raw: unknown): string {
  const text = typeof raw === "string" ? raw : (jsonText(raw) ?? String(raw));
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** Turns a raw inbox item (a JSON text or a parsed value) into a valid input event, or says why not. */
export function validateInput(raw: unknown, defaultSource: string): Validation {
  let value = raw;
  if (typeof raw === "string") {
    const bytes = Buffer.byteLength(raw, "utf8");
    if (bytes > MAX_INPUT_BYTES) return { ok: false, reason: `line is ${bytes} bytes, over the ${MAX_INPUT_BYTES}-byte limit` };
    try {
      // A byte order mark (Windows editors write one at the start of a file) is not part of the event.
      value = JSON.parse(raw.startsWith("\uFEFF") ? raw.slice(1) : raw);
    } catch (error) {
      return { ok: false, reason: `malformed JSON: ${visible((error as Error).message)}` };
    }
  } else {
    const text = jsonText(raw);
    if (text === undefined) return { ok: false, reason: "not representable as JSON (a cycle, a BigInt or nesting too deep)" };
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > MAX_INPUT_BYTES) return { ok: false, reason: `event is ${bytes} bytes as JSON, over the ${MAX_INPUT_BYTES}-byte limit` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "expected a JSON object (an event envelope)" };
  }
  const candidate = value as Record<string, unknown>;
  // Kept for the audit trail only when it is a well-formed id: a rejected line's junk is not worth storing.
  const eventId = typeof candidate.id === "string" && candidate.id.length <= 128 && identifierProblem(candidate.id) === undefined ? candidate.id : undefined;
  if (typeof candidate.type !== "string") {
    return { ok: false, eventId, reason: "missing field 'type' (one of " + INPUT_EVENT_TYPES.join(", ") + ")" };
  }
  if (!(INPUT_EVENT_TYPES as string[]).includes(candidate.type)) {
    return { ok: false, eventId, reason: `unknown event type '${truncate(candidate.type)}' (expected one of ${INPUT_EVENT_TYPES.join(", ")})` };
  }
  const parsed = InputEventSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) return { ok: false, eventId, reason: describeIssues(parsed.error) };
  return { ok: true, event: normalise(parsed.data, defaultSource) };
}

/**
 * The stored form of a valid input: the parsed event with its time in UTC,
 * a source and the schema version. Copied key by key, in the order a spread
 * would give, rather than spread: V8 gave every object spread from a zod result
 * a hidden class of its own (about 350 bytes each), which the event log keeps
 * for every input event it holds.
 */
function normalise(event: InputEvent, defaultSource: string): StoredInputEvent {
  const stored: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) stored[key] = value;
  stored.at = new Date(event.at).toISOString();
  stored.source = event.source ?? defaultSource;
  stored.v = 1;
  return stored as StoredInputEvent;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path.join(".") || "event";
      if (issue.code === "invalid_type" && issue.input === undefined) return `missing field '${path}'`;
      if (issue.code === "invalid_type")
        return `${path} must be ${issue.expected === "int" ? "a whole number" : `${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`} (got ${shown(issue.input)})`;
      if (issue.code === "unrecognized_keys") {
        const keys = issue.keys.map((k) => `'${truncate(k)}'`).join(", ");
        return path === "event"
          ? `unknown field(s) ${keys} in the envelope (it has id, type, at, source, causationId, v, data)`
          : `${path}: unknown field(s) ${keys}`;
      }
      return `${path} ${issue.message}${issue.input !== undefined && typeof issue.input !== "object" ? ` (got ${shown(issue.input)})` : ""}`;
    })
    .join("; ");
}

/** A value as a reason quotes it: numbers as written (Infinity too), anything else as short JSON. */
function shown(input: unknown): string {
  return truncate(typeof input === "number" ? String(input) : (jsonText(input) ?? "a value nested too deeply to show"));
}

/** A piece of input as a reason quotes it: short, with invisible characters escaped. */
function truncate(text: string, max = 40): string {
  return visible(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** What the store knows, for checking that an event names things that exist. */
export interface KnownEntities {
  hasSku(sku: string): boolean;
  hasOrder(orderId: string): boolean;
  approvalStatus(approvalId: string): "pending" | "decided" | undefined;
}

/**
 * An event that names an unknown SKU, order or approval is bad input (docs/RULES.md rule 13).
 * Returns the reason, or undefined when every reference resolves.
 */
export function checkReferences(event: StoredInputEvent, known: KnownEntities): string | undefined {
  const unknownSku = (sku: string) => (known.hasSku(sku) ? undefined : `unknown SKU '${sku}' (add it with ProductAdded first)`);
  const unknownOrder = (orderId: string) => (known.hasOrder(orderId) ? undefined : `unknown order '${orderId}'`);
  switch (event.type) {
    case "ProductAdded":
      return known.hasSku(event.data.sku) ? `SKU '${event.data.sku}' already exists` : undefined;
    case "OrderPlaced":
      if (known.hasOrder(event.data.orderId)) return `order '${event.data.orderId}' already exists`;
      for (const line of event.data.lines) {
        const reason = unknownSku(line.sku);
        if (reason) return reason;
      }
      return undefined;
    case "OrderShipped":
    case "OrderDelivered":
    case "OrderCancelled":
      return unknownOrder(event.data.orderId);
    case "CustomerMessage":
      return event.data.orderId === undefined ? undefined : unknownOrder(event.data.orderId);
    case "StockReceived":
    case "StockAdjusted":
    case "ReturnRestocked":
      return unknownSku(event.data.sku);
    case "ApprovalDecided": {
      const status = known.approvalStatus(event.data.approvalId);
      if (status === undefined) return `unknown approval '${event.data.approvalId}' (see 'shopstate approvals')`;
      return status === "decided" ? `approval '${event.data.approvalId}' was already decided` : undefined;
    }
    default: {
      const exhaustive: never = event;
      return exhaustive;
    }
  }
}
