// @ts-check
import eslint from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", ".shopstate/", ".langgraph_api/", "bench/results/", "scratch/"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // config.ts is the only module that reads the environment.
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Read configuration through src/config.ts." }],
    },
  },
  {
    // Type-aware: a promise nobody awaits loses its error and its ordering (the review found several by hand).
    files: ["src/**/*.ts", "graphs/**/*.ts", "tests/**/*.ts", "bench/**/*.ts", "scripts/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { "@typescript-eslint/no-floating-promises": "error" },
  },
  { files: ["bin/**/*.js", "scripts/**/*.mjs", "*.js"], languageOptions: { globals: globals.node } },
  // The console's one browser script (src/console/static/), a plain file served as it is.
  { files: ["src/console/static/**/*.js"], languageOptions: { globals: globals.browser, sourceType: "script" } },
  { files: ["src/config.ts", "tests/**", "bench/**", "scripts/**"], rules: { "no-restricted-properties": "off" } },
);
