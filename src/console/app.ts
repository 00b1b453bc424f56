/**
 * The store console (docs/console.md): one Hono app of server-rendered pages
 * under `/console/...` and JSON routes under `/console/api/...`, over a
 * ConsoleSource (the CLI's database or a LangGraph server). A surface: it
 * reads through the application layer and the event-store readers and owns no
 * business logic.
 *
 * Security: every value is escaped (layout.ts); a Content-Security-Policy
 * allows our own scripts only; every state-changing request is a POST that
 * must come from our own origin and carry the CSRF token.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Decision } from "../nodes/approval_gate.js";
import { INPUT_EVENT_TYPES, type StoreEvent } from "../domain/events.js";
import type { Order } from "../domain/world.js";
import { UsageError } from "../errors.js";
import type { LoggedEvent } from "../persistence/event_store.js";
import { LeaseBusyError } from "../persistence/lease.js";
import { allOrders, orderById, ordersById, ordersOfCustomer, readLog, type StoreLog } from "../persistence/store_log.js";
import { diffView, historyView, stateView } from "../views.js";
import { chartData } from "./chart.js";
import { cents, layout, type Frame, type Html, type PageName } from "./layout.js";
import * as pages from "./pages.js";
import { NotFoundError, UnsupportedError, type ConsoleSource, type Snapshot } from "./source.js";

/** The event types the filter offers: input types, then the ones the system writes. */
const SYSTEM_EVENT_TYPES = [
  "ProductListed",
  "OrderConfirmed",
  "OrderRejected",
  "OrderStatusChanged",
  "InventoryUpdated",
  "LowStockAlert",
  "RefundRequested",
  "ApprovalRequested",
  "RefundProcessed",
  "RefundRejected",
  "ReorderRequested",
  "ReorderClosed",
  "PostDrafted",
  "PromotionPaused",
  "PromotionResumed",
  "ReplyDrafted",
  "PolicyChanged",
];
export const EVENT_TYPES = [...INPUT_EVENT_TYPES, ...SYSTEM_EVENT_TYPES];

/** Page sizes: a page never reads more than this many events or orders. */
export const MAX_PAGE = 500;
const DEFAULT_EVENTS_PAGE = 100;
const DEFAULT_ORDERS_PAGE = 50;
/** A time-filtered events page scans at most this many events for its matches. */
const TIME_SCAN = 5000;
/** The events that make an order, one per order (an order id is placed once), in the order they were placed. */
const ORDER_MADE = ["OrderConfirmed", "OrderRejected"];

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

type Ctx = Context<{ Variables: { source: ConsoleSource; store: string } }>;

export interface ConsoleApp {
  app: Hono<{ Variables: { source: ConsoleSource; store: string } }>;
  /** The CSRF token forms carry (the API's POSTs send it as `x-csrf-token`). */
  token: string;
}

const require = createRequire(import.meta.url);
/** Our static files, read from src/console/static/ whether this module runs from src/ or from the compiled dist/. */
const staticFile = (path: string) => readFileSync(new URL(`../../src/console/static/${path}`, import.meta.url), "utf8");

/**
 * The console over `source`: one source, or one per request (the server's, which passes the caller's credentials on).
 */
