/**
 * What the offline model sees and says: the transcript so far (the
 * triggering event, the context block, the tool results in order) and its
 * next step (tool calls, or a final line).
 */
import type { PromptContext } from "../../agents/prompts.js";
import type { StoreEvent } from "../../domain/events.js";

export interface ToolResult {
  name: string;
  args: Record<string, unknown>;
  content: string;
  /** False when the tool refused or failed (its content starts with "error:"). */
  ok: boolean;
}

export interface Transcript {
  trigger: StoreEvent;
  context: PromptContext;
  results: ToolResult[];
}

export interface PlannedCall {
  name: string;
  args: Record<string, unknown>;
}

export type Step = { calls: PlannedCall[] } | { final: string };

export const call = (name: string, args: Record<string, unknown>): Step => ({ calls: [{ name, args }] });
export const final = (text: string): Step => ({ final: text });

/** The results of the calls of `name`, oldest first. */
export function resultsOf(transcript: Transcript, name: string): ToolResult[] {
  return transcript.results.filter((r) => r.name === name);
}

/** The parsed JSON of a successful result, or undefined. */
export function parsed<T>(result: ToolResult | undefined): T | undefined {
  if (!result?.ok) return undefined;
  try {
    return JSON.parse(result.content) as T;
  } catch {
    return undefined;
  }
}
