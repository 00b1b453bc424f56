/**
 * The store console (docs/console.md) through Hono's `app.request()`, no
 * browser: every page on the demo store with its figures, escaping of a
 * hostile customer message, the security headers, CSRF and origin checks,
 * and an approval made through the page.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createConsoleApp, CSP, type ConsoleApp } from "../src/console/app.js";
import { databaseSource } from "../src/console/db_source.js";
import { downsample, MAX_POINTS } from "../src/console/chart.js";
import type { ConsoleSource } from "../src/console/source.js";
import { demoLines, hourlyBatches } from "../src/demo.js";
import { headValues, ingestLines, openStore } from "../src/store.js";
import { stateView } from "../src/views.js";
import { tempDir } from "./support/cli.js";

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 100, source: "data/demo-day.jsonl" };
const HOSTILE = `<script>alert(1)</script>" onmouseover="alert(2)' x='<a href="javascript:alert(3)">click</a><img src=x onerror=alert(4)>`;

let dir: string;
let db: string;
let source: ConsoleSource;
let consoleApp: ConsoleApp;

/** The demo day, then a hostile message from the customer whose refund waits for a person. */
async function buildStore(name: string): Promise<void> {
  const session = openStore(db, name);
  try {
    for (const hour of hourlyBatches(demoLines())) await ingestLines(session, hour, { ...RUN, origin: "demo" });
    const hostile = {
      id: "evt-hostile",
      type: "CustomerMessage",
      at: "2026-03-01T18:00:00Z",
      source: "chat",
      data: { customerId: "C-CAROL", orderId: "ORD-1005", subject: HOSTILE, text: HOSTILE },
    };
    await ingestLines(session, [{ line: 1, text: JSON.stringify(hostile) }], { ...RUN, source: "hostile.jsonl", origin: "ingest" });
  } finally {
    await session.close();
  }
}

const get = (path: string) => consoleApp.app.request(path);
const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  consoleApp.app.request(path, {
    method: "POST",
    body: new URLSearchParams(fields),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });

async function pending(store = "main"): Promise<string[]> {
  const res = await get(`/console/api/approvals?store=${store}`);
  return ((await res.json()) as { approval: { id: string } }[]).map((a) => a.approval.id);
}

