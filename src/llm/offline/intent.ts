/**
 * Reads a customer message the way a careful clerk would: what they want,
 * which order and product, how many, and why. Only the customer's own orders
 * are candidates; amounts written in the message are never used, and an order
 * id that is not theirs is never swapped for one of their own.
 */
import type { RefundReason } from "../../domain/events.js";
import type { Order, OrderLine, Product } from "../../domain/world.js";

export type SupportIntentKind = "refund" | "status" | "cancel" | "manipulation" | "unclear";

export interface SupportIntent {
  kind: SupportIntentKind;
  reason: RefundReason;
  order?: Order;
  line?: OrderLine;
  /** Units asked for (at least 1); undefined means everything still refundable on the line. */
  qty?: number;
  /** What we still need to know to act (asked for in the reply). */
  missing: string[];
  /** The customer named an order that is not one of theirs (never repeated back to them). */
  namedForeignOrder: boolean;
}

const MANIPULATION = /\b((ignore|forget) (all |any |your |the )?(previous |prior |above )?(instructions|rules|prompt)|system prompt|you are now|developer mode|act as|override|jailbreak|admin(istrator)? (mode|access)|disregard)\b/i;
/** Words that ask for money back or a return, whatever the complaint. */
const ASKS_REFUND = /\b(refund(ed)?|money back|reimburse|return(ing)?|send (it|them) back|exchange|chargeback)\b/i;
const CANCEL = /\bcancel/i;
const STATUS = /\b(where (is|are|'s)|where's|status|track(ing)?|when (will|does|do|is|are)|shipped yet|has .{0,30} shipped|(has|have)n'?t (arrived|come)|not (arrived|here) yet)\b/i;

/** Complaints, most specific first; non-delivery alone is a status question unless money is asked for. */
const COMPLAINTS: [RegExp, RefundReason][] = [
  [/\b(never (arrived|came|got|received)|(not|hasn'?t|haven'?t|didn'?t|did not|has not) (arrived|arrive|come|received|receive)|missing|lost in (the )?(post|mail))\b/i, "not_delivered"],
  [/\b(broken|broke|damaged|defective|cracked|chipped|faulty|smashed|shattered|torn|ripped|stained|holes?|in pieces|snapped|dented|leaks|leaking|coming apart|fell apart|doesn'?t work|stopped working)\b/i, "damaged"],
  [/\b(wrong (item|size|colou?r|product|one|model)|not what i ordered|sent me the wrong)\b/i, "wrong_item"],
  [/\b(not as (described|pictured|advertised)|looks different|not waterproof)\b/i, "not_as_described"],
  [/\b(changed my mind|don'?t (want|need|like) (it|them)|no longer (want|need))\b/i, "changed_mind"],
];

const NUMBER_WORDS: Record<string, number> = { a: 1, an: 1, one: 1, single: 1, two: 2, both: 2, pair: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, dozen: 12 };
/** A count as a word or digits, not the digits of an id such as ORD-2001 or #2001. */
const COUNT = `(?<![\\w#-])(\\d{1,4}|${Object.keys(NUMBER_WORDS).join("|")})(?:\\b|(?=x))`;

/** Words worth correcting a typo towards (with the names of the customer's products). */
const VOCABULARY = ["refund", "return", "broken", "damaged", "defective", "cracked", "arrived", "received", "wrong", "cancel", "shipped", "delivered", "missing", "please", "where", "status"];

export function readSupportMessage(text: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): SupportIntent {
  const clean = correctTypos(withoutMoney(text), products);
  const complaint = COMPLAINTS.find(([pattern]) => pattern.test(clean));
  const reason = complaint?.[1] ?? "other";
  const base = { reason, missing: [] as string[], namedForeignOrder: false };
  if (MANIPULATION.test(text)) return { ...base, kind: "manipulation" };

  const kind = classify(clean, reason, complaint !== undefined);
  const resolved = resolveOrder(clean, orderIdField, orders, products);
  const intent: SupportIntent = { ...base, kind, namedForeignOrder: resolved.foreign };
  if (resolved.order) intent.order = resolved.order;
  if (kind !== "refund") return intent;

  if (!resolved.order) {
    intent.missing.push("the order number");
    if (!resolved.product) intent.missing.push("which product");
    return intent;
  }
  const line = resolved.product ? resolved.order.lines.find((l) => l.sku === resolved.product?.sku) : resolved.order.lines.length === 1 ? resolved.order.lines[0] : undefined;
  if (!line) {
    intent.missing.push(`which product of order ${resolved.order.orderId} (${resolved.order.lines.map((l) => products.find((p) => p.sku === l.sku)?.name ?? l.sku).join(", ")})`);
    return intent;
  }
  intent.line = line;
  const qty = findQuantity(clean, products.find((p) => p.sku === line.sku));
  if (qty !== undefined) intent.qty = qty;
  return intent;
}

function classify(clean: string, reason: RefundReason, complained: boolean): SupportIntentKind {
  if (ASKS_REFUND.test(clean)) return "refund";
  if (CANCEL.test(clean)) return "cancel";
  // A parcel that has not come yet is a question about where it is, until the customer asks for money.
  if (complained && reason !== "not_delivered") return "refund";
  if (STATUS.test(clean) || reason === "not_delivered") return "status";
  return "unclear";
}

interface Resolved {
  order?: Order;
  product?: Product;
  foreign: boolean;
}

/**
 * Which of the customer's orders the message is about: an id in the text
 * first, then the message's order field, then the newest order holding the
 * product named. An id that is not theirs stops the search.
 */
function resolveOrder(clean: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): Resolved {
  const named = findOrderIds(clean).map((token) => ({ token, order: matchOrder(token, orders) }));
  const field = orderIdField === undefined ? undefined : { token: orderIdField, order: matchOrder(orderIdField, orders) };
  const foreign = named.some((n) => !n.order) || (field !== undefined && !field.order);
  const product = matchProduct(clean, orders, products);
  if (foreign) return { product, foreign };

  // Of several orders named, the one holding the product the customer names ("where is ORD-2003? also the mug from ORD-2001 broke").
  const inText = (product ? named.find((n) => n.order?.lines.some((l) => l.sku === product.sku)) : undefined)?.order ?? named.find((n) => n.order)?.order;
  if (inText) return { order: inText, product, foreign };
  // The order field may be a form's default: the product the customer names wins.
  if (field?.order && (!product || field.order.lines.some((l) => l.sku === product.sku))) return { order: field.order, product, foreign };
  if (product) return { order: orders.find((o) => o.lines.some((l) => l.sku === product.sku)), product, foreign };
  return { order: orders.length === 1 ? orders[0] : undefined, foreign };
}

/** Tokens that look like order ids: ORD-1001, ord-7, order #1001, order no. 55. */
export function findOrderIds(text: string): string[] {
  const ids = new Set<string>();
  for (const match of text.matchAll(/\b([A-Z]{1,5}-\d[\w-]*)\b/gi)) if (!/^sku-/i.test(match[1])) ids.add(match[1]);
  for (const match of text.matchAll(/\border\s*(?:#|no\.?|number)\s*([A-Z]*-?\d[\w-]*)/gi)) ids.add(match[1]);
  for (const match of text.matchAll(/\border\s+(\d{3,})\b/gi)) ids.add(match[1]);
  return [...ids];
}

/** The customer's order a token names: the same id in any case, or the same digits ("#2001" is ORD-2001). */
function matchOrder(token: string, orders: readonly Order[]): Order | undefined {
  const lower = token.toLowerCase();
  const exact = orders.find((o) => o.orderId.toLowerCase() === lower);
  if (exact || !/^\d+$/.test(token)) return exact;
  return orders.find((o) => o.orderId.replace(/\D/g, "") === token);
}

function matchProduct(clean: string, orders: readonly Order[], products: readonly Product[]): Product | undefined {
  const lower = clean.toLowerCase();
  const ordered = new Set(orders.flatMap((o) => o.lines.map((l) => l.sku)));
  let best: { product: Product; score: number } | undefined;
  for (const product of products) {
    if (!ordered.has(product.sku)) continue;
    let score = lower.includes(product.sku.toLowerCase()) ? 10 : 0;
    for (const word of nameWords(product)) if (new RegExp(`\\b${escape(word)}s?\\b`).test(lower)) score += word.length >= 4 ? 2 : 1;
    if (score > 0 && (!best || score > best.score)) best = { product, score };
  }
  return best?.product;
}

/**
 * How many units the customer means, or undefined for "all of them". Counts
 * of what was ordered ("I ordered 2 mugs") are not counts of what went wrong.
 */
function findQuantity(clean: string, product: Product | undefined): number | undefined {
  const lower = clean.toLowerCase();
  const words = product ? nameWords(product).map(escape) : [];
  const noun = words.length > 0 ? `(?:${words.join("|")})` : "(?!x)\\w+";
  const count = (token: string) => (/^\d/.test(token) ? Number(token) : NUMBER_WORDS[token]);
  const atLeastOne = (n: number | undefined) => (n !== undefined && n >= 1 ? n : undefined);

  const partOf = lower.match(new RegExp(`${COUNT} of (?:the|my|those|these|them)\\b`));
  if (partOf) return atLeastOne(count(partOf[1]));
  const broke = lower.match(new RegExp(`${COUNT}\\s+(?:of them\\s+)?(?:arrived|was|were|is|are|came|broke)\\b`));
  if (broke && broke[1] !== "a" && broke[1] !== "an") return atLeastOne(count(broke[1]));
  for (const match of lower.matchAll(new RegExp(`(\\w+\\s+)?${COUNT}\\s*(?:x\\s*)?(?:\\w+\\s+){0,2}?${noun}`, "g"))) {
    if (/^(ordered|bought|purchased|got)\s/.test(match[1] ?? "")) continue;
    return atLeastOne(count(match[2]));
  }
  const sku = product ? lower.match(new RegExp(`(?:${escape(product.sku.toLowerCase())}|${noun}s?)\\s*(?:x|qty:?|quantity:?)\\s*(\\d{1,4})\\b`)) : null;
  if (sku) return atLeastOne(Number(sku[1]));
  if (/\b(all|every|whole|entire|both)\b/.test(lower)) return undefined;
  // "the mug" is one mug; "the mugs" (or "socks") are all of them. The name's last word is its noun.
  const head = words.at(-1);
  if (head && !head.endsWith("s") && new RegExp(`\\b${head}\\b`).test(lower) && !new RegExp(`\\b${head}s\\b`).test(lower)) return 1;
  return undefined;
}

/** Money in a message ("$99.00", "5000 dollars") is never a quantity or an amount we use. */
function withoutMoney(text: string): string {
  return text.replace(/[$€£]\s*[\d,]+(?:\.\d+)?/g, " ").replace(/\b[\d,]+(?:\.\d+)?\s*(?:dollars?|usd|eur(?:os?)?|bucks|pounds?)\b/gi, " ");
}

/** Corrects one-letter slips ("refnud", "jaket") towards known words and product names. */
function correctTypos(text: string, products: readonly Product[]): string {
  const vocabulary = new Set([...VOCABULARY, ...products.flatMap(nameWords)].filter((w) => w.length >= 5));
  return text.replace(/[A-Za-z]{5,}/g, (word) => {
    const lower = word.toLowerCase();
    if (vocabulary.has(lower)) return word;
    for (const known of vocabulary) if (known[0] === lower[0] && withinOneEdit(lower, known)) return known;
    return word;
  });
}

/** Damerau-Levenshtein distance of at most one: one insertion, deletion, substitution or swap. */
export function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return true;
  const rest = (x: number, y: number) => a.slice(x) === b.slice(y);
  if (a.length === b.length) return rest(i + 1, i + 1) || (a[i] === b[i + 1] && a[i + 1] === b[i] && rest(i + 2, i + 2));
  return a.length > b.length ? rest(i + 1, i) : rest(i, i + 1);
}

function nameWords(product: Product): string[] {
  return product.name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length >= 3 && !["the", "and", "for", "with"].includes(w));
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
