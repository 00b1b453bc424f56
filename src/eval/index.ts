/**
 * `shopstate eval` as a function: loads the corpus, builds the model under
 * test, runs the chosen cases (as a LangSmith experiment when a key is set),
 * and scores them (docs/eval.md).
 */
import { fileURLToPath } from "node:url";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { Config } from "../config.js";
import { chatModelFor, loadOpenAI, OFFLINE_MODEL } from "../llm/model.js";
import { loadCorpus, selectCases, type EvalAgent, type EvalCase } from "./corpus.js";
import { runCase } from "./run.js";
import { summarise, type CaseResult, type Scores } from "./score.js";

/** The committed corpus (eval/ at the repository's root). */
export const CORPUS_DIR = fileURLToPath(new URL("../../eval", import.meta.url));

export interface EvalOptions {
  /** `offline`, or a model name for ChatOpenAI (OPENAI_API_KEY, OPENAI_BASE_URL); default: the configured one. */
  model?: string;
  agents?: EvalAgent[];
  /** Only the first N chosen cases (a quick look). */
  limit?: number;
  corpusDir?: string;
  /** Called after each case (progress). */
  onCase?: (result: CaseResult, done: number, total: number) => void;
}

export interface EvalReport {
  model: string;
  scores: Scores;
  cases: CaseResult[];
  /** The LangSmith experiment the run was recorded as, if any. */
  experiment?: string;
}

export async function runEval(config: Config, options: EvalOptions = {}): Promise<EvalReport> {
  const corpus = loadCorpus(options.corpusDir ?? CORPUS_DIR);
  const cases = selectCases(corpus.cases, options.agents, options.limit);
  const model = modelName(config, options.model);
  // The config is given, not necessarily the environment's: with its key, ChatOpenAI is loaded here.
  if (config.openai.apiKey) await loadOpenAI();
  const build = (): BaseChatModel => chatModelFor(model, config);
  build(); // a model that cannot be had fails here, before any case runs
  let done = 0;
  const runOne = async (item: EvalCase) => {
    const result = await runCase(item, corpus, { model: build });
    options.onCase?.(result, ++done, cases.length);
    return result;
  };

  const { apiKey, endpoint } = config.langsmith;
  if (apiKey) {
    const { runExperiment } = await import("./langsmith.js");
    const { results, experiment } = await runExperiment(corpus.cases, cases, runOne, {
      apiKey,
      endpoint,
      experimentPrefix: `shopstate-${model}`,
      metadata: { model, agents: options.agents?.join(",") ?? "all" },
    });
    return { model, scores: summarise(results), cases: results, experiment };
  }
  const results: CaseResult[] = [];
  for (const item of cases) results.push(await runOne(item));
  return { model, scores: summarise(results), cases: results };
}

/** The model a run uses: the one asked for, else OPENAI_MODEL with a key, else the offline model. */
export function modelName(config: Pick<Config, "openai">, asked: string | undefined): string {
  if (asked !== undefined) return asked;
  return config.openai.apiKey ? config.openai.model : OFFLINE_MODEL;
}
