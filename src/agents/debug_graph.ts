/**
 * One agent as its own small graph, for debugging it in Studio on one
 * trigger event:
 *
 *   prepare -> model -> tools -> model -> ... -> finish
 *
 * `prepare` builds the world from a batch of input events with the pure
 * decider (no other agent runs), picks the trigger and builds the delivery
 * the router would hand out; `model` and `tools` are one turn each of the
 * runtime's tool loop (same tools, prompts, budget and retries as in the
 * store graph), so each model answer and each tool result is a visible step;
 * `finish` turns the drafts into proposals and shows what the services
 * would decide about them. Nothing is written to any store.
 *
 * The state is a zod object, not a StateSchema, because the LangGraph
 * server 1.5.1 publishes the context schema (the model choice form) only for
 * zod-declared graphs.
 */
import type { AIMessage, BaseMessage } from "@langchain/core/messages";
import { END, isGraphBubbleUp, START, StateGraph } from "@langchain/langgraph";
import { z } from "zod";
import { loadConfig } from "../config.js";
import { decideAll, type Conflict } from "../domain/decide.js";
import type { StoreEvent, SystemEvent } from "../domain/events.js";
import type { Proposal } from "../domain/proposals.js";
import type { RejectedInput } from "../domain/validation.js";
import { commit, DEFAULT_POLICY, emptyWorld, type World } from "../domain/world.js";
import { ingestBatch, StoreContextSchema } from "../nodes/ingest.js";
import { EMPTY_LOG } from "../persistence/event_store.js";
import { memoryEventStore } from "../persistence/sqlite_event_store.js";
import { storeLog, type StoreLog } from "../persistence/store_log.js";
import { assertModelChoice } from "../llm/model.js";
import { buildContext, type Delivery } from "../memory/context.js";
import { HISTORY_POOL } from "../memory/customer_memory.js";
import { factsOf } from "../memory/knowledge.js";
import { SUBSCRIPTIONS, taskIdFor } from "../nodes/router.js";
import {
  DEFAULT_BUDGET,
  firstPrompt,
  loopRun,
  modelTurn,
  outcomeOf,
  runTools,
  searchDeliveryHistory,
  taskErrorMessage,
  toProposals,
  wantsTools,
  type AgentDeps,
  type AgentRunContext,
  type AgentSpec,
  type LoopState,
} from "./runtime.js";
import { newSession, type AgentSession, type ProposalDraft, type ToolCallRecord } from "./session.js";

/** Source name of the input events in rejection reports. */
export const EVENTS_SOURCE = "events";

/**
 * A field Studio shows as plain JSON. `z.custom` has no JSON schema, and one
 * such field makes the server drop the graph's whole state schema; the type
 * is still ours for the code.
 */
function json<T>(description: string) {
  return z.any().describe(description) as unknown as z.ZodType<T | undefined>;
}

const events = () =>
  z
    .array(z.unknown())
    .default(() => [])
    .describe(
      "Input events (docs/events.md, as you would ingest them) that build the world the agent sees: products, orders, messages... Bad ones are listed in `rejected`.",
    );
const trigger = () =>
  z
    .union([z.string().min(1), z.record(z.string(), z.unknown())])
    .optional()
    .describe(
      "The event the agent handles: the id of an event of the batch (an input, or a fact the services derived, e.g. 'e7>LowStockAlert'), or a new input event appended after the batch. Default: the newest event of the batch the agent subscribes to.",
    );

export const AgentGraphInput = z.object({ events: events(), trigger: trigger() });

/** What a person debugging the agent reads at the end. */
const outputFields = {
  rejected: json<{ source: string; line: number; reason: string }[]>("Input events refused, with the reason the CLI gives."),
  candidates: json<string[]>("Ids of the batch's events this agent subscribes to (possible triggers)."),
  triggerEvent: json<StoreEvent>("The event the agent handled."),
  toolCalls: json<ToolCallRecord[]>("Every tool call of the task, with the reason when one did nothing."),
  proposals: json<Proposal[]>("What the agent proposed (ids as in the store graph)."),
  conflicts: json<Conflict[]>("Scope conflicts the runtime recorded (a call of another agent's read tool)."),
  decisions: json<{ facts: SystemEvent[]; conflicts: Conflict[] }>(
    "What the services would decide about the proposals on this world: the facts they would append, the proposals they would refuse.",
  ),
  reply: json<string>("The reply the support agent drafted, if any."),
  status: json<"completed" | "failed">("The task's status, as in the store graph's tasks."),
  note: json<string>("The task's result line (the model's last answer)."),
  error: json<string>("Why the task failed."),
};

export const AgentGraphOutput = z.object(outputFields);

