/**
 * Running the real CLI in a child process, as a user does: a clean
 * environment, a temporary directory, and JSON output parsed with an error
 * that shows the text when it is not JSON. The child runs the sources
 * (`src/cli/run.ts` through tsx), so a test needs no build; `bin/shopstate.js`
 * runs the same entry compiled (tests/cli.startup.test.ts covers it).
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "shopstate.js");
/** The CLI's entry from source: what `bin/shopstate.js` runs compiled. */
export const SOURCE_ENTRY = join(ROOT, "src", "cli", "run.ts");
/** Node's arguments that run the CLI from source. */
export const FROM_SOURCE = ["--import", "tsx", SOURCE_ENTRY];

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  /** How long the command may run before it is killed (default 60 s; a busy machine needs more for a long command). */
  timeoutMs?: number;
}

/** The environment without any shopstate, OpenAI or LangSmith settings of the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!["SHOPSTATE_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_"].some((prefix) => key.startsWith(prefix))) env[key] = value;
  }
  return { ...env, ...extra };
}

export function cli(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...FROM_SOURCE, ...args], { cwd: ROOT, env: cleanEnv(options.env), timeout: options.timeoutMs ?? 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "shopstate-cli-"));
}

export function parseJson<T = unknown>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${what} is not one JSON document (${(error as Error).message}):\n${text}`, { cause: error });
  }
}

/** Non-empty lines of a stream, each parsed as JSON. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => parseJson<Record<string, unknown>>(l, `stderr line ${JSON.stringify(l)}`));
}
