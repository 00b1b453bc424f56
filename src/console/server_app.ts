/**
 * The console as the LangGraph server's custom app (`langgraph.json`
 * `"http": {"app": "./src/console/server_app.ts:app"}`; docs/console.md).
 * Mounted before the server's own routes, so every path of ours is under
 * `/console`. Each request reads the server's threads through its own API
 * (in-process, through the loopback fetch the server binds for custom routes), passing the caller's credentials on (custom auth then
 * applies to the console's reads and writes as to any client's), and the
 * events from the event store the environment names, opened once per process
 * as graphs/store.ts opens it.
 */
import { loadConfig } from "../config.js";
import { eventStoreFromConfig } from "../persistence/open_event_store.js";
import { redactUrl } from "../persistence/url.js";
import { createConsoleApp } from "./app.js";
import { serverSource } from "./server_source.js";

const config = loadConfig();
const events = eventStoreFromConfig(config);
const where = config.databaseUrl === undefined ? `the event store ${config.dbPath}` : `the event store ${redactUrl(config.databaseUrl)}`;

/** Headers of the caller passed on to the server's API. */
const FORWARDED = ["authorization", "x-api-key", "cookie"];

export const { app } = createConsoleApp((request) => {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  // Inside the server the SDK finds its loopback fetch; elsewhere (a test mounting this app alone) the request's origin.
  const loopback = Symbol.for("langgraph_api:fetch") in globalThis;
  return serverSource({ apiUrl: loopback ? undefined : new URL(request.url).origin, headers, events, where });
});
