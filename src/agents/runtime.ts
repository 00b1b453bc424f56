/**
 * What every agent node shares: it receives a delivery, decides, and returns
 * partial updates — proposals for the services, its task's status and notes
 * for its own private memory. It never writes shared entities itself.
 */
import { isGraphBubbleUp } from "@langchain/langgraph";
import type { AgentName, BasedOn, Proposal } from "../domain/proposals.js";
import type { Delivery } from "../memory/context.js";
import { MEMORY_CHANNEL, MAX_ATTEMPTS } from "../routing.js";
import type { MemoryNote, Update } from "../state.js";

/** A proposal as an agent drafts it; the runtime gives it an id and provenance. */
export interface ProposalDraft {
  type: string;
  data: unknown;
  basedOn?: BasedOn[];
}

export interface AgentOutcome {
  proposals: ProposalDraft[];
  /** One line for the task result and the agent's memory. */
  note: string;
  toolCalls?: { name: string; args: unknown }[];
}

/** How an agent decides. The LLM agents and the rule-based clerks share this shape. */
export type AgentPolicy = (delivery: Delivery) => AgentOutcome | Promise<AgentOutcome>;

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

/** Runs a policy for one delivery and turns its outcome (or its failure) into updates. */
export async function runAgent(delivery: Delivery, policy: AgentPolicy, extra?: (outcome: AgentOutcome) => Update): Promise<Update> {
  const memoryChannel = MEMORY_CHANNEL[delivery.agent as AgentName];
  try {
    const outcome = await policy(delivery);
    const proposals = toProposals(delivery, outcome.proposals);
    const note: MemoryNote = { at: delivery.trigger.at, eventId: delivery.trigger.id, note: outcome.note, ...(outcome.toolCalls ? { toolCalls: outcome.toolCalls } : {}) };
    return {
      ...(proposals.length > 0 ? { proposals: { enqueue: proposals } } : {}),
      tasks: [{ op: "complete", taskId: delivery.taskId, result: outcome.note }],
      [memoryChannel]: [note],
      ...(extra ? extra(outcome) : {}),
    };
  } catch (error) {
    if (isGraphBubbleUp(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    return { tasks: [{ op: "fail", taskId: delivery.taskId, error: message, retry: delivery.attempt < MAX_ATTEMPTS }] };
  }
}
