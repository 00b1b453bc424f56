/**
 * What every agent node shares: it receives a delivery, runs a tool-calling
 * loop over its chat model, and returns partial updates — the proposals its
 * tools drafted (the services still decide), its task's status, and notes for
 * its own private memory. It never writes shared entities itself.
 *
 * The loop (model -> tools -> model ...) is a plain loop inside the agent's
 * node, so it writes no checkpoint per step: the store's graph checkpoints
 * the agent task as one step. (A compiled subgraph with `checkpointer: false`
 * did the same at 5x the cost per task: ~13 ms against ~2.5 ms for a task
 * with one model call, most of it Pregel set-up and the node time-out's
 * bookkeeping; agent tasks are the bulk of a busy store's work.) Model calls
 * go through LangGraph's `RetryPolicy` (same fields and semantics: errors,
 * 429s and time-outs retried with exponential backoff) and a time-out; a
 * budget of tool calls and tokens bounds each attempt; a task whose last
 * attempt fails is `failed` with the reason and the rest of the run goes on.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { Runnable } from "@langchain/core/runnables";
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { ToolCall } from "@langchain/core/messages/tool";
import { isGraphBubbleUp, type RetryPolicy } from "@langchain/langgraph";
import { loadConfig } from "../config.js";
import type { Conflict } from "../domain/decide.js";
import type { AgentName, Proposal } from "../domain/proposals.js";
import { chatModelFor, MODEL_TIMEOUT_MS } from "../llm/model.js";
import type { Delivery } from "../memory/context.js";
import { rankByOverlap } from "../memory/rank.js";
import { MAX_ATTEMPTS, MEMORY_CHANNEL } from "../nodes/router.js";
import type { MemoryNote, Update } from "../state.js";
import { HISTORY_IN_PROMPT, messageText, promptMessages } from "./prompts.js";
import { TOOL_PROPOSES, toolOwner, type ToolName } from "./scopes.js";
import type { EventStore } from "../persistence/event_store.js";
import { storeLog } from "../persistence/store_log.js";
import { threadIdOf } from "../thread.js";
import { logOrderReader, type CustomerOrders } from "./support/orders.js";
import { newSession, recordDraft, type AgentSession, type ProposalDraft, type SearchHistory, type ToolCallRecord } from "./session.js";

export type { ProposalDraft } from "./session.js";

/** What one attempt may spend: tool calls, and tokens as the model reports them (usage_metadata). */
export interface AgentBudget {
  toolCalls: number;
  tokens: number;
}

export const DEFAULT_BUDGET: AgentBudget = { toolCalls: 12, tokens: 60_000 };

/** How the store's graph builds its agents: every field has a default from config. */
export interface AgentDeps {
  /** A model per agent (a factory: called once per task, so a scripted model can start fresh). */
  models?: Partial<Record<AgentName, () => BaseChatModel>>;
  /** Retries of each model call, over DEFAULT_RETRY_POLICY (tests shrink the backoff; `retryOn` stays unless given). */
  retryPolicy?: RetryPolicy;
  /** How long one model call may take before it fails (and is retried). */
  modelTimeoutMs?: number;
  budget?: Partial<AgentBudget>;
  /** The customer-history search behind `search_customer_history` and the prompt's history items. */
  searchHistory?: SearchHistory;
  /** The store's event store, where `list_customer_orders` pages a customer's older orders (the graph passes its own). */
  events?: EventStore;
}

/** One agent: its instructions and the tools it gets for a delivery. */
export interface AgentSpec {
  agent: AgentName;
  instructions: string;
  tools: (session: AgentSession) => StructuredToolInterface[];
}

/** An attempt that spent its budget: retrying the model call would not help. */
export class AgentBudgetError extends Error {
  override name = "AgentBudgetError";
}

/** Errors a model call may recover from by trying again: rate limits, server errors, time-outs, network. */
export function isRetryableModelError(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error instanceof AgentBudgetError || error.name === "AbortError" || error.message.startsWith("Cancel")) return false;
  const status = Number((error as { status?: unknown }).status ?? (error as { response?: { status?: unknown } }).response?.status);
  if (status === 429 || status === 408) return true;
  // Bad requests and auth errors fail the same way every time.
  return !(status >= 400 && status < 500);
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialInterval: 500,
  backoffFactor: 2,
  maxInterval: 8_000,
  jitter: true,
  logWarning: false,
  retryOn: isRetryableModelError,
};

