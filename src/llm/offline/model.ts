/**
 * The offline chat model: deterministic, no network. It reads the triggering
 * event and the context from the prompt's JSON blocks and the tool results
 * so far, and answers as a careful clerk of the agent named in the context
 * would: with real `tool_calls` on its AIMessage, or a final line once done.
 * Same transcript, same answer, so runs replay exactly.
 */
import { BaseChatModel, type BaseChatModelParams, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { CONTEXT_BLOCK, TRIGGER_BLOCK, type PromptContext } from "../../agents/prompts.js";
import type { StoreEvent } from "../../domain/events.js";
import type { AgentName } from "../../domain/proposals.js";
import { readJsonBlock } from "../blocks.js";
import { inventoryStep } from "./inventory.js";
import { marketingStep } from "./marketing.js";
import type { Step, ToolResult, Transcript } from "./steps.js";
import { supportStep } from "./support.js";

const CLERKS: Record<AgentName, (transcript: Transcript) => Step> = {
  support_agent: supportStep,
  inventory_agent: inventoryStep,
  marketing_agent: marketingStep,
};

export class OfflineChatModel extends BaseChatModel {
  /** Names of the bound tools; the model never calls a tool it was not given. */
  private toolNames: string[] = [];

  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  _llmType(): string {
    return "shopstate-offline";
  }

  override bindTools(tools: BindToolsInput[]): OfflineChatModel {
    const bound = this.fresh();
    bound.toolNames = tools.map(toolName).filter((n): n is string => n !== undefined);
    return bound;
  }

  /** A new unbound model of the same kind (a subclass that records calls keeps recording once bound). */
  protected fresh(): OfflineChatModel {
    return new OfflineChatModel();
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const transcript = readTranscript(messages);
    const step = transcript ? CLERKS[transcript.context.agent]?.(transcript) : undefined;
    const message = this.answer(messages, step ?? { final: "I need a <trigger_event> and a <context> block to work on." });
    return { generations: [{ text: typeof message.content === "string" ? message.content : "", message }] };
  }

  private answer(messages: BaseMessage[], step: Step): AIMessage {
    const turn = messages.filter((m) => AIMessage.isInstance(m)).length;
    const inputTokens = estimateTokens(messages.map(textOf).join("\n"));
    if ("final" in step) return new AIMessage({ content: step.final, usage_metadata: usage(inputTokens, estimateTokens(step.final)) });
    const missing = step.calls.find((c) => !this.toolNames.includes(c.name));
    if (missing) {
      const content = `stopped: I would call ${missing.name}, but it is not among my tools (${this.toolNames.join(", ") || "none"})`;
      return new AIMessage({ content, usage_metadata: usage(inputTokens, estimateTokens(content)) });
    }
    const toolCalls = step.calls.map((c, i) => ({ id: `call_${turn}_${i}`, name: c.name, args: c.args, type: "tool_call" as const }));
    return new AIMessage({ content: "", tool_calls: toolCalls, usage_metadata: usage(inputTokens, estimateTokens(JSON.stringify(toolCalls))) });
  }
}

function toolName(tool: BindToolsInput): string | undefined {
  const t = tool as { name?: unknown; function?: { name?: unknown } };
  if (typeof t.name === "string") return t.name;
  if (typeof t.function?.name === "string") return t.function.name;
  return undefined;
}

function textOf(message: BaseMessage): string {
  return typeof message.content === "string" ? message.content : message.text;
}

/** The event, the context and the tool results, or undefined if the prompt has no event. */
export function readTranscript(messages: readonly BaseMessage[]): Transcript | undefined {
  let trigger: StoreEvent | undefined;
  let context: PromptContext | undefined;
  for (const message of messages) {
    const text = textOf(message);
    if (!text.includes(`<${TRIGGER_BLOCK}>`) || AIMessage.isInstance(message) || ToolMessage.isInstance(message)) continue;
    // The instructions may name the blocks too: the event is in the message whose blocks parse.
    trigger = readJsonBlock<StoreEvent>(text, TRIGGER_BLOCK);
    context = readJsonBlock<PromptContext>(text, CONTEXT_BLOCK);
    if (trigger && context) break;
  }
  if (!trigger || !context) return undefined;
  const calls = new Map<string, { name: string; args: Record<string, unknown> }>();
  const results: ToolResult[] = [];
  for (const message of messages) {
    if (AIMessage.isInstance(message)) for (const c of message.tool_calls ?? []) if (c.id) calls.set(c.id, { name: c.name, args: c.args });
    if (ToolMessage.isInstance(message)) {
      const asked = calls.get(message.tool_call_id);
      const content = textOf(message);
      results.push({
        name: asked?.name ?? message.name ?? "?",
        args: asked?.args ?? {},
        content,
        ok: message.status !== "error" && !content.startsWith("error:"),
      });
    }
  }
  return { trigger, context, results };
}

/** About four characters a token: enough for budgets to apply to the offline model too. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function usage(input: number, output: number) {
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
}
