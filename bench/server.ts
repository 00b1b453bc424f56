/**
 * `npm run bench:server [-- --events N --batch B --seed S --write]`
 *
 * The store graph on the real LangGraph dev server (`langgraphjs dev`, what
 * `npm run dev`, Studio and a deployment run), driven with
 * @langchain/langgraph-sdk as Studio drives it: one new thread, the seeded
 * stream (bench/generator.ts) in batches of 100 input events, each batch one
 * `runs.wait` with input `{inbox: [...]}`. A run that pauses at the approval
 * gate is resumed before the next batch with a person's decisions: every
 * refund it shows is approved, as someone working the queue would, so that
 * pending approvals (working set by design) do not pile up for ever. With
 * `--leave-approvals` it is resumed with no decisions instead, as `shopstate
 * ingest` does, and the pending approvals grow with the stream. Offline model:
 * the server gets no OpenAI key.
 *
 * Records the run time of every batch, and at 1,000 input events and at the
 * end the bytes and time of `GET /threads/{id}/state` and of
 * `POST /threads/{id}/history` with `limit: 10`, and checks the targets of
 * issue 12. Prints the section; with `--write` replaces the server section of
 * bench/RESULTS.md. Never takes port 2024: the server gets a free port.
 *
 * `--from bench/results/<file>.json` renders the section from a run this
 * script recorded, with that run's commit, settings and load, instead of
 * running again (a 10,000-event run takes most of an hour on the dev server).
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@langchain/langgraph-sdk";
import { startDevServer } from "../tests/support/dev_server.js";
import { generateWorkload } from "./generator.js";
import { mean, median } from "./measure.js";
import { describeRun, load as loadNow, markdownTable, runInfo, verdict, writeSection, type RunInfo } from "./results_file.js";
import { logLengthOf } from "./stores.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "10000" },
    batch: { type: "string", default: "100" },
    seed: { type: "string", default: "42" },
    /** Readings of state and history at each mark (median); a reading slower than 5 s is taken once. */
    repeats: { type: "string", default: "3" },
    /** Resume paused runs with no decisions (the approvals stay pending and pile up). */
    "leave-approvals": { type: "boolean", default: false },
    /** A results JSON this script wrote: render its section instead of running. */
    from: { type: "string" },
    write: { type: "boolean", default: false },
  },
});
/** What a recorded run (`--from`) holds: the run's settings and info, its batches and marks. */
interface Recorded {
  info: RunInfo;
  loadAtEnd?: string;
  events: number;
  batch: number;
  seed: number;
  leaveApprovals?: boolean;
  repeats?: number;
  threadId: string;
  batches: BatchRun[];
  atFirstMark: ServerMark;
  atEnd: ServerMark;
}
const recorded = args.from ? (JSON.parse(readFileSync(args.from, "utf8")) as Recorded) : undefined;
const total = recorded?.events ?? Number(args.events);
const batchSize = recorded?.batch ?? Number(args.batch);
const seed = recorded?.seed ?? Number(args.seed);
const leaveApprovals = recorded ? recorded.leaveApprovals === true : args["leave-approvals"];
const repeats = recorded?.repeats ?? Number(args.repeats);
const FIRST_MARK = Math.min(1000, total);
/** Batches averaged at each end of the run for the timing target. */
const WINDOW = 10;
const info = recorded?.info ?? runInfo(`npm run bench:server -- ${process.argv.slice(2).join(" ")}`.trim().replace(/ --$/, ""));

interface Reading {
  bytes: number;
  ms: number;
}

interface ServerMark {
  inputEvents: number;
  /** Events in the log, where the state's values show them. */
  logEvents?: number;
  state: Reading;
  history10: Reading;
}

interface BatchRun {
  end: number;
  ms: number;
  /** The resume of a run paused at the approval gate, before the next batch (not in `ms`). */
  resumeMs?: number;
}