export interface AgentOutcome {
  proposals: ProposalDraft[];
  /** One line for the task result and the agent's memory. */
  note: string;
  toolCalls: ToolCallRecord[];
  /** Tools the model called that belong to another agent. */
  conflicts: Conflict[];
  /** What the model wrote beside its tool calls, if anything (short). */
  scratchpad?: string;
}

/**
 * Proposal ids derive from the trigger, the agent, the type and the attempt,
 * so a replay proposes the same ids and a retry gets new ones.
 */
export function toProposals(delivery: Delivery, drafts: readonly ProposalDraft[]): Proposal[] {
  const counts = new Map<string, number>();
  return drafts.map((draft) => {
    const n = counts.get(draft.type) ?? 0;
    counts.set(draft.type, n + 1);
    const id = `${delivery.trigger.id}>${draft.type}${n > 0 ? `:${n}` : ""}${delivery.attempt > 1 ? `~${delivery.attempt}` : ""}`;
    return {
      id,
      agent: delivery.agent,
      taskId: delivery.taskId,
      causationId: delivery.trigger.id,
      at: delivery.trigger.at,
      type: draft.type,
      data: draft.data,
      basedOn: draft.basedOn ?? [],
    };
  });
}

// ---------------------------------------------------------------- the tool loop

/** What the loop needs for one task. */
export interface LoopRun {
  session: AgentSession;
  model: Runnable<BaseMessage[], AIMessage>;
  tools: Map<string, StructuredToolInterface>;
  budget: AgentBudget;
  retryPolicy: RetryPolicy;
  modelTimeoutMs: number;
  /** What every model call carries for tracing (LangSmith makes metadata and tags searchable). */
  trace: { metadata: Record<string, string | number>; tags: string[] };
}

/** How far the loop has got; plain data, so a graph can carry it between a model node and a tools node. */
export interface LoopState {
  /** The conversation with the model: prompt, its answers, the tool results. */
  messages: BaseMessage[];
  /** Tool calls made so far (valid or not). */
  toolCalls: number;
  /** Tokens the model reported so far. */
  tokens: number;
}

/** A model call that took longer than the time-out (retried like any transient error). */
export class ModelTimeoutError extends Error {
  override name = "ModelTimeoutError";
}

/**
 * Runs `attempt` under a RetryPolicy with LangGraph's semantics: at most
 * `maxAttempts` tries, exponential backoff capped at `maxInterval`, optional
 * jitter, and only errors `retryOn` accepts are retried.
 */
export async function withRetry<T>(policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  const retryOn = policy.retryOn ?? isRetryableModelError;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= (policy.maxAttempts ?? 3) || !retryOn(error)) throw error;
      const interval = Math.min(policy.maxInterval ?? 128_000, (policy.initialInterval ?? 500) * (policy.backoffFactor ?? 2) ** (tries - 1));
      const wait = (policy.jitter ?? true) ? interval + Math.random() * 1_000 : interval;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** Runs `call` with an abort signal that fires after `ms`; a late answer is dropped. */
