#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm install` runs through `prepare`):
// compiling the TypeScript sources at every start cost most of a command's time.
import { existsSync } from "node:fs";
import module from "node:module";

const entry = new URL("../dist/cli/run.js", import.meta.url);
if (!existsSync(entry)) {
  console.error("shopstate: the compiled CLI (dist/) is missing: run 'npm run build' (npm install runs it)");
  process.exit(1);
}
// Node 22+ keeps compiled code between runs; Node 20 has no such cache.
module.enableCompileCache?.();
await import(entry.href);