/** One endpoint's response, read whole as bytes: its size and the time to the last byte. */
async function read(url: string, init?: RequestInit): Promise<Reading & { body: Buffer }> {
  const start = performance.now();
  const response = await fetch(url, init);
  const body = Buffer.from(await response.arrayBuffer());
  const ms = performance.now() - start;
  if (!response.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${response.status} ${body.toString("utf8").slice(0, 500)}`);
  return { bytes: body.length, ms, body };
}

/** Median of `repeats` readings; one when the first is slow (the machine is shared). */
async function readings(take: () => Promise<Reading & { body: Buffer }>): Promise<Reading & { body: Buffer }> {
  const first = await take();
  const all = [first];
  if (first.ms < 5_000) for (let i = 1; i < repeats; i++) all.push(await take());
  return { ...first, ms: median(all.map((r) => r.ms)) };
}

async function mark(url: string, threadId: string, inputEvents: number): Promise<ServerMark> {
  const state = await readings(() => read(`${url}/threads/${threadId}/state`));
  const history10 = await readings(() =>
    read(`${url}/threads/${threadId}/history`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ limit: 10 }) }),
  );
  const values = (JSON.parse(state.body.toString("utf8")) as { values?: unknown }).values;
  return {
    inputEvents,
    logEvents: logLengthOf(values),
    state: { bytes: state.bytes, ms: state.ms },
    history10: { bytes: history10.bytes, ms: history10.ms },
  };
}

interface GatePause {
  __interrupt__?: { value?: { pendingApprovals?: { id: string }[] } }[];
}

const paused = (result: unknown) => ((result as GatePause | null)?.__interrupt__ ?? []).length > 0;

/** What the person resumes a paused run with: every refund the gate shows approved, or nothing with --leave-approvals. */
function decisionsFor(result: unknown) {
  if (leaveApprovals) return [];
  const shown = ((result as GatePause).__interrupt__ ?? []).flatMap((i) => i.value?.pendingApprovals ?? []);
  return shown.map((a) => ({ approvalId: a.id, decision: "approved", by: "bench", reason: "the queue is worked at every pause" }));
}

async function main() {
  const lines = generateWorkload({ events: total, seed });
  process.stderr.write(`bench:server: starting the LangGraph dev server...\n`);
  const server = await startDevServer({ startupMs: 180_000 });
  try {
    const client = new Client({ apiUrl: server.url, apiKey: null });
    const threadId = (await client.threads.create({ threadId: randomUUID() })).thread_id;
    const batches: BatchRun[] = [];
    let atFirstMark: ServerMark | undefined;
    for (let i = 0; i < lines.length; i += batchSize) {
      const inbox = lines.slice(i, i + batchSize);
      const start = performance.now();
      const result = await client.runs.wait(threadId, "store", { input: { inbox } });
      const run: BatchRun = { end: i + inbox.length, ms: performance.now() - start };
      if (paused(result)) {
        const resumed = performance.now();
        const after = await client.runs.wait(threadId, "store", { command: { resume: { decisions: decisionsFor(result) } } });
        run.resumeMs = performance.now() - resumed;
        if (paused(after)) throw new Error(`batch ending at input event ${run.end}: the run paused again after its resume`);
      }
      batches.push(run);
      process.stderr.write(
        `bench:server: ${run.end}/${total} input events, ${run.ms.toFixed(0)} ms${run.resumeMs !== undefined ? ` (+ resume ${run.resumeMs.toFixed(0)} ms)` : ""}\n`,
      );
      if (!atFirstMark && run.end >= FIRST_MARK) atFirstMark = await mark(server.url, threadId, run.end);
    }
    const atEnd = await mark(server.url, threadId, total);
    // The dev server keeps its threads in .langgraph_api/ across restarts: do not leave this one's megabytes there.
    await client.threads.delete(threadId);
    return { threadId, batches, atFirstMark: atFirstMark ?? atEnd, atEnd };
  } catch (error) {
    process.stderr.write(`bench:server: the server's log:\n${server.log()}\n`);
    throw error;
  } finally {
    await server.stop();
  }
}

