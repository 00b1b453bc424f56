/**
 * Reads a customer message the way a careful clerk would: what they want,
 * which order and product, how many, and why. Only the customer's own orders
 * are candidates; amounts written in the message are never used.
 */
import type { RefundReason } from "../../domain/events.js";
import type { Order, Product } from "../../domain/world.js";

export type SupportIntentKind = "refund" | "status" | "cancel" | "manipulation" | "unclear";

export interface SupportIntent {
  kind: SupportIntentKind;
  reason: RefundReason;
  order?: Order;
  sku?: string;
  /** Units asked for; undefined means the whole line. */
  qty?: number;
  /** What we still need to know to act (asked for in the reply). */
  missing: string[];
  /** An order id the customer named that is not one of theirs. */
  foreignOrderId?: string;
}

const MANIPULATION = /\b(ignore (all |any |your |the )?(previous |prior |above )?(instructions|rules|prompt)|system prompt|you are now|developer mode|act as|override|jailbreak|admin(istrator)? (mode|access)|disregard)\b/i;
const REFUND = /\b(refund|money back|reimburse|return(ing)?|broken|damaged|defective|cracked|faulty|smashed|shattered|torn|ripped|wrong (item|size|colou?r|product|one)|not what i ordered|never (arrived|came|got|received)|(not|hasn'?t|didn'?t|did not|has not) (arrived|arrive|come|received|receive)|missing|lost in (the )?(post|mail)|chargeback)\b/i;
const STATUS = /\b(where('?s| is)|status|track(ing)?|when (will|does|do)|has .* shipped|shipped yet|arrive)\b/i;
const CANCEL = /\bcancel/i;

const REASONS: [RegExp, RefundReason][] = [
  [/\b(never (arrived|came|got|received)|(not|hasn'?t|didn'?t|did not|has not) (arrived|arrive|come|received|receive)|missing|lost in (the )?(post|mail))\b/i, "not_delivered"],
  [/\b(broken|damaged|defective|cracked|faulty|smashed|shattered|torn|ripped|doesn'?t work|stopped working)\b/i, "damaged"],
  [/\b(wrong (item|size|colou?r|product|one)|not what i ordered|sent me the wrong)\b/i, "wrong_item"],
  [/\b(not as (described|pictured|advertised)|looks different)\b/i, "not_as_described"],
  [/\b(changed my mind|don'?t (want|need|like) it|no longer (want|need))\b/i, "changed_mind"],
];

const NUMBER_WORDS: Record<string, number> = { a: 1, an: 1, one: 1, single: 1, two: 2, both: 2, pair: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, dozen: 12 };

export function readSupportMessage(text: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): SupportIntent {
  const lower = text.toLowerCase();
  const reason = REASONS.find(([pattern]) => pattern.test(text))?.[1] ?? "other";
  if (MANIPULATION.test(text)) return { kind: "manipulation", reason, missing: [] };

  const named = findOrderIds(text);
  const mine = new Map(orders.map((o) => [o.orderId.toLowerCase(), o]));
  const foreign = named.find((id) => !mine.has(id.toLowerCase()));
  let order = orderIdField ? orders.find((o) => o.orderId === orderIdField) : named.map((id) => mine.get(id.toLowerCase())).find((o) => o !== undefined);

  const wantsRefund = REFUND.test(text);
  const kind: SupportIntentKind = wantsRefund ? "refund" : CANCEL.test(text) ? "cancel" : STATUS.test(text) ? "status" : "unclear";
  const candidates = order ? [order] : orders;
  const product = matchProduct(lower, candidates, products);

  if (!order && product) order = candidates.find((o) => o.lines.some((l) => l.sku === product.sku));
  if (!order && !product && orders.length === 1 && !foreign) order = orders[0];

  const intent: SupportIntent = { kind, reason, missing: [], ...(order ? { order } : {}), ...(foreign ? { foreignOrderId: foreign } : {}) };
  if (kind !== "refund") return intent;

  if (!order) {
    intent.missing.push("the order number");
    if (!product) intent.missing.push("which product");
    return intent;
  }
  const line = product ? order.lines.find((l) => l.sku === product.sku) : order.lines.length === 1 ? order.lines[0] : undefined;
  if (!line) {
    intent.missing.push(`which product of order ${order.orderId} (${order.lines.map((l) => nameOf(l.sku, products)).join(", ")})`);
    return intent;
  }
  intent.sku = line.sku;
  const qty = findQuantity(lower, products.find((p) => p.sku === line.sku));
  if (qty !== undefined) intent.qty = qty;
  return intent;
}

/** Tokens that look like order ids: ORD-1001, order #1001, O-7. */
export function findOrderIds(text: string): string[] {
  const ids = new Set<string>();
  for (const match of text.matchAll(/\b([A-Z]{1,5}-\d[\w-]*)\b/gi)) if (!/^sku-/i.test(match[1])) ids.add(match[1]);
  for (const match of text.matchAll(/\border\s*(?:#|no\.?|number)?\s*([A-Z]*-?\d[\w-]*)/gi)) ids.add(match[1]);
  return [...ids];
}

function matchProduct(lower: string, orders: readonly Order[], products: readonly Product[]): Product | undefined {
  const ordered = new Set(orders.flatMap((o) => o.lines.map((l) => l.sku)));
  let best: { product: Product; score: number } | undefined;
  for (const product of products) {
    if (!ordered.has(product.sku)) continue;
    let score = lower.includes(product.sku.toLowerCase()) ? 10 : 0;
    for (const word of significantWords(product.name)) if (new RegExp(`\\b${escape(word)}s?\\b`).test(lower)) score += word.length >= 4 ? 2 : 1;
    if (score > 0 && (!best || score > best.score)) best = { product, score };
  }
  return best?.product;
}

function significantWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length >= 3 && !["the", "and", "for", "with"].includes(w));
}

function findQuantity(lower: string, product: Product | undefined): number | undefined {
  const partOf = lower.match(new RegExp(`\\b(\\d{1,4}|${Object.keys(NUMBER_WORDS).join("|")}) of (?:the|my|those|these|them)\\b`));
  if (partOf) return /^\d/.test(partOf[1]) ? Number(partOf[1]) : NUMBER_WORDS[partOf[1]];
  const words = product ? significantWords(product.name).map(escape) : [];
  const noun = words.length > 0 ? `(?:\\w+\\s+){0,2}(?:${words.join("|")})` : "\\w+";
  const digits = lower.match(new RegExp(`\\b(\\d{1,4})\\s*(?:x\\s*)?${noun}`)) ?? lower.match(/\b(\d{1,4})\s*(?:units?|items?|pieces?|of them)\b/);
  if (digits) return Number(digits[1]);
  const spelled = lower.match(new RegExp(`\\b(${Object.keys(NUMBER_WORDS).join("|")})\\s+${noun}`));
  if (spelled && spelled[1] !== "a" && spelled[1] !== "an") return NUMBER_WORDS[spelled[1]];
  if (/\b(all|every|whole|entire)\b/.test(lower)) return undefined;
  return spelled ? 1 : undefined;
}

function nameOf(sku: string, products: readonly Product[]): string {
  return products.find((p) => p.sku === sku)?.name ?? sku;
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
