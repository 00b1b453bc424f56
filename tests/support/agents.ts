/**
 * Test doubles for the agents' models and a small store to run them in.
 *
 * `ScriptedChatModel` answers from a script (a function of the conversation
 * so far): an AIMessage with tool calls, a final line, or a thrown error. It
 * supports `bindTools` like a real model and counts its calls.
 */
import { BaseChatModel, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { MemorySaver, type RetryPolicy } from "@langchain/langgraph";
import type { AgentDeps } from "../../src/agents/runtime.js";
import type { AgentName } from "../../src/domain/proposals.js";
import { compileStoreGraph } from "../../src/graph.js";
import { OfflineChatModel } from "../../src/llm/offline/model.js";
import type { State } from "../../src/state.js";
import { testLog } from "./log.js";

export type Script = (messages: BaseMessage[], turn: number) => AIMessage | Promise<AIMessage>;

export class ScriptedChatModel extends BaseChatModel {
  /** Tool names offered at the last bind (kept on the unbound model too, where tests look). */
  boundTools: string[] = [];
  /** Every conversation the model was called with, in order. */
  readonly calls: BaseMessage[][];

  constructor(
    private readonly script: Script,
    calls: BaseMessage[][] = [],
  ) {
    super({});
    this.calls = calls;
  }

  _llmType(): string {
    return "scripted";
  }

  override bindTools(tools: BindToolsInput[]): ScriptedChatModel {
    const bound = new ScriptedChatModel(this.script, this.calls);
    this.boundTools = bound.boundTools = tools.map((t) => (t as { name: string }).name);
    return bound;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.calls.push(messages);
    const turn = messages.filter((m) => AIMessage.isInstance(m)).length;
    const message = await this.script(messages, turn);
    return { generations: [{ text: typeof message.content === "string" ? message.content : "", message }] };
  }
}

/** An AIMessage calling tools (ids derived from the turn). */
export function callTools(turn: number, calls: { name: string; args: Record<string, unknown> }[]): AIMessage {
  return new AIMessage({ content: "", tool_calls: calls.map((c, i) => ({ id: `t${turn}-${i}`, name: c.name, args: c.args, type: "tool_call" as const })) });
}

/** Retries without waiting: tests check what is retried, not how long it sleeps. */
export const FAST_RETRY: RetryPolicy = { maxAttempts: 3, initialInterval: 1, backoffFactor: 1, jitter: false, logWarning: false };

export const offline = () => new OfflineChatModel();

/** Offline models for every agent, with some replaced. */
export function models(overrides: Partial<Record<AgentName, () => BaseChatModel>> = {}): AgentDeps["models"] {
  return { support_agent: offline, inventory_agent: offline, marketing_agent: offline, ...overrides };
}

/** A store on MemorySaver with injected agent dependencies; `log` reads its event store. */
export function testStore(agents: AgentDeps) {
  const log = testLog("t");
  const graph = compileStoreGraph({ checkpointer: new MemorySaver(), events: log.events, agents: { retryPolicy: FAST_RETRY, ...agents } });
  const config = { configurable: { thread_id: "t" }, recursionLimit: 500 };
  return {
    graph,
    log,
    ingest: async (inbox: unknown[]) => (await graph.invoke({ inbox }, config)) as State,
  };
}

let seq = 0;
export const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute)).toISOString();
export const ev = (type: string, data: Record<string, unknown>, minute = 0) => ({ id: `e-${String(++seq).padStart(4, "0")}`, type, at: at(minute), data });

/** A small shop: two products, a delivered order of two mugs for C-ANN. */
export function shop() {
  return [
    ev("ProductAdded", { sku: "SKU-MUG", name: "Ceramic Mug", priceCents: 1500, initialStock: 20, reorderPoint: 3 }, 0),
    ev("ProductAdded", { sku: "SKU-TEE", name: "Organic Cotton Tee", priceCents: 2500, initialStock: 4, reorderPoint: 3 }, 0),
    ev("OrderPlaced", { orderId: "ORD-1", customerId: "C-ANN", lines: [{ sku: "SKU-MUG", qty: 2 }] }, 1),
    ev("OrderShipped", { orderId: "ORD-1" }, 2),
    ev("OrderDelivered", { orderId: "ORD-1" }, 3),
  ];
}
