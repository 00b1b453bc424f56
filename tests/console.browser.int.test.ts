/// <reference lib="dom" />
/**
 * The store console (docs/console.md) in a real browser: Debian's chromium
 * driven by playwright-core (tests/support/browser.ts), against
 * `shopstate ui --port 0` run as a user runs it, on a SQLite file the CLI
 * reads beside it. Every view loads without errors and shows the figures
 * `shopstate state --json` gives; an approval made on the page and a rollback
 * made from the timeline are what the CLI then sees; hostile customer text
 * runs no script on any page; another origin's POST changes nothing; the
 * approve button is reachable with the keyboard. Writes a screenshot of each
 * view of the demo store to docs/screenshots/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryView, StateView } from "../src/views.js";
import { ingestLines, openStore } from "../src/store.js";
import { launchBrowser, type Browser, type WatchedPage } from "./support/browser.js";
import { cleanEnv, cli, FROM_SOURCE, parseJson, ROOT, tempDir } from "./support/cli.js";

const SCREENSHOTS = join(ROOT, "docs", "screenshots");
const dir = tempDir();
const db = join(dir, "shop.db");

/** Markup that would run or create something if a page printed it unescaped: each marks what it makes with `data-pwned`. */
const MARKUP = [
  `<script>alert("script")</script>`,
  `<img src=x onerror="alert('img')" data-pwned>`,
  `"><svg onload="alert('svg')" data-pwned></svg>`,
  `'><iframe srcdoc="<script>alert('frame')</script>" data-pwned></iframe>`,
  `</textarea></title></style><b data-pwned onclick="alert('b')">bold</b>`,
  `<a href="javascript:alert('link')" data-pwned>link</a>`,
  `<details open ontoggle="alert('toggle')" data-pwned>`,
];

const shopstate = async (...args: string[]) => {
  const run = await cli([...args, "--db", db, "--json"]);
  expect(run.code, `shopstate ${args.join(" ")}: ${run.stderr}`).toBeLessThan(3);
  return run;
};
const stateOf = async (store: string) => parseJson<StateView>((await shopstate("state", "--thread", store)).stdout, "state --json");

/** The hostile store: the hostile-input corpus, the injection messages and markup in every customer-written field the pages show. */
async function buildHostileStore(): Promise<void> {
  const corpus = JSON.parse(readFileSync(join(ROOT, "tests/fixtures/hostile-inputs.json"), "utf8")) as {
    prelude: string[];
    cases: { line?: string; lines?: string[] }[];
  };
  const injection = JSON.parse(readFileSync(join(ROOT, "tests/fixtures/injection-messages.json"), "utf8")) as {
    messages: { text: string; orderId?: string }[];
  };
  const expand = (text: string) => text.replace(/\{\{repeat:(\d+):(.+?)\}\}/gu, (_m, n: string, s: string) => s.repeat(Number(n)));
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 2, 9, minute)).toISOString();
  const markupEvents = MARKUP.flatMap((payload, i) => [
    { id: `x-p${i}`, type: "ProductAdded", at: at(i), data: { sku: `SKU-X${i}`, name: payload, priceCents: 20000, initialStock: 5, reorderPoint: 1 } },
    { id: `x-o${i}`, type: "OrderPlaced", at: at(i), data: { orderId: `ORD-X${i}`, customerId: "C-ANN", lines: [{ sku: `SKU-X${i}`, qty: 1 }] } },
    { id: `x-s${i}`, type: "OrderShipped", at: at(i + 1), data: { orderId: `ORD-X${i}` } },
    { id: `x-d${i}`, type: "OrderDelivered", at: at(i + 2), data: { orderId: `ORD-X${i}` } },
    {
      id: `x-m${i}`,
      type: "CustomerMessage",
      at: at(i + 10),
      data: { customerId: "C-ANN", orderId: `ORD-X${i}`, subject: payload, text: `It arrived broken, refund please. ${payload}` },
    },
  ]);
  const lines = [
    ...corpus.prelude,
    ...corpus.cases.flatMap((c) => (c.lines ?? [c.line ?? ""]).map(expand)),
    ...injection.messages.map((m, i) =>
      JSON.stringify({
        id: `inj-${i}`,
        type: "CustomerMessage",
        at: at(30 + i),
        data: { customerId: "C-ANN", text: m.text, ...(m.orderId ? { orderId: m.orderId } : {}) },
      }),
    ),
    ...markupEvents.map((e) => JSON.stringify(e)),
  ];
  const session = openStore(db, "hostile");
  try {
    await ingestLines(
      session,
      lines.map((text, i) => ({ line: i + 1, text })),
      { approvalThresholdCents: 10_000, maxSteps: 2000, batchSize: 100, source: "hostile.jsonl", origin: "ingest" },
    );
  } finally {
    await session.close();
  }
}

