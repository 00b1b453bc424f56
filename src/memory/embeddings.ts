/**
 * Embeddings for the customer knowledge base. With an OpenAI key the real
 * model is used; without one, a deterministic local function, so offline runs
 * and tests rank facts the same way every time and need no network.
 */
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import type { OpenAIEmbeddings } from "@langchain/openai";
import { loadConfig, type Config } from "../config.js";

/**
 * Embeddings that say which model made them. A fact stores its vector with this
 * id, so a reader with another model (a key added or removed) re-embeds the
 * fact's text instead of comparing vectors from different spaces.
 */
export interface FactEmbeddings extends EmbeddingsInterface {
  readonly modelId: string;
  /**
   * True when embedding a text again costs less than storing its vector (the
   * local function: microseconds, no network). The knowledge store then keeps
   * no vectors (on the default path they were most of its bytes), and recall
   * embeds each fact's text when it ranks it.
   */
  readonly recomputable?: boolean;
}

export const LOCAL_EMBEDDING_DIMS = 256;

/**
 * Words too common in customer messages to tell two facts apart. Dropping them
 * keeps "where is my mug" closer to a mug order than to any fact with "is".
 */
const STOP_WORDS = new Set(
  "a an the and or but of to in on at by for from with about into as is are was were be been am do did does i me my we our you your it its this that these those there here hi hello dear thanks thank please can could would will just so".split(
    " ",
  ),
);

/**
 * A word counts once in full and once as its character trigrams. The trigrams
 * weigh more, so a misspelt word ("walnutt sallad") still shares most of its
 * features with the right one.
 */
const WORD_WEIGHT = 0.5;
const TRIGRAMS_WEIGHT = 1;

/**
 * The local embedding: hashed word and character-trigram features, signed to
 * keep collisions unbiased, L2-normalised. A bag of features, so word order
 * does not matter; trigrams make it tolerant of small typos. Text with no
 * words gives the zero vector (cosine 0 with everything).
 */
export function embedText(text: string, dims: number = LOCAL_EMBEDDING_DIMS): number[] {
  const vector = new Array<number>(dims).fill(0);
  for (const word of wordsOf(text)) {
    addFeature(vector, `w|${word}`, WORD_WEIGHT);
    const trigrams = trigramsOf(word);
    const each = TRIGRAMS_WEIGHT / Math.sqrt(trigrams.length);
    for (const trigram of trigrams) addFeature(vector, `t|${trigram}`, each);
  }
  const norm = Math.hypot(...vector);
  return norm === 0 ? vector : vector.map((x) => x / norm);
}

/** Lower-case words without accents or punctuation ("MUG-BLUE" is "mug" and "blue"), stop words dropped. */
export function wordsOf(text: string): string[] {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0 && !STOP_WORDS.has(w));
}

function trigramsOf(word: string): string[] {
  const padded = `#${word}#`;
  const trigrams: string[] = [];
  for (let i = 0; i + 3 <= padded.length; i += 1) trigrams.push(padded.slice(i, i + 3));
  return trigrams;
}

function addFeature(vector: number[], feature: string, weight: number): void {
  const hash = fnv1a(feature);
  const sign = hash & 1 ? -1 : 1;
  vector[(hash >>> 1) % vector.length] += sign * weight;
}

/** 32-bit FNV-1a: small, fast, and the same on every machine. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The local embedding as a LangChain embeddings object. */
export function localEmbeddings(dims: number = LOCAL_EMBEDDING_DIMS): FactEmbeddings {
  return {
    modelId: `local-hash-v1-${dims}`,
    recomputable: true,
    embedDocuments: async (documents) => documents.map((d) => embedText(d, dims)),
    embedQuery: async (document) => embedText(document, dims),
  };
}

/** OpenAI embeddings (any OpenAI-compatible server through `baseUrl`). */
export function openAIEmbeddings(openai: Config["openai"] & { apiKey: string }): FactEmbeddings {
  // @langchain/openai is loaded at the first call: a process that embeds nothing (most CLI commands) does not pay for it.
  let client: Promise<OpenAIEmbeddings> | undefined;
  const openClient = () =>
    (client ??= import("@langchain/openai").then(
      ({ OpenAIEmbeddings }) =>
        new OpenAIEmbeddings({
          apiKey: openai.apiKey,
          model: openai.embeddingsModel,
          configuration: openai.baseUrl ? { baseURL: openai.baseUrl } : undefined,
        }),
    ));
  return {
    modelId: `openai:${openai.embeddingsModel}`,
    embedDocuments: async (documents) => (await openClient()).embedDocuments(documents),
    embedQuery: async (document) => (await openClient()).embedQuery(document),
  };
}

/** OpenAI when OPENAI_API_KEY is set, the local function otherwise. */
export function embeddingsFromConfig(config: Config = loadConfig()): FactEmbeddings {
  const { apiKey } = config.openai;
  return apiKey ? openAIEmbeddings({ ...config.openai, apiKey }) : localEmbeddings();
}

/** Cosine similarity in [-1, 1]; 0 when either vector is all zeros. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length)
    throw new RangeError(`cosine: vectors differ in length (${a.length} and ${b.length}); were they made by different embedding models?`);
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : dot / Math.sqrt(aa * bb);
}
