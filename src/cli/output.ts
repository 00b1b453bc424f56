/**
 * The CLI's readable output: tables and summaries of what a command found
 * (with `--json` the command prints the views instead; print.ts has the exit
 * codes and errors). Loaded with the command modules (command_modules.ts).
 */
import Table from "cli-table3";
import { formatCents } from "../domain/money.js";
import { visible } from "../domain/text.js";
import type { StoreEvent } from "../domain/events.js";
import type { Violation } from "../domain/verify.js";
import { highlights, summarise } from "../demo.js";
import type { EvalReport } from "../eval/index.js";
import type { PartScore } from "../eval/score.js";
import type { Approval, Order } from "../domain/world.js";
import type { State } from "../state.js";
import type { StateDiff } from "../timetravel/diff.js";
import type { HistoryPage } from "../timetravel/history.js";
import { stateView, type StateView } from "../views.js";

function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] }, chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

export function renderState(view: StateView, storeName: string): string {
  const out: string[] = [`Store '${storeName}' at checkpoint ${view.checkpointId || "(none)"}: ${view.eventCount} events`];
  const stock = Object.entries(view.inventory);
  if (stock.length > 0) {
    out.push(
      table(
        ["SKU", "on hand", "reserved", "available", "returned", "promotion", "v"],
        stock.map(([sku, s]) => [sku, s.onHand, s.reserved, s.available, s.returned, view.promotions[sku] ?? "-", s.version]),
      ),
    );
  }
  const orders = Object.entries(view.orders);
  if (orders.length > 0) {
    const byStatus = new Map<string, number>();
    for (const [, o] of orders) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    const paid = orders.reduce((sum, [, o]) => sum + o.paidCents, 0);
    const refunded = orders.reduce((sum, [, o]) => sum + o.refundedCents, 0);
    out.push(
      `Orders: ${orders.length} (${[...byStatus].map(([s, n]) => `${n} ${s}`).join(", ")}); paid ${formatCents(paid)}, refunded ${formatCents(refunded)}`,
    );
  }
  out.push(renderApprovals(view.pendingApprovals));
  const reorders = Object.entries(view.openReorders);
  if (reorders.length > 0) out.push(`Open reorders: ${reorders.map(([sku, r]) => `${sku} x${r.qty}`).join(", ")}`);
  out.push(
    `Tasks: ${Object.entries(view.tasks)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ")}; conflicts: ${view.conflicts.length}; rejected inputs: ${view.rejected.length}; posts: ${view.posts}`,
  );
  return out.join("\n");
}

export function renderApprovals(pending: StateView["pendingApprovals"]): string {
  if (pending.length === 0) return "Pending approvals: none";
  return `Pending approvals (waiting for a person):\n${table(
    ["id", "order", "SKU", "qty", "amount"],
    pending.map((a) => [a.id, a.orderId, a.sku, a.qty, formatCents(a.amountCents)]),
  )}`;
}

/** How each decision ended: the refund processed, or rejected (denied, or nothing left to refund). */
export function renderDecisions(approvals: readonly (Approval | undefined)[]): string {
  return approvals
    .filter((a): a is Approval => a !== undefined)
    .map((a) => {
      const outcome =
        a.status === "approved" ? `refund of ${formatCents(a.amountCents)} processed` : a.status === "denied" ? "refund rejected" : "still pending";
      return `${a.id} (order ${a.orderId}, ${a.qty} x ${a.sku}): ${outcome}${a.decisionReason ? ` — ${a.decisionReason}` : ""}`;
    })
    .join("\n");
}

export function renderEvents(events: readonly StoreEvent[]): string {
  const idWidth = Math.min(44, Math.max(...events.map((e) => e.id.length)));
  return events.map((e) => `${e.at}  ${e.id.padEnd(idWidth)}  ${e.type.padEnd(18)} ${e.source.padEnd(17)} ${brief(e.data)}`).join("\n");
}

function brief(data: unknown): string {
  const text = JSON.stringify(data);
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

export function renderViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `rule ${v.rule} ${v.entity}: ${v.message}${v.eventIds.length ? ` (events: ${v.eventIds.join(", ")})` : ""}`).join("\n");
}

export function renderDemo(run: {
  values: State;
  events: readonly StoreEvent[];
  orders: Record<string, Order>;
  checkpointId: string;
  storeName: string;
  dbPath: string;
  violations: readonly Violation[];
}): string {
  const { values, events, orders, checkpointId, storeName, dbPath, violations } = run;
  const out = [`\nshopstate demo: a store day, hour by hour, into store '${storeName}' (${dbPath})\n`];
  for (const { actor, did } of summarise(values, events)) out.push(`  ${actor.padEnd(18)} ${did.join(", ")}`);
  out.push("\nHighlights:");
  for (const line of highlights(values, events)) out.push(`  - ${line}`);
  if (values.conflicts.length > 0)
    out.push(`\n  ${values.conflicts.length} conflict(s) recorded: ${values.conflicts.map((c) => `${c.by}: ${c.reason}`).join("; ")}`);
  out.push(`\n${renderState(stateView(values, checkpointId, orders), storeName)}\n`);
  const refunded = Object.values(orders).reduce((sum, o) => sum + o.refundedCents, 0);
  const verdict =
    violations.length === 0 ? "every rule holds and the log replays to this state" : `${violations.length} violation(s):\n${renderViolations(violations)}`;
  out.push(`Refunded today: ${formatCents(refunded)}. Verify: ${verdict}`);
  const waiting = stateView(values, checkpointId).pendingApprovals.map((a) => a.id);
  const decide = waiting.length > 0 ? ` | shopstate approve ${waiting.join(" ")} (or deny)` : "";
  out.push(`Next: shopstate state | shopstate approvals${decide} | shopstate history | shopstate verify`);
  return `${out.join("\n")}\n`;
}

