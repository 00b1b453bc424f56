/**
 * `langgraphjs dev` (what `npm run dev`, Studio and a deployment run) as a
 * child process on a free port, for the server tests and bench/server.ts.
 * Offline: the server gets no OPENAI_API_KEY, only PATH, HOME and what the
 * caller adds. No --reload: nothing restarts the server while it is used.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { freePort } from "./net.js";

const root = resolve(import.meta.dirname, "../..");

export interface DevServer {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Everything the server has printed so far (stdout and stderr). */
  log(): string;
  /** Stops the server and its workers, and waits for it to exit. */
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Variables for the server beside PATH and HOME (SHOPSTATE_DB, say). */
  env?: Record<string, string>;
  /** How long it may take to answer `GET /ok`. */
  startupMs: number;
}

/** Starts the dev server from the repository's root and waits until it answers; a server that does not is stopped, its log in the error. */
export async function startDevServer({ env = {}, startupMs }: DevServerOptions): Promise<DevServer> {
  const port = await freePort();
  let log = "";
  const child = spawn(
    process.execPath,
    [
      resolve(root, "node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs"),
      "dev",
      "--no-browser",
      "--no-reload",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ],
    {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? root, LANGGRAPH_CLI_NO_ANALYTICS: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so the server's workers stop with it.
      detached: true,
    },
  );
  child.stdout?.on("data", (d) => (log += d));
  child.stderr?.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const server: DevServer = { child, url, log: () => log, stop: () => stopProcessGroup(child) };
  const deadline = Date.now() + startupMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the dev server exited early:\n${log}`);
    try {
      if ((await fetch(`${url}/ok`)).ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await server.stop();
  throw new Error(`the dev server did not answer on ${url} within ${startupMs / 1000} s:\n${log}`);
}

function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (!child.pid || child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  process.kill(-child.pid, "SIGTERM");
  return exited;
}
