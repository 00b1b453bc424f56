/**
 * The CLI starts without loading what its command does not use
 * (docs/architecture.md, "The CLI"): `--help` loads no LangGraph, zod, SQLite,
 * PostgreSQL or table printer; `state` and `ingest` on a SQLite store load no
 * PostgreSQL client, and without an OpenAI key no OpenAI client either.
 * How long that takes is measured by `npm run bench:cli` (bench/CLI.md), not here.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DEMO_FILE } from "../src/demo.js";
import { BIN, cleanEnv, cli, FROM_SOURCE, ROOT, tempDir, type Run } from "./support/cli.js";

/** Runs the CLI from source and returns the packages (under node_modules) its process loaded. */
function packagesLoaded(args: string[]): { code: number | null; packages: Set<string>; stdout: string } {
  const dir = tempDir();
  const log = join(dir, "loaded.txt");
  // A module hook that records every URL the process loads (hooks run on their own thread: a file carries them back).
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(
    hooks,
    `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + "\\n"); return next(url, context); }\n`,
  );
  const register = join(dir, "register.mjs");
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const run = spawnSync(process.execPath, ["--import", register, ...FROM_SOURCE, ...args], { cwd: ROOT, env: cleanEnv(), encoding: "utf8", timeout: 60_000 });
  const urls = existsSync(log) ? readFileSync(log, "utf8").split("\n") : [];
  const packages = new Set(urls.map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined));
  return { code: run.status, packages, stdout: run.stdout };
}

describe("what a command loads", () => {
  test("--help loads commander and none of the libraries behind the commands", () => {
    const { code, packages, stdout } = packagesLoaded(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: shopstate");
    expect(packages.has("commander")).toBe(true);
    for (const heavy of [
      "@langchain/langgraph",
      "@langchain/core",
      "@langchain/openai",
      "openai",
      "langsmith",
      "zod",
      "better-sqlite3",
      "pg",
      "cli-progress",
      "cli-table3",
    ])
      expect(packages.has(heavy), heavy).toBe(false);
  });

  test("ingest and state on a SQLite store load LangGraph and SQLite, but no PostgreSQL client, and no OpenAI client without a key", () => {
    const dir = tempDir();
    const db = join(dir, "s.db");
    const events = join(dir, "events.jsonl");
    // Two new products: the marketing agent runs on each (a launch post), with the offline model.
    writeFileSync(events, `${readFileSync(DEMO_FILE, "utf8").split("\n").slice(0, 2).join("\n")}\n`);
    const offline = ["pg", "@langchain/langgraph-checkpoint-postgres", "@langchain/openai", "openai"];
    const ingest = packagesLoaded(["ingest", events, "--db", db]);
    expect(ingest.code).toBe(0);
    expect(ingest.stdout).toContain("Ingested 2 of 2 events");
    for (const heavy of offline) expect(ingest.packages.has(heavy), `ingest loaded ${heavy}`).toBe(false);

    const state = packagesLoaded(["state", "--db", db]);
    expect(state.code).toBe(0);
    expect(state.packages.has("@langchain/langgraph")).toBe(true);
    expect(state.packages.has("better-sqlite3")).toBe(true);
    for (const heavy of offline) expect(state.packages.has(heavy), `state loaded ${heavy}`).toBe(false);
  });
});

describe("bin/shopstate.js", () => {
  test("runs the CLI's bundle in dist/bundle/ (built by `npm run build`, which `npm install` runs)", () => {
    expect(existsSync(join(ROOT, "dist", "bundle", "shopstate.js"))).toBe(true);
    const run = spawnSync(process.execPath, [BIN, "--help"], { cwd: ROOT, env: cleanEnv(), encoding: "utf8", timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Usage: shopstate");
  });

  test("the bundle does what the sources do: demo (its data file found), eval (its corpus found), ingest, state, events, verify", async () => {
    const dir = tempDir();
    const events = join(dir, "events.jsonl");
    writeFileSync(events, `${readFileSync(DEMO_FILE, "utf8").split("\n").slice(0, 30).join("\n")}\n`);
    // Checkpoint ids and the database's path differ between two runs; nothing else may.
    const same = (text: string, db: string) => text.replaceAll(db, "DB").replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "ID");
    const commands = (db: string) => [
      ["demo", "--json", "--db", db, "--thread", "demo"],
      ["eval", "--json", "--limit", "1", "--agents", "inventory"],
      ["ingest", events, "--json", "--db", db],
      ["state", "--json", "--db", db],
      ["events", "--json", "--db", db],
      ["verify", "--json", "--db", db],
    ];
    const fromBundle = join(dir, "bundle.db");
    const fromSource = join(dir, "source.db");
    for (const [i, args] of commands(fromBundle).entries()) {
      const bundled = await runBin(args);
      const source = await cli(commands(fromSource)[i], { timeoutMs: 240_000 });
      expect(bundled.code, `${args[0]}: ${bundled.stderr}`).toBe(source.code);
      expect(bundled.code, `${args[0]}: ${bundled.stderr}`).toBe(0);
      // The eval's times are measured, not computed.
      const text = (run: Run, db: string) => (args[0] === "eval" ? evalDecisions(run.stdout) : same(run.stdout, db));
      expect(text(bundled, fromBundle), args[0]).toBe(text(source, fromSource));
    }
  }, 600_000);
});

/** What the eval decided, without how long it took. */
function evalDecisions(stdout: string): string {
  return JSON.stringify(JSON.parse(stdout), (key, value: unknown) => (key === "latencyMs" ? undefined : value));
}

/** Runs the CLI as a user does, through bin/shopstate.js and its bundle. */
function runBin(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(), timeout: 240_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