/** History, newest first, one line each; `*` marks the head's branch, `@` the head. */
export function renderHistory(page: HistoryPage, storeName: string): string {
  if (page.entries.length === 0) return `store '${storeName}' has no checkpoints`;
  const rows = page.entries.map((e) => {
    const mark = e.head ? "@" : e.onCurrentBranch ? "*" : " ";
    const tags = e.tags.length > 0 ? ` [${e.tags.join(", ")}]` : "";
    const from = `${e.branchedFrom}${e.branchedFromTags?.length ? ` [${e.branchedFromTags.join(", ")}]` : ""}`;
    const what = e.writers[0] === "rollback" ? `rollback: new head forked from ${from}` : `${e.summary}${e.branchedFrom ? ` (branches from ${from})` : ""}`;
    return `${mark} ${e.shortId}  ${String(e.step).padStart(5)}  ${(e.at ?? "").padEnd(24)}${tags} ${what}`;
  });
  const more = page.nextBefore ? `\n(older: shopstate history --before ${page.nextBefore})` : "";
  return `${rows.join("\n")}${more}`;
}

function show(value: unknown): string {
  if (value === undefined) return "-";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** A diff as a table of entity changes, then the events appended (and those only on the first side). */
export function renderDiff(diff: StateDiff, from: string, to: string): string {
  const out = [`diff ${from} -> ${to}`];
  const entities = diff.entities.filter((e) => e.collection !== "tasks");
  if (entities.length > 0) {
    const rows: string[][] = [];
    for (const e of entities) {
      if (e.change !== "changed")
        rows.push([e.collection, e.key, e.change, e.change === "added" ? "-" : show(e.before), e.change === "added" ? show(e.after) : "-"]);
      else for (const f of e.fields) rows.push([e.collection, e.key, f.field || "value", show(f.before), show(f.after)]);
    }
    out.push(table(["collection", "entity", "field", "before", "after"], rows));
  } else out.push("no entity changed");
  const tasks = diff.entities.filter((e) => e.collection === "tasks");
  if (tasks.length > 0) {
    const counts = new Map<string, number>();
    for (const t of tasks) counts.set(t.change, (counts.get(t.change) ?? 0) + 1);
    out.push(`tasks: ${[...counts].map(([change, n]) => `${n} ${change}`).join(", ")} (details with --json)`);
  }
  out.push(`events appended: ${diff.events.added.length}${diff.events.added.length > 0 ? `\n${renderEvents(diff.events.added)}` : ""}`);
  if (diff.events.removed.length > 0)
    out.push(`events in ${from} but not in ${to} (a later point or another branch): ${diff.events.removed.length}\n${renderEvents(diff.events.removed)}`);
  return out.join("\n");
}

export function renderEval(report: EvalReport, minScore: number | undefined): string {
  const table = new Table({
    head: ["case", "part", "agent", "ok", "viol.", "tools", "tokens", "ms", "what happened / what was wrong"],
    style: { head: [], border: [] },
    colWidths: [16, 9, 11, 5, 7, 7, 8, 7, 70],
    wordWrap: true,
  });
  for (const r of report.cases) {
    const wrong =
      r.error ??
      r.checks
        .filter((c) => !c.pass)
        .map((c) => `${c.name}: ${c.detail ?? "failed"}`)
        .join("; ");
    table.push([
      r.id,
      r.split,
      r.agent,
      r.correct ? "yes" : "NO",
      r.violations.length,
      r.toolCalls,
      r.tokens,
      r.latencyMs,
      visible(r.correct ? r.summary : wrong),
    ]);
  }
  const { tuning, heldout, overall } = report.scores;
  const line = (name: string, s: PartScore) =>
    `${name.padEnd(9)} ${s.score.toFixed(3)}  (${s.correct}/${s.cases} correct, ${s.violations} rule violations, ${s.toolCalls} tool calls, ${s.tokens} tokens, ${s.latencyMs} ms)`;
  return [
    table.toString(),
    `Model: ${report.model}${report.experiment ? `; LangSmith experiment: ${report.experiment}` : ""}`,
    line("tuning", tuning),
    line("held-out", heldout),
    line("overall", overall),
    ...(minScore !== undefined ? [`${overall.score >= minScore ? "At or above" : "BELOW"} --min-score ${minScore}`] : []),
    "",
  ].join("\n");
}
