/**
 * Reads a customer message the way a careful clerk would: what they want,
 * which orders and products, how many, and why. Only the customer's own
 * orders are candidates; amounts written in the message are never used, and
 * an order id that is not theirs is never swapped for one of their own.
 * The message is first put into plain English (language.ts): Spanish words,
 * typos, synonyms, and complaints the customer denies.
 */
import type { RefundReason } from "../../domain/events.js";
import type { Order, OrderLine, Product } from "../../domain/world.js";
import { correctTypos, DAMAGE_WORDS, nameWords, toEnglish, withinOneEdit, withoutDenials, withSynonyms } from "./language.js";

export { withinOneEdit };

export type SupportIntentKind = "refund" | "status" | "cancel" | "manipulation" | "unclear";

/** One order line to refund; `qty` undefined means everything still refundable on it. */
export interface RefundItem {
  order: Order;
  line: OrderLine;
  qty?: number;
}

export interface SupportIntent {
  kind: SupportIntentKind;
  reason: RefundReason;
  /** The order the message is about (the first item's, for a refund). */
  order?: Order;
  /** For a refund: every line the customer asks about, in the order they named them. */
  items: RefundItem[];
  /** What we still need to know to act (asked for in the reply). */
  missing: string[];
  /** The customer named an order that is not among the given orders (never repeated back to them). */
  namedForeignOrder: boolean;
  /** The message names an order, or asks about one, that the given orders do not settle: older orders might. */
  unresolved: boolean;
}

const MANIPULATION =
  /\b((ignore|forget|disregard) (all |any |your |the )?(previous |prior |above )?(instructions|rules|prompt|policy|policies)|system prompt|you are now|developer mode|act as|override|jailbreak|admin(istrator)? (mode|access)|disregard)\b/i;
/** Words that ask for money back or a return, whatever the complaint. */
const ASKS_REFUND =
  /\b(refund(ed)?|money back|reimburse|return(ing)?|send (it|them) back|exchange|chargeback|credit (my|the|it to my) (card|account)|pay me back)\b/i;
