/**
 * Publish/subscribe: who hears which events, what each subscriber has not
 * handled yet, and the router node that hands it out in parallel (`Send`).
 */
import { Command, Send, type LangGraphRunnableConfig, type Runtime } from "@langchain/langgraph";
import { APPROVAL_GATE } from "./approval_gate.js";
import type { StoreEventType } from "../domain/events.js";
import { AGENTS, isAgentName, type AgentName } from "../domain/proposals.js";
import { attachHistory, knowledgeRun, lazyEmbeddings, rememberNewFacts } from "../memory/customer_memory.js";
import type { FactEmbeddings } from "../memory/embeddings.js";
import { buildContext, MEMORY_NOTES_IN_CONTEXT, type Delivery } from "../memory/context.js";
import { EMPTY_LOG, type EventStore, type LoggedEvent } from "../persistence/event_store.js";
import { readLog, storeLog, type StoreLog } from "../persistence/store_log.js";
import { tasksToForget, type MemoryNote, type State, type Task, type TaskOp, type Update } from "../state.js";
import { threadIdOf } from "../thread.js";

/** Event type -> the agents that handle it (docs/architecture.md, "Who does what"). */
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

export type RoutingState = Pick<
  State,
  "cursors" | "tasks" | "catalog" | "inventory" | "promotions" | "reorders" | "supportMemory" | "inventoryMemory" | "marketingMemory"
>;

/**
 * Everything to hand out now: each agent's new events since its cursor (read
 * from the event store by type), plus tasks to run again (a retry, or a task
 * whose run was interrupted).
 */
export async function planDeliveries(state: RoutingState, log: StoreLog): Promise<Plan> {
  const plan: Plan = { deliveries: [], taskOps: [], cursors: {} };
  const deliver = async (agent: AgentName, trigger: LoggedEvent, attempt: number) => {
    const memory = (state[MEMORY_CHANNEL[agent]] as MemoryNote[]).slice(-MEMORY_NOTES_IN_CONTEXT).map(({ at, eventId, note }) => ({ at, eventId, note }));
    const context = await buildContext(state, log, trigger.event, trigger.position);
    plan.deliveries.push({
      taskId: taskIdFor(trigger.event.id, agent),
      agent,
      attempt,
      trigger: trigger.event,
      position: trigger.position,
      log: log.at,
      context,
      memory,
    });
  };

  // At the router nothing is executing: a running task was interrupted, a pending one awaits a retry.
  const again = (Object.values(state.tasks) as Task[]).filter((task) => task.status === "running" || (task.status === "pending" && task.attempts > 0));
  const triggers = await log.store.findIds(
    log.threadId,
    log.at,
    again.map((t) => t.eventId),
  );
  for (const task of again) {
    const trigger = triggers.get(task.eventId);
    if (!trigger || !isAgentName(task.assignee)) continue;
    if (task.attempts >= MAX_ATTEMPTS) {
      plan.taskOps.push({ op: "fail", taskId: task.taskId, error: `${task.error ?? "interrupted"}; gave up after ${task.attempts} attempts`, retry: false });
      continue;
    }
    plan.taskOps.push({ op: "start", taskId: task.taskId });
    await deliver(task.assignee, trigger, task.attempts + 1);
  }

  const forget = tasksToForget(state.tasks);
  if (forget.length > 0) plan.taskOps.push({ op: "forget", taskIds: forget });

  for (const agent of AGENTS) {
    const from = state.cursors[agent] ?? 0;
    if (log.at.length <= from) continue;
    for (const trigger of await readLog(log, { from, types: SUBSCRIPTIONS[agent] })) {
      const taskId = taskIdFor(trigger.event.id, agent);
      if (state.tasks[taskId]) continue;
      plan.taskOps.push({ op: "add", task: { taskId, eventId: trigger.event.id, assignee: agent } }, { op: "start", taskId });
      await deliver(agent, trigger, 1);
    }
    plan.cursors[agent] = log.at.length;
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
export function routerNode(events: EventStore, embeddings: () => FactEmbeddings = lazyEmbeddings()) {
  return async function router(state: State, runtime?: Runtime & LangGraphRunnableConfig): Promise<Command<unknown, Update, RouterTarget>> {
    const log = storeLog(events, threadIdOf(runtime), state.log ?? EMPTY_LOG);
    const plan = await planDeliveries(state, log);
    const kb = knowledgeRun(runtime, embeddings);
    const cursors = { ...plan.cursors, ...(kb ? await rememberNewFacts(state, log, kb) : {}) };
    if (kb) await attachHistory(plan.deliveries, log, kb);
    const update: Update = {};
    if (plan.taskOps.length > 0) update.tasks = plan.taskOps;
    if (Object.keys(cursors).length > 0) update.cursors = cursors;
    if (plan.deliveries.length === 0) return new Command({ update, goto: APPROVAL_GATE });
    return new Command({ update, goto: plan.deliveries.map((d) => new Send(d.agent, d)) });
  };
}
