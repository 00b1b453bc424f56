/**
 * The customer knowledge base (issue #3, retrieval memory): every
 * customer-facing fact is kept in a LangGraph `BaseStore` under the customer's
 * namespace, keyed by the event it came from, with its embedding beside it
 * (unless the embedding is cheaper to compute again than to store: the local one).
 *
 * Ranking happens here, not in the store: the CLI's SqliteStore and the
 * LangGraph server's store (which has no vector index) then retrieve the same
 * facts for the same query. A reader passes `isInBranch` so that after a
 * rollback or a replay, facts of an abandoned branch or of the future are
 * never seen, even though the store (which is not time-travelled) still holds them.
 */
import type { BaseStore } from "@langchain/langgraph-checkpoint";
import type { StoreEvent } from "../domain/events.js";
import { formatCents } from "../domain/money.js";
import type { Order, World } from "../domain/world.js";
import { cosine, type FactEmbeddings } from "./embeddings.js";
import type { CustomerFact, RecalledFact } from "./facts.js";

/** A fact's text is cut to this many characters, so k recalled facts fit any prompt. */
export const MAX_FACT_TEXT_CHARS = 300;
/** Items read per store.search call while recalling. */
export const RECALL_PAGE_SIZE = 500;

/** What the store holds per fact: the fact, and its vector with the model that made it (none for a recomputable model). */
export interface StoredFact extends CustomerFact {
  embedding?: number[];
  embeddingModel?: string;
}

type FactWorld = Pick<World, "orders" | "catalog">;

/**
 * The namespace of a customer's facts: `["customers", customerId, "facts"]`,
 * or `["stores", scope, "customers", customerId, "facts"]` with a scope.
 *
 * A scope (a store name or thread id) keeps stores that share one knowledge
 * store apart: several stores live in one SQLite file, and the LangGraph
 * server has one store for all threads, while input event ids ("e1") are only
 * unique within a store's log.
 *
 * Customer ids are free text (an e-mail address has dots), but namespace
 * labels may not contain '.', ':' or NUL, so those (and '%', to stay
 * reversible) are percent-encoded.
 */
export function customerNamespace(customerId: string, scope?: string): string[] {
  const facts = ["customers", namespaceLabel(customerId), "facts"];
  return scope === undefined ? facts : ["stores", namespaceLabel(scope), ...facts];
}