export function createConsoleApp(source: ConsoleSource | ((request: Request) => ConsoleSource)): ConsoleApp {
  // A per-process secret: a token from another process (or a guessed one) is refused.
  const token = createHmac("sha256", randomBytes(32)).update("shopstate-console-csrf").digest("base64url");
  const app = new Hono<{ Variables: { source: ConsoleSource; store: string } }>();

  const files: Record<string, [type: string, body: string]> = {
    "chart.js": ["text/javascript", staticFile("chart.js")],
    "console.css": ["text/css", staticFile("console.css")],
    "uplot.js": ["text/javascript", readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8")],
    "uplot.css": ["text/css", readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8")],
  };

  app.use("/console/*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "same-origin");
    c.header("Cache-Control", "no-store");
  });
  app.use("/console", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
  });

  // Every state-changing request: our origin, and the token.
  app.use("/console/*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    if (c.req.method !== "POST") return c.text("only GET and POST", 405);
    const refusal = originProblem(c) ?? (await tokenProblem(c, token));
    if (refusal) return failure(c, 403, refusal);
    return next();
  });

  // The source and store of the request: ?store=NAME, else the source's default.
  app.use("/console/*", async (c, next) => {
    const src = typeof source === "function" ? source(c.req.raw) : source;
    c.set("source", src);
    c.set("store", c.req.query("store") || (c.req.path.startsWith("/console/static/") ? "" : await src.defaultStore()));
    return next();
  });
  app.use("/console", async (c, next) => {
    const src = typeof source === "function" ? source(c.req.raw) : source;
    c.set("source", src);
    c.set("store", c.req.query("store") || (await src.defaultStore()));
    return next();
  });

  app.get("/console/static/:file", (c) => {
    const file = files[c.req.param("file")];
    if (!file) return c.text("not found", 404);
    c.header("Content-Type", `${file[0]}; charset=utf-8`);
    return c.body(file[1]);
  });

  const storeOf = (c: Ctx) => c.get("store");
  const sourceOf = (c: Ctx) => c.get("source");
  const render = async (c: Ctx, page: PageName, title: string, body: Html, extra: Partial<Frame> = {}, status: ContentfulStatusCode = 200) => {
    const stores = await sourceOf(c)
      .stores()
      .catch(() => []);
    return c.html(
      layout({ title, page, store: storeOf(c), stores: stores.map((s) => s.name), where: sourceOf(c).where, kind: sourceOf(c).kind, ...extra }, body),
      status,
    );
  };
  const snap = (c: Ctx) => sourceOf(c).snapshot(storeOf(c), c.req.query("at") || undefined);

  // ------------------------------------------------------------ pages

  app.get("/console", async (c) => {
    const s = await snap(c);
    const view = stateView(s.values, s.checkpointId);
    const names = Object.fromEntries(Object.entries(s.values.catalog ?? {}).map(([sku, p]) => [sku, p.name]));
    return render(c, "overview", "Overview", pages.overviewPage({ store: storeOf(c), view, names, day: await dayFigures(s), at: c.req.query("at") }), {
      at: c.req.query("at") ? s.checkpointId : undefined,
      scripts: ["chart"],
    });
  });

  app.get("/console/approvals", async (c) => {
    const s = await snap(c);
    const decided = c.req.query("decided");
    const notice = decided ? `Approval ${decided} ${c.req.query("as") === "denied" ? "denied" : "approved"}.` : undefined;
    return render(c, "approvals", "Approvals", pages.approvalsPage({ store: storeOf(c), token, approvals: await pendingApprovals(s), notice }));
  });

  app.post("/console/approvals/decide", async (c) => {
    const form = await c.req.parseBody();
    const decision = decisionOf(form);
    try {
      await sourceOf(c).decide(storeOf(c), [decision]);
    } catch (error) {
      if (error instanceof LeaseBusyError) {
        const s = await snap(c);
        return render(
          c,
          "approvals",
          "Approvals",
          pages.approvalsPage({ store: storeOf(c), token, approvals: await pendingApprovals(s), notice: `Not recorded: ${error.message}` }),
          {},
          409,
        );
      }
      throw error;
    }
    return c.redirect(`/console/approvals?${new URLSearchParams({ store: storeOf(c), decided: decision.approvalId, as: decision.decision })}`, 303);
  });

  app.get("/console/timeline", async (c) => {
    const limit = intParam(c, "limit", 20, 1, 200);
    const page = await sourceOf(c).history(storeOf(c), { limit, before: c.req.query("before") || undefined });
    return render(c, "timeline", "Timeline", pages.timelinePage({ store: storeOf(c), token, page, limit }));
  });

  app.post("/console/timeline/tag", async (c) => {
    const form = await c.req.parseBody();
    await sourceOf(c).tag(storeOf(c), String(form.label ?? ""), String(form.at || "head"));
    return c.redirect(`/console/timeline?${new URLSearchParams({ store: storeOf(c) })}`, 303);
  });

  app.get("/console/rollback", async (c) => {
    const at = c.req.query("at");
    if (!at) throw new UsageError("say which checkpoint to roll back to: ?at=ID");
    const s = await sourceOf(c).snapshot(storeOf(c), at);
    return render(
      c,
      "rollback",
      "Roll back?",
      pages.rollbackConfirmPage({ store: storeOf(c), token, at, checkpointId: s.checkpointId, eventCount: s.log.at.length }),
    );
  });

  app.post("/console/rollback", async (c) => {
    const form = await c.req.parseBody();
    if (!form.at) throw new UsageError("say which checkpoint to roll back to (field 'at')");
    await sourceOf(c).rollback(storeOf(c), String(form.at));
    return c.redirect(`/console/timeline?${new URLSearchParams({ store: storeOf(c) })}`, 303);
  });

  app.get("/console/diff", async (c) => {
    const from = c.req.query("from");
    if (!from) throw new UsageError("pick a checkpoint to compare from (?from=ID)");
    const d = await sourceOf(c).diff(storeOf(c), from, c.req.query("to") || "head");
    return render(c, "diff", "Diff", pages.diffPage({ store: storeOf(c), ...d }));
  });

  app.get("/console/events", async (c) => {
    const s = await snap(c);
    const { filter, events, next } = await eventsPage(c, s);
    return render(c, "events", "Events", pages.eventsPage({ store: storeOf(c), filter, events, next, types: EVENT_TYPES }), {
      at: filter.at ? s.checkpointId : undefined,
    });
  });

  app.get("/console/orders", async (c) => {
    const s = await snap(c);
    const { orders, from, limit, total } = await ordersPage(c, s);
    return render(c, "orders", "Orders", pages.ordersPage({ store: storeOf(c), orders, from, limit, total }));
  });

  app.get("/console/orders/:id", async (c) => {
    const s = await snap(c);
    const id = c.req.param("id");
    const order = await orderById(s.log, id);
    if (!order) throw new NotFoundError(`no order '${id}' in store '${storeOf(c)}'`);
    const events = await readLog(s.log, { stream: `order:${id}`, limit: MAX_PAGE });
    return render(c, "order", `Order ${id}`, pages.orderPage({ store: storeOf(c), order, events }));
  });

  app.get("/console/customers", (c) =>
    c.redirect(`/console/customers/${encodeURIComponent(c.req.query("id") ?? "")}?${new URLSearchParams({ store: storeOf(c) })}`, 303),
  );

  app.get("/console/customers/:id", async (c) => {
    const s = await snap(c);
    const customer = await customerOf(c, s, c.req.param("id"));
    return render(c, "customer", `Customer ${customer.customerId}`, pages.customerPage({ store: storeOf(c), ...customer }));
  });

  app.get("/console/agents", async (c) => {
    const s = await snap(c);
    return render(c, "agents", "Agents", pages.agentsPage({ values: s.values }));
  });

  app.get("/console/stores", async (c) => render(c, "stores", "Stores", pages.storesPage({ current: storeOf(c), stores: await sourceOf(c).stores() })));

  // ------------------------------------------------------------ JSON

  app.get("/console/api/token", (c) => c.json({ token }));
  app.get("/console/api/stores", async (c) => c.json(await sourceOf(c).stores()));
  app.get("/console/api/state", async (c) => {
    const s = await snap(c);
    return c.json(stateView(s.values, s.checkpointId, await allOrders(s.log)));
  });
  app.get("/console/api/events", async (c) => {
    const { filter, events, next } = await eventsPage(c, await snap(c));
    return c.json({ events, next: next ?? null, filter });
  });
  app.get("/console/api/history", async (c) => {
    const page = await sourceOf(c).history(storeOf(c), { limit: intParam(c, "limit", 20, 1, 200), before: c.req.query("before") || undefined });
    return c.json(historyView(page));
  });
  app.get("/console/api/diff", async (c) => {
    const from = c.req.query("from");
    if (!from) throw new UsageError("pick a checkpoint to compare from (?from=ID)");
    const d = await sourceOf(c).diff(storeOf(c), from, c.req.query("to") || "head");
    return c.json(diffView(d.from, d.to, d.diff));
  });
  app.get("/console/api/orders", async (c) => {
    const { orders, from, limit, total } = await ordersPage(c, await snap(c));
    return c.json({ orders, from, limit, total, next: from + limit < total ? from + limit : null });
  });
  app.get("/console/api/orders/:id", async (c) => {
    const s = await snap(c);
    const id = c.req.param("id");
    const order = await orderById(s.log, id);
    if (!order) throw new NotFoundError(`no order '${id}' in store '${storeOf(c)}'`);
    return c.json({ order, events: await readLog(s.log, { stream: `order:${id}`, limit: MAX_PAGE }) });
  });
  app.get("/console/api/customers/:id", async (c) => c.json(await customerOf(c, await snap(c), c.req.param("id"))));
  app.get("/console/api/approvals", async (c) => c.json(await pendingApprovals(await snap(c))));
  app.post("/console/api/decide", async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { decisions?: unknown } | undefined;
    if (!body || !Array.isArray(body.decisions)) throw new UsageError('send {"decisions": [{"approvalId", "decision": "approved"|"denied", "by", "reason"?}]}');
    return c.json(
      await sourceOf(c).decide(
        storeOf(c),
        body.decisions.map((d) => decisionOf(d as Record<string, unknown>)),
      ),
    );
  });
  app.get("/console/api/chart", async (c) => {
    const s = await snap(c);
    return c.json({ checkpointId: s.checkpointId, series: await chartData(s.log, Object.keys(s.values.inventory ?? {})) });
  });

  app.notFound((c) => (c.req.path.startsWith("/console/api/") ? c.json({ error: "no such route" }, 404) : c.text("not found", 404)));

  app.onError(async (error, c) => {
    const status: ContentfulStatusCode =
      error instanceof NotFoundError
        ? 404
        : error instanceof LeaseBusyError
          ? 409
          : error instanceof UsageError
            ? 400
            : error instanceof UnsupportedError
              ? 501
              : 500;
    const message = status === 500 ? `the console failed: ${error.message}` : error.message;
    if (c.req.path.startsWith("/console/api/")) return c.json({ error: message, kind: error.name }, status);
    return render(c, "error", status === 409 ? "The store is busy" : status === 404 ? "Not found" : "Cannot do that", pages.errorPage(message), {}, status);
  });

  return { app, token };
}

