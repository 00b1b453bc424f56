/**
 * The events of the store (docs/events.md): a discriminated union on `type`.
 *
 * Input events come from outside and are validated strictly (unknown keys,
 * wrong types, zero or negative quantities are refused with a reason a person
 * can act on). System events are produced by the services from a triggering
 * event; their ids derive from it, so a replay produces the same ids.
 */
import { z } from "zod";
import { identifierProblem, textProblem } from "./text.js";

/** A zod check from one of text.ts's rules: the issue carries the rule's reason. */
function obeys(rule: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx) => {
    const problem = rule(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem, input: value });
  };
}

const sku = z.string().trim().min(1, "must be a non-empty SKU").max(64).superRefine(obeys(identifierProblem));
const id = z.string().trim().min(1, "must be a non-empty id").max(128).superRefine(obeys(identifierProblem));
/** Free text up to `max` characters, kept literally (see text.ts for what it may not contain). */
const text = (max: number) => z.string().max(max).superRefine(obeys(textProblem));
const positiveQty = z
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .positive("must be at least 1")
  .max(1_000_000, "is implausibly large (max 1,000,000)");
const cents = z
  .number({ error: "must be a number of cents" })
  .int("must be whole cents (an integer)")
  .nonnegative("must not be negative")
  .max(100_000_000_00, "is implausibly large");
const isoTime = z.iso.datetime({ offset: true, error: "must be an ISO-8601 timestamp such as 2026-03-01T09:00:00Z" });

const envelopeFields = {
  id,
  at: isoTime,
  source: z.string().trim().min(1).max(64).superRefine(obeys(textProblem)).optional(),
  causationId: id.optional(),
  v: z.literal(1, { error: "unsupported schema version (this build reads v1)" }).optional(),
};

function inputEvent<T extends string, D extends z.ZodRawShape>(type: T, data: D) {
  return z.strictObject({ ...envelopeFields, type: z.literal(type), data: z.strictObject(data) });
}

export const ProductAdded = inputEvent("ProductAdded", {
  sku,
  name: z.string().trim().min(1, "must be a non-empty name").max(200).superRefine(obeys(textProblem)),
  priceCents: cents,
  initialStock: z.number().int("must be a whole number").nonnegative("must not be negative").max(1_000_000),
  reorderPoint: z.number().int("must be a whole number").nonnegative("must not be negative").max(1_000_000),
  reorderQty: positiveQty.optional(),
});

export const OrderPlaced = inputEvent("OrderPlaced", {
  orderId: id,
  customerId: id,
  lines: z
    .array(z.strictObject({ sku, qty: positiveQty }), { error: "must be a list of {sku, qty}" })
    .min(1, "must have at least one line")
    .max(100, "has too many lines (max 100)")
    .refine((lines) => new Set(lines.map((l) => l.sku)).size === lines.length, "lists the same SKU twice; combine the lines"),
});

export const OrderShipped = inputEvent("OrderShipped", { orderId: id });
export const OrderDelivered = inputEvent("OrderDelivered", { orderId: id });
export const OrderCancelled = inputEvent("OrderCancelled", { orderId: id, reason: text(500).optional() });

export const CustomerMessage = inputEvent("CustomerMessage", {
  customerId: id,
  orderId: id.optional(),
  subject: text(200).optional(),
  text: z.string().trim().min(1, "must not be empty").max(4000, "is too long (max 4000 characters)").superRefine(obeys(textProblem)),
});

export const StockReceived = inputEvent("StockReceived", { sku, qty: positiveQty });

export const StockAdjusted = inputEvent("StockAdjusted", {
  sku,
  delta: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .refine((d) => d !== 0, "must not be 0 (an adjustment changes the count)")
    .refine((d) => Math.abs(d) <= 1_000_000, "is implausibly large"),
  reason: z.string().trim().min(1, "must say why the count changed").max(500).superRefine(obeys(textProblem)),
});

export const ReturnRestocked = inputEvent("ReturnRestocked", { sku, qty: positiveQty });

export const ApprovalDecided = inputEvent("ApprovalDecided", {
  approvalId: id,
  decision: z.enum(["approved", "denied"], { error: "must be 'approved' or 'denied'" }),
  by: z.string().trim().min(1, "must name who decided").max(200).superRefine(obeys(textProblem)),
  reason: text(500).optional(),
});