/** `shopstate ui --port 0` as a child process; resolves with the URL it prints. */
function startConsole(): Promise<{ child: ChildProcess; url: URL }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...FROM_SOURCE, "ui", "--port", "0", "--db", db], { cwd: ROOT, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`shopstate ui printed no URL in 60 s:\n${out}`)), 60_000);
    const read = (chunk: Buffer) => {
      out += chunk.toString();
      const found = /shopstate console: (http:\/\/\S+)/.exec(out);
      if (found) {
        clearTimeout(timer);
        resolve({ child, url: new URL(found[1]) });
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => reject(new Error(`shopstate ui exited (${code}):\n${out}`)));
  });
}

let ui: ChildProcess;
let base: string;
let browser: Browser;

beforeAll(async () => {
  const demo = await shopstate("demo");
  expect(demo.code).toBe(0);
  await buildHostileStore();
  const started = await startConsole();
  ui = started.child;
  expect(started.url.hostname).toBe("127.0.0.1");
  expect(started.url.searchParams.get("store")).toBe("main");
  base = started.url.origin;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (ui && ui.exitCode === null) {
    const exited = new Promise((done) => ui.once("exit", done));
    ui.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Opens `path`, waits for the page to settle and checks it loaded cleanly. */
async function open(path: string, expectStatus = 200): Promise<WatchedPage> {
  const watched = await browser.newPage();
  const response = await watched.page.goto(`${base}${path}`, { waitUntil: "networkidle" });
  expect(response?.status(), `${path}: HTTP status`).toBe(expectStatus);
  return watched;
}

function clean(watched: WatchedPage, what: string): void {
  expect(watched.errors, `${what}: console or page errors`).toEqual([]);
  expect(watched.dialogs, `${what}: dialogs (a script ran)`).toEqual([]);
}

/** The demo store's views, by the name their screenshot gets. */
const DEMO_VIEWS: [name: string, path: string][] = [
  ["overview", "/console?store=main"],
  ["approvals", "/console/approvals?store=main"],
  ["timeline", "/console/timeline?store=main"],
  ["events", "/console/events?store=main&limit=30"],
  ["orders", "/console/orders?store=main"],
  ["order", "/console/orders/ORD-1005?store=main"],
  ["customer", "/console/customers/C-CAROL?store=main"],
  ["agents", "/console/agents?store=main"],
  ["stores", "/console/stores?store=main"],
  ["diff", "/console/diff?store=main&from=head~3"],
];

describe("the console on the demo store", () => {
  it("loads every view without console or page errors, and writes its screenshot", async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const [name, path] of DEMO_VIEWS) {
      const watched = await open(path);
      clean(watched, path);
      await watched.page.locator("main").first().waitFor({ state: "visible" });
      await watched.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: name !== "events" && name !== "timeline" });
      await watched.page.close();
    }
  });

  it("shows the figures of `shopstate state --json`: stock per SKU, pending approvals, order counts", async () => {
    const state = await stateOf("main");
    const overview = await open("/console?store=main");
    clean(overview, "overview");
    // The chart is drawn by our script from the JSON route.
    await overview.page.locator("#chart canvas").first().waitFor({ state: "visible" });
    for (const [sku, stock] of Object.entries(state.inventory)) {
      const cells = await overview.page
        .locator("tr", { has: overview.page.locator(`th a:text-is("${sku}")`) })
        .locator("td.num")
        .allInnerTexts();
      expect(cells.map(Number), sku).toEqual([stock.onHand, stock.reserved, stock.available]);
    }
    const pending = overview.page.locator("dt:text-is('Pending approvals') + dd");
    expect(Number(await pending.innerText())).toBe(state.pendingApprovals.length);
    expect(state.pendingApprovals.length).toBeGreaterThan(0);

    const orders = await open("/console/orders?store=main&limit=500");
    const total = Object.keys(state.orders).length;
    expect(await orders.page.locator("caption").innerText()).toBe(`Orders 1–${total} of ${total}`);
    expect(await orders.page.locator("tbody tr").count()).toBe(total);
    const shownStatuses = (await orders.page.locator("tbody tr td:nth-child(3)").allInnerTexts()).map((t) => t.trim());
    const countBy = (list: string[]) => Object.fromEntries([...new Set(list)].sort().map((k) => [k, list.filter((x) => x === k).length]));
    expect(countBy(shownStatuses)).toEqual(countBy(Object.values(state.orders).map((o) => o.status)));

    const approvals = await open("/console/approvals?store=main");
    expect(await approvals.page.locator("article.approval").count()).toBe(state.pendingApprovals.length);
    for (const a of state.pendingApprovals) expect(await approvals.page.locator(`code:text-is("${a.id}")`).isVisible(), a.id).toBe(true);
    for (const w of [overview, orders, approvals]) await w.page.close();
  });

  it("refuses a POST from a page of another origin, and nothing changes", async () => {
    const before = await stateOf("main");
    const approvalId = before.pendingApprovals[0].id;
    // The attacker's page, on another port: a form that posts a decision to the console as soon as it loads.
    const attacker: Server = createServer((req, res) => {
      res.setHeader("content-type", "text/html");
      if (req.url === "/form") {
        res.end(`<!doctype html><form id="f" method="post" action="${base}/console/approvals/decide?store=main">
<input name="approvalId" value="${approvalId}"><input name="decision" value="approved"><input name="by" value="attacker"><input name="csrf" value="guessed"></form>
<script>document.getElementById("f").submit()</script>`);
      } else res.end("<!doctype html><p>another site</p>");
    });
    await new Promise<void>((done) => attacker.listen(0, "127.0.0.1", done));
    const other = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    try {
      const form = await browser.newPage();
      const answer = form.page.waitForResponse((r) => r.url().startsWith(`${base}/console/approvals/decide`));
      await form.page.goto(`${other}/form`, { waitUntil: "commit" });
      const response = await answer;
      expect(response.status()).toBe(403);
      expect(await response.text()).toMatch(/another origin/);
      await form.page.close();
      // A cross-origin fetch from the other site (its own Origin, no token) to the JSON route: the browser sends it, the console refuses it.
      const script = await browser.newPage();
      await script.page.goto(`${other}/`);
      const refused = script.page.waitForResponse((r) => r.url().startsWith(`${base}/console/api/decide`));
      await script.page.evaluate(
        ({ url, id }) =>
          fetch(url, {
            method: "POST",
            mode: "no-cors",
            headers: { "content-type": "text/plain" },
            body: JSON.stringify({ decisions: [{ approvalId: id, decision: "approved", by: "attacker" }] }),
          }).then((r) => r.type),
        { url: `${base}/console/api/decide?store=main`, id: approvalId },
      );
      expect((await refused).status()).toBe(403);
      await script.page.close();
    } finally {
      await new Promise((done) => attacker.close(done));
    }
    const after = await stateOf("main");
    expect(after.pendingApprovals).toEqual(before.pendingApprovals);
    expect(after.eventCount).toBe(before.eventCount);
  });

  it("reaches the approve button with Tab, and an approval made on the page is what `shopstate approvals` sees", async () => {
    const before = await stateOf("main");
    const approvalId = before.pendingApprovals[0].id;
    const watched = await open("/console/approvals?store=main");
    await watched.page.locator(`input[id="reason-${approvalId}"]`).fill("photos checked in the browser test");
    await watched.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    let focused = "";
    for (let presses = 0; presses < 60 && focused !== "Approve"; presses++) {
      await watched.page.keyboard.press("Tab");
      focused = await watched.page.evaluate(() => (document.activeElement instanceof HTMLButtonElement ? document.activeElement.innerText.trim() : ""));
    }
    expect(focused).toBe("Approve");
    // The focused Approve button (of the first approval) pressed from the keyboard.
    await Promise.all([watched.page.waitForURL(/\/console\/approvals\?.*decided=/), watched.page.keyboard.press("Enter")]);
    expect(await watched.page.locator("p.note[role=status]").innerText()).toContain(`Approval ${approvalId} approved`);
    clean(watched, "approvals after deciding");
    await watched.page.close();

    const pending = parseJson<{ id: string }[]>((await shopstate("approvals")).stdout, "approvals --json");
    expect(pending.map((a) => a.id)).not.toContain(approvalId);
    const decided = parseJson<{ data: Record<string, unknown> }[]>((await shopstate("events", "--type", "ApprovalDecided")).stdout, "events --json").map(
      (e) => e.data,
    );
    expect(decided).toContainEqual(expect.objectContaining({ approvalId, decision: "approved", reason: "photos checked in the browser test" }));
  });

  it("rolls back from the timeline, after its confirmation page; `shopstate history` shows the fork", async () => {
    const history = parseJson<HistoryView>((await shopstate("history", "--limit", "10")).stdout, "history --json");
    const target = history.entries[3];
    const watched = await open("/console/timeline?store=main");
    const row = watched.page.locator("tr", { has: watched.page.locator(`code:text-is("${target.shortId}")`) });
    await Promise.all([watched.page.waitForURL(/\/console\/rollback\?/), row.locator("a", { hasText: "roll back" }).click()]);
    clean(watched, "rollback confirmation");
    expect(await watched.page.locator("main").innerText()).toContain(target.checkpointId);
    // Nothing happened yet: the confirmation is a page of its own.
    expect(parseJson<HistoryView>((await shopstate("history", "--limit", "1")).stdout, "history --json").entries[0].checkpointId).toBe(
      history.entries[0].checkpointId,
    );
    await Promise.all([watched.page.waitForURL(/\/console\/timeline\?/), watched.page.locator("button", { hasText: "Roll back" }).click()]);
    clean(watched, "timeline after the rollback");
    await watched.page.close();

    const after = parseJson<HistoryView>((await shopstate("history", "--limit", "20")).stdout, "history --json");
    expect(after.entries[0].head).toBe(true);
    expect(after.entries[0].branchedFrom).toBe(target.checkpointId);
    expect(after.entries[0].checkpointId).not.toBe(history.entries[0].checkpointId);
    // The old head is still there, on another branch.
    expect(after.entries.find((e) => e.checkpointId === history.entries[0].checkpointId)?.onCurrentBranch).toBe(false);
  });
});