/** The refusal of a request from another origin (its Origin, else its Referer, names another host). */
function originProblem(c: Ctx): string | undefined {
  const host = c.req.header("host") ?? new URL(c.req.url).host;
  const origin = c.req.header("origin");
  const referer = c.req.header("referer");
  const claimed = origin ?? referer;
  if (claimed === undefined) return undefined;
  let claimedHost: string;
  try {
    claimedHost = new URL(claimed).host;
  } catch {
    return `refused: the request's ${origin !== undefined ? "Origin" : "Referer"} '${claimed}' is not this console's`;
  }
  return claimedHost === host ? undefined : `refused: a request from another origin (${claimed}) cannot change this store`;
}

async function tokenProblem(c: Ctx, token: string): Promise<string | undefined> {
  let given = c.req.header("x-csrf-token");
  if (given === undefined && (c.req.header("content-type") ?? "").match(/form/)) {
    const form = await c.req.parseBody();
    given = typeof form.csrf === "string" ? form.csrf : undefined;
  }
  if (given === undefined) return "refused: the request carries no CSRF token (reload the page and submit its form again)";
  const [a, b] = [Buffer.from(given), Buffer.from(token)];
  return a.length === b.length && timingSafeEqual(a, b)
    ? undefined
    : "refused: the CSRF token is not this console's (reload the page and submit its form again)";
}

