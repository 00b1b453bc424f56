#!/usr/bin/env node
/**
 * CI's verdict, read from vitest's JSON reports and the chaos run's exit code:
 *
 *   node scripts/ci-summary.mjs [--chaos-exit N] report.json[=EXIT]...
 *
 * EXIT is the exit code of the vitest run that wrote the report.
 *
 * Prints what went wrong (failed tests, suites that crashed or whose set-up
 * failed, the tests those skipped, a failed chaos run, a missing report), names
 * every skipped test, and ends with one line `N passed, N failed`. Exits 1 when
 * anything failed.
 *
 * What vitest 4's JSON report says, and does not (checked on real reports, see
 * tests/fixtures/ci-summary/):
 * - a file that throws while loading: `testResults[].status` "failed",
 *   `message` the error, no tests;
 * - a `beforeAll` that throws: the file "failed", its tests "skipped", the
 *   error in `message` for a file-level hook and an empty `message` for a hook
 *   inside a `describe`;
 * - an unhandled error (a rejected promise nobody awaited): every test
 *   passes, `success` stays true, and only vitest's exit code tells;
 * - there is no `numRuntimeErrorTestSuites`.
 *
 * "N failed" counts failures, not only tests: each failed test, each failed
 * suite none of whose tests failed, each test skipped in such a suite, a run
 * that failed with nothing failed in its report (unhandled errors), a missing
 * or empty report, and a failed chaos run.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/**
 * @typedef {{ title: string, fullName?: string, ancestorTitles?: string[], status: string }} Assertion
 * @typedef {{ name: string, status: string, message?: string, assertionResults: Assertion[] }} FileResult
 * @typedef {{ numPassedTests: number, numTotalTests: number, success: boolean, testResults: FileResult[] }} Report
 */

/** @param {string} file @param {Assertion} test */
const testName = (file, test) => [basename(file), ...(test.ancestorTitles ?? []), test.title].join(" > ");

/**
 * Reads one report (or its absence) into counts and lines to print.
 * @param {string} label what the lines call the report
 * @param {Report | undefined} report
 * @param {number} [exitCode] the exit code of the vitest run that wrote it
 */
export function summariseReport(label, report, exitCode = 0) {
  /** @type {{ passed: number, failed: number, problems: string[], skipped: string[] }} */
  const out = { passed: 0, failed: 0, problems: [], skipped: [] };
  if (report === undefined) {
    out.failed += 1;
    out.problems.push(`${label}: no report (the test run did not finish)`);
    return out;
  }
  if (report.numTotalTests === 0) {
    out.failed += 1;
    out.problems.push(`${label}: the report holds no tests`);
  }
  let counted = 0;
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    const failedTests = tests.filter((t) => t.status === "failed");
    const skippedTests = tests.filter((t) => t.status === "skipped" || t.status === "pending" || t.status === "todo");
    out.passed += tests.filter((t) => t.status === "passed").length;
    for (const t of failedTests) out.problems.push(`${label}: FAILED ${testName(file.name, t)}`);
    out.failed += failedTests.length;
    counted += failedTests.length;
    if (file.status === "failed" && failedTests.length === 0) {
      // The suite failed outside its tests: it crashed while loading, or a set-up hook threw.
      const why = file.message ? `: ${file.message.split("\n")[0]}` : " (a set-up hook inside a describe threw; the log above has the error)";
      const kind = tests.length === 0 ? "suite crashed" : "suite set-up failed";
      out.problems.push(`${label}: ${kind} ${basename(file.name)}${why}`);
      out.failed += 1 + skippedTests.length;
      counted += 1 + skippedTests.length;
      for (const t of skippedTests) out.problems.push(`${label}: NOT RUN (set-up failed) ${testName(file.name, t)}`);
    } else {
      for (const t of skippedTests) out.skipped.push(`${label}: skipped ${testName(file.name, t)}`);
    }
  }
  if ((report.success === false || exitCode !== 0) && counted === 0 && report.numTotalTests !== 0) {
    out.failed += 1;
    out.problems.push(
      `${label}: vitest ${exitCode !== 0 ? `exited ${exitCode}` : "reported a failure"} with no failed test in its report (an unhandled error; the log above has it)`,
    );
  }
  return out;
}

/**
 * The whole verdict: every report, then the chaos run.
 * @param {{ label: string, report: Report | undefined, exitCode?: number }[]} reports
 * @param {number | undefined} chaosExit the chaos run's exit code, undefined when it was not run
 */
export function summarise(reports, chaosExit) {
  let passed = 0;
  let failed = 0;
  const lines = [];
  const skipped = [];
  for (const { label, report, exitCode } of reports) {
    const r = summariseReport(label, report, exitCode);
    passed += r.passed;
    failed += r.failed;
    lines.push(...r.problems);
    skipped.push(...r.skipped);
  }
  if (chaosExit !== undefined && chaosExit !== 0) {
    failed += 1;
    lines.push(`chaos: FAILED (npm run chaos exited ${chaosExit})`);
  }
  lines.push(...skipped);
  lines.push(`${passed} passed, ${failed} failed`);
  return { passed, failed, lines };
}

/** @param {string} file */
function readReport(file) {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function main() {
  const { values, positionals } = parseArgs({ options: { "chaos-exit": { type: "string" } }, allowPositionals: true });
  const chaosText = values["chaos-exit"];
  const chaosExit = chaosText === undefined ? undefined : Number(chaosText);
  if (chaosExit !== undefined && !Number.isInteger(chaosExit)) {
    console.error(`ci-summary: --chaos-exit must be an exit code, got '${chaosText}'`);
    return 2;
  }
  if (positionals.length === 0) {
    console.error("ci-summary: name at least one vitest JSON report");
    return 2;
  }
  const runs = [];
  for (const arg of positionals) {
    const match = /^(.*?)(?:=(-?\d+))?$/.exec(arg);
    const file = match?.[1] ?? arg;
    runs.push({ label: basename(file), report: readReport(file), exitCode: match?.[2] === undefined ? 0 : Number(match[2]) });
  }
  const { failed, lines } = summarise(runs, chaosExit);
  for (const line of lines) console.log(line);
  return failed === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exitCode = main();