function namespaceLabel(text: string): string {
  return text.replace(/[%.:\0]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

/**
 * The customer-facing fact of an event, or null when the event is not about a
 * customer (stock, posts) or its order is unknown. `world` names the products
 * and finds the customer of refund events, which carry only an order id.
 */
export function factOf(event: StoreEvent, world: FactWorld): CustomerFact | null {
  const product = (sku: string) => describeProduct(sku, world);
  switch (event.type) {
    case "OrderPlaced": {
      const { orderId, customerId, lines } = event.data;
      const items = lines.map((l) => `${l.qty} × ${product(l.sku)}`).join(", ");
      const order = orderOfPlacement(orderId, customerId, lines, world);
      const total = order ? (order.status === "rejected" ? undefined : order.paidCents) : listTotal(lines, world);
      const outcome = order?.status === "rejected" ? ` (rejected: ${order.rejectionReason ?? "no reason given"})` : "";
      return fact(
        event,
        customerId,
        "order",
        `Order ${orderId} placed: ${items}${total === undefined ? "" : `, total ${formatCents(total)}`}${outcome}`,
        orderId,
      );
    }
    case "RefundProcessed": {
      const { orderId, sku, qty, amountCents, reason, decidedBy } = event.data;
      const what = sku ? `${qty} × ${product(sku)}` : `${qty} item(s)`;
      const by = decidedBy ? `, approved by ${decidedBy}` : "";
      return orderFact(
        event,
        world,
        orderId,
        "refund",
        `Refund of ${formatCents(amountCents)} processed on order ${orderId} for ${what} (reason: ${reason}${by})`,
      );
    }
    case "RefundRejected": {
      const { orderId, sku, reason, decidedBy } = event.data;
      const what = sku ? ` for ${product(sku)}` : "";
      const by = decidedBy ? `, decided by ${decidedBy}` : "";
      return orderFact(event, world, orderId, "refund", `Refund on order ${orderId}${what} rejected: ${reason}${by}`);
    }
    case "ApprovalRequested": {
      const { orderId, sku, qty, amountCents, reason } = event.data;
      return orderFact(
        event,
        world,
        orderId,
        "refund",
        `Refund of ${formatCents(amountCents)} on order ${orderId} for ${qty} × ${product(sku)} awaits a person's approval (reason: ${reason})`,
      );
    }
    case "ReplyDrafted": {
      const { customerId, orderId, text } = event.data;
      return fact(event, customerId, "reply", `Reply to the customer${orderId ? ` about order ${orderId}` : ""}: "${text}"`, orderId);
    }
    case "CustomerMessage": {
      const { customerId, orderId, subject, text } = event.data;
      const about = orderId ? ` about order ${orderId}` : "";
      return fact(event, customerId, "message", `Customer wrote${about}${subject ? ` (subject: ${subject})` : ""}: "${text}"`, orderId);
    }
    // Not customer-facing, or already in the order the agent sees (its status, its lines).
    case "ProductAdded":
    case "ProductListed":
    case "OrderConfirmed":
    case "OrderRejected":
    case "OrderShipped":
    case "OrderDelivered":
    case "OrderCancelled":
    case "OrderStatusChanged":
    case "StockReceived":
    case "StockAdjusted":
    case "ReturnRestocked":
    case "InventoryUpdated":
    case "LowStockAlert":
    case "RefundRequested":
    case "ApprovalDecided":
    case "ReorderRequested":
    case "ReorderClosed":
    case "PostDrafted":
    case "PromotionPaused":
    case "PromotionResumed":
    case "PolicyChanged":
      return null;
    default: {
      const unknown: never = event;
      throw new Error(`factOf: unhandled event type ${(unknown as StoreEvent).type}`);
    }
  }
}

/** The facts of a run's new events, in log order. */
export function factsOf(events: readonly StoreEvent[], world: FactWorld): CustomerFact[] {
  return events.map((e) => factOf(e, world)).filter((f): f is CustomerFact => f !== null);
}

function fact(event: StoreEvent, customerId: string, kind: CustomerFact["kind"], text: string, orderId?: string): CustomerFact {
  return { eventId: event.id, customerId, kind, text: boundText(text), at: event.at, ...(orderId ? { orderId } : {}) };
}

function orderFact(event: StoreEvent, world: FactWorld, orderId: string, kind: CustomerFact["kind"], text: string): CustomerFact | null {
  const order = world.orders[orderId];
  return order ? fact(event, order.customerId, kind, text, orderId) : null;
}

function describeProduct(sku: string, world: FactWorld): string {
  const name = world.catalog[sku]?.name;
  return name ? `${name} (${sku})` : sku;
}

/**
 * The world's order for this placement, if it is this one: a second
 * OrderPlaced with a used order id is refused and must not be described with
 * the first order's total or status.
 */
function orderOfPlacement(orderId: string, customerId: string, lines: { sku: string; qty: number }[], world: FactWorld): Order | undefined {
  const order = world.orders[orderId];
  const same =
    order &&
    order.customerId === customerId &&
    order.lines.length === lines.length &&
    lines.every((l, i) => order.lines[i].sku === l.sku && order.lines[i].qty === l.qty);
  return same ? order : undefined;
}

/** The list price of the lines, when every SKU has one. */
function listTotal(lines: { sku: string; qty: number }[], world: FactWorld): number | undefined {
  let total = 0;
  for (const line of lines) {
    const price = world.catalog[line.sku]?.priceCents;
    if (price === undefined) return undefined;
    total += price * line.qty;
  }
  return total;
}

/** Customer messages can be 4,000 characters; a fact is a line, not a transcript. */
function boundText(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length <= MAX_FACT_TEXT_CHARS ? oneLine : `${oneLine.slice(0, MAX_FACT_TEXT_CHARS - 1)}…`;
}

/** Vectors are stored to 6 decimals: a third of the JSON, and no change to any ranking that matters. */
function storedVector(vector: number[]): number[] {
  return vector.map((x) => Math.round(x * 1e6) / 1e6);
}

/**
 * Writes facts to their customers' namespaces, keyed by event id, with their
 * embeddings. Idempotent: the same event always lands on the same key, so a
 * replay or a retried run overwrites instead of duplicating.
 */
export async function remember(store: BaseStore, facts: readonly CustomerFact[], embeddings: FactEmbeddings, scope?: string): Promise<void> {
  if (facts.length === 0) return;
  const vectors = embeddings.recomputable ? undefined : await embeddings.embedDocuments(facts.map((f) => f.text));
  // One put per fact, not store.batch: inside a run LangGraph hands nodes an
  // AsyncBatchedStore, which batches puts itself and refuses batch().
  await Promise.all(
    facts.map((f, i) => {
      const value: StoredFact = vectors ? { ...f, embedding: storedVector(vectors[i]), embeddingModel: embeddings.modelId } : { ...f };
      return store.put(customerNamespace(f.customerId, scope), f.eventId, { ...value }, false);
    }),
  );
}

export interface RecallOptions {
  customerId: string;
  query: string;
  /** How many facts to return at most. */
  k: number;
  /** False for events not in the reader's branch of the log (abandoned after a rollback, or not yet happened). */
  isInBranch?: (eventId: string) => boolean;
  /** The same question for many facts at once (the event store answers it in one query); used instead of `isInBranch` when given. */
  inBranch?: (eventIds: readonly string[]) => Promise<ReadonlySet<string>>;
  embeddings: FactEmbeddings;
  /** The scope the facts were remembered under (see customerNamespace), if any. */
  scope?: string;
  /** Items per store.search page (default RECALL_PAGE_SIZE). */
  pageSize?: number;
}

/**
 * The k facts of one customer closest to the query, best first (ties: newer
 * first). Reads every fact of the customer page by page, because a store's
 * default search limit (10) would silently drop most of a long history.
 */
export async function recall(store: BaseStore, options: RecallOptions): Promise<RecalledFact[]> {
  const { customerId, query, k, embeddings } = options;
  if (k <= 0) return [];
  const namespace = customerNamespace(customerId, options.scope);
  const stored = await readFacts(store, namespace, customerId, options.pageSize ?? RECALL_PAGE_SIZE);
  const inBranch = options.inBranch ? await options.inBranch(stored.map((f) => f.eventId)) : undefined;
  const facts = stored.filter((f) => (inBranch ? inBranch.has(f.eventId) : (options.isInBranch?.(f.eventId) ?? false)));
  if (facts.length === 0) return [];
  const queryVector = await embeddings.embedQuery(query);
  const vectors = await vectorsFor(facts, embeddings, queryVector.length);
  const scored = facts.map((f, i) => ({ fact: f, score: cosine(queryVector, vectors[i]) }));
  scored.sort((a, b) => b.score - a.score || compareNewestFirst(a.fact, b.fact));
  return scored.slice(0, k).map(({ fact: f, score }) => recalled(f, score));
}

/** Every stored fact of the customer. Stops on an empty page, not a short one: a store may cap page sizes. */
async function readFacts(store: BaseStore, namespace: string[], customerId: string, pageSize: number): Promise<StoredFact[]> {
  const facts: StoredFact[] = [];
  for (let offset = 0; ;) {
    const page = await store.search(namespace, { filter: { customerId }, limit: pageSize, offset });
    if (page.length === 0) return facts;
    for (const item of page) facts.push(storedFactOf(item.value, `${namespace.join("/")}/${item.key}`));
    offset += page.length;
  }
}

function storedFactOf(value: Record<string, unknown>, where: string): StoredFact {
  for (const field of ["eventId", "customerId", "kind", "text", "at"] as const) {
    if (typeof value[field] !== "string")
      throw new TypeError(`knowledge store item ${where} is not a fact: '${field}' is ${JSON.stringify(value[field])}, expected a string`);
  }
  return value as unknown as StoredFact;
}

/**
 * Stored vectors when they come from the same model; facts stored without one
 * or embedded by another model are embedded now, rounded as a stored vector
 * is, so a fact ranks the same whether its vector was stored or not.
 */
async function vectorsFor(facts: StoredFact[], embeddings: FactEmbeddings, dims: number): Promise<number[][]> {
  const usable = (f: StoredFact): f is StoredFact & { embedding: number[] } =>
    f.embeddingModel === embeddings.modelId && Array.isArray(f.embedding) && f.embedding.length === dims;
  const stale = facts.filter((f) => !usable(f));
  const fresh = stale.length > 0 ? await embeddings.embedDocuments(stale.map((f) => f.text)) : [];
  const freshByEvent = new Map(stale.map((f, i) => [f.eventId, storedVector(fresh[i])]));
  return facts.map((f) => (usable(f) ? f.embedding : (freshByEvent.get(f.eventId) as number[])));
}

/** By instant, not by string: event times may carry different UTC offsets. */
function compareNewestFirst(a: CustomerFact, b: CustomerFact): number {
  const byTime = Date.parse(b.at) - Date.parse(a.at);
  if (byTime !== 0) return byTime;
  return a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0;
}

function recalled(f: StoredFact, score: number): RecalledFact {
  return { eventId: f.eventId, customerId: f.customerId, kind: f.kind, text: f.text, at: f.at, ...(f.orderId ? { orderId: f.orderId } : {}), score };
}
