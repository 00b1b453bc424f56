/**
 * Plain-language clean-up before the offline clerk reads a message: common
 * Spanish words put into English, one-letter typos corrected towards the
 * words a support message turns on, and complaints the customer denies ("it
 * is NOT broken") taken out. Word lists, no knowledge of any message.
 */
import type { Product } from "../../domain/world.js";

/** Spanish phrases and words a store's support messages use, most specific first (matched without accents). */
const SPANISH: [RegExp, string][] = [
  [/\bno (ha|han|me ha|me han) (llegado|venido)\b/g, "has not arrived"],
  [/\bnunca (llego|llegaron)\b/g, "never arrived"],
  [/\bdonde (esta|estan)\b/g, "where is"],
  [/\bcuando (llega|llegara|llegan|llegaran)\b/g, "when will it arrive"],
  [/\bno (funciona|funcionan|sirve)\b/g, "does not work"],
  [/\bno me (gusta|gustan|queda|quedan)( bien)?\b/g, "I don't like it"],
  [/\bya no (lo|la|los|las) (quiero|necesito)\b/g, "I don't want it"],
  [/\bcambie de opinion\b/g, "changed my mind"],
  [/\b(devuelvan|devolver|reembolsar|regresar)(me)? el dinero\b/g, "money back"],
  [/\b(reembolso|reembolsar|reintegro)\b/g, "refund"],
  [/\b(devolver|devolucion|devuelvo)\b/g, "return"],
  [/\b(cancelar|cancelen|anular)\b/g, "cancel"],
  [/\b(rota|roto|rotas|rotos|quebrada|quebrado)\b/g, "broken"],
  [/\b(danada|danado|danadas|danados|estropeada|estropeado)\b/g, "damaged"],
  [/\b(defectuosa|defectuoso|defectuosas|defectuosos)\b/g, "defective"],
  [/\b(equivocada|equivocado|incorrecta|incorrecto)\b/g, "wrong item"],
  [/\b(llego|llegaron)\b/g, "arrived"],
  [/\bpedido\b/g, "order"],
  [/\bpor favor\b/g, "please"],
  // Product nouns: the catalogue's names are English.
  [/\btazas?\b/g, "mug"],
  [/\b(camisetas?|playeras?|remeras?)\b/g, "tee"],
  [/\blamparas?\b/g, "lamp"],
  [/\b(chaquetas?|chamarras?|impermeables?)\b/g, "jacket"],
  [/\bcalcetines\b/g, "socks"],
  [/\bgorras?\b/g, "cap"],
  [/\bsudaderas?\b/g, "hoodie"],
  [/\b(posters?|carteles?|laminas?)\b/g, "poster"],
  [/\bbolsas?\b/g, "bag"],
];

/** Words that say the message is Spanish (a few are enough; English words pass through untouched). */
const SPANISH_MARKERS = /\b(el|la|los|las|del|mi|mis|quiero|pedido|hola|gracias|por favor|donde|esta|llego|no ha)\b/;

/** Other names customers use for a product's noun. */
const SYNONYMS: [RegExp, string][] = [
  [/\b(t-?shirts?|tshirts?|shirts?)\b/gi, "tee"],
  [/\bcash back\b/gi, "money back"],
];

export function toEnglish(text: string): string {
  const plain = text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
  if (!SPANISH_MARKERS.test(plain)) return text;
  return SPANISH.reduce((t, [pattern, english]) => t.replace(pattern, english), plain.replace(/[¿¡]/g, " "));
}

export function withSynonyms(text: string): string {
  return SYNONYMS.reduce((t, [pattern, word]) => t.replace(pattern, word), text);
}

/** Words worth correcting a typo towards (with the words of the customer's product names). */
const VOCABULARY = [
  "refund",
  "return",
  "broken",
  "damaged",
  "defective",
  "cracked",
  "ripped",
  "arrived",
  "received",
  "wrong",
  "cancel",
  "shipped",
  "delivered",
  "missing",
  "please",
  "where",
  "status",
  "order",
  "money",
  "want",
  "faulty",
  "torn",
];

/** Common words one slip away from a vocabulary word: never "corrected". */
const REAL_WORDS = new Set([
  "were",
  "went",
  "wear",
  "wore",
  "older",
  "sucks",
  "posted",
  "wood",
  "tree",
  "cape",
  "camp",
  "ward",
  "warm",
  "orders",
  "wants",
  "mine",
  "tore",
  "turn",
  "tone",
  "lame",
  "lamb",
  "damp",
  "care",
  "came",
  "cane",
  "cone",
  "lose",
  "lost",
  "most",
  "post",
  "past",
  "pleased",
  "returns",
  "refunds",
  "ordered",
  "wanted",
  "states",
  "statue",
]);

/** Corrects one slip per word ("refnud", "jakcet", "mugg") towards known words and product names; plurals stay. */
export function correctTypos(text: string, products: readonly Product[]): string {
  const vocabulary = new Set([...VOCABULARY, ...products.flatMap(nameWords)]);
  return text.replace(/[A-Za-z]{4,}/g, (word) => {
    const lower = word.toLowerCase();
    if (vocabulary.has(lower) || REAL_WORDS.has(lower)) return word;
    for (const known of vocabulary) {
      if (known.length < 3 || known[0] !== lower[0] || lower === `${known}s` || lower === `${known}es`) continue;
      // A short word gets only a doubled or swapped letter ("mugg"), never a new one.
      if (known.length < 4 && lower.length !== known.length + 1) continue;
      if (withinOneEdit(lower, known)) return known;
    }
    return word;
  });
}

/** What makes a thing damaged, as a complaint says it. */
export const DAMAGE_WORDS =
  "broken|broke|damaged|defective|cracked|chipped|faulty|smashed|shattered|torn|ripped|stained|creased|dented|scratched|bent|in pieces|snapped|leaks|leaking|died|dead|flickers|falling apart|fell apart|coming apart|stopped working|not working|isn'?t working|aren'?t working|does not work|doesn'?t work|won'?t (?:work|turn on)|holes?";

const NEGATED_DAMAGE = new RegExp(
  `\\b(?:not|never|no|nothing|isn'?t|aren'?t|wasn'?t|weren'?t|without|zero)\\s+(?:(?:is|are|was|were|really|at all|any|even|actually|a|the|it|they)\\s+){0,2}(?:${DAMAGE_WORDS})(?:\\s*(?:,|or|and|nor)\\s+(?:${DAMAGE_WORDS}))*`,
  "gi",
);
const NOTHING_WRONG = /\b(nothing (is )?wrong|no (damage|damaged|problem|defects?)( at all)?)\b/gi;

/** Takes out the complaints the customer denies ("it is NOT broken", "no damage at all"). */
export function withoutDenials(text: string): string {
  return text.replace(NEGATED_DAMAGE, " ").replace(NOTHING_WRONG, " ");
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

/** The words of a product's name worth matching ("Rain Jacket": rain, jacket). */
export function nameWords(product: Product): string[] {
  return product.name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length >= 3 && !["the", "and", "for", "with"].includes(w));
}
