/**
 * The CLI's bundle (`npm run build`, after tsc): dist/cli/run.js and every
 * module it loads, ours and the libraries', joined by esbuild into a few files
 * under dist/bundle/, which `bin/shopstate.js` runs.
 *
 * Why: a command loads ~700 modules (LangGraph, LangChain core, LangSmith,
 * zod), and Node spent more time finding, reading and linking them one by one
 * than running them. The bundle keeps the CLI's lazy loading: each
 * `import()` of the sources is a chunk of its own, loaded when a command runs,
 * so `--help` still loads commander and little else.
 *
 * What the bundle leaves out and Node loads from node_modules as before: the
 * native SQLite binding, and the PostgreSQL and job-queue libraries (only the
 * PostgreSQL commands load them). Each bundled module still sees its own file
 * as `import.meta.url`, so files found relative to it (data/demo-day.jsonl,
 * eval/, the console's static files) are found as before. (No bundled module
 * uses CommonJS's `__dirname`: one that did would need the same treatment.)
 */
import { rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = `${ROOT}dist/bundle`;

/** Node loads these from node_modules: a native binding, and libraries only the PostgreSQL commands use. */
const EXTERNAL = ["better-sqlite3", "pg", "pg-native", "graphile-worker", "@langchain/langgraph-checkpoint-postgres"];

/** A path from the bundle's directory, where every output file lives, to `file`: a URL that works wherever the project is. */
const fromBundle = (file) => JSON.stringify(relative(OUT, file).split("\\").join("/"));

/** Each module keeps its own location: `import.meta.url` names its original file. */
const ownLocation = {
  name: "own-location",
  setup(build) {
    build.onLoad({ filter: /\.(c|m)?js$/ }, async ({ path }) => {
      const text = await readFile(path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      return { contents: text.replaceAll("import.meta.url", `new URL(${fromBundle(path)}, import.meta.url).href`), loader: "js", resolveDir: dirname(path) };
    });
  },
};

/**
 * zod's `locales` namespace holds its error messages in ~50 languages (about a third of what zod adds to a command's
 * load); nothing in the CLI switches language (`z.config(z.locales.xx())`), and zod sets English up by importing it
 * directly. In the bundle the namespace holds English only.
 */
const englishOnlyZod = {
  name: "english-only-zod",
  setup(build) {
    // The path names the importer's directory, so English comes from the same copy of zod.
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer }) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/](core|classic|mini)[\\/]/.test(importer)
        ? { path: relative(ROOT, dirname(importer)), namespace: "english-only-zod" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "english-only-zod" }, ({ path }) => ({
      contents: 'export { default as en } from "../locales/en.js";',
      resolveDir: `${ROOT}${path}`,
      loader: "js",
    }));
  },
};

/**
 * LangSmith makes a UUID for every run tree, and LangChain makes a run tree for every runnable a graph step calls, traced
 * or not (about ten per agent task). Their random bytes come from `crypto.getRandomValues`, 16 bytes a call, which costs
 * several times more on Node than the bytes (and loads the Web Crypto module on first use). In the bundle, LangSmith's
 * and LangChain's UUID modules take them from the same generator, 256 bytes at a time, as the uuid package does on Node.
 */
const POOLED_RNG =
  /[\\/]node_modules[\\/](langsmith[\\/]lib[\\/]utils[\\/]uuid[\\/]src[\\/]rng\.mjs|@langchain[\\/]core[\\/]dist[\\/]utils[\\/]uuid[\\/]rng\.js)$/;
const pooledUuidRandom = {
  name: "pooled-uuid-random",
  setup(build) {
    let replaced = 0;
    build.onEnd(() => {
      if (replaced === 0) process.stderr.write("bundle-cli: warning: no UUID random module of LangSmith or LangChain found to pool (moved in an update?)\n");
    });
    build.onLoad({ filter: POOLED_RNG }, () => {
      replaced++;
      return { contents: POOLED_RNG_SOURCE, loader: "js" };
    });
  },
};
const POOLED_RNG_SOURCE = `import { randomFillSync } from "node:crypto";
const pool = new Uint8Array(256);
let next = pool.length;
export default function rng() {
  if (next > pool.length - 16) {
    randomFillSync(pool);
    next = 0;
  }
  return pool.slice(next, (next += 16));
}`;

// Chunks are named by their content: a previous build's would stay beside them.
rmSync(OUT, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: { shopstate: `${ROOT}dist/cli/run.js` },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: OUT,
  chunkNames: "[name]-[hash]",
  external: EXTERNAL,
  // CommonJS libraries inside the bundle `require` Node's own modules: an ES module has no `require` of its own.
  banner: { js: 'import { createRequire as __shopstateCreateRequire } from "node:module"; const require = __shopstateCreateRequire(import.meta.url);' },
  plugins: [pooledUuidRandom, ownLocation, englishOnlyZod],
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  // For `node --enable-source-maps bin/shopstate.js`: stack traces that name the compiled files.
  sourcemap: "linked",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"));
const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
process.stderr.write(`bundle-cli: ${outputs.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, in ${relative(ROOT, OUT)}/ (entry shopstate.js)\n`);
