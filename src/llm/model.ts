/**
 * The chat model behind every agent, picked from config: `ChatOpenAI` when an
 * API key is set (any OpenAI-compatible server through `OPENAI_BASE_URL`),
 * otherwise the deterministic offline model.
 *
 * `@langchain/openai` (and the OpenAI SDK under it, a third of what a graph
 * run loads) is loaded only where a key is set: by this module itself when
 * the environment has one (the agents build their models from it), or by
 * `loadOpenAI()` before building ChatOpenAI from a config given by hand
 * (the eval, tests). Without a key nothing loads it.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { ChatOpenAI } from "@langchain/openai";
import { loadConfig, type Config } from "../config.js";
import { OfflineChatModel } from "./offline/model.js";

let openai: typeof import("@langchain/openai") | undefined;

/** Loads `@langchain/openai`, which building ChatOpenAI needs; a no-op once loaded. */
export async function loadOpenAI(): Promise<void> {
  openai ??= await import("@langchain/openai");
}

/** Whether the environment has an OpenAI key (an environment that does not parse is reported where it is read). */
function keyInEnvironment(): boolean {
  try {
    return loadConfig().openai.apiKey !== undefined;
  } catch {
    return false;
  }
}

if (keyInEnvironment()) await loadOpenAI();

/** How long one model call may take before it counts as failed (and is retried by the agent runtime). */
export const MODEL_TIMEOUT_MS = 30_000;

/** The `model` a run may choose (its context) for the deterministic offline model. */
export const OFFLINE_MODEL = "offline";

export function chatModelFromConfig(config: Pick<Config, "openai">): BaseChatModel {
  const { apiKey, model, baseUrl } = config.openai;
  if (!apiKey) return new OfflineChatModel();
  return openAIModel(apiKey, model, baseUrl);
}

/** A run chose a model it cannot have (an OpenAI model without a key). */
export class ModelChoiceError extends Error {
  override name = "ModelChoiceError";
}

/**
 * Why a run's model choice cannot be honoured, or undefined if it can. An
 * OpenAI model without a key is refused, not replaced by the offline model:
 * a person who picked gpt-4o in Studio must not get the offline clerk's
 * answers without noticing.
 */
export function modelChoiceProblem(choice: string | undefined, config: Pick<Config, "openai">): string | undefined {
  if (choice === undefined || choice === OFFLINE_MODEL || config.openai.apiKey) return undefined;
  return `context.model '${choice}' is an OpenAI model, but OPENAI_API_KEY is not set in the environment of the process running the graph; set it (for \`npm run dev\`: in .env) or choose model '${OFFLINE_MODEL}'`;
}

/** Throws ModelChoiceError when the run's model choice cannot be honoured (see `modelChoiceProblem`). */
export function assertModelChoice(choice: string | undefined, config: Pick<Config, "openai">): void {
  const problem = modelChoiceProblem(choice, config);
  if (problem) throw new ModelChoiceError(problem);
}

/** The model a run chose (`undefined`: the one from config). Throws ModelChoiceError when it cannot be had. */
export function chatModelFor(choice: string | undefined, config: Pick<Config, "openai">): BaseChatModel {
  if (choice === undefined) return chatModelFromConfig(config);
  assertModelChoice(choice, config);
  const { apiKey, baseUrl } = config.openai;
  return choice === OFFLINE_MODEL || !apiKey ? new OfflineChatModel() : openAIModel(apiKey, choice, baseUrl);
}

function openAIModel(apiKey: string, model: string, baseUrl: string | undefined): ChatOpenAI {
  if (!openai) throw new Error("@langchain/openai is not loaded: 'await loadOpenAI()' before building ChatOpenAI from a config that is not the environment's");
  return new openai.ChatOpenAI({
    apiKey,
    model,
    temperature: 0,
    timeout: MODEL_TIMEOUT_MS,
    // The agent runtime's RetryPolicy owns retries: two layers would multiply attempts and hide 429s.
    maxRetries: 0,
    ...(baseUrl ? { configuration: { baseURL: baseUrl } } : {}),
  });
}