describe("hostile customer text in the console", () => {
  /** Every element or attribute the markup would create, and any event-handler attribute anywhere. */
  const injected = (w: WatchedPage) =>
    w.page.evaluate(() => {
      const found: string[] = [];
      for (const el of Array.from(document.querySelectorAll("*"))) {
        for (const attr of Array.from(el.attributes)) {
          if (attr.name === "data-pwned" || attr.name.startsWith("on")) found.push(`<${el.tagName.toLowerCase()} ${attr.name}>`);
          if (/^\s*javascript:/i.test(attr.value)) found.push(`<${el.tagName.toLowerCase()} ${attr.name}="${attr.value}">`);
        }
        if (["IFRAME", "OBJECT", "EMBED", "SVG", "DETAILS"].includes(el.tagName.toUpperCase())) found.push(`<${el.tagName.toLowerCase()}>`);
        if (el.tagName === "SCRIPT" && !/^\/console\/static\/[a-z]+\.js$/.test(el.getAttribute("src") ?? ""))
          found.push(`<script src="${el.getAttribute("src") ?? ""}">`);
      }
      return found;
    });

  it("runs no script and creates no element on any page, and shows the text as text", async () => {
    const hostile = await stateOf("hostile");
    const customers = ["C-ANN"];
    const pages = [
      "/console?store=hostile",
      "/console/approvals?store=hostile",
      "/console/timeline?store=hostile",
      "/console/events?store=hostile&limit=500",
      "/console/events?store=hostile&type=CustomerMessage&limit=500",
      "/console/orders?store=hostile&limit=500",
      ...Object.keys(hostile.orders).map((id) => `/console/orders/${encodeURIComponent(id)}?store=hostile`),
      ...customers.map((id) => `/console/customers/${encodeURIComponent(id)}?store=hostile`),
      "/console/agents?store=hostile",
      "/console/stores?store=hostile",
      "/console/diff?store=hostile&from=head~5",
    ];
    const shown = new Set<string>();
    for (const path of pages) {
      const watched = await open(path);
      clean(watched, path);
      expect(await injected(watched), path).toEqual([]);
      const text = await watched.page.locator("body").innerText();
      for (const payload of MARKUP) if (text.includes(payload)) shown.add(payload);
      await watched.page.close();
    }
    // The markup reached the pages, as text: the check above looked at it.
    expect([...shown].sort()).toEqual([...MARKUP].sort());
    expect(hostile.pendingApprovals.length).toBeGreaterThan(0);
  });
});
