/**
 * The chat model behind every agent, picked from config: `ChatOpenAI` when an
 * API key is set (any OpenAI-compatible server through `OPENAI_BASE_URL`),
 * otherwise the deterministic offline model.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { ChatOpenAI } from "@langchain/openai";
import type { Config } from "../config.js";
import { OfflineChatModel } from "./offline/model.js";

/** How long one model call may take before it counts as failed (and is retried by the agent runtime). */
export const MODEL_TIMEOUT_MS = 30_000;

export function chatModelFromConfig(config: Pick<Config, "openai">): BaseChatModel {
  const { apiKey, model, baseUrl } = config.openai;
  if (!apiKey) return new OfflineChatModel();
  return new ChatOpenAI({
    apiKey,
    model,
    temperature: 0,
    timeout: MODEL_TIMEOUT_MS,
    // The agent runtime's RetryPolicy owns retries: two layers would multiply attempts and hide 429s.
    maxRetries: 0,
    ...(baseUrl ? { configuration: { baseURL: baseUrl } } : {}),
  });
}