/** Every event type a user may send in. */
export const InputEventSchema = z.discriminatedUnion("type", [
  ProductAdded,
  OrderPlaced,
  OrderShipped,
  OrderDelivered,
  OrderCancelled,
  CustomerMessage,
  StockReceived,
  StockAdjusted,
  ReturnRestocked,
  ApprovalDecided,
]);
export type InputEvent = z.infer<typeof InputEventSchema>;
export type InputEventType = InputEvent["type"];
export const INPUT_EVENT_TYPES = InputEventSchema.options.map((o) => o.shape.type.value) as InputEventType[];

/** Why a refund is asked for; `not_delivered` means nothing comes back to the warehouse. */
export const RefundReason = z.enum(["damaged", "wrong_item", "not_delivered", "not_as_described", "changed_mind", "other"]);
export type RefundReason = z.infer<typeof RefundReason>;

/** The data of every event the system produces, keyed by type. */
export interface SystemEventData {
  ProductListed: { sku: string; name: string; priceCents: number; reorderPoint: number; reorderQty: number };
  OrderConfirmed: { orderId: string; customerId: string; lines: { sku: string; qty: number; unitPriceCents: number }[]; paidCents: number; version: number };
  OrderRejected: { orderId: string; customerId: string; reason: string; version: number };
  OrderStatusChanged: { orderId: string; from: OrderStatus; to: OrderStatus; version: number };
  InventoryUpdated: { sku: string; onHand: number; reserved: number; returned: number; available: number; version: number; reason: string };
  LowStockAlert: { sku: string; available: number; reorderPoint: number };
  RefundRequested: { orderId: string; sku: string; qty: number; reason: RefundReason; note?: string };
  ApprovalRequested: { approvalId: string; orderId: string; sku: string; qty: number; amountCents: number; reason: RefundReason };
  RefundProcessed: {
    orderId: string;
    sku?: string;
    qty: number;
    amountCents: number;
    reason: string;
    approvalId?: string;
    decidedBy?: string;
    version: number;
  };
  RefundRejected: { orderId: string; sku?: string; reason: string; approvalId?: string; decidedBy?: string };
  ReorderRequested: { sku: string; qty: number };
  ReorderClosed: { sku: string; reorderId: string };
  PostDrafted: { postId: string; sku: string; text: string };
  PromotionPaused: { sku: string; reason: string };
  PromotionResumed: { sku: string; reason: string };
  ReplyDrafted: { customerId: string; orderId?: string; messageId: string; text: string };
  PolicyChanged: { approvalThresholdCents: number };
}
export type SystemEventType = keyof SystemEventData;

export type OrderStatus = "confirmed" | "rejected" | "shipped" | "delivered" | "cancelled";

interface Envelope<T extends string, D> {
  id: string;
  type: T;
  at: string;
  source: string;
  causationId?: string;
  v: 1;
  data: D;
}

export type SystemEvent = { [T in SystemEventType]: Envelope<T, SystemEventData[T]> }[SystemEventType];
/** An input event as stored in the log: `source` and `v` filled in. */
export type StoredInputEvent = InputEvent & { source: string; v: 1 };
/** Anything in the event log. */
export type StoreEvent = StoredInputEvent | SystemEvent;
export type StoreEventType = StoreEvent["type"];
export type EventOf<T extends StoreEventType> = Extract<StoreEvent, { type: T }>;

/**
 * What makes two events with one id the same event: type, time and data
 * (source and version aside). Re-sending it is a no-op; reusing its id for
 * another fingerprint is an error.
 */
export function eventFingerprint(event: Pick<StoreEvent, "type" | "at" | "data">): string {
  return JSON.stringify([event.type, event.at, event.data]);
}

export function isInputEvent(event: StoreEvent): event is StoredInputEvent {
  return (INPUT_EVENT_TYPES as string[]).includes(event.type);
}

/**
 * Ids of produced events derive from the triggering event, so replays agree.
 * `key` tells apart several events of one type from one cause (one per SKU, say).
 */
export function derivedId(causeId: string, type: string, key?: string): string {
  return key === undefined ? `${causeId}>${type}` : `${causeId}>${type}:${key}`;
}

/** Builds a system event that inherits its time from the event that caused it. */
export function systemEvent<T extends SystemEventType>(
  type: T,
  data: SystemEventData[T],
  cause: { id: string; at: string },
  source: string,
  key?: string,
): EventOf<T> {
  return { id: derivedId(cause.id, type, key), type, at: cause.at, source, causationId: cause.id, v: 1, data } as unknown as EventOf<T>;
}
