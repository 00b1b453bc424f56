/**
 * The console's pages as plain template functions of the data they show
 * (loaded by app.ts). No business logic: figures come from the state and the
 * event store as the application layer gives them.
 */
import { html } from "hono/html";
import type { StoreEvent } from "../domain/events.js";
import type { Approval, Order } from "../domain/world.js";
import type { LoggedEvent } from "../persistence/event_store.js";
import type { MemoryNote, State, Task } from "../state.js";
import type { StateDiff } from "../timetravel/diff.js";
import type { HistoryPage } from "../timetravel/history.js";
import type { StateView } from "../views.js";
import { badge, cents, csrfField, href, json, type Html } from "./layout.js";

export interface DayFigures {
  day: string | undefined;
  counts: [label: string, value: string][];
}

/** A column of a table: its heading, and whether its cells head their rows or hold numbers (right-aligned). */
interface Column {
  label: string;
  cell?: "row header" | "num";
}

/** What a cell shows: text and numbers are escaped, Html goes in as built. */
type Cell = string | number | Html | Html[];

/**
 * A table of `rows`, one cell per column. With `empty`, a table without rows
 * says so in one row; without it, the table is shown with an empty body.
 */
function table(columns: readonly Column[], rows: readonly (readonly Cell[])[], options: { caption?: Html | string; empty?: string } = {}): Html {
  const cell = (column: Column, value: Cell) =>
    column.cell === "row header" ? html`<th scope="row">${value}</th>` : column.cell === "num" ? html`<td class="num">${value}</td>` : html`<td>${value}</td>`;
  const body = rows.map(
    (row) =>
      html`<tr>
        ${columns.map((column, i) => cell(column, row[i] ?? ""))}
      </tr>`,
  );
  return html`<table>
    ${
      options.caption !== undefined
        ? html`<caption>
            ${options.caption}
          </caption>`
        : ""
    }
    <thead>
      <tr>
        ${columns.map((column) => html`<th scope="col">${column.label}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${
        body.length || options.empty === undefined
          ? body
          : html`<tr>
              <td colspan="${columns.length}">${options.empty}</td>
            </tr>`
      }
    </tbody>
  </table>`;
}

export function overviewPage(p: { store: string; view: StateView; names: Record<string, string>; day: DayFigures; at?: string }): Html {
  const { view, store } = p;
  const rows = Object.entries(view.inventory).map(([sku, s]) => {
    const reorder = view.openReorders[sku];
    const promo = view.promotions[sku];
    return [
      html`<a href="${href("/console/events", { store, stream: `sku:${sku}` })}">${sku}</a><br /><small>${p.names[sku] ?? ""}</small>`,
      s.onHand,
      s.reserved,
      s.available,
      promo ? badge(promo) : "—",
      reorder ? `${reorder.qty} on order` : "none",
    ];
  });
  const columns: Column[] = [
    { label: "SKU", cell: "row header" },
    { label: "On hand", cell: "num" },
    { label: "Reserved", cell: "num" },
    { label: "Available", cell: "num" },
    { label: "Promotion" },
    { label: "Open reorder" },
  ];
  return html` <section aria-labelledby="stock-h">
      <h2 id="stock-h">Stock per SKU</h2>
      ${table(columns, rows, { empty: "No products yet." })}
    </section>
    <section aria-labelledby="figures-h">
      <h2 id="figures-h">Figures${p.day.day ? html` of ${p.day.day}` : ""}</h2>
      <dl class="figures">
        <div>
          <dt>Pending approvals</dt>
          <dd><a href="${href("/console/approvals", { store })}">${view.pendingApprovals.length}</a></dd>
        </div>
        ${p.day.counts.map(
          ([label, value]) =>
            html`<div>
              <dt>${label}</dt>
              <dd>${value}</dd>
            </div>`,
        )}
        <div>
          <dt>Events in the log</dt>
          <dd>${view.eventCount}</dd>
        </div>
        <div>
          <dt>Tasks failed</dt>
          <dd>${view.tasks.failed}</dd>
        </div>
        <div>
          <dt>Conflicts (window)</dt>
          <dd>${view.conflicts.length}</dd>
        </div>
      </dl>
    </section>
    <section aria-labelledby="chart-h">
      <h2 id="chart-h">Stock over time</h2>
      <p>
        Available and on-hand stock per SKU, from the <code>InventoryUpdated</code> events (at most 200 points per SKU). Low-stock alerts are marked with a
        triangle and the word “alert”, reorders with a square and “reorder”; the same moments are listed under each chart.
      </p>
      <div id="chart" data-src="${href("/console/api/chart", { store, at: p.at })}">
        <p>The chart needs JavaScript; the <a href="${href("/console/api/chart", { store, at: p.at })}">chart data</a> is JSON.</p>
      </div>
    </section>`;
}

export function approvalsPage(p: { store: string; token: string; approvals: { approval: Approval; messages: StoreEvent[] }[]; notice?: string }): Html {
  const items = p.approvals.map(
    ({ approval: a, messages }) =>
      html`<article class="approval" aria-labelledby="ap-${a.id}">
        <h2 id="ap-${a.id}">
          Refund ${cents(a.amountCents)} on <a href="${href(`/console/orders/${encodeURIComponent(a.orderId)}`, { store: p.store })}">${a.orderId}</a>
        </h2>
        <dl>
          <div>
            <dt>Approval</dt>
            <dd><code>${a.id}</code></dd>
          </div>
          <div>
            <dt>Customer</dt>
            <dd><a href="${href(`/console/customers/${encodeURIComponent(a.customerId)}`, { store: p.store })}">${a.customerId}</a></dd>
          </div>
          <div>
            <dt>Item</dt>
            <dd>${a.qty} × ${a.sku}</dd>
          </div>
          <div>
            <dt>Reason</dt>
            <dd>${a.reason}</dd>
          </div>
          <div>
            <dt>Requested</dt>
            <dd>${a.requestedAt}</dd>
          </div>
        </dl>
        <h3>The customer's messages</h3>
        ${
          messages.length
            ? html`<ul class="messages">
                ${messages.map((m) => html`<li><time>${m.at}</time> <q>${(m.data as { text?: string }).text ?? ""}</q></li>`)}
              </ul>`
            : html`<p>No message from this customer.</p>`
        }
        <form method="post" action="${href("/console/approvals/decide", { store: p.store })}">
          ${csrfField(p.token)}<input type="hidden" name="approvalId" value="${a.id}" /> <label for="reason-${a.id}">Reason</label>
          <input id="reason-${a.id}" name="reason" maxlength="500" /> <label for="by-${a.id}">Decided by</label>
          <input id="by-${a.id}" name="by" required maxlength="200" value="console" />
          <button type="submit" name="decision" value="approved">Approve</button>
          <button type="submit" name="decision" value="denied">Deny</button>
        </form>
      </article>`,
  );
  return html`${p.notice ? html`<p class="note" role="status">${p.notice}</p>` : ""} ${items.length ? items : html`<p>No refund waits for a decision.</p>`}`;
}

export function timelinePage(p: { store: string; token: string; page: HistoryPage; limit: number }): Html {
  const rows = p.page.entries.map((e) => [
    html`<input type="radio" name="from" value="${e.checkpointId}" id="from-${e.checkpointId}" aria-label="diff from ${e.shortId}" />`,
    html`<input type="radio" name="to" value="${e.checkpointId}" id="to-${e.checkpointId}" aria-label="diff to ${e.shortId}" ${e.head ? "checked" : ""} />`,
    html`<code>${e.shortId}</code>${e.head ? html` ${badge("head")}` : ""}${e.onCurrentBranch === false ? html` ${badge("other branch")}` : ""}`,
    e.branchedFrom
      ? html`branched from <code>${e.branchedFrom.slice(0, 8)}</code>${e.branchedFromTags?.length ? ` (${e.branchedFromTags.join(", ")})` : ""}`
      : e.parentId
        ? "↓ follows"
        : "root",
    e.tags.map((t) => badge(t)),
    e.writers.join(", "),
    e.at ?? "",
    e.summary,
    html`<a href="${href("/console", { store: p.store, at: e.checkpointId })}">view</a> ·
      <a href="${href("/console/events", { store: p.store, at: e.checkpointId })}">events</a> ·
      <a href="${href("/console/rollback", { store: p.store, at: e.checkpointId })}">roll back…</a>`,
  ]);
  const columns: Column[] = [
    { label: "From" },
    { label: "To" },
    { label: "Checkpoint", cell: "row header" },
    { label: "Branch" },
    { label: "Tags" },
    { label: "Writers" },
    { label: "Time" },
    { label: "What changed" },
    { label: "Actions" },
  ];
  const next = p.page.nextBefore
    ? html`<p><a href="${href("/console/timeline", { store: p.store, before: p.page.nextBefore, limit: p.limit })}">Older checkpoints</a></p>`
    : "";
  return html`<form method="get" action="/console/diff">
      <input type="hidden" name="store" value="${p.store}" />
      ${table(columns, rows, { caption: "Checkpoints, newest first. Pick a “from” and a “to” to compare." })}
      <button type="submit">Compare the two checkpoints</button>
    </form>
    ${next}
    <section aria-labelledby="tag-h">
      <h2 id="tag-h">Tag a checkpoint</h2>
      <form method="post" action="${href("/console/timeline/tag", { store: p.store })}">
        ${csrfField(p.token)} <label for="tag-at">Checkpoint (id, prefix, tag or head~N)</label> <input id="tag-at" name="at" value="head" required />
        <label for="tag-label">Tag</label> <input id="tag-label" name="label" required pattern="[A-Za-z][A-Za-z0-9._-]*" /> <button type="submit">Tag</button>
      </form>
    </section>`;
}

export function rollbackConfirmPage(p: { store: string; token: string; at: string; checkpointId: string; eventCount: number }): Html {
  return html`<p>
      Roll the store <strong>${p.store}</strong> back to checkpoint <code>${p.checkpointId}</code> (its log holds ${p.eventCount} events)? A new head is forked
      from it; nothing is deleted and the current head stays in the timeline.
    </p>
    <form method="post" action="${href("/console/rollback", { store: p.store })}">
      ${csrfField(p.token)} <input type="hidden" name="at" value="${p.checkpointId}" /><button type="submit">Roll back</button>
      <a href="${href("/console/timeline", { store: p.store })}">Cancel</a>
    </form>`;
}

export function diffPage(p: { store: string; from: string; to: string; diff: StateDiff }): Html {
  const entities = p.diff.entities.map((e) => [
    `${e.collection}/${e.key}`,
    badge(e.change),
    html`<ul>
      ${e.fields.map((f) => html`<li><code>${f.field || "(value)"}</code>: ${json(f.before)} → ${json(f.after)}</li>`)}
    </ul>`,
  ]);
  return html`<p>From <code>${p.from}</code> to <code>${p.to}</code>; the logs share their first ${p.diff.events.common} events.</p>
    <h2>Entities</h2>
    ${
      entities.length
        ? table([{ label: "Entity", cell: "row header" }, { label: "Change" }, { label: "Before → after" }], entities)
        : html`<p>No entity differs.</p>`
    }
    <h2>Events only in “to” (${p.diff.events.added.length})</h2>
    ${eventList(p.diff.events.added.slice(0, 500))}
    <h2>Events only in “from” (${p.diff.events.removed.length})</h2>
    ${eventList(p.diff.events.removed.slice(0, 500))}`;
}

function eventList(events: StoreEvent[]): Html {
  if (events.length === 0) return html`<p>None.</p>`;
  return html`<ol class="events">
    ${events.map((e) => html`<li><time>${e.at}</time> <strong>${e.type}</strong> by ${e.source}: <code>${JSON.stringify(e.data)}</code></li>`)}
  </ol>`;
}

export interface EventFilter {
  at?: string;
  from: number;
  limit: number;
  type?: string;
  stream?: string;
  since?: string;
  until?: string;
}

export function eventsPage(p: { store: string; filter: EventFilter; events: LoggedEvent[]; next?: number; types: string[] }): Html {
  const f = p.filter;
  const rows = p.events.map(({ position, event: e }) => [
    position,
    html`<time>${e.at}</time>`,
    e.type,
    e.source,
    html`<code>${e.id}</code>`,
    html`<code>${JSON.stringify(e.data)}</code>`,
  ]);
  const columns: Column[] = [{ label: "#", cell: "num" }, { label: "Time" }, { label: "Type" }, { label: "Source" }, { label: "Id" }, { label: "Data" }];
  const query = { store: p.store, at: f.at, type: f.type, stream: f.stream, since: f.since, until: f.until, limit: f.limit };
  return html`<form method="get" action="/console/events" class="filters">
      <input type="hidden" name="store" value="${p.store}" />
      <label for="ev-at">At checkpoint</label> <input id="ev-at" name="at" value="${f.at ?? ""}" placeholder="head" /> <label for="ev-type">Type</label>
      <select id="ev-type" name="type">
        <option value="">any</option>
        ${p.types.map((t) => html`<option ${t === f.type ? "selected" : ""}>${t}</option>`)}
      </select>
      <label for="ev-stream">Entity stream</label>
      <input id="ev-stream" name="stream" value="${f.stream ?? ""}" placeholder="order:ORD-1, sku:SKU-MUG, customer:C-1" />
      <label for="ev-since">From time</label> <input id="ev-since" name="since" value="${f.since ?? ""}" placeholder="2026-03-01T00:00:00Z" />
      <label for="ev-until">To time</label> <input id="ev-until" name="until" value="${f.until ?? ""}" /> <label for="ev-limit">Per page</label>
      <input id="ev-limit" name="limit" value="${f.limit}" inputmode="numeric" /> <button type="submit">Filter</button>
    </form>
    ${table(columns, rows, { caption: html`Events from position ${f.from}, oldest first`, empty: "No events match." })}
    ${p.next !== undefined ? html`<p><a href="${href("/console/events", { ...query, from: p.next })}">Next page</a></p>` : ""}`;
}

export function ordersPage(p: { store: string; orders: Order[]; from: number; limit: number; total: number }): Html {
  const rows = p.orders.map((o) => [
    html`<a href="${href(`/console/orders/${encodeURIComponent(o.orderId)}`, { store: p.store })}">${o.orderId}</a>`,
    html`<a href="${href(`/console/customers/${encodeURIComponent(o.customerId)}`, { store: p.store })}">${o.customerId}</a>`,
    badge(o.status),
    cents(o.paidCents),
    cents(o.refundedCents),
  ]);
  const columns: Column[] = [
    { label: "Order", cell: "row header" },
    { label: "Customer" },
    { label: "Status" },
    { label: "Paid", cell: "num" },
    { label: "Refunded", cell: "num" },
  ];
  return html`<form method="get" action="/console/customers" class="filters">
      <input type="hidden" name="store" value="${p.store}" /> <label for="cust">Customer id</label> <input id="cust" name="id" required />
      <button type="submit">Show customer</button>
    </form>
    ${table(columns, rows, { caption: html`Orders ${p.from + 1}–${p.from + p.orders.length} of ${p.total}` })}
    ${p.from + p.limit < p.total ? html`<p><a href="${href("/console/orders", { store: p.store, from: p.from + p.limit, limit: p.limit })}">Next page</a></p>` : ""}`;
}

export function orderPage(p: { store: string; order: Order; events: LoggedEvent[] }): Html {
  const o = p.order;
  return html`<dl>
      <div>
        <dt>Customer</dt>
        <dd><a href="${href(`/console/customers/${encodeURIComponent(o.customerId)}`, { store: p.store })}">${o.customerId}</a></dd>
      </div>
      <div>
        <dt>Status</dt>
        <dd>${badge(o.status)}</dd>
      </div>
      <div>
        <dt>Paid</dt>
        <dd>${cents(o.paidCents)}</dd>
      </div>
      <div>
        <dt>Refunded</dt>
        <dd>${cents(o.refundedCents)}</dd>
      </div>
      <div>
        <dt>Version</dt>
        <dd>${o.version}</dd>
      </div>
    </dl>
    <h2>Lines</h2>
    <ul>
      ${o.lines.map((l) => html`<li>${l.qty} × ${l.sku} at ${cents(l.unitPriceCents)}</li>`)}
    </ul>
    <h2>The order's stream</h2>
    ${eventList(p.events.map((e) => e.event))}`;
}

export function customerPage(p: { store: string; customerId: string; orders: Order[]; conversation: LoggedEvent[]; nextBefore?: number }): Html {
  const lines = p.conversation.map(({ event: e }) => {
    const d = e.data as { text?: string; orderId?: string; subject?: string };
    return html`<li class="${e.type === "ReplyDrafted" ? "reply" : "message"}">
      <strong>${e.type === "ReplyDrafted" ? "Reply (support_agent)" : "Customer"}</strong>
      <time>${e.at}</time
      >${d.orderId ? html` about <a href="${href(`/console/orders/${encodeURIComponent(d.orderId)}`, { store: p.store })}">${d.orderId}</a>` : ""}${d.subject ? html` — ${d.subject}` : ""}
      <blockquote>${d.text ?? ""}</blockquote>
    </li>`;
  });
  return html`<h2>Orders (newest first)</h2>
    ${
      p.orders.length
        ? html`<ul>
            ${p.orders.map((o) => html`<li><a href="${href(`/console/orders/${encodeURIComponent(o.orderId)}`, { store: p.store })}">${o.orderId}</a> ${badge(o.status)} ${cents(o.paidCents)}</li>`)}
          </ul>`
        : html`<p>No orders.</p>`
    }
    ${p.nextBefore !== undefined ? html`<p><a href="${href(`/console/customers/${encodeURIComponent(p.customerId)}`, { store: p.store, before: p.nextBefore })}">Older orders</a></p>` : ""}
    <h2>Messages and replies (newest first)</h2>
    ${
      lines.length
        ? html`<ol class="conversation">
            ${lines}
          </ol>`
        : html`<p>No messages.</p>`
    }`;
}

export function agentsPage(p: { values: Partial<State> }): Html {
  const tasks = Object.values(p.values.tasks ?? {});
  const byStatus = (status: Task["status"]) => tasks.filter((t) => t.status === status);
  const memories: [string, MemoryNote[] | undefined][] = [
    ["support_agent", p.values.supportMemory],
    ["inventory_agent", p.values.inventoryMemory],
    ["marketing_agent", p.values.marketingMemory],
  ];
  const conflicts = (p.values.conflicts ?? []).slice(-50).reverse();
  return html`<h2>Tasks by status</h2>
    <dl class="figures">
      ${(["pending", "running", "completed", "failed"] as const).map(
        (s) =>
          html`<div>
            <dt>${s}</dt>
            <dd>${byStatus(s).length}</dd>
          </div>`,
      )}
    </dl>
    <h3>Failed tasks</h3>
    ${
      byStatus("failed").length
        ? table(
            [{ label: "Task", cell: "row header" }, { label: "Agent" }, { label: "Attempts", cell: "num" }, { label: "Why" }],
            byStatus("failed").map((t) => [html`<code>${t.taskId}</code>`, t.assignee, t.attempts, t.error ?? ""]),
          )
        : html`<p>No task failed.</p>`
    }
    <h2>Conflicts (newest first)</h2>
    ${
      conflicts.length
        ? table(
            [{ label: "By" }, { label: "Kind" }, { label: "Event" }, { label: "Reason" }],
            conflicts.map((c) => [c.by, c.kind, html`<code>${c.eventId}</code>`, c.reason]),
          )
        : html`<p>No conflicts.</p>`
    }
    <h2>Recent tool calls</h2>
    ${memories.map(([agent, notes]) => {
      const recent = (notes ?? []).slice(-10).reverse();
      return html`<section aria-labelledby="mem-${agent}">
        <h3 id="mem-${agent}">${agent}</h3>
        ${
          recent.length
            ? html`<ol>
                ${recent.map(
                  (n) =>
                    html`<li>
                      <time>${n.at}</time> on <code>${n.eventId}</code>:
                      ${n.note}${
                        n.toolCalls?.length
                          ? html`<ul>
                              ${n.toolCalls.map((t) => html`<li><code>${t.name}(${JSON.stringify(t.args)})</code>${t.error ? html` — ${badge("did nothing")} ${t.error}` : ""}</li>`)}
                            </ul>`
                          : ""
                      }
                    </li>`,
                )}
              </ol>`
            : html`<p>No notes.</p>`
        }
      </section>`;
    })}`;
}

export function storesPage(p: { current: string; stores: { name: string; detail: string }[] }): Html {
  return html`<ul>
    ${p.stores.map((s) => html`<li><a href="${href("/console", { store: s.name })}" ${s.name === p.current ? html`aria-current="true"` : ""}>${s.name}</a>${s.name === p.current ? " (shown)" : ""} — ${s.detail}</li>`)}
  </ul>`;
}

export function errorPage(message: string): Html {
  return html`<p class="error" role="alert">${message}</p>`;
}
