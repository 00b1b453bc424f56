/**
 * How the SQLite event store keeps an event's body: deflated with a preset
 * dictionary of example events (docs/event-store.md, "How the SQLite tables are
 * laid out").
 *
 * Why a dictionary: an event is a few hundred bytes of JSON, too little for
 * deflate to find repeats within it, but nearly all of it (keys, type names,
 * sources, reasons, reply sentences) is shared with every other event of its
 * type. Given examples of each, deflate codes those parts as references into
 * them, and each row still decodes alone (a read by id or by stream needs no
 * neighbours). bench/RESULTS.md gives the table's bytes.
 *
 * The stored value says how it was written: TEXT is the JSON itself (rows from
 * before, and bodies deflate would not shorten); a BLOB starts with a format
 * tag. `DICTIONARY_V1` must never change once written: a row deflated with it
 * cannot be read with any other. A better dictionary is a new format tag with
 * its own constant beside this one; tests/event_codec.test.ts pins the bytes.
 */
import { TAG_DEFLATE_V1, encodeTagged, inflateTagged, unknownFormat } from "./codec.js";

/** Format tag: deflate-raw (RFC 1951) with `DICTIONARY_V1` as its preset dictionary. */
export const FORMAT_DEFLATE_V1 = TAG_DEFLATE_V1;

/**
 * Example events as the store writes them (`JSON.stringify` of what the
 * domain produces), one or more of every event type. Deflate codes a repeat
 * near the end of its window in fewer bits, so the most frequent types come
 * last: an order's lifecycle and its stock updates. Written once, by hand,
 * from the demo day (data/demo-day.jsonl) and the benchmark's generator.
 */