function failure(c: Ctx, status: ContentfulStatusCode, message: string) {
  return c.req.path.startsWith("/console/api/") ? c.json({ error: message }, status) : c.text(message, status);
}

function intParam(c: Ctx, name: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  return value;
}

function decisionOf(form: Record<string, unknown>): Decision {
  const verdict = form.decision;
  if (verdict !== "approved" && verdict !== "denied") throw new UsageError(`decision must be 'approved' or 'denied', got '${String(verdict)}'`);
  const approvalId = typeof form.approvalId === "string" ? form.approvalId : "";
  if (!approvalId) throw new UsageError("say which approval (approvalId)");
  const by = typeof form.by === "string" && form.by.trim() ? form.by.trim() : "console";
  const reason = typeof form.reason === "string" && form.reason.trim() ? form.reason.trim() : undefined;
  return { approvalId, decision: verdict, by, at: new Date().toISOString(), ...(reason ? { reason } : {}) };
}

/** The pending refunds, each with its customer's newest messages (from the customer's stream, read once per customer). */
async function pendingApprovals(s: Snapshot) {
  const pending = Object.values(s.values.approvals ?? {}).filter((a) => a.status === "pending");
  const messages = new Map<string, Promise<StoreEvent[]>>();
  const messagesOf = (customerId: string) => {
    let found = messages.get(customerId);
    if (!found) {
      found = readLog(s.log, { stream: `customer:${customerId}`, types: ["CustomerMessage"], descending: true, limit: 5 }).then((read) =>
        read.map((e) => e.event),
      );
      messages.set(customerId, found);
    }
    return found;
  };
  return Promise.all(pending.map(async (approval) => ({ approval, messages: await messagesOf(approval.customerId) })));
}

