/**
 * The JSON schemas the state's channels publish (`GET /assistants/{id}/schemas`
 * on the LangGraph server, Studio's state panel). At run time the channels keep
 * `z.custom` (a node's write is not parsed, so nothing is stripped or coerced);
 * these zod shapes only describe them. Each is checked against its TypeScript
 * type below, so a field added to an entity and not here fails the typecheck.
 */
import { z } from "zod";
import type { Conflict } from "./domain/decide.js";
import type { RejectedInput } from "./domain/validation.js";
import type { Approval, Policy, Post, Product, Reorder, StockLevel } from "./domain/world.js";

type JsonSchema = Record<string, unknown>;

/**
 * The JSON schema of a describing zod shape (draft-07, as the server asks for).
 * Built when first read: state.ts asks for every channel's at load, and only
 * the LangGraph server ever reads them, so a CLI command converts none.
 */
export function jsonSchemaOf(description: string, shape: z.ZodType): JsonSchema {
  return builtWhenRead(() => {
    const { $schema: _ignored, ...schema } = z.toJSONSchema(shape, { target: "draft-07", unrepresentable: "any" });
    return { ...schema, description };
  });
}

/**
 * An object that `build` makes at the first look at it (a property, its keys,
 * a spread, JSON.stringify), and that then reads as what `build` returned.
 * A proxy cannot be cloned (structuredClone, postMessage): whoever publishes
 * it spreads it into a plain object first (LangGraph does; `publishing` too).
 */
function builtWhenRead(build: () => JsonSchema): JsonSchema {
  let built: JsonSchema | undefined;
  const target = () => (built ??= build());
  return new Proxy<JsonSchema>(
    {},
    {
      get: (_, key) => Reflect.get(target(), key),
      has: (_, key) => Reflect.has(target(), key),
      ownKeys: () => Reflect.ownKeys(target()),
      getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(target(), key),
      set: (_, key, value) => Reflect.set(target(), key, value),
      deleteProperty: (_, key) => Reflect.deleteProperty(target(), key),
    },
  );
}

/**
 * A plain (last-value) channel's zod schema, unchanged at run time, that
 * publishes `json` as its JSON schema (`z.custom` has none: StateSchema would
 * leave the channel out of the published state schema).
 */
export function publishing<S extends z.ZodType>(schema: S, json: JsonSchema): S {
  const standard = schema["~standard"];
  // A plain copy each time: `json` may be built when read (jsonSchemaOf), and the server clones what it publishes.
  schema["~standard"] = { ...standard, jsonSchema: { input: () => ({ ...json }), output: () => ({ ...json }) } };
  return schema;
}

// ---------------------------------------------------------------- entity shapes

const at = z.string().describe("ISO 8601 time");
const count = z.number().int();

export const ProductShape = z.object({ sku: z.string(), name: z.string(), priceCents: count, reorderPoint: count, reorderQty: count });
export const StockLevelShape = z.object({
  onHand: count.describe("Units in the warehouse, reserved ones included."),
  reserved: count.describe("Units of confirmed, unshipped orders."),
  returned: count.describe("Units sent back, awaiting inspection."),
  available: count.describe("onHand - reserved."),
  version: count.describe("Grows with every change (optimistic versions)."),
  lowStock: z.boolean(),
});
export const ApprovalShape = z.object({
  id: z.string(),
  kind: z.literal("refund"),
  orderId: z.string(),
  customerId: z.string(),
  sku: z.string(),
  qty: count,
  amountCents: count,
  reason: z.string(),
  status: z.enum(["pending", "approved", "denied"]),
  requestedAt: at,
  eventId: z.string(),
  decidedBy: z.string().optional(),
  decisionReason: z.string().optional(),
});
export const ReorderShape = z.object({ sku: z.string(), qty: count, eventId: z.string(), at });
export const PostShape = z.object({ postId: z.string(), sku: z.string(), text: z.string(), at });
export const PolicyShape = z.object({ approvalThresholdCents: count.describe("Refunds above this many cents wait for a person.") });
export const EventShape = z
  .object({
    id: z.string(),
    type: z.string(),
    at,
    source: z.string().optional(),
    causationId: z.string().optional(),
    v: count.optional(),
    data: z.record(z.string(), z.unknown()),
  })
  .describe("An event of the log (docs/events.md).");
export const ConflictShape = z.object({
  id: z.string(),
  at,
  by: z.string().describe("Who asked: an agent, or the source of an input event."),
  eventId: z.string(),
  eventType: z.string(),
  kind: z.enum(["rule", "scope", "stale", "invalid"]),
  entity: z.string().optional(),
  reason: z.string(),
  taskId: z.string().optional(),
  owner: z.string().describe("Who refused it: a service, or agent_runtime."),
});
export const RejectedShape = z.object({
  source: z.string(),
  line: count,
  reason: z.string(),
  hash: z.string(),
  eventId: z.string().optional(),
  at: at.optional(),
});
export const TaskShape = z.object({
  taskId: z.string(),
  eventId: z.string(),
  assignee: z.string(),
  status: z.enum(["pending", "running", "completed", "failed"]),
  attempts: count,
  result: z.string().optional(),
  error: z.string().optional(),
});
export const NoteShape = z.object({
  at,
  eventId: z.string(),
  note: z.string(),
  toolCalls: z.array(z.object({ name: z.string(), args: z.unknown(), error: z.string().optional() })).optional(),
  scratchpad: z.string().optional(),
});
export const MessageShape = z
  .object({ id: z.string().optional(), type: z.string().optional(), content: z.unknown() })
  .describe("A LangChain message (serialized).");
export const ProposalShape = z
  .object({
    id: z.string(),
    agent: z.string(),
    taskId: z.string(),
    causationId: z.string(),
    at,
    type: z.string(),
    data: z.unknown(),
    basedOn: z.array(z.unknown()),
  })
  .describe("An agent's proposal, waiting for a service.");

// Each shape must produce a value of its entity's type: a field renamed or added there breaks this.
type Describes<Shape extends z.ZodType, T> = z.infer<Shape> extends T ? true : never;
const _describes: [
  Describes<typeof ProductShape, Product>,
  Describes<typeof StockLevelShape, StockLevel>,
  Describes<typeof ReorderShape, Reorder>,
  Describes<typeof PostShape, Post>,
  Describes<typeof PolicyShape, Policy>,
  Describes<typeof RejectedShape, RejectedInput>,
  Describes<typeof ConflictShape, Omit<Conflict, "owner"> & { owner: string }>,
  Describes<typeof ApprovalShape, Omit<Approval, "reason"> & { reason: string }>,
] = [true, true, true, true, true, true, true, true];
void _describes;

/** A map of entities by key. */
export const byKey = (shape: z.ZodType) => z.record(z.string(), shape);
