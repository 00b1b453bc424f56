/**
 * The console's page frame and small helpers. Every value goes through
 * `hono/html`'s `html` tag, which escapes each interpolation (`& < > " '`);
 * only fragments built by `html` itself are inserted as they are. Customer
 * text is hostile: it is never put in a URL other than as an encoded query
 * value of our own paths, never in a script, never unescaped.
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The pages in the nav, in order. */
export const NAV = [
  ["overview", "/console", "Overview"],
  ["approvals", "/console/approvals", "Approvals"],
  ["timeline", "/console/timeline", "Timeline"],
  ["events", "/console/events", "Events"],
  ["orders", "/console/orders", "Orders"],
  ["agents", "/console/agents", "Agents"],
  ["stores", "/console/stores", "Stores"],
] as const;
export type PageName = (typeof NAV)[number][0] | "diff" | "order" | "customer" | "rollback" | "error";

export interface Frame {
  title: string;
  page: PageName;
  store: string;
  stores: string[];
  /** The checkpoint shown, when not the head. */
  at?: string;
  where: string;
  kind: "database" | "server";
  /** Scripts (our own static files) this page loads. */
  scripts?: string[];
}

/** A path of ours with the store (and any other) query values, encoded. */
export function href(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export function cents(amount: number): string {
  const sign = amount < 0 ? "-" : "";
  return `${sign}$${(Math.abs(amount) / 100).toFixed(2)}`;
}

export function layout(frame: Frame, body: Html): Html {
  const nav = NAV.map(
    ([name, path, label]) =>
      html`<li><a href="${href(path, { store: frame.store })}" ${name === frame.page ? html`aria-current="page"` : ""}>${label}</a></li>`,
  );
  const options = (frame.stores.includes(frame.store) ? frame.stores : [frame.store, ...frame.stores]).map(
    (name) => html`<option value="${name}" ${name === frame.store ? "selected" : ""}>${name}</option>`,
  );
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${frame.title} · ${frame.store} · shopstate console</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/console/static/console.css" />
        ${frame.scripts?.includes("chart") ? html`<link rel="stylesheet" href="/console/static/uplot.css" />` : ""}
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <p class="brand">shopstate console</p>
          <nav aria-label="Console pages">
            <ul>
              ${nav}
            </ul>
          </nav>
          <form method="get" action="/console" class="switcher">
            <label for="store-switch">Store</label>
            <select id="store-switch" name="store">
              ${options}
            </select>
            <button type="submit">Switch</button>
          </form>
        </header>
        <main id="main">
          <h1>${frame.title}</h1>
          ${frame.at ? html`<p class="note" role="status">Showing the store at checkpoint <code>${frame.at}</code>, not its head. <a href="${href("/console", { store: frame.store })}">Back to the head</a></p>` : ""}
          ${body}
        </main>
        <footer>
          <p>Store <strong>${frame.store}</strong> in ${frame.where} (${frame.kind === "server" ? "LangGraph server" : "CLI database"}).</p>
        </footer>
        ${(frame.scripts ?? []).flatMap((s) => (s === "chart" ? [html`<script src="/console/static/uplot.js"></script>`, html`<script src="/console/static/chart.js"></script>`] : []))}
      </body>
    </html>`;
}

/** A hidden CSRF field for a POST form. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="csrf" value="${token}" />`;
}

/** A status in words (never colour alone), with a class for styling. */
export function badge(text: string): Html {
  return html`<span class="badge badge-${text.replace(/[^a-z-]/gi, "")}">${text}</span>`;
}

/** A compact JSON rendering of a value, escaped like everything else. */
export function json(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value);
}