/** The day of the newest event, and what happened that day (read newest first, in growing batches, until the day changes; bounded). */
async function dayFigures(s: Snapshot): Promise<pages.DayFigures> {
  const newest = (await readLog(s.log, { descending: true, limit: 1 }))[0];
  if (!newest) return { day: undefined, counts: [] };
  const day = newest.event.at.slice(0, 10);
  const events: StoreEvent[] = [];
  const types = ["OrderConfirmed", "OrderRejected", "RefundProcessed", "CustomerMessage", "ReplyDrafted", "LowStockAlert"];
  let [scanned, batch, to] = [0, 100, undefined as number | undefined];
  scan: while (scanned < TIME_SCAN) {
    const limit = Math.min(batch, TIME_SCAN - scanned);
    const read = await readLog(s.log, { types, descending: true, limit, to });
    for (const e of read) {
      if (e.event.at.slice(0, 10) !== day) break scan;
      events.push(e.event);
    }
    if (read.length < limit) break;
    [scanned, batch, to] = [scanned + read.length, batch * 4, read[read.length - 1].position];
  }
  const of = (type: string) => events.filter((e) => e.type === type);
  const sum = (list: StoreEvent[], field: string) => list.reduce((total, e) => total + Number((e.data as Record<string, unknown>)[field] ?? 0), 0);
  return {
    day,
    counts: [
      ["Orders confirmed", String(of("OrderConfirmed").length)],
      ["Sales", cents(sum(of("OrderConfirmed"), "paidCents"))],
      ["Orders rejected", String(of("OrderRejected").length)],
      ["Refunds", `${of("RefundProcessed").length} (${cents(sum(of("RefundProcessed"), "amountCents"))})`],
      ["Customer messages", String(of("CustomerMessage").length)],
      ["Replies drafted", String(of("ReplyDrafted").length)],
      ["Low-stock alerts", String(of("LowStockAlert").length)],
    ],
  };
}