beforeAll(async () => {
  dir = tempDir();
  db = join(dir, "shop.db");
  await Promise.all([buildStore("main"), buildStore("other")]);
  source = databaseSource({ location: { dbPath: db }, where: db, defaultStore: "main", run: { approvalThresholdCents: 10_000, maxSteps: 500 } });
  consoleApp = createConsoleApp(source);
}, 120_000);
afterAll(async () => {
  await source.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("pages", () => {
  test("the overview shows each SKU's on hand, reserved and available from the demo store, and the pending approvals", async () => {
    const session = openStore(db, "main");
    const { values, checkpointId } = await headValues(session);
    await session.close();
    const view = stateView(values, checkpointId);
    const res = await get("/console?store=main");
    expect(res.status).toBe(200);
    // Whitespace between tags is layout only.
    const page = (await res.text()).replace(/>\s+</g, "><");
    expect(Object.keys(view.inventory).length).toBeGreaterThan(3);
    for (const [sku, s] of Object.entries(view.inventory)) {
      expect(page).toMatch(
        new RegExp(`${sku}</a>[\\s\\S]*?<td class="num">${s.onHand}</td>\\s*<td class="num">${s.reserved}</td>\\s*<td class="num">${s.available}</td>`),
      );
    }
    expect(page).toContain(`<dt>Pending approvals</dt><dd><a href="/console/approvals?store=main">${view.pendingApprovals.length}</a>`);
    expect(view.pendingApprovals.length).toBeGreaterThan(0);
    expect(page).toContain(`<dt>Events in the log</dt><dd>${view.eventCount}</dd>`);
    expect(page).toContain('data-src="/console/api/chart?store=main"');
    expect(page).toContain('<script src="/console/static/chart.js"></script>');
  });

  test.each([
    ["/console/approvals?store=main", "Refund"],
    ["/console/timeline?store=main", "Compare the two checkpoints"],
    ["/console/events?store=main&type=OrderPlaced", "OrderPlaced"],
    ["/console/orders?store=main", "ORD-1001"],
    ["/console/orders/ORD-1005?store=main", "SKU-JACKET"],
    ["/console/customers/C-CAROL?store=main", "ORD-1005"],
    ["/console/agents?store=main", "support_agent"],
    ["/console/stores", "other"],
  ])("%s answers 200 with the store's data", async (path, expected) => {
    const res = await get(path);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.text()).toContain(expected);
  });

  test("the diff page compares two checkpoints picked on the timeline", async () => {
    const history = (await (await get("/console/api/history?store=main&limit=5")).json()) as { entries: { checkpointId: string }[] };
    const res = await get(`/console/diff?store=main&from=${history.entries[4].checkpointId}&to=${history.entries[0].checkpointId}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Events only in “to”");
  });

  test("?at= names a checkpoint by full id (any case), prefix or head~N; an unknown id is a 400 that says so", async () => {
    const history = (await (await get("/console/api/history?store=main&limit=4")).json()) as { entries: { checkpointId: string }[] };
    const id = history.entries[3].checkpointId;
    const at = async (ref: string) => {
      const res = await get(`/console/api/state?store=main&at=${encodeURIComponent(ref)}`);
      return { status: res.status, body: (await res.json()) as { checkpointId?: string; error?: string } };
    };
    for (const ref of [id, id.toUpperCase(), ` ${id} `, id.slice(0, 13), "head~3"]) expect((await at(ref)).body.checkpointId, ref).toBe(id);
    expect((await at("head")).body.checkpointId).toBe(history.entries[0].checkpointId);
    const unknown = `${id.slice(0, 24)}000000000000`;
    expect(await at(unknown)).toEqual({ status: 400, body: expect.objectContaining({ error: expect.stringContaining(`no checkpoint ${unknown}`) }) });
  });

  test("the events page reads one page, filtered by stream and time, and links the next", async () => {
    const res = await get("/console/api/events?store=main&stream=sku:SKU-MUG&limit=3&since=2026-03-01T10:00:00Z");
    const body = (await res.json()) as { events: { position: number; event: { at: string; data: { sku?: string } } }[]; next: number | null };
    expect(body.events).toHaveLength(3);
    for (const e of body.events) expect(e.event.at >= "2026-03-01T10:00:00Z").toBe(true);
    expect(body.next).toBeGreaterThan(body.events[2].position);
    expect((await get("/console/api/events?store=main&limit=100000")).status).toBe(400);
  });

  test("an unknown store or order is a 404 that says so", async () => {
    const res = await get("/console?store=nope");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("no store named &#39;nope&#39;");
    expect((await get("/console/api/orders/ORD-NOPE?store=main")).status).toBe(404);
  });

  test("the chart data has at most 200 points per SKU, and downsampling keeps the extremes", async () => {
    const body = (await (await get("/console/api/chart?store=main")).json()) as { series: { sku: string; t: number[]; available: number[] }[] };
    expect(body.series.length).toBeGreaterThan(0);
    for (const s of body.series) expect(s.t.length).toBeLessThanOrEqual(MAX_POINTS);
    const points = Array.from({ length: 10_000 }, (_, i) => ({ t: i, available: i === 5_000 ? -7 : i % 50, onHand: 0 }));
    const kept = downsample(points);
    expect(kept.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(kept.map((p) => p.available)).toContain(-7);
    expect(kept[0]).toBe(points[0]);
    expect(kept.at(-1)).toBe(points.at(-1));
  });
});

describe("security", () => {
  test("a hostile customer message is shown as text on every page that shows it", async () => {
    for (const path of ["/console/approvals?store=main", "/console/customers/C-CAROL?store=main", "/console/events?store=main&type=CustomerMessage"]) {
      const page = await (await get(path)).text();
      expect(page).not.toContain("<script>alert");
      expect(page).not.toContain("<img src=x");
      expect(page).not.toContain('href="javascript:');
      expect(page).not.toMatch(/"\s*onmouseover=/);
      expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      // The only scripts are our own files.
      for (const tag of page.match(/<script[^>]*>/g) ?? [])
        expect(tag).toMatch(/^<script src="\/console\/static\/[a-z]+\.js"><\/script>$|^<script src="\/console\/static\/[a-z]+\.js">$/);
    }
  });

  test("every page carries the Content-Security-Policy (no inline script)", async () => {
    for (const path of ["/console", "/console/approvals", "/console/api/state", "/console/static/chart.js", "/console/nope"]) {
      const res = await get(path);
      expect(res.headers.get("content-security-policy"), path).toBe(CSP);
    }
    expect(CSP).toContain("script-src 'self'");
    expect(CSP).not.toContain("unsafe-inline");
    for (const directive of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) expect(CSP).toContain(directive);
  });

  test("uPlot and the chart script are served by the console itself", async () => {
    const res = await get("/console/static/uplot.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect(await res.text()).toContain("uPlot");
  });

  test("a POST without the token, or with another, is refused with 403 and decides nothing", async () => {
    const [id] = await pending();
    const noToken = await post("/console/approvals/decide?store=main", { approvalId: id, decision: "approved", by: "mallory" });
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain("no CSRF token");
    const wrong = await post("/console/approvals/decide?store=main", { approvalId: id, decision: "approved", by: "mallory", csrf: "x".repeat(43) });
    expect(wrong.status).toBe(403);
    const api = await consoleApp.app.request("/console/api/decide?store=main", {
      method: "POST",
      body: JSON.stringify({ decisions: [{ approvalId: id, decision: "approved" }] }),
      headers: { "content-type": "application/json" },
    });
    expect(api.status).toBe(403);
    expect(await pending()).toContain(id);
  });

  test("a POST from another origin is refused with 403 even with the token, and changes nothing", async () => {
    const [id] = await pending();
    const before = await (await get("/console/api/history?store=main&limit=1")).json();
    const fields = { approvalId: id, decision: "approved", by: "mallory", csrf: consoleApp.token };
    const fromOrigin = await post("/console/approvals/decide?store=main", fields, { origin: "https://evil.example" });
    expect(fromOrigin.status).toBe(403);
    expect(await fromOrigin.text()).toContain("another origin");
    const fromReferer = await post("/console/rollback?store=main", { at: "head~3", csrf: consoleApp.token }, { referer: "https://evil.example/page" });
    expect(fromReferer.status).toBe(403);
    expect(await pending()).toContain(id);
    expect(await (await get("/console/api/history?store=main&limit=1")).json()).toEqual(before);
  });
});

describe("writes through the pages", () => {
  test("approving through the page records the decision (decideApprovals): the refund is processed", async () => {
    const [id] = await pending("other");
    const res = await post(
      "/console/approvals/decide?store=other",
      { approvalId: id, decision: "approved", by: "ops-lead", reason: "photos checked", csrf: consoleApp.token },
      { origin: "http://localhost" },
    );
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/console/approvals?store=other&decided=${id}&as=approved`);
    expect(await pending("other")).not.toContain(id);
    const events = (await (await get("/console/api/events?store=other&type=RefundProcessed")).json()) as {
      events: { event: { data: { approvalId?: string; decidedBy?: string } } }[];
    };
    expect(events.events.map((e) => e.event.data)).toContainEqual(expect.objectContaining({ approvalId: id, decidedBy: "ops-lead" }));
    const page = await (await get(res.headers.get("location") as string)).text();
    expect(page).toContain(`Approval ${id} approved.`);
  });

  test("while another writer holds the store, the approvals page says so with 409", async () => {
    const [id] = await pending();
    const session = openStore(db, "main");
    const lease = await session.meta.acquireLease("main", session.threadId, 0);
    try {
      const res = await post("/console/approvals/decide?store=main", { approvalId: id, decision: "denied", by: "ops", csrf: consoleApp.token });
      expect(res.status).toBe(409);
      expect(await res.text()).toMatch(/Not recorded: store &#39;main&#39; is being written by another process/);
    } finally {
      await lease.release();
      await session.close();
    }
    expect(await pending()).toContain(id);
  });

  test("tag a checkpoint, then roll back to it after the confirmation page", async () => {
    const tagged = await post("/console/timeline/tag?store=other", { at: "head~2", label: "before-close", csrf: consoleApp.token });
    expect(tagged.status).toBe(303);
    expect(await (await get("/console/timeline?store=other")).text()).toContain("before-close");
    const confirm = await get("/console/rollback?store=other&at=before-close");
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain("Roll back</button>");
    const rolled = await post("/console/rollback?store=other", { at: "before-close", csrf: consoleApp.token });
    expect(rolled.status).toBe(303);
    const head = (await (await get("/console/api/history?store=other&limit=1")).json()) as { entries: { writers: string[]; branchedFromTags?: string[] }[] };
    expect(head.entries[0].writers).toEqual(["rollback"]);
    expect(head.entries[0].branchedFromTags).toEqual(["before-close"]);
  });

  test("after a rollback and new input on a branch, the chart (read on from the rows the console kept) equals one read afresh", async () => {
    type Chart = { checkpointId: string; series: { sku: string; t: number[]; available: number[] }[] };
    const chart = async (app: ConsoleApp["app"], at = "") => (await (await app.request(`/console/api/chart?store=other${at}`)).json()) as Chart;
    const old = await chart(consoleApp.app);
    const rolled = await post("/console/rollback?store=other", { at: "head~12", csrf: consoleApp.token });
    expect(rolled.status).toBe(303);
    const sku = old.series[0].sku;
    const stock = { id: "evt-branch-stock", type: "StockReceived", at: "2026-03-02T09:00:00Z", source: "test", data: { sku, qty: 7 } };
    const session = openStore(db, "other");
    try {
      await ingestLines(session, [{ line: 1, text: JSON.stringify(stock) }], { ...RUN, source: "branch.jsonl", origin: "ingest" });
    } finally {
      await session.close();
    }
    const fresh = databaseSource({ location: { dbPath: db }, where: db, defaultStore: "other", run: { approvalThresholdCents: 10_000, maxSteps: 500 } });
    try {
      const now = await chart(consoleApp.app);
      expect(now.checkpointId).not.toBe(old.checkpointId);
      expect(now.series).not.toEqual(old.series);
      expect(now).toEqual(await chart(createConsoleApp(fresh).app));
      expect(await chart(consoleApp.app, `&at=${old.checkpointId}`)).toEqual(old);
    } finally {
      await fresh.close();
    }
  });
});

describe("shopstate ui (serveConsole)", () => {
  test("serves the console over HTTP on 127.0.0.1 and a free port, and stops", async () => {
    const { serveConsole } = await import("../src/console/serve.js");
    const running = await serveConsole({
      location: { dbPath: db },
      where: db,
      store: "main",
      port: 0,
      host: "127.0.0.1",
      open: false,
      run: { approvalThresholdCents: 10_000, maxSteps: 500 },
    });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\?store=main$/);
      const res = await fetch(running.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toBe(CSP);
      expect(await res.text()).toContain("Stock per SKU");
    } finally {
      await running.close();
    }
    await expect(fetch(running.url)).rejects.toThrow();
  });
});
