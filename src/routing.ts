/**
 * Publish/subscribe: who hears which events, what each subscriber has not
 * handled yet, and the router node that hands it out in parallel (`Send`).
 */
import { Command, Send, type Runtime } from "@langchain/langgraph";
import { APPROVAL_GATE } from "./approval_gate.js";
import type { StoreEventType } from "./domain/events.js";
import { AGENTS, isAgentName, type AgentName } from "./domain/proposals.js";
import { attachHistory, knowledgeRun, lazyEmbeddings, rememberNewFacts } from "./memory/customer_memory.js";
import type { FactEmbeddings } from "./memory/embeddings.js";
import { buildContext, MEMORY_NOTES_IN_CONTEXT, type Delivery } from "./memory/context.js";
import { eventLog, tasksToForget, type MemoryNote, type State, type Task, type TaskOp, type Update } from "./state.js";

/** Event type -> the agents that handle it (SPEC §4). */
export const SUBSCRIPTIONS: Record<AgentName, readonly StoreEventType[]> = {
  support_agent: ["CustomerMessage"],
  inventory_agent: ["LowStockAlert", "StockReceived"],
  marketing_agent: ["ProductAdded", "LowStockAlert", "InventoryUpdated"],
};

/** Attempts an agent task gets (a stale proposal or an error uses one). */
export const MAX_ATTEMPTS = 3;

export const MEMORY_CHANNEL = {
  support_agent: "supportMemory",
  inventory_agent: "inventoryMemory",
  marketing_agent: "marketingMemory",
} as const satisfies Record<AgentName, keyof State>;

export function taskIdFor(eventId: string, agent: AgentName): string {
  return `${eventId}:${agent}`;
}

export interface Plan {
  deliveries: Delivery[];
  taskOps: TaskOp[];
  cursors: Record<string, number>;
}

/**
 * Everything to hand out now: each agent's new events since its cursor, plus
 * tasks to run again (a retry, or a task whose run was interrupted).
 */
export function planDeliveries(state: Pick<State, "events" | "cursors" | "tasks" | "orders" | "catalog" | "inventory" | "promotions" | "reorders" | "supportMemory" | "inventoryMemory" | "marketingMemory">): Plan {
  const plan: Plan = { deliveries: [], taskOps: [], cursors: {} };
  const log = state.events;
  const deliver = (agent: AgentName, eventIndex: number, attempt: number) => {
    const trigger = log[eventIndex];
    const memory = (state[MEMORY_CHANNEL[agent]] as MemoryNote[]).slice(-MEMORY_NOTES_IN_CONTEXT);
    plan.deliveries.push({ taskId: taskIdFor(trigger.id, agent), agent, attempt, trigger, context: buildContext(state, trigger, log), memory });
  };

  for (const task of Object.values(state.tasks) as Task[]) {
    // At the router nothing is executing: a running task was interrupted, a pending one awaits a retry.
    if (task.status !== "running" && !(task.status === "pending" && task.attempts > 0)) continue;
    const position = eventLog.positionOf(log, task.eventId);
    if (position < 0 || !isAgentName(task.assignee)) continue;
    if (task.attempts >= MAX_ATTEMPTS) {
      plan.taskOps.push({ op: "fail", taskId: task.taskId, error: `${task.error ?? "interrupted"}; gave up after ${task.attempts} attempts`, retry: false });
      continue;
    }
    plan.taskOps.push({ op: "start", taskId: task.taskId });
    deliver(task.assignee, position, task.attempts + 1);
  }

  const forget = tasksToForget(state.tasks);
  if (forget.length > 0) plan.taskOps.push({ op: "forget", taskIds: forget });

  for (const agent of AGENTS) {
    const types = SUBSCRIPTIONS[agent];
    const from = state.cursors[agent] ?? 0;
    for (let i = from; i < log.length; i++) {
      if (!types.includes(log[i].type)) continue;
      const taskId = taskIdFor(log[i].id, agent);
      if (state.tasks[taskId]) continue;
      plan.taskOps.push({ op: "add", task: { taskId, eventId: log[i].id, assignee: agent } }, { op: "start", taskId });
      deliver(agent, i, 1);
    }
    if (log.length > from) plan.cursors[agent] = log.length;
  }
  return plan;
}

/** Where the run goes after the services: agents with work, or the approval gate that ends the run. */
export type RouterTarget = AgentName | typeof APPROVAL_GATE;

/**
 * The router node: remembers the customer-facing facts of new events in the
 * knowledge store (when the graph has one), records the tasks it hands out and
 * fans them out in parallel, each support delivery with the customer's
 * closest facts. When no subscriber has anything left, the approval gate ends the run.
 */
export function routerNode(embeddings: () => FactEmbeddings = lazyEmbeddings()) {
  return async function router(state: State, runtime?: Runtime): Promise<Command<unknown, Update, RouterTarget>> {
    const plan = planDeliveries(state);
    const kb = knowledgeRun(runtime, embeddings);
    const cursors = { ...plan.cursors, ...(kb ? await rememberNewFacts(state, kb) : {}) };
    if (kb) await attachHistory(plan.deliveries, state, kb);
    const update: Update = {};
    if (plan.taskOps.length > 0) update.tasks = plan.taskOps;
    if (Object.keys(cursors).length > 0) update.cursors = cursors;
    if (plan.deliveries.length === 0) return new Command({ update, goto: APPROVAL_GATE });
    return new Command({ update, goto: plan.deliveries.map((d) => new Send(d.agent, d)) });
  };
}
