/**
 * Ranks a customer's facts against a query by word overlap: simple, exact
 * and the same everywhere (CLI and server), so the same items are retrieved
 * whichever store holds them.
 */
import type { CustomerFact, RecalledFact } from "./facts.js";

const STOP_WORDS = new Set([
  "the",
  "and",
  "for",
  "with",
  "you",
  "your",
  "my",
  "our",
  "was",
  "were",
  "are",
  "is",
  "it",
  "its",
  "this",
  "that",
  "from",
  "have",
  "has",
  "had",
  "please",
  "can",
  "could",
  "would",
  "of",
  "to",
  "in",
  "on",
  "a",
  "an",
  "i",
  "me",
  "we",
  "be",
  "do",
  "not",
  "about",
  "hello",
  "hi",
  "thanks",
  "thank",
  "what",
  "when",
  "where",
  "how",
  "why",
  "there",
  "they",
  "them",
  "but",
  "or",
  "so",
  "just",
  "any",
  "all",
]);

export function words(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9-]+/)
      .map((w) => w.replace(/^-+|-+$/g, ""))
      .filter((w) => w.length >= 2 && !STOP_WORDS.has(w))
      // A plural finds its singular ("mugs" finds "mug").
      .map((w) => (w.length > 3 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w)),
  );
}

/**
 * The `k` facts sharing the most words with `query` (at least one), ties to
 * the newest. Score: shared words over the query's words, in [0, 1].
 */
export function rankByOverlap(facts: readonly CustomerFact[], query: string, k: number): RecalledFact[] {
  const wanted = words(query);
  if (wanted.size === 0 || k <= 0) return [];
  const scored: RecalledFact[] = [];
  for (const fact of facts) {
    let shared = 0;
    for (const word of words(fact.text)) if (wanted.has(word)) shared++;
    if (fact.orderId && wanted.has(fact.orderId.toLowerCase())) shared++;
    if (shared > 0) scored.push({ ...fact, score: Math.min(1, shared / wanted.size) });
  }
  scored.sort((a, b) => b.score - a.score || (a.at < b.at ? 1 : a.at > b.at ? -1 : 0) || (a.eventId < b.eventId ? -1 : 1));
  return scored.slice(0, k);
}