async function withTimeout<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ModelTimeoutError(`model call timed out after ${ms} ms`);
      // Settle first, so the race reports the time-out rather than the abort it causes.
      reject(error);
      controller.abort(error);
    }, ms);
  });
  try {
    return await Promise.race([call(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The tool loop: the model answers, its tool calls run, their results go
 * back to it, until it answers without a tool call. Model calls retry and
 * time out per the run; the budget bounds the whole attempt.
 */
async function toolLoop(run: LoopRun, prompt: BaseMessage[]): Promise<LoopState> {
  const state: LoopState = { messages: [...prompt], toolCalls: 0, tokens: 0 };
  for (;;) {
    const answer = await modelTurn(run, state);
    if (!wantsTools(answer)) return state;
    state.messages.push(...(await runTools(run, state, answer)));
  }
}

/** One model answer, retried and timed out per the run, its tokens counted against the budget; appended to `state.messages`. */
export async function modelTurn(run: LoopRun, state: LoopState): Promise<AIMessage> {
  const answer = await withRetry(run.retryPolicy, () =>
    withTimeout(run.modelTimeoutMs, (signal) => run.model.invoke(state.messages, { signal, ...run.trace })),
  );
  state.tokens += answer.usage_metadata?.total_tokens ?? 0;
  if (state.tokens > run.budget.tokens) throw new AgentBudgetError(`token budget exceeded: ${state.tokens} tokens > ${run.budget.tokens}`);
  state.messages.push(answer);
  return answer;
}

/** The loop goes on while the model asks for tools (a malformed call is answered too, so the model can correct it). */
export function wantsTools(answer: AIMessage): boolean {
  return (answer.tool_calls?.length ?? 0) + (answer.invalid_tool_calls?.length ?? 0) > 0;
}

/** Runs the model's tool calls in order (so drafts come out in a deterministic order). */
export async function runTools(run: LoopRun, state: LoopState, answer: AIMessage): Promise<ToolMessage[]> {
  const calls = answer.tool_calls ?? [];
  const invalid = answer.invalid_tool_calls ?? [];
  const used = state.toolCalls + calls.length + invalid.length;
  if (used > run.budget.toolCalls) throw new AgentBudgetError(`tool-call budget exceeded: ${used} calls > ${run.budget.toolCalls}`);
  const messages: ToolMessage[] = [];
  for (const [i, call] of calls.entries()) messages.push(await runToolCall(run, call, state.toolCalls + i));
  invalid.forEach((bad, i) => {
    const error = `malformed call of ${bad.name ?? "a tool"}: ${bad.error ?? "its arguments are not valid JSON"}`;
    run.session.toolCalls.push({ name: bad.name ?? "?", args: bad.args, error });
    messages.push(
      new ToolMessage({ tool_call_id: bad.id ?? `invalid-${state.toolCalls + calls.length + i}`, name: bad.name, content: `error: ${error}`, status: "error" }),
    );
  });
  state.toolCalls = used;
  return messages;
}

async function runToolCall(run: LoopRun, call: ToolCall, index: number): Promise<ToolMessage> {
  const { session } = run;
  const id = call.id ?? `call-${index}`;
  const answer = (content: string, error?: string) => {
    session.toolCalls.push({ name: call.name, args: call.args, ...(error ? { error } : {}) });
    return new ToolMessage({ tool_call_id: id, name: call.name, content, ...(error ? { status: "error" as const } : {}) });
  };
  const own = run.tools.get(call.name);
  if (own) {
    try {
      const output: unknown = await own.invoke(call.args ?? {});
      return answer(typeof output === "string" ? output : JSON.stringify(output));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return answer(`error: ${message}`, message);
    }
  }
  const owner = toolOwner(call.name);
  if (!owner) return answer(`error: there is no tool named ${call.name}; your tools are ${[...run.tools.keys()].join(", ")}`, `unknown tool ${call.name}`);
  const reason = `${session.delivery.agent} called ${call.name}, a tool of ${owner}`;
  const proposes = TOOL_PROPOSES[call.name as ToolName];
  if (proposes) {
    // Drafted as asked: the service that decides every proposal refuses it as out of scope (a recorded conflict, no effect).
    recordDraft(session, { type: proposes, data: call.args });
  } else {
    const { delivery } = session;
    session.conflicts.push({
      id: `${delivery.taskId}${delivery.attempt > 1 ? `~${delivery.attempt}` : ""}>tool:${index}`,
      at: delivery.trigger.at,
      by: delivery.agent,
      eventId: delivery.trigger.id,
      eventType: `tool:${call.name}`,
      kind: "scope",
      reason,
      taskId: delivery.taskId,
      owner: "agent_runtime",
    });
  }
  return answer(`error: ${call.name} is not one of your tools (it belongs to ${owner}); recorded as a scope conflict`, reason);
}

// ---------------------------------------------------------------- the agent node

/** The customer-history search when none is injected: word overlap within the delivery's history pool. */
export const searchDeliveryHistory: SearchHistory = (delivery, query, k) => rankByOverlap(delivery.context.history, query, k);

/** What a run may carry that the agents read: the model it chose (the graph's context, see ingest.ts). */
export interface AgentRunContext {
  model?: string;
}

/** What a task reads beyond its delivery: the store's orders (for paging a customer's older ones). */
export interface TaskEnv {
  customerOrders?: CustomerOrders;
}

/**
 * The metadata and tags of a task's model calls: which agent, task and triggering event (docs/eval.md). The
 * store comes from the run's own metadata (the CLI and the eval set it), which child runs inherit.
 */
export function traceOf(delivery: Delivery): LoopRun["trace"] {
  const { agent, taskId, trigger, attempt } = delivery;
  return {
    metadata: { agent, task_id: taskId, trigger_event_id: trigger.id, trigger_event_type: trigger.type, attempt },
    tags: [agent, `event:${trigger.type}`],
  };
}

/** How many models from config are kept built: a run may name any model, so a long-running server must not keep them all. */
export const MODEL_CACHE_SIZE = 8;

/**
 * Models from config, built once per choice (undefined: ChatOpenAI with a key, the offline model without), the
 * MODEL_CACHE_SIZE most recently used ones (a Map keeps insertion order: a hit moves its entry to the end).
 */
const configuredModels = new Map<string | undefined, BaseChatModel>();
function modelFromConfig(choice: string | undefined): BaseChatModel {
  let model = configuredModels.get(choice);
  if (model) configuredModels.delete(choice);
  else model = chatModelFor(choice, loadConfig());
  configuredModels.set(choice, model);
  if (configuredModels.size > MODEL_CACHE_SIZE) configuredModels.delete(configuredModels.keys().next().value);
  return model;
}

/** The model choices kept built, least recently used first (for tests). */
export function cachedModelChoices(): (string | undefined)[] {
  return [...configuredModels.keys()];
}

/** The model for one task: an injected one (tests) wins over the run's choice, which wins over config. */
export function agentModel(spec: AgentSpec, deps: AgentDeps, run: AgentRunContext = {}): BaseChatModel {
  const injected = deps.models?.[spec.agent];
  return injected ? injected() : modelFromConfig(run.model);
}

/** Builds what one attempt needs: the session's tools bound to the task's model, budgets and retries from deps. */
export function loopRun(spec: AgentSpec, deps: AgentDeps, session: AgentSession, runContext: AgentRunContext = {}): LoopRun {
  const tools = spec.tools(session);
  const model = agentModel(spec, deps, runContext);
  if (typeof model.bindTools !== "function") throw new Error(`the model for ${spec.agent} (${model._llmType()}) cannot call tools: it has no bindTools`);
  return {
    session,
    model: model.bindTools(tools) as Runnable<BaseMessage[], AIMessage>,
    tools: new Map(tools.map((t) => [t.name, t])),
    budget: { ...DEFAULT_BUDGET, ...deps.budget },
    retryPolicy: { ...DEFAULT_RETRY_POLICY, ...deps.retryPolicy },
    modelTimeoutMs: deps.modelTimeoutMs ?? MODEL_TIMEOUT_MS,
    trace: traceOf(session.delivery),
  };
}

/** The first messages of a task: instructions, the trigger and context, and the customer history the message recalls. */
export async function firstPrompt(session: AgentSession, spec: AgentSpec): Promise<BaseMessage[]> {
  const { delivery } = session;
  const text = messageText(delivery.trigger);
  const history = text ? await session.searchHistory(delivery, text, HISTORY_IN_PROMPT) : [];
  return promptMessages(delivery, spec.instructions, history);
}

/** What a finished loop decided: the session's drafts and tool calls, and the model's last line as the note. */
export function outcomeOf(session: AgentSession, messages: readonly BaseMessage[]): AgentOutcome {
  const answer = messages.at(-1) as AIMessage;
  const content = typeof answer.content === "string" ? answer.content : answer.text;
  const note = content.trim().split("\n")[0]?.slice(0, 200) || `done (${session.toolCalls.length} tool calls)`;
  // What the model wrote along the way (beside its tool calls), kept short for the agent's own memory.
  const thoughts = messages
    .filter((m) => AIMessage.isInstance(m))
    .map((m) => m.text.trim())
    .filter((t) => t.length > 0 && t !== content.trim());
  const scratchpad = thoughts.join("\n").slice(0, 500);
  return { proposals: session.drafts, note, toolCalls: session.toolCalls, conflicts: session.conflicts, ...(scratchpad ? { scratchpad } : {}) };
}

/** Runs one delivery through the agent's tool loop and returns what it decided. */
export async function runToolLoop(
  delivery: Delivery,
  spec: AgentSpec,
  deps: AgentDeps,
  runContext: AgentRunContext = {},
  env: TaskEnv = {},
): Promise<AgentOutcome> {
  const session = newSession(delivery, deps.searchHistory ?? searchDeliveryHistory, env.customerOrders);
  const run = loopRun(spec, deps, session, runContext);
  const final = await toolLoop(run, await firstPrompt(session, spec));
  return outcomeOf(session, final.messages);
}

/** How much of a long text argument (a reply, a post) the agent's memory keeps: the full text is in the log. */
const NOTE_ARG_CHARS = 120;

function briefCall(call: ToolCallRecord): ToolCallRecord {
  if (typeof call.args !== "object" || call.args === null) return call;
  const args = Object.fromEntries(
    Object.entries(call.args).map(([k, v]) => [k, typeof v === "string" && v.length > NOTE_ARG_CHARS ? `${v.slice(0, NOTE_ARG_CHARS)}…` : v]),
  );
  return { ...call, args };
}

/** Why a task failed, as its `fail` op records it: the error's class (unless plain `Error`) and message, at most 500 characters. */
export function taskErrorMessage(error: unknown): string {
  const message = error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error);
  return message.slice(0, 500);
}

/**
 * The node for one agent: decides, then turns the outcome (or its failure)
 * into updates. `extra` adds agent-specific writes (the support transcript).
 */
export function agentNode(spec: AgentSpec, deps: AgentDeps = {}, extra?: (delivery: Delivery, outcome: AgentOutcome) => Update) {
  return async function agent(delivery: Delivery, runtime?: { context?: AgentRunContext; configurable?: object }): Promise<Update> {
    const memoryChannel = MEMORY_CHANNEL[delivery.agent];
    const configurable = runtime?.configurable as Record<string, unknown> | undefined;
    const env: TaskEnv =
      delivery.agent === "support_agent" && deps.events && delivery.log
        ? { customerOrders: logOrderReader(storeLog(deps.events, threadIdOf({ configurable }), delivery.log)) }
        : {};
    try {
      const outcome = await runToolLoop(delivery, spec, deps, runtime?.context, env);
      const proposals = toProposals(delivery, outcome.proposals);
      const note: MemoryNote = {
        at: delivery.trigger.at,
        eventId: delivery.trigger.id,
        note: outcome.note,
        ...(outcome.toolCalls.length > 0 ? { toolCalls: outcome.toolCalls.map(briefCall) } : {}),
        ...(outcome.scratchpad ? { scratchpad: outcome.scratchpad } : {}),
      };
      return {
        ...(proposals.length > 0 ? { proposals: { enqueue: proposals } } : {}),
        ...(outcome.conflicts.length > 0 ? { conflicts: outcome.conflicts } : {}),
        tasks: [{ op: "complete", taskId: delivery.taskId, result: outcome.note }],
        [memoryChannel]: [note],
        ...(extra ? extra(delivery, outcome) : {}),
      };
    } catch (error) {
      if (isGraphBubbleUp(error)) throw error;
      const retry = delivery.attempt < MAX_ATTEMPTS;
      // The router words a give-up the same way when a retried task runs out of attempts.
      const reason = `${taskErrorMessage(error)}${retry ? "" : `; gave up after ${delivery.attempt} attempts`}`;
      return { tasks: [{ op: "fail", taskId: delivery.taskId, error: reason, retry }] };
    }
  };
}