export const AgentGraphState = z.object({
  events: events(),
  trigger: trigger(),
  ...outputFields,
  delivery: json<Delivery>("What the router would hand the agent: trigger, selective context, memory."),
  messages: json<BaseMessage[]>("The conversation with the model: prompt, answers, tool results."),
  drafts: json<ProposalDraft[]>("Proposals drafted so far (the tools' working memory)."),
  toolCallCount: json<number>("Tool calls made so far, against the budget."),
  tokens: json<number>("Tokens the model reported so far, against the budget."),
});

type AgentGraphValues = z.infer<typeof AgentGraphState>;
type AgentGraphUpdate = Partial<AgentGraphValues>;

/** The model choice, as in the store graph's context. */
export const AgentGraphContext = StoreContextSchema.pick({ model: true });

/** The batch was unusable for this agent: no trigger, or one it does not subscribe to. */
export class AgentGraphInputError extends Error {
  override name = "AgentGraphInputError";
}

interface Built {
  world: World;
  log: StoreEvent[];
  /** The same log in a throwaway event store, for the context reads. */
  stored: StoreLog;
  rejected: { source: string; line: number; reason: string }[];
  triggerId?: string;
}

/**
 * The world of the batch: validated as `ingest` validates (same reasons), then
 * decided by the services' pure decider, inputs first and their facts after,
 * as one batch lands in the store's log. Other agents' proposals are not made.
 */
export async function buildWorld(input: Pick<AgentGraphValues, "events" | "trigger">): Promise<Built> {
  const items = [...(input.events ?? [])];
  let triggerId = typeof input.trigger === "string" ? input.trigger : undefined;
  if (input.trigger !== undefined && typeof input.trigger === "object") {
    items.push(input.trigger);
    triggerId = typeof input.trigger.id === "string" ? input.trigger.id : "";
  }
  const empty = storeLog(memoryEventStore(), "agent-debug", EMPTY_LOG);
  const ingested = await ingestBatch(
    { inbox: items, inboxOrigin: { source: EVENTS_SOURCE }, log: EMPTY_LOG, policy: DEFAULT_POLICY, catalog: {}, approvals: {} },
    empty,
  );
  const accepted = (ingested.recentEvents ?? []) as StoreEvent[];
  const { draft, facts } = decideAll(
    emptyWorld(),
    accepted.map((event) => ({ kind: "event" as const, event })),
  );
  const log = [...accepted, ...facts];
  const stored = storeLog(empty.store, empty.threadId, await empty.store.append(empty.threadId, EMPTY_LOG, log));
  const rejected = ((ingested.rejected ?? []) as RejectedInput[]).map(({ source, line, reason }) => ({ source, line, reason }));
  return { world: commit(draft), log, stored, rejected, ...(triggerId !== undefined ? { triggerId } : {}) };
}

/** The delivery the router would make: the trigger, its selective context, and for support the customer's earlier facts as the history pool. */
export async function deliveryFor(spec: AgentSpec, built: Built): Promise<{ delivery: Delivery; candidates: string[] }> {
  const { agent } = spec;
  const { log, world, rejected } = built;
  const subscribed: readonly string[] = SUBSCRIPTIONS[agent];
  const candidates = log.filter((e) => subscribed.includes(e.type)).map((e) => e.id);
  const rejections = rejected.length > 0 ? `; rejected inputs: ${rejected.map((r) => `${r.source}:${r.line}: ${r.reason}`).join("; ")}` : "";
  const position = built.triggerId === undefined ? log.findLastIndex((e) => subscribed.includes(e.type)) : log.findIndex((e) => e.id === built.triggerId);
  if (position < 0) {
    const what =
      built.triggerId === undefined
        ? `no event of the batch is one ${agent} subscribes to (${subscribed.join(", ")})`
        : `trigger '${built.triggerId}' is not an event of the batch`;
    throw new AgentGraphInputError(`${agent}: ${what}; candidates: ${candidates.join(", ") || "none"}${rejections}`);
  }
  const triggerEvent = log[position];
  if (!subscribed.includes(triggerEvent.type)) {
    throw new AgentGraphInputError(
      `${agent}: trigger '${triggerEvent.id}' is a ${triggerEvent.type}, which ${agent} does not handle (it subscribes to ${subscribed.join(", ")}); candidates: ${candidates.join(", ") || "none"}`,
    );
  }
  const context = await buildContext(world, built.stored, triggerEvent, position);
  if (triggerEvent.type === "CustomerMessage") {
    const customerId = triggerEvent.data.customerId;
    context.history = factsOf(log.slice(0, position), world)
      .filter((f) => f.customerId === customerId)
      .slice(-HISTORY_POOL)
      .map((f) => ({ ...f, score: 0 }));
  }
  return { delivery: { taskId: taskIdFor(triggerEvent.id, agent), agent, attempt: 1, trigger: triggerEvent, position, context, memory: [] }, candidates };
}