const result = recorded ?? (await main());
const loadAtEnd = recorded ? (recorded.loadAtEnd ?? "not recorded") : loadNow();
const { batches, atFirstMark, atEnd } = result;
const first = mean(batches.slice(0, WINDOW).map((b) => b.ms));
const last = mean(batches.slice(-WINDOW).map((b) => b.ms));
const resumes = batches.filter((b) => b.resumeMs !== undefined);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const atSize = total >= 10_000;
const checks = [
  { measure: "1. head state JSON at the end", value: kb(atEnd.state.bytes), target: "<= 256 KB", verdict: verdict(atEnd.state.bytes, 256 * 1024) },
  {
    measure: "1. head state JSON, end / at 1,000",
    value: (atEnd.state.bytes / atFirstMark.state.bytes).toFixed(2),
    target: "<= 1.3",
    verdict: verdict(atEnd.state.bytes / atFirstMark.state.bytes, 1.3),
  },
  {
    measure: `2. mean run time per batch, last ${WINDOW} / first ${WINDOW}`,
    value: (last / first).toFixed(2),
    target: "<= 1.3",
    verdict: verdict(last / first, 1.3),
  },
  {
    measure: "2. history limit 10 at the end, time",
    value: `${atEnd.history10.ms.toFixed(0)} ms`,
    target: "<= 1 s",
    verdict: verdict(atEnd.history10.ms, 1000),
  },
  {
    measure: "2. history limit 10 at the end, size",
    value: kb(atEnd.history10.bytes),
    target: "<= 5 MB",
    verdict: verdict(atEnd.history10.bytes, 5 * 1024 * 1024),
  },
];
const markRow = (name: string, m: ServerMark) => [
  name,
  `${m.inputEvents} (${m.logEvents ?? "not in the state"})`,
  kb(m.state.bytes),
  `${m.state.ms.toFixed(0)} ms`,
  kb(m.history10.bytes),
  `${m.history10.ms.toFixed(0)} ms`,
];
const everyThousand = batches.filter((b) => b.end % 1000 === 0 || b === batches[batches.length - 1]);
const section = `## LangGraph dev server (\`npm run bench:server\`)

${describeRun(info, loadAtEnd)}

Graph \`store\` on \`langgraphjs dev\` (offline model), one thread, ${total} input events in batches of ${batchSize} through
\`client.runs.wait\`, seed ${seed}. ${resumes.length} run(s) paused at the approval gate and were resumed before the next batch ${
  leaveApprovals
    ? "with no decisions (`--leave-approvals`: the pending approvals pile up in the state)"
    : "with every refund they showed approved (a person working the queue)"
} (mean resume ${resumes.length > 0 ? `${mean(resumes.map((b) => b.resumeMs as number)).toFixed(0)} ms` : "-"}, not in the batch times). State and
history: the whole response body read from the endpoint, median of up to ${repeats} readings (one when a reading takes over 5 s). KB = 1,024 bytes.

${markdownTable(["mark", "input events (events in the log)", "`GET /threads/{id}/state`", "time", "`POST /threads/{id}/history` limit 10", "time"], [markRow(`at ${FIRST_MARK.toLocaleString("en")}`, atFirstMark), markRow("at the end", atEnd)])}

Run time per batch (ms), mean of the first ${WINDOW} batches ${first.toFixed(0)}, of the last ${WINDOW} ${last.toFixed(0)}; at every 1,000 input events:

${markdownTable(["input events", ...everyThousand.map((b) => String(b.end))], [["batch run, ms", ...everyThousand.map((b) => b.ms.toFixed(0))]])}

${markdownTable(
  ["target", "measured", "target", "met"],
  checks.map((c) => [c.measure, c.value, c.target, c.verdict === "FAIL" ? "**FAIL**" : c.verdict]),
)}

${atSize ? "" : `Measured at ${total} input events, below the 10,000 the targets name: the verdicts do not show the targets met.`}`;

console.log(section);
if (!recorded) {
  const out = join(import.meta.dirname, "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, `${new Date().toISOString().replace(/[:.]/g, "-")}-server-${total}.json`);
  const run: Recorded & { checks: typeof checks } = { info, loadAtEnd, events: total, batch: batchSize, seed, leaveApprovals, repeats, ...result, checks };
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  console.log(`\nresults written to ${file}`);
}
if (args.write) {
  writeSection("server", section);
  console.log("bench/RESULTS.md: server section written");
}