export const DICTIONARY_V1_EVENTS: readonly object[] = [
  { id: "policy-0", type: "PolicyChanged", at: "2026-03-01T07:00:00.000Z", source: "config", v: 1, data: { approvalThresholdCents: 10000 } },
  {
    id: "evt-012",
    at: "2026-03-01T12:40:00.000Z",
    source: "warehouse",
    type: "StockAdjusted",
    data: { sku: "SKU-MUG", delta: -2, reason: "two found chipped in the midday count" },
    v: 1,
  },
  {
    id: "evt-012>InventoryUpdated:SKU-MUG",
    type: "InventoryUpdated",
    at: "2026-03-01T12:40:00.000Z",
    source: "inventory_service",
    causationId: "evt-012",
    v: 1,
    data: { sku: "SKU-MUG", onHand: 26, reserved: 4, returned: 0, available: 22, version: 5, reason: "adjusted: two found chipped in the midday count" },
  },
  {
    id: "evt-020>OrderRejected",
    type: "OrderRejected",
    at: "2026-03-01T10:31:00.000Z",
    source: "order_service",
    causationId: "evt-020",
    v: 1,
    data: { orderId: "ORD-1011", customerId: "C-ERIN", reason: "insufficient stock (SKU-LAMP: ordered 4, available 2)", version: 1 },
  },
  {
    id: "evt-009>LowStockAlert:SKU-POSTER",
    type: "LowStockAlert",
    at: "2026-03-01T07:16:00.000Z",
    source: "inventory_service",
    causationId: "evt-009",
    v: 1,
    data: { sku: "SKU-POSTER", available: 3, reorderPoint: 3 },
  },
  {
    id: "evt-009>LowStockAlert:SKU-POSTER>ReorderRequested",
    type: "ReorderRequested",
    at: "2026-03-01T07:16:00.000Z",
    source: "inventory_agent",
    causationId: "evt-009>LowStockAlert:SKU-POSTER",
    v: 1,
    data: { sku: "SKU-POSTER", qty: 10 },
  },
  {
    id: "evt-009>LowStockAlert:SKU-POSTER>PromotionPaused",
    type: "PromotionPaused",
    at: "2026-03-01T07:16:00.000Z",
    source: "marketing_agent",
    causationId: "evt-009>LowStockAlert:SKU-POSTER",
    v: 1,
    data: { sku: "SKU-POSTER", reason: "low stock: 2 available" },
  },
  { id: "evt-040", at: "2026-03-01T15:00:00.000Z", source: "warehouse", type: "StockReceived", data: { sku: "SKU-POSTER", qty: 12 }, v: 1 },
  {
    id: "evt-040>ReorderClosed",
    type: "ReorderClosed",
    at: "2026-03-01T15:00:00.000Z",
    source: "inventory_service",
    causationId: "evt-040",
    v: 1,
    data: { sku: "SKU-POSTER", reorderId: "evt-009>LowStockAlert:SKU-POSTER>ReorderRequested" },
  },
  {
    id: "evt-040>InventoryUpdated:SKU-POSTER>PromotionResumed",
    type: "PromotionResumed",
    at: "2026-03-01T15:00:00.000Z",
    source: "marketing_agent",
    causationId: "evt-040>InventoryUpdated:SKU-POSTER",
    v: 1,
    data: { sku: "SKU-POSTER", reason: "restocked: 14 available" },
  },
  { id: "evt-047", at: "2026-03-01T16:40:00.000Z", source: "warehouse", type: "ReturnRestocked", data: { sku: "SKU-MUG", qty: 1 }, v: 1 },
  {
    id: "evt-047>InventoryUpdated:SKU-MUG",
    type: "InventoryUpdated",
    at: "2026-03-01T16:40:00.000Z",
    source: "inventory_service",
    causationId: "evt-047",
    v: 1,
    data: { sku: "SKU-MUG", onHand: 27, reserved: 4, returned: 0, available: 23, version: 9, reason: "return restocked" },
  },
  {
    id: "g-1",
    at: "2026-01-01T08:01:46.721Z",
    source: "catalog-admin",
    type: "ProductAdded",
    data: { sku: "SKU-TEE-0", name: "Organic Cotton Tee", priceCents: 2500, initialStock: 40, reorderPoint: 10, reorderQty: 40 },
    v: 1,
  },
  {
    id: "g-1>ProductListed",
    type: "ProductListed",
    at: "2026-01-01T08:01:46.721Z",
    source: "inventory_service",
    causationId: "g-1",
    v: 1,
    data: { sku: "SKU-TEE-0", name: "Organic Cotton Tee", priceCents: 2500, reorderPoint: 10, reorderQty: 40 },
  },
  {
    id: "g-1>InventoryUpdated:SKU-TEE-0",
    type: "InventoryUpdated",
    at: "2026-01-01T08:01:46.721Z",
    source: "inventory_service",
    causationId: "g-1",
    v: 1,
    data: { sku: "SKU-TEE-0", onHand: 40, reserved: 0, returned: 0, available: 40, version: 1, reason: "product added" },
  },
  {
    id: "g-1>PostDrafted",
    type: "PostDrafted",
    at: "2026-01-01T08:01:46.721Z",
    source: "marketing_agent",
    causationId: "g-1",
    v: 1,
    data: { postId: "post-g-1", sku: "SKU-TEE-0", text: "New in store: Organic Cotton Tee, $25.00. Get yours while stocks last!" },
  },
  {
    id: "g-1189>RefundRequested>RefundRejected",
    type: "RefundRejected",
    at: "2026-01-02T09:13:07.856Z",
    source: "order_service",
    causationId: "g-1189>RefundRequested",
    v: 1,
    data: { orderId: "ORD-232", sku: "SKU-CANDLE-12", reason: "order ORD-232 is cancelled; nothing was paid or everything was refunded" },
  },
  {
    id: "g-1190>ReplyDrafted",
    type: "ReplyDrafted",
    at: "2026-01-02T09:15:41.102Z",
    source: "support_agent",
    causationId: "g-1190",
    v: 1,
    data: { customerId: "C-17", orderId: "ORD-173", messageId: "msg-g-1190-reply", text: "The Apron 13 on order ORD-173 has already been refunded in full." },
  },
  {
    id: "g-1000",
    at: "2026-01-02T05:12:26.799Z",
    source: "storefront",
    type: "OrderCancelled",
    data: { orderId: "ORD-232", reason: "customer request" },
    v: 1,
  },
  {
    id: "g-1000>RefundProcessed",
    type: "RefundProcessed",
    at: "2026-01-02T05:12:26.799Z",
    source: "order_service",
    causationId: "g-1000",
    v: 1,
    data: { orderId: "ORD-232", qty: 2, amountCents: 4400, reason: "order cancelled", version: 3 },
  },
  {
    id: "g-1000>InventoryUpdated:SKU-CANDLE-12",
    type: "InventoryUpdated",
    at: "2026-01-02T05:12:26.799Z",
    source: "inventory_service",
    causationId: "g-1000",
    v: 1,
    data: { sku: "SKU-CANDLE-12", onHand: 231, reserved: 14, returned: 3, available: 217, version: 88, reason: "released: ORD-232 cancelled" },
  },
  {
    id: "g-1000>OrderStatusChanged",
    type: "OrderStatusChanged",
    at: "2026-01-02T05:12:26.799Z",
    source: "order_service",
    causationId: "g-1000",
    v: 1,
    data: { orderId: "ORD-232", from: "confirmed", to: "cancelled", version: 2 },
  },
  {
    id: "g-9987",
    at: "2026-01-10T01:21:12.530Z",
    source: "email",
    type: "CustomerMessage",
    data: { customerId: "C-88", orderId: "ORD-3571", subject: "Where is it?", text: "Where is my order ORD-3571?" },
    v: 1,
  },
  {
    id: "g-9987>ReplyDrafted",
    type: "ReplyDrafted",
    at: "2026-01-10T01:21:12.530Z",
    source: "support_agent",
    causationId: "g-9987",
    v: 1,
    data: { customerId: "C-88", orderId: "ORD-3571", messageId: "msg-g-9987-reply", text: "Order ORD-3571 is shipped." },
  },
  {
    id: "g-9990",
    at: "2026-01-10T01:25:40.118Z",
    source: "email",
    type: "CustomerMessage",
    data: { customerId: "C-41", text: "Thanks, all good!" },
    v: 1,
  },
  {
    id: "g-9990>ReplyDrafted",
    type: "ReplyDrafted",
    at: "2026-01-10T01:25:40.118Z",
    source: "support_agent",
    causationId: "g-9990",
    v: 1,
    data: { customerId: "C-41", messageId: "msg-g-9990-reply", text: "Thanks for your message. Could you tell me your order number and how I can help?" },
  },
  {
    id: "decision-apr-g-9994",
    at: "2026-01-10T02:02:23.408Z",
    source: "approval",
    v: 1,
    type: "ApprovalDecided",
    data: { approvalId: "apr-g-9994", decision: "approved", by: "ops@shop", reason: "photo of the damage attached" },
  },
  {
    id: "decision-apr-g-9994>RefundProcessed",
    type: "RefundProcessed",
    at: "2026-01-10T02:02:23.408Z",
    source: "order_service",
    causationId: "decision-apr-g-9994",
    v: 1,
    data: {
      orderId: "ORD-3561",
      sku: "SKU-JACKET-6",
      qty: 1,
      amountCents: 12900,
      reason: "approved by ops@shop: photo of the damage attached",
      version: 3,
      approvalId: "apr-g-9994",
      decidedBy: "ops@shop",
    },
  },
  {
    id: "decision-apr-g-9994>InventoryUpdated:SKU-JACKET-6",
    type: "InventoryUpdated",
    at: "2026-01-10T02:02:23.408Z",
    source: "inventory_service",
    causationId: "decision-apr-g-9994",
    v: 1,
    data: { sku: "SKU-JACKET-6", onHand: 1913, reserved: 173, returned: 12, available: 1740, version: 399, reason: "returned: refund on ORD-3561" },
  },
  {
    id: "g-9994",
    at: "2026-01-10T01:31:05.356Z",
    source: "email",
    type: "CustomerMessage",
    data: { customerId: "C-130", text: "My jacket arrived broken, I want a refund for order ORD-3561." },
    v: 1,
  },
  {
    id: "g-9994>RefundRequested",
    type: "RefundRequested",
    at: "2026-01-10T01:31:05.356Z",
    source: "support_agent",
    causationId: "g-9994",
    v: 1,
    data: { orderId: "ORD-3561", sku: "SKU-JACKET-6", qty: 1, reason: "damaged", note: "My jacket arrived broken, I want a refund for order ORD-3561." },
  },
  {
    id: "g-9994>RefundRequested>ApprovalRequested",
    type: "ApprovalRequested",
    at: "2026-01-10T01:31:05.356Z",
    source: "order_service",
    causationId: "g-9994>RefundRequested",
    v: 1,
    data: { approvalId: "apr-g-9994", orderId: "ORD-3561", sku: "SKU-JACKET-6", qty: 1, amountCents: 12900, reason: "damaged" },
  },
  {
    id: "g-9994>ReplyDrafted",
    type: "ReplyDrafted",
    at: "2026-01-10T01:31:05.356Z",
    source: "support_agent",
    causationId: "g-9994",
    v: 1,
    data: {
      customerId: "C-130",
      orderId: "ORD-3561",
      messageId: "msg-g-9994-reply",
      text: "I've asked for a refund of 1 x Jacket 6 on order ORD-3561 ($129.00 at most). Larger refunds are checked by a person; you'll hear from us either way.",
    },
  },
  {
    id: "g-9996",
    at: "2026-01-10T01:40:11.027Z",
    source: "email",
    type: "CustomerMessage",
    data: { customerId: "C-57", text: "The lamp never arrived. Refund please." },
    v: 1,
  },
  {
    id: "g-9996>RefundRequested",
    type: "RefundRequested",
    at: "2026-01-10T01:40:11.027Z",
    source: "support_agent",
    causationId: "g-9996",
    v: 1,
    data: { orderId: "ORD-3540", sku: "SKU-LAMP-5", qty: 2, reason: "not_delivered", note: "The lamp never arrived. Refund please." },
  },
  {
    id: "g-9996>RefundRequested>RefundProcessed",
    type: "RefundProcessed",
    at: "2026-01-10T01:40:11.027Z",
    source: "order_service",
    causationId: "g-9996>RefundRequested",
    v: 1,
    data: { orderId: "ORD-3540", sku: "SKU-LAMP-5", qty: 2, amountCents: 4200, reason: "not_delivered", version: 4 },
  },
  {
    id: "g-9996>RefundRequested>InventoryUpdated:SKU-LAMP-5",
    type: "InventoryUpdated",
    at: "2026-01-10T01:40:11.027Z",
    source: "inventory_service",
    causationId: "g-9996>RefundRequested",
    v: 1,
    data: { sku: "SKU-LAMP-5", onHand: 402, reserved: 35, returned: 0, available: 367, version: 412, reason: "released: refund on ORD-3540" },
  },
  {
    id: "g-9997",
    at: "2026-01-10T01:42:59.610Z",
    source: "email",
    type: "CustomerMessage",
    data: { customerId: "C-102", text: "Hi, I got the wrong item in ORD-3555, can I return the tote?" },
    v: 1,
  },
  {
    id: "g-9997>RefundRequested",
    type: "RefundRequested",
    at: "2026-01-10T01:42:59.610Z",
    source: "support_agent",
    causationId: "g-9997",
    v: 1,
    data: { orderId: "ORD-3555", sku: "SKU-TOTE-4", qty: 1, reason: "wrong_item", note: "Hi, I got the wrong item in ORD-3555, can I return the tote?" },
  },
  { id: "g-9998", at: "2026-01-10T01:44:31.992Z", source: "carrier", type: "OrderDelivered", data: { orderId: "ORD-3498" }, v: 1 },
  {
    id: "g-9998>OrderStatusChanged",
    type: "OrderStatusChanged",
    at: "2026-01-10T01:44:31.992Z",
    source: "order_service",
    causationId: "g-9998",
    v: 1,
    data: { orderId: "ORD-3498", from: "shipped", to: "delivered", version: 3 },
  },
  { id: "g-9999", at: "2026-01-10T01:46:02.715Z", source: "warehouse", type: "OrderShipped", data: { orderId: "ORD-3547" }, v: 1 },
  {
    id: "g-9999>OrderStatusChanged",
    type: "OrderStatusChanged",
    at: "2026-01-10T01:46:02.715Z",
    source: "order_service",
    causationId: "g-9999",
    v: 1,
    data: { orderId: "ORD-3547", from: "confirmed", to: "shipped", version: 2 },
  },
  {
    id: "g-9999>InventoryUpdated:SKU-HOODIE-18",
    type: "InventoryUpdated",
    at: "2026-01-10T01:46:02.715Z",
    source: "inventory_service",
    causationId: "g-9999",
    v: 1,
    data: { sku: "SKU-HOODIE-18", onHand: 1688, reserved: 162, returned: 7, available: 1526, version: 415, reason: "shipped ORD-3547" },
  },
  {
    id: "g-10000",
    at: "2026-01-10T01:50:35.356Z",
    source: "storefront",
    type: "OrderPlaced",
    data: {
      orderId: "ORD-3582",
      customerId: "C-130",
      lines: [
        { sku: "SKU-PILLOW-15", qty: 2 },
        { sku: "SKU-SOCKS-23", qty: 1 },
      ],
    },
    v: 1,
  },
  {
    id: "g-10000>OrderConfirmed",
    type: "OrderConfirmed",
    at: "2026-01-10T01:50:35.356Z",
    source: "order_service",
    causationId: "g-10000",
    v: 1,
    data: {
      orderId: "ORD-3582",
      customerId: "C-130",
      lines: [
        { sku: "SKU-PILLOW-15", qty: 2, unitPriceCents: 17600 },
        { sku: "SKU-SOCKS-23", qty: 1, unitPriceCents: 6000 },
      ],
      paidCents: 41200,
      version: 1,
    },
  },
  {
    id: "g-10000>InventoryUpdated:SKU-SOCKS-23",
    type: "InventoryUpdated",
    at: "2026-01-10T01:50:35.356Z",
    source: "inventory_service",
    causationId: "g-10000",
    v: 1,
    data: { sku: "SKU-SOCKS-23", onHand: 2206, reserved: 181, returned: 9, available: 2025, version: 402, reason: "reserved for ORD-3582" },
  },
  {
    id: "g-10000>InventoryUpdated:SKU-PILLOW-15",
    type: "InventoryUpdated",
    at: "2026-01-10T01:50:35.356Z",
    source: "inventory_service",
    causationId: "g-10000",
    v: 1,
    data: { sku: "SKU-PILLOW-15", onHand: 2213, reserved: 173, returned: 12, available: 2040, version: 398, reason: "reserved for ORD-3582" },
  },
];

/** The preset dictionary of format 1: the examples, one JSON text after another. Never change it (see the header). */
export const DICTIONARY_V1: Buffer = Buffer.from(DICTIONARY_V1_EVENTS.map((e) => JSON.stringify(e)).join(""), "utf8");

/**
 * The column value for an event's JSON: a tagged BLOB when deflating shortens
 * it, else the text itself. Level 9: bodies are written once and read many
 * times, and the extra effort costs microseconds on a few hundred bytes.
 */
export function encodeBody(json: string): Buffer | string {
  return encodeTagged(json, DICTIONARY_V1, 9);
}

/** The JSON text of a stored body; `where` names the row for the error a body of an unknown format gets. */
export function decodeBody(stored: Uint8Array | string, where: () => string): string {
  if (typeof stored === "string") return stored;
  const text = inflateTagged(stored, DICTIONARY_V1);
  if (text === undefined) throw unknownFormat(`event store: the body of ${where()}`, stored[0]);
  return text;
}