/** The tools' session as the state carries it between nodes (copied: state values are never mutated). */
function sessionOf(state: AgentGraphValues, deps: AgentDeps): AgentSession {
  const session = newSession(state.delivery as Delivery, deps.searchHistory ?? searchDeliveryHistory);
  session.drafts = [...(state.drafts ?? [])];
  session.toolCalls = [...(state.toolCalls ?? [])];
  session.conflicts = [...(state.conflicts ?? [])];
  return session;
}

function loopOf(state: AgentGraphValues): LoopState {
  return { messages: [...(state.messages ?? [])], toolCalls: state.toolCallCount ?? 0, tokens: state.tokens ?? 0 };
}

/** A failed attempt, as the store graph's agent node reports it. */
function failure(error: unknown, loop: LoopState): AgentGraphUpdate {
  if (isGraphBubbleUp(error)) throw error;
  return { status: "failed", error: taskErrorMessage(error), messages: loop.messages, tokens: loop.tokens };
}

type Runtime = { context?: AgentRunContext };

export function buildAgentGraph(spec: AgentSpec, deps: AgentDeps = {}) {
  async function prepare(state: AgentGraphValues, runtime?: Runtime): Promise<AgentGraphUpdate> {
    assertModelChoice(runtime?.context?.model, loadConfig());
    const built = await buildWorld(state);
    const { delivery, candidates } = await deliveryFor(spec, built);
    const session = newSession(delivery, deps.searchHistory ?? searchDeliveryHistory);
    const messages = await firstPrompt(session, spec);
    return {
      rejected: built.rejected,
      candidates,
      triggerEvent: delivery.trigger,
      delivery,
      messages,
      drafts: [],
      toolCalls: [],
      conflicts: [],
      toolCallCount: 0,
      tokens: 0,
    };
  }

  async function model(state: AgentGraphValues, runtime?: Runtime): Promise<AgentGraphUpdate> {
    const loop = loopOf(state);
    try {
      await modelTurn(loopRun(spec, deps, sessionOf(state, deps), runtime?.context), loop);
    } catch (error) {
      return failure(error, loop);
    }
    return { messages: loop.messages, tokens: loop.tokens };
  }

  async function tools(state: AgentGraphValues, runtime?: Runtime): Promise<AgentGraphUpdate> {
    const session = sessionOf(state, deps);
    const loop = loopOf(state);
    try {
      loop.messages.push(...(await runTools(loopRun(spec, deps, session, runtime?.context), loop, loop.messages.at(-1) as AIMessage)));
    } catch (error) {
      return failure(error, loop);
    }
    return { messages: loop.messages, toolCallCount: loop.toolCalls, drafts: session.drafts, toolCalls: session.toolCalls, conflicts: session.conflicts };
  }

  async function finish(state: AgentGraphValues): Promise<AgentGraphUpdate> {
    const session = sessionOf(state, deps);
    const outcome = outcomeOf(session, state.messages ?? []);
    const delivery = state.delivery as Delivery;
    const proposals = toProposals(delivery, outcome.proposals);
    const { world } = await buildWorld(state);
    const decided = decideAll(
      world,
      proposals.map((proposal) => ({ kind: "proposal" as const, proposal })),
    );
    const reply = proposals.find((p) => p.type === "ReplyDrafted")?.data as { text?: unknown } | undefined;
    return {
      proposals,
      decisions: { facts: decided.facts, conflicts: decided.conflicts },
      status: "completed",
      note: outcome.note,
      ...(typeof reply?.text === "string" ? { reply: reply.text } : {}),
    };
  }

  const afterModel = (state: AgentGraphValues) => (state.status === "failed" ? END : wantsTools(state.messages?.at(-1) as AIMessage) ? "tools" : "finish");
  const afterTools = (state: AgentGraphValues) => (state.status === "failed" ? END : "model");

  return new StateGraph({ state: AgentGraphState, input: AgentGraphInput, output: AgentGraphOutput, context: AgentGraphContext })
    .addNode("prepare", prepare)
    .addNode("model", model)
    .addNode("tools", tools)
    .addNode("finish", finish)
    .addEdge(START, "prepare")
    .addEdge("prepare", "model")
    .addConditionalEdges("model", afterModel, ["tools", "finish", END])
    .addConditionalEdges("tools", afterTools, ["model", END])
    .addEdge("finish", END);
}

/**
 * Compiled without a checkpointer (the LangGraph server brings its own), with
 * room for a task that spends its whole tool-call budget (a model step and a
 * tools step per call): LangGraph's default limit of 25 steps is less.
 */
export function compileAgentGraph(spec: AgentSpec, deps: AgentDeps = {}) {
  const toolCalls = deps.budget?.toolCalls ?? DEFAULT_BUDGET.toolCalls;
  return buildAgentGraph(spec, deps)
    .compile({ name: spec.agent })
    .withConfig({ recursionLimit: 2 * toolCalls + 10 });
}