/** One page of events: by position (from, limit), type, stream and time range; never the whole log. */
async function eventsPage(c: Ctx, s: Snapshot): Promise<{ filter: pages.EventFilter; events: LoggedEvent[]; next?: number }> {
  const filter: pages.EventFilter = {
    at: c.req.query("at") || undefined,
    from: intParam(c, "from", 0, 0, Number.MAX_SAFE_INTEGER),
    limit: intParam(c, "limit", DEFAULT_EVENTS_PAGE, 1, MAX_PAGE),
    type: c.req.query("type") || undefined,
    stream: c.req.query("stream") || undefined,
    since: c.req.query("since") || undefined,
    until: c.req.query("until") || undefined,
  };
  for (const [name, value] of [
    ["since", filter.since],
    ["until", filter.until],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) throw new UsageError(`${name} must be a time such as 2026-03-01T09:00:00Z, got '${value}'`);
  }
  if (filter.stream !== undefined && !/^(order|sku|customer|approval):./.test(filter.stream))
    throw new UsageError(`stream must be order:ID, sku:SKU, customer:ID or approval:ID, got '${filter.stream}'`);
  const query = { types: filter.type ? [filter.type] : undefined, stream: filter.stream };
  if (filter.since === undefined && filter.until === undefined) {
    const events = await readLog(s.log, { ...query, from: filter.from, limit: filter.limit });
    return { filter, events, next: events.length === filter.limit ? events[events.length - 1].position + 1 : undefined };
  }
  // No index by time: scan forward a bounded stretch and keep the matches (the log is in time order, near enough).
  const [since, until] = [filter.since ? Date.parse(filter.since) : -Infinity, filter.until ? Date.parse(filter.until) : Infinity];
  const matches: LoggedEvent[] = [];
  let position = filter.from;
  let scanned = 0;
  while (matches.length < filter.limit && scanned < TIME_SCAN) {
    const batch = await readLog(s.log, { ...query, from: position, limit: MAX_PAGE });
    if (batch.length === 0) return { filter, events: matches };
    for (const e of batch) {
      position = e.position + 1;
      scanned++;
      const t = Date.parse(e.event.at);
      if (t >= since && t <= until) matches.push(e);
      if (matches.length === filter.limit) break;
    }
  }
  return { filter, events: matches, next: position };
}

/** One page of orders in the order they were placed: the page's orders are found by type and folded from their own streams. */
async function ordersPage(c: Ctx, s: Snapshot): Promise<{ orders: Order[]; from: number; limit: number; total: number }> {
  const from = intParam(c, "from", 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(c, "limit", DEFAULT_ORDERS_PAGE, 1, MAX_PAGE);
  const total = await s.log.store.count(s.log.threadId, s.log.at, { types: ORDER_MADE });
  if (from >= total) return { orders: [], from, limit, total };
  const made = await readLog(s.log, { types: ORDER_MADE, from: await positionOfNth(s.log, ORDER_MADE, from), limit });
  const ids = made.map((e) => (e.event.data as { orderId: string }).orderId);
  const byId = await ordersById(s.log, ids);
  return { orders: ids.map((id) => byId[id]).filter((o): o is Order => o !== undefined), from, limit, total };
}

/** The position of the `n`-th event (from 0) of these types, found by counting (an index) rather than reading the events before it. */
async function positionOfNth(log: StoreLog, types: readonly string[], n: number): Promise<number> {
  if (n === 0) return 0;
  // The last position with at most n such events before it is the n-th one's.
  let [lo, hi] = [0, log.at.length];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await log.store.count(log.threadId, log.at, { types, to: mid })) <= n) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

async function customerOf(c: Ctx, s: Snapshot, customerId: string) {
  const before = c.req.query("before") ? intParam(c, "before", 0, 0, Number.MAX_SAFE_INTEGER) : undefined;
  const { orders, next } = await ordersOfCustomer(s.log, customerId, { limit: DEFAULT_ORDERS_PAGE, before });
  const conversation = await readLog(s.log, { stream: `customer:${customerId}`, types: ["CustomerMessage", "ReplyDrafted"], descending: true, limit: 100 });
  if (orders.length === 0 && conversation.length === 0 && (await readLog(s.log, { stream: `customer:${customerId}`, limit: 1 })).length === 0) {
    throw new NotFoundError(`no customer '${customerId}' in this store's log`);
  }
  return { customerId, orders, conversation, nextBefore: next };
}
