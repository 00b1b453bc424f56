/**
 * `shopstate ui`: the console on the CLI's database, served on a local port
 * (127.0.0.1 by default; docs/console.md).
 */
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { StoreLocation } from "../store.js";
import { createConsoleApp } from "./app.js";
import { databaseSource } from "./db_source.js";

export interface ServeOptions {
  location: StoreLocation;
  where: string;
  store: string;
  port: number;
  host: string;
  open: boolean;
  run: { approvalThresholdCents: number; maxSteps: number };
}

export interface RunningConsole {
  url: string;
  close(): Promise<void>;
}

export async function serveConsole(options: ServeOptions): Promise<RunningConsole> {
  const source = databaseSource({ location: options.location, where: options.where, defaultStore: options.store, run: options.run });
  const { app } = createConsoleApp(source);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(s));
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}/console?${new URLSearchParams({ store: options.store })}`;
  if (options.open) openInBrowser(url);
  return {
    url,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await source.close();
    },
  };
}

/** Best effort: the desktop's opener; the URL is printed either way. */
function openInBrowser(url: string): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(command, [url], { stdio: "ignore", detached: true });
    child.on("error", () => undefined);
    child.unref();
  } catch {
    // No opener: the printed URL is enough.
  }
}
