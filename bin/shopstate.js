#!/usr/bin/env node
// Runs the CLI's bundle (dist/bundle/, built by `npm run build`, which `npm install` runs through `prepare`):
// compiling the TypeScript sources at every start, then finding and linking ~700 modules one by one, cost most of a
// command's time (scripts/bundle-cli.mjs).
import { existsSync } from "node:fs";
import module from "node:module";

const entry = new URL("../dist/bundle/shopstate.js", import.meta.url);
if (!existsSync(entry)) {
  console.error("shopstate: the compiled CLI (dist/bundle/) is missing: run 'npm run build' (npm install runs it)");
  process.exit(1);
}
// Node 22+ keeps compiled code between runs; Node 20 has no such cache.
module.enableCompileCache?.();
await import(entry.href);
