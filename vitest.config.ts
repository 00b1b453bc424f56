import { defineConfig } from "vitest/config";

// The offline tier: deterministic model, temporary SQLite files, no network.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    exclude: ["tests/**/*.int.test.ts", "node_modules/**"],
    globals: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
