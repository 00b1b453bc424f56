/**
 * CI's last line (`.ci/run`, scripts/ci-summary.mjs) counts every kind of
 * failure. The fixtures are real vitest 4 JSON reports of tiny test files,
 * trimmed (timings and stack traces): see the script's header for what each shows.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
// @ts-expect-error a plain ES module without declarations; the script is run by node in CI, not compiled
import { summarise } from "../scripts/ci-summary.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIXTURES = join(ROOT, "tests", "fixtures", "ci-summary");
const SCRIPT = join(ROOT, "scripts", "ci-summary.mjs");

interface Summary {
  passed: number;
  failed: number;
  lines: string[];
}
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as unknown;
const summary = (runs: { name: string; exitCode?: number }[], chaosExit?: number): Summary =>
  summarise(
    runs.map((r) => ({ label: r.name, report: fixture(r.name), exitCode: r.exitCode })),
    chaosExit,
  ) as Summary;

describe("the CI summary", () => {
  test("a green run: every test counted as passed, the deliberately skipped test named, 0 failed", () => {
    const s = summary([{ name: "passing" }], 0);
    expect(s.lines.at(-1)).toBe("1 passed, 0 failed");
    expect(s.lines).toContain("passing: skipped pass.test.ts > deliberately skipped");
  });

  test("a failed test is counted and named", () => {
    const s = summary([{ name: "failed-test", exitCode: 1 }]);
    expect(s.lines.at(-1)).toBe("1 passed, 1 failed");
    expect(s.lines).toContain("failed-test: FAILED fail.test.ts > bad");
  });

  test("a suite that throws while loading counts as a failure (it has no tests to fail)", () => {
    const s = summary([{ name: "crashed-suite", exitCode: 1 }]);
    expect(s.failed).toBe(1);
    expect(s.lines.some((l) => l.includes("suite crashed crash.test.ts: boom at import"))).toBe(true);
  });

  test("a suite whose beforeAll throws: the suite and each test it skipped are failures, the tests named", () => {
    // hook.test.ts: a describe's beforeAll threw (2 tests skipped, 1 passed outside it); tophook.test.ts: a file-level one (1 skipped).
    const s = summary([{ name: "setup-failed", exitCode: 1 }]);
    expect(s.lines.at(-1)).toBe("1 passed, 5 failed");
    expect(s.lines).toEqual(
      expect.arrayContaining([
        "setup-failed: NOT RUN (set-up failed) hook.test.ts > group > a",
        "setup-failed: NOT RUN (set-up failed) hook.test.ts > group > b",
        "setup-failed: NOT RUN (set-up failed) tophook.test.ts > x",
      ]),
    );
    expect(s.lines.some((l) => l.includes("suite set-up failed tophook.test.ts: top setup failed"))).toBe(true);
  });

  test("an unhandled error: every test passed and the report says success, but vitest exited 1", () => {
    expect(summary([{ name: "unhandled", exitCode: 0 }]).failed).toBe(0);
    const s = summary([{ name: "unhandled", exitCode: 1 }]);
    expect(s.lines.at(-1)).toBe("2 passed, 1 failed");
  });

  test("a file with no tests, and a missing report, are failures", () => {
    expect(summary([{ name: "empty-file", exitCode: 1 }]).failed).toBeGreaterThanOrEqual(1);
    const s = summarise([{ label: "int.json", report: undefined, exitCode: 1 }], 0) as Summary;
    expect(s.lines.at(-1)).toBe("0 passed, 1 failed");
  });

  test("a failed chaos run is counted", () => {
    const s = summary([{ name: "passing" }], 1);
    expect(s.lines.at(-1)).toBe("1 passed, 1 failed");
    expect(s.lines).toContain("chaos: FAILED (npm run chaos exited 1)");
  });

  test("the command prints the line last and exits 1 on any failure, 0 on none", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { cwd: FIXTURES, encoding: "utf8" });
    const green = run("passing.json=0", "--chaos-exit", "0");
    expect(green.status).toBe(0);
    expect(green.stdout.trimEnd().split("\n").at(-1)).toBe("1 passed, 0 failed");
    const red = run("passing.json=0", "setup-failed.json=1", "missing.json=1", "--chaos-exit", "1");
    expect(red.status).toBe(1);
    // 5 from the set-up failures, 1 missing report, 1 chaos run.
    expect(red.stdout.trimEnd().split("\n").at(-1)).toBe("2 passed, 7 failed");
  });
});
