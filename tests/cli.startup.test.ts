/**
 * The CLI starts without loading what its command does not use
 * (docs/architecture.md, "The CLI"): `--help` loads no LangGraph, zod, SQLite
 * or PostgreSQL, and `state` on a SQLite store loads no PostgreSQL client.
 * How long that takes is measured by `npm run bench:cli` (bench/CLI.md), not here.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DEMO_FILE } from "../src/demo.js";
import { BIN, cleanEnv, cli, FROM_SOURCE, ROOT, tempDir } from "./support/cli.js";

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
    for (const heavy of ["@langchain/langgraph", "@langchain/core", "@langchain/openai", "zod", "better-sqlite3", "pg", "cli-progress"])
      expect(packages.has(heavy), heavy).toBe(false);
  });

  test("state on a SQLite store loads LangGraph and SQLite but no PostgreSQL client", async () => {
    const dir = tempDir();
    const db = join(dir, "s.db");
    const events = join(dir, "events.jsonl");
    writeFileSync(events, `${readFileSync(DEMO_FILE, "utf8").split("\n")[0]}\n`);
    expect((await cli(["ingest", events, "--db", db])).code).toBe(0);
    const { code, packages } = packagesLoaded(["state", "--db", db]);
    expect(code).toBe(0);
    expect(packages.has("@langchain/langgraph")).toBe(true);
    expect(packages.has("better-sqlite3")).toBe(true);
    for (const heavy of ["pg", "@langchain/langgraph-checkpoint-postgres"]) expect(packages.has(heavy), heavy).toBe(false);
  });
});

describe("bin/shopstate.js", () => {
  test("runs the compiled CLI in dist/ (built by `npm run build`, which `npm install` runs)", () => {
    expect(existsSync(join(ROOT, "dist", "cli", "run.js"))).toBe(true);
    const run = spawnSync(process.execPath, [BIN, "--help"], { cwd: ROOT, env: cleanEnv(), encoding: "utf8", timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Usage: shopstate");
  });
});