const CANCEL = /\bcancel/i;
const STATUS =
  /\b(where|status|track(ing)?|when (will|does|do|is|are)|shipped yet|has .{0,30} shipped|(has|have)n'?t (arrived|come)|(has|have) not (arrived|come)|not (arrived|here) yet|stuck)\b/i;

/** Complaints, most specific first; non-delivery alone is a status question unless money is asked for. */
const COMPLAINTS: [RegExp, RefundReason][] = [
  [
    /\b(never (arrived|came|got|received)|(not|hasn'?t|haven'?t|didn'?t|did not|has not) (arrived|arrive|come|received|receive)|missing|lost in (the )?(post|mail))\b/i,
    "not_delivered",
  ],
  [new RegExp(`\\b(${DAMAGE_WORDS})\\b`, "i"), "damaged"],
  [/\b(wrong (item|size|colou?r|product|one|model)|not what i ordered|sent me the wrong)\b/i, "wrong_item"],
  [/\b(not as (described|pictured|advertised)|looks? (different|nothing like)|nothing like the (photo|picture)|not waterproof|faded)\b/i, "not_as_described"],
  [
    /\b(changed my mind|don'?t (want|need|like) (it|them)|do not (want|need|like) (it|them)|no longer (want|need)|(not|isn'?t) my style|anymore|just (want to )?return)\b/i,
    "changed_mind",
  ],
];

const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  single: 1,
  two: 2,
  both: 2,
  pair: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  dozen: 12,
};
/** A count as a word or digits, not the digits of an id such as ORD-2001 or #2001. */
const COUNT = `(?<![\\w#-])(\\d{1,4}|${Object.keys(NUMBER_WORDS).join("|")})(?:\\b|(?=x))`;

/** The message in plain English: Spanish put into English, synonyms, typos corrected, amounts and denied complaints out. */
export function plainText(text: string, products: readonly Product[]): string {
  return withoutDenials(correctTypos(withoutMoney(withSynonyms(toEnglish(text))), products));
}

/**
 * How many readings `readSupportMessage` keeps. The clerk reads the same message again at every turn of its task, with
 * the same orders unless a tool result changed them, and a batch runs its support tasks side by side, turn by turn.
 */
const SUPPORT_READINGS_KEPT = 256;
const readings = new Map<string, SupportIntent>();

/**
 * What the customer's message asks, given their orders (newest first) and products. A pure function of its arguments,
 * so a reading of the same message, orders and products (compared as JSON) is reused; callers do not change it.
 */
export function readSupportMessage(text: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): SupportIntent {
  const key = JSON.stringify([text, orderIdField ?? null, orders, products]);
  let intent = readings.get(key);
  if (intent) readings.delete(key);
  else intent = readMessage(text, orderIdField, orders, products);
  // A Map iterates in insertion order: re-inserting keeps the most recently used last, and the first is the one to drop.
  readings.set(key, intent);
  if (readings.size > SUPPORT_READINGS_KEPT) readings.delete(readings.keys().next().value as string);
  return intent;
}

function readMessage(text: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): SupportIntent {
  const clean = plainText(text, products);
  const complaint = COMPLAINTS.find(([pattern]) => pattern.test(clean));
  const reason = complaint?.[1] ?? "other";
  const base: SupportIntent = { kind: "unclear", reason, items: [], missing: [], namedForeignOrder: false, unresolved: false };
  if (MANIPULATION.test(text) || MANIPULATION.test(clean)) return { ...base, kind: "manipulation" };

  const kind = classify(clean, reason, complaint !== undefined);
  const resolved = resolveOrders(clean, orderIdField, orders, products);
  const intent: SupportIntent = { ...base, kind, namedForeignOrder: resolved.foreign, unresolved: resolved.foreign };
  if (resolved.order) intent.order = resolved.order;
  if (kind === "status" || kind === "cancel") {
    if (!resolved.order) intent.unresolved = true;
    return intent;
  }
  if (kind !== "refund") return intent;

  if (resolved.foreign) {
    intent.missing.push("the order number");
    return intent;
  }
  if (resolved.items.length === 0) {
    intent.unresolved = true;
    if (!resolved.order) {
      intent.missing.push("the order number");
      if (resolved.products.length === 0) intent.missing.push("which product");
      return intent;
    }
    const only = resolved.order.lines.length === 1 ? resolved.order.lines[0] : undefined;
    if (!only) {
      intent.missing.push(
        `which product of order ${resolved.order.orderId} (${resolved.order.lines.map((l) => products.find((p) => p.sku === l.sku)?.name ?? l.sku).join(", ")})`,
      );
      return intent;
    }
    resolved.items.push({ order: resolved.order, product: products.find((p) => p.sku === only.sku) });
  }
  const several = resolved.items.length > 1;
  for (const { order, product } of resolved.items) {
    const line = order.lines.find((l) => l.sku === product?.sku) ?? order.lines[0];
    const qty = several && product ? localQuantity(clean, product) : findQuantity(clean, product);
    intent.items.push({ order, line, ...(qty !== undefined ? { qty } : {}) });
  }
  intent.order = intent.items[0].order;
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
  /** The one order the message is about, when it names or implies one. */
  order?: Order;
  /** The products of the customer's that the message names, in the order named. */
  products: Product[];
  /** Each named product with the order it is on. */
  items: { order: Order; product?: Product }[];
  foreign: boolean;
}

/**
 * Which of the customer's orders the message is about: ids in the text
 * first, then the message's order field, then the newest order holding each
 * product named. An id that is not theirs stops the search, unless one of
 * their own orders named beside it holds the product they name.
 */
function resolveOrders(clean: string, orderIdField: string | undefined, orders: readonly Order[], products: readonly Product[]): Resolved {
  const named = findOrderIds(clean, orderPrefixes(orders)).map((token) => ({ token, order: matchOrder(token, orders) }));
  const own = named.map((n) => n.order).filter((o): o is Order => o !== undefined);
  const field = orderIdField === undefined ? undefined : { token: orderIdField, order: matchOrder(orderIdField, orders) };
  const mentioned = mentionedProducts(clean, orders, products);
  const holding = (product: Product) => (o: Order) => o.lines.some((l) => l.sku === product.sku);

  const items: Resolved["items"] = [];
  for (const product of mentioned) {
    // The product the customer names wins over a form's default order field.
    const order =
      own.find(holding(product)) ??
      (field?.order && holding(product)(field.order) ? field.order : undefined) ??
      (own.length === 0 ? orders.find(holding(product)) : undefined);
    if (order) items.push({ order, product });
  }
  const foreignNamed = named.some((n) => !n.order) || (field !== undefined && !field.order);
  // A foreign id beside an own order that holds what they name ("refund the jacket from ORD-2002; and what about ORD-2999?").
  const foreign = foreignNamed && !(own.length > 0 && items.some((i) => own.includes(i.order)));
  if (foreign) return { products: mentioned, items: [], foreign };

  const order = items[0]?.order ?? own[0] ?? field?.order ?? (orders.length === 1 ? orders[0] : undefined);
  return { ...(order ? { order } : {}), products: mentioned, items: items.filter((i) => !own.length || own.includes(i.order)), foreign: false };
}

/** The prefixes of the customer's order ids ("ORD"): a token like COVID-19 or XR-200 is not an order id. */
function orderPrefixes(orders: readonly Order[]): Set<string> {
  return new Set(orders.map((o) => o.orderId.split("-")[0].toUpperCase()).filter((p) => p.length > 0));
}

/**
 * Tokens that name orders: an id shaped like the customer's own (ORD-1001),
 * or anything introduced as an order ("order #1001", "order no. 55", "order 1001").
 */
export function findOrderIds(text: string, prefixes: ReadonlySet<string> = new Set(["ORD"])): string[] {
  const ids = new Set<string>();
  for (const match of text.matchAll(/\b([A-Z]{1,5})-([A-Z]*\d[\w-]*)\b/gi)) if (prefixes.has(match[1].toUpperCase())) ids.add(match[0]);
  // A look-alike (a Cyrillic "О" in "ОRD-B1") names an order too: ids are ASCII, so it is never one of theirs.
  for (const match of text.matchAll(/(?<![\p{L}\p{N}])(\p{L}{1,5})-(\p{L}*\p{N}[\p{L}\p{N}-]*)/gu))
    if (/[^\x21-\x7E]/.test(match[0]) && /[A-Za-z]/.test(match[1])) ids.add(match[0]);
  for (const match of text.matchAll(/\border\s*(?:#|no\.?|number)\s*([A-Z]*-?\d[\w-]*)/gi)) ids.add(match[1]);
  for (const match of text.matchAll(/\border\s+([A-Z]{1,5}-\d[\w-]*|\d{3,})\b/gi)) ids.add(match[1]);
  return [...ids];
}

/** The customer's order a token names: the same id in any case, or the same digits ("#2001" is ORD-2001). */
function matchOrder(token: string, orders: readonly Order[]): Order | undefined {
  const lower = token.toLowerCase();
  const exact = orders.find((o) => o.orderId.toLowerCase() === lower);
  if (exact || !/^\d+$/.test(token)) return exact;
  return orders.find((o) => o.orderId.replace(/\D/g, "") === token);
}

/**
 * The customer's products the message names, in the order named. A product
 * named only as what was ordered ("I ordered a jacket and a mug, the jacket
 * is damaged") or said to be fine ("the tee is fine") is not asked about.
 */
function mentionedProducts(clean: string, orders: readonly Order[], products: readonly Product[]): Product[] {
  const lower = clean.toLowerCase();
  const ordered = new Set(orders.flatMap((o) => o.lines.map((l) => l.sku)));
  const clauses = lower.split(/[,.;!?]|\bbut\b/);
  const found: { product: Product; at: number; score: number; asked: boolean; words: string[] }[] = [];
  for (const product of products) {
    if (!ordered.has(product.sku)) continue;
    const patterns = [escape(product.sku.toLowerCase()), ...nameWords(product).map((w) => `${escape(w)}s?`)];
    const asked = clauses.some((clause) => {
      if (/\b(i|we) (ordered|bought|purchased|got)\b/.test(clause) && !new RegExp(`\\b(${DAMAGE_WORDS}|wrong|refund|return)\\b`).test(clause)) return false;
      return patterns.some((p) => new RegExp(`\\b${p}\\b(?!\\s+(is|are|was|were) (fine|ok|okay|good|perfect))`).test(clause));
    });
    let score = lower.includes(product.sku.toLowerCase()) ? 10 : 0;
    let at = lower.indexOf(product.sku.toLowerCase());
    const words: string[] = [];
    for (const word of nameWords(product)) {
      const match = new RegExp(`\\b${escape(word)}s?\\b`).exec(lower);
      if (!match) continue;
      words.push(word);
      score += word.length >= 4 ? 2 : 1;
      if (at < 0 || match.index < at) at = match.index;
    }
    if (score > 0) found.push({ product, at, score, asked, words });
  }
  // Named only as what was ordered: still the subject when nothing else is ("I ordered 2 mugs but one arrived broken").
  const candidates = found.some((f) => f.asked) ? found.filter((f) => f.asked) : found;
  // A word two names share ("the cotton tee" and "cotton socks") goes to the better match only.
  const shadowed = (f: (typeof found)[number]) =>
    f.score < 10 && candidates.some((g) => g !== f && g.score > f.score && f.words.every((w) => g.words.includes(w)));
  return candidates
    .filter((f) => !shadowed(f))
    .sort((a, b) => a.at - b.at)
    .map((f) => f.product);
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

  const partOf = lower.match(new RegExp(`${COUNT} (?:out )?of (?:the|my|those|these|them)\\b`));
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
  return singularNoun(lower, words);
}

/** With several products named, each one's count is the one written just before it ("1 mug and 2 tees"). */
function localQuantity(clean: string, product: Product): number | undefined {
  const lower = clean.toLowerCase();
  const words = nameWords(product).map(escape);
  const noun = `(?:${words.join("|")})s?\\b`;
  const before = lower.match(new RegExp(`${COUNT}\\s+(?:\\w+\\s+)?${noun}`));
  if (before) {
    const token = before[1];
    const n = /^\d/.test(token) ? Number(token) : NUMBER_WORDS[token];
    return n !== undefined && n >= 1 ? n : undefined;
  }
  return singularNoun(lower, words);
}

/** "the mug" is one mug; "the mugs" (or "socks") are all of them. The name's last word is its noun. */
function singularNoun(lower: string, words: readonly string[]): number | undefined {
  const head = words.at(-1);
  if (head && !head.endsWith("s") && new RegExp(`\\b${head}\\b`).test(lower) && !new RegExp(`\\b${head}s\\b`).test(lower)) return 1;
  return undefined;
}

/** Money in a message ("$99.00", "5000 dollars") is never a quantity or an amount we use. */
function withoutMoney(text: string): string {
  return text.replace(/[$€£]\s*[\d,]+(?:\.\d+)?/g, " ").replace(/\b[\d,]+(?:\.\d+)?\s*(?:dollars?|usd|eur(?:os?)?|bucks|pounds?)\b/gi, " ");
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
