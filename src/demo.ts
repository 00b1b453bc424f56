/**
 * The bundled demo day: a small store's day fed hour by hour, as a
 * storefront would send it, and a summary of what the team did.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { StoreEvent } from "./domain/events.js";
import { formatCents } from "./domain/money.js";
import type { InputLine } from "./app/ingest.js";
import type { State } from "./state.js";

export const DEMO_FILE = fileURLToPath(new URL("../data/demo-day.jsonl", import.meta.url));

export function demoLines(): InputLine[] {
  return readFileSync(DEMO_FILE, "utf8")
    .split("\n")
    .map((text, i) => ({ line: i + 1, text }))
    .filter((l) => l.text.trim() !== "");
}

/** One batch per hour of the events' timestamps: agents react before the next hour arrives. */
export function hourlyBatches(lines: InputLine[]): InputLine[][] {
  const batches = new Map<string, InputLine[]>();
  for (const line of lines) {
    let hour = "?";
    try {
      hour = String((JSON.parse(line.text) as { at?: string }).at ?? "?").slice(0, 13);
    } catch {
      // A malformed line still goes in, to be rejected with its line number.
    }
    batches.set(hour, [...(batches.get(hour) ?? []), line]);
  }
  return [...batches.values()];
}

export interface ActorSummary {
  actor: string;
  did: string[];
}

/** What each service and agent did, counted from the log, tasks and conflicts. */
export function summarise(values: State, log: readonly StoreEvent[]): ActorSummary[] {
  const bySource = new Map<string, Map<string, number>>();
  for (const event of log) {
    const counts = bySource.get(event.source) ?? new Map<string, number>();
    counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
    bySource.set(event.source, counts);
  }
  const actors = ["order_service", "inventory_service", "support_agent", "inventory_agent", "marketing_agent"];
  return actors.map((actor) => {
    const did = [...(bySource.get(actor) ?? new Map()).entries()].map(([type, n]) => `${n} ${type}`);
    const tasks = Object.values(values.tasks).filter((t) => t.assignee === actor);
    if (tasks.length > 0) did.push(`${tasks.filter((t) => t.status === "completed").length}/${tasks.length} tasks completed`);
    const refused = values.conflicts.filter((c) => c.by === actor);
    if (refused.length > 0) did.push(`${refused.length} proposals refused`);
    return { actor, did: did.length > 0 ? did : ["nothing"] };
  });
}

/** The moments of the day worth a line: rejections, refunds, approvals, reorders, declined messages. */
export function highlights(values: Pick<State, "tasks">, log: readonly StoreEvent[]): string[] {
  const lines: string[] = [];
  const byId = new Map(log.map((e) => [e.id, e]));
  for (const event of log) {
    switch (event.type) {
      case "OrderRejected":
        lines.push(`order_service rejected ${event.data.orderId}: ${event.data.reason}`);
        break;
      case "RefundProcessed":
        lines.push(
          `order_service refunded ${formatCents(event.data.amountCents)} on ${event.data.orderId}${event.data.sku ? ` (${event.data.qty} x ${event.data.sku})` : ""}: ${event.data.reason}`,
        );
        break;
      case "ApprovalRequested":
        lines.push(
          `order_service parked a ${formatCents(event.data.amountCents)} refund on ${event.data.orderId} for a person (approval ${event.data.approvalId})`,
        );
        break;
      case "ReorderRequested":
        lines.push(`inventory_agent reordered ${event.data.qty} x ${event.data.sku}`);
        break;
      default:
        break;
    }
  }
  for (const task of Object.values(values.tasks)) {
    if (task.assignee !== "support_agent" || !task.result?.startsWith("declined")) continue;
    const trigger = byId.get(task.eventId);
    const customer = trigger?.type === "CustomerMessage" ? trigger.data.customerId : "a customer";
    lines.push(`support_agent declined ${customer}'s message (${task.result.replace(/^declined: /, "")}); no refund`);
  }
  return lines;
}
