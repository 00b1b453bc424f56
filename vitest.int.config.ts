import { defineConfig } from "vitest/config";

// The integration tier: real servers (LangGraph dev server, PostgreSQL) started by the tests.
export default defineConfig({
  test: {
    include: ["tests/**/*.int.test.ts"],
    globals: true,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    fileParallelism: false,
  },
});
