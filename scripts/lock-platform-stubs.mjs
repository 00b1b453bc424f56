#!/usr/bin/env node
// The npm registry mirror of our build machines serves only Linux builds of
// platform-specific optional packages (e.g. @tailwindcss/oxide-darwin-arm64,
// pulled in by @langchain/langgraph-cli's UI toolchain). `npm install` then
// leaves them out of package-lock.json and `npm ci` refuses the lock as out of
// sync. This adds a stub entry (version, os, cpu, optional) for each missing
// optional dependency: npm never fetches them on Linux, and keeps them on later
// installs. Run it after regenerating the lockfile: node scripts/lock-platform-stubs.mjs
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const OS = ["android", "darwin", "freebsd", "linux", "win32", "openbsd", "sunos", "aix"];
const CPU = ["arm64", "x64", "ia32", "arm", "wasm32", "ppc64", "s390x", "riscv64", "loong64"];

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const tokens = name.split("/").pop().split("-");
    const os = OS.filter((o) => tokens.includes(o));
    const cpu = CPU.filter((c) => tokens.includes(c) || (c === "arm" && tokens.includes("gnueabihf")));
    lock.packages[key] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(os.length ? { os } : {}),
      ...(cpu.length ? { cpu: [cpu[0]] } : {}),
    };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} stub entr${added === 1 ? "y" : "ies"} for optional platform packages`);
