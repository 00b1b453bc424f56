/**
 * Crash safety, measured (issue 7): ingests a seeded event stream with the real
 * CLI, kills it with SIGKILL at chosen moments, restarts the same command each
 * time, and compares the end with an uninterrupted run of the same commands.
 *
 *   npm run chaos -- [--events 2000] [--kills 20] [--seed 7] [--parts 4] [--keep] [--verbose] [--write]
 *
 * `--write` also writes the table to docs/reliability-results.md, naming the
 * commit and the settings (the figures docs/reliability.md points to).
 *
 * The commands: the stream cut into parts, each ingested by one `ingest`, and
 * after each part an `approve` and a `deny` of the refunds it left waiting
 * (ids, person and decision time fixed by the uninterrupted run, so both runs
 * record the same events). Moments are chosen from outside by watching the
 * database with a read-only connection, not by hooks in the program:
 *
 * - progress: once the store has a chosen number of checkpoints (uniform over
 *   what the command will write), after a random few milliseconds more;
 * - mid-superstep: at the first moment after that point where the newest
 *   checkpoint already holds the saved writes of some tasks of a superstep
 *   that has not been checkpointed yet (the agents' fan-out, or the services);
 * - gate: an ingest killed while its run is paused at the approval gate
 *   between two batches; an approve/deny killed while its resume is running;
 * - after-append: a step has appended events to the event store and its
 *   checkpoint is not written yet (more event rows, no new checkpoint);
 * - startup: 0.3 to 1.3 s after the start (loading, opening, lease, finishing).
 *
 * A planned kill the command finishes before is carried to the next command;
 * any left after the last one hit restarts of the last ingest (which finds
 * every event in the log), at startup.
 * Exit code 1 on any difference, lost or doubled event, or verify failure.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import Table from "cli-table3";
import { generateWorkload, mulberry32 } from "../bench/generator.js";
import { threadIdFor } from "../src/persistence/stores.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "shopstate.js");
const STORE = "chaos";
const THREAD_ID = threadIdFor(STORE);

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "2000" },
    kills: { type: "string", default: "20" },
    seed: { type: "string", default: "7" },
    parts: { type: "string", default: "4" },
    keep: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
  },
});
const EVENTS = Number(args.events);
const KILLS = Number(args.kills);
const SEED = Number(args.seed);
const PARTS = Number(args.parts);
for (const [name, value] of Object.entries({ events: EVENTS, kills: KILLS, seed: SEED, parts: PARTS })) {
  if (!Number.isInteger(value) || value < 0 || (name !== "kills" && name !== "seed" && value < 1)) {
    console.error(`chaos: --${name} must be a whole number${name === "kills" ? "" : " of at least 1"}, got ${value}`);
    process.exit(2);
  }
}

type KillKind = "progress" | "mid-superstep" | "after-append" | "gate" | "startup";
interface Step {
  args: string[];
  kind: "ingest" | "approve" | "deny";
  /** The uninterrupted run's exit code and checkpoint count after the step. */
  exitCode: number;
  checkpointsAfter: number;
}
interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const random = mulberry32(SEED ^ 0x5eed);
const dir = mkdtempSync(join(tmpdir(), "shopstate-chaos-"));
const refDb = join(dir, "reference.db");
const chaosDb = join(dir, "chaos.db");

/** The children get no shopstate or OpenAI settings from this shell: the offline model and the defaults. */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("SHOPSTATE_") && !key.startsWith("OPENAI_")));
}

/** The CLI processes running now, so a failed run can kill the other run's child instead of leaving it behind. */
const running = new Set<ChildProcess>();
/** Set once either run has failed: the other starts no new command. */
let stopping = false;

function start(cliArgs: string[], db: string): { child: ChildProcess; done: Promise<Outcome> } {
  if (stopping) throw new Error("chaos: stopped after the other run failed");
  const child = spawn(process.execPath, [BIN, ...cliArgs, "--db", db, "--thread", STORE], { cwd: ROOT, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.on("close", () => running.delete(child));
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

async function run(cliArgs: string[], db: string): Promise<Outcome> {
  return start(cliArgs, db).done;
}

/** A read-only look at the store's checkpoints, as an operator's script would take it. */
function watcher(db: string) {
  let conn: Database.Database | undefined;
  const open = () => (conn ??= new Database(db, { readonly: true, fileMustExist: true }));
  const safely = <T>(read: (c: Database.Database) => T, fallback: T): T => {
    try {
      return read(open());
    } catch {
      // Not created yet, or the schema is being set up by the writer: look again at the next tick.
      return fallback;
    }
  };
  return {
    checkpoints: () => safely((c) => (c.prepare("SELECT count(*) AS n FROM checkpoints WHERE thread_id = ?").get(THREAD_ID) as { n: number }).n, 0),
    /** Rows of the store in the event store, on every branch. */
    appended: () =>
      safely(
        (c) =>
          (
            c
              .prepare("SELECT count(*) AS n FROM shopstate_events e JOIN shopstate_event_threads t ON t.thread = e.thread WHERE t.thread_id = ?")
              .get(THREAD_ID) as { n: number }
          ).n,
        0,
      ),
    /**
     * Tasks with saved writes at the newest checkpoint, and whether the run is
     * at the approval gate: paused there (an interrupt at the newest checkpoint)
     * or just resumed from it (at the one before).
     */
    newest: () =>
      safely(
        (c) => {
          const [head, parent] = (
            c.prepare("SELECT checkpoint_id AS id FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id DESC LIMIT 2").all(THREAD_ID) as { id: string }[]
          ).map((r) => r.id);
          if (!head) return { tasks: 0, atGate: false };
          const rows = c
            .prepare(
              `SELECT checkpoint_id AS id, task_id, channels FROM checkpoint_writes WHERE thread_id = ? AND checkpoint_id IN (?, ?)
               UNION ALL SELECT checkpoint_id, task_id, channels FROM checkpoint_task_writes WHERE thread_id = ? AND checkpoint_id IN (?, ?)`,
            )
            .all(THREAD_ID, head, parent ?? head, THREAD_ID, head, parent ?? head) as { id: string; task_id: string; channels: string }[];
          return {
            tasks: new Set(rows.filter((r) => r.id === head).map((r) => r.task_id)).size,
            atGate: rows.some((r) => r.channels.includes("__interrupt__")),
          };
        },
        { tasks: 0, atGate: false },
      ),
    close: () => conn?.close(),
  };
}

function stepLabel(step: Step): string {
  return step.args.slice(0, 2).join(" ");
}

// ---------------------------------------------------------------- the stream and the uninterrupted run

const lines = generateWorkload({ events: EVENTS, seed: SEED });
const partFiles: string[] = [];
const partSize = Math.ceil(lines.length / PARTS);
for (let p = 0; p < PARTS; p++) {
  const file = join(dir, `part-${p + 1}.jsonl`);
  writeFileSync(file, `${lines.slice(p * partSize, (p + 1) * partSize).join("\n")}\n`);
  partFiles.push(file);
}
const lastTimeOf = (part: number) => (JSON.parse(lines[Math.min((part + 1) * partSize, lines.length) - 1]) as { at: string }).at;

const started = Date.now();
process.stderr.write(`chaos: ${lines.length} events in ${PARTS} parts, ${KILLS} kills, seed ${SEED}; files in ${dir}\n`);

/**
 * The uninterrupted run, one command after another; the interrupted run
 * follows it command by command in parallel (each of its commands is known,
 * approval ids included, once the uninterrupted run has done it).
 */
const steps: (Step & { part: number })[] = [];
let referenceDone = false;
let referenceSeconds = 0;
let approvalsDecided = 0;
let wake: () => void = () => undefined;
const nextStep = async (i: number): Promise<(Step & { part: number }) | undefined> => {
  while (i >= steps.length && !referenceDone) await new Promise<void>((resolve) => (wake = resolve));
  return steps[i];
};
async function reference(): Promise<void> {
  const refWatch = watcher(refDb);
  try {
    for (let p = 0; p < PARTS; p++) {
      const ingest = ["ingest", partFiles[p], "--json"];
      const out = await run(ingest, refDb);
      if (out.code !== 0) throw new Error(`the uninterrupted ingest of part ${p + 1} exited ${out.code}: ${out.stderr}`);
      steps.push({ args: ingest, kind: "ingest", exitCode: 0, checkpointsAfter: refWatch.checkpoints(), part: p });
      wake();
      const pending = JSON.parse((await run(["approvals", "--json"], refDb)).stdout) as { id: string }[];
      // A decision a minute after the part's last event: fixed, so both runs log the same ApprovalDecided events.
      const at = new Date(Date.parse(lastTimeOf(p)) + 60_000).toISOString();
      for (const [kind, ids] of [
        ["approve", pending.filter((_, i) => i % 2 === 0)],
        ["deny", pending.filter((_, i) => i % 2 === 1)],
      ] as const) {
        if (ids.length === 0) continue;
        const decide = [kind, ...ids.map((a) => a.id), "--by", "chaos-operator", "--reason", `part ${p + 1} reviewed`, "--decided-at", at, "--json"];
        const decided = await run(decide, refDb);
        if (decided.code !== 0) throw new Error(`the uninterrupted ${kind} after part ${p + 1} exited ${decided.code}: ${decided.stderr}`);
        approvalsDecided += ids.length;
        steps.push({ args: decide, kind, exitCode: 0, checkpointsAfter: refWatch.checkpoints(), part: p });
        wake();
      }
    }
  } finally {
    refWatch.close();
    referenceDone = true;
    referenceSeconds = (Date.now() - started) / 1000;
    wake();
  }
}

// ---------------------------------------------------------------- the interrupted run

/**
 * Kills planned per part of the stream: most on its ingest, every other gate
 * kill on its decisions (killing a resume of the gate), the others on its
 * ingest (paused at the gate between batches, or resuming).
 */
const plan = new Map<string, KillKind[]>();
const KINDS = ["progress", "mid-superstep", "after-append", "mid-superstep", "gate", "after-append", "startup"] as const;
let gateKills = 0;
for (let k = 0; k < KILLS; k++) {
  const kind = KINDS[k % KINDS.length];
  const part = Math.floor(random() * PARTS);
  // Every other gate kill goes to a decision (the first one included), the rest to an ingest.
  const slot = kind === "gate" && gateKills++ % 2 === 0 ? (random() < 0.5 ? "approve" : "deny") : "ingest";
  plan.set(`${part}:${slot}`, [...(plan.get(`${part}:${slot}`) ?? []), kind]);
}

interface Kill {
  step: number;
  kind: KillKind;
  atCheckpoint: number;
}
const kills: Kill[] = [];
const watch = watcher(chaosDb);
let restarts = 0;
/** Planned kills a command finished before, for the next command of the same sort (an ingest, or a decision). */
const carried = { ingest: [] as KillKind[], decision: [] as KillKind[] };

/** Arms one kill on a running child; resolves true if it fired. */
function arm(child: ChildProcess, kind: KillKind, step: Step, isDecision: boolean): { fired: () => boolean; stop: () => void; describe: () => string } {
  const from = watch.checkpoints();
  const to = Math.max(from + 1, step.checkpointsAfter);
  // Gate kills watch for the pause from the start; the others wait for a random point of the command's progress.
  // A mid-superstep kill waits for a step after its point: the point lies in the first half, leaving steps to come.
  const span = Math.max(1, kind === "mid-superstep" ? Math.floor((to - from) / 2) : to - from - 1);
  const target = kind === "gate" && !isDecision ? from + 1 : from + 1 + Math.floor(random() * span);
  const startupDelay = 300 + Math.floor(random() * 1000);
  const extraDelay = Math.floor(random() * 40);
  const startedAt = Date.now();
  let fired = false;
  let reachedAt: number | undefined;
  // after-append: the event-store rows when the checkpoint count last changed; more rows with no new checkpoint
  // means a step has appended and its checkpoint is not written yet.
  let seenCheckpoints = -1;
  let rowsAtCheckpoint = 0;
  const kill = () => {
    if (fired || child.exitCode !== null || child.signalCode !== null) return;
    fired = true;
    child.kill("SIGKILL");
  };
  const timer = setInterval(() => {
    if (kind === "startup") {
      if (Date.now() - startedAt >= startupDelay) kill();
      return;
    }
    if (kind === "after-append") {
      const [checkpoints, rows] = [watch.checkpoints(), watch.appended()];
      if (checkpoints !== seenCheckpoints) [seenCheckpoints, rowsAtCheckpoint] = [checkpoints, rows];
      else if (checkpoints >= target && rows > rowsAtCheckpoint) kill();
      return;
    }
    if (watch.checkpoints() < target) return;
    reachedAt ??= Date.now();
    if (kind === "progress" || (kind === "gate" && isDecision)) {
      if (Date.now() - reachedAt >= extraDelay) kill();
    } else if (kind === "mid-superstep") {
      if (watch.newest().tasks >= 1) kill();
    } else if (watch.newest().atGate) kill();
  }, 5);
  const describe = () =>
    `${kind}${kind === "startup" ? ` after ${startupDelay} ms` : ` at checkpoint ${target} (from ${from}, uninterrupted run ends at ${to})`}`;
  return { fired: () => fired, stop: () => clearInterval(timer), describe };
}

async function interrupted(): Promise<void> {
  for (let i = 0; ; i++) {
    let step = await nextStep(i);
    if (!step) {
      const left = carried.ingest.length + carried.decision.length;
      if (left === 0) return;
      // Kills the commands outran: the last ingest again (it finds every event logged), killed while it starts.
      const lastIngest = steps.filter((s) => s.kind === "ingest").at(-1)!;
      step = { ...lastIngest };
      steps.push(step);
      carried.ingest = Array.from({ length: left }, () => "startup" as const);
      carried.decision = [];
    }
    const sort = step.kind === "ingest" ? "ingest" : "decision";
    const queue = [...carried[sort], ...(plan.get(`${step.part}:${step.kind}`) ?? [])];
    plan.delete(`${step.part}:${step.kind}`);
    for (;;) {
      const { child, done } = start(step.args, chaosDb);
      const kind = queue[0];
      const armed = kind ? arm(child, kind, step, step.kind !== "ingest") : undefined;
      const out = await done;
      armed?.stop();
      if (args.verbose && armed)
        process.stderr.write(
          `chaos: ${stepLabel(step)} (part ${step.part + 1}): ${armed.fired() ? "killed" : "finished before"} ${armed.describe()}; ${watch.checkpoints()} checkpoints\n`,
        );
      if (armed?.fired() && out.signal === "SIGKILL") {
        kills.push({ step: i, kind: queue.shift()!, atCheckpoint: watch.checkpoints() });
        restarts++;
        continue;
      }
      if (out.code !== step.exitCode)
        throw new Error(`chaos: '${stepLabel(step)}' exited ${out.code} (uninterrupted: ${step.exitCode}) after ${kills.length} kills:\n${out.stderr}`);
      if (/SQLITE_BUSY|database is locked/i.test(out.stderr)) throw new Error(`chaos: '${stepLabel(step)}' printed a SQLite busy error:\n${out.stderr}`);
      // The command finished before the planned moment: the kill moves on to the next command.
      carried[sort] = queue;
      break;
    }
  }
}

try {
  await Promise.all([reference(), interrupted()]);
} catch (error) {
  // A run that threw leaves the other one's command running: stop it, or it outlives this script, writing its file.
  stopping = true;
  for (const child of running) child.kill("SIGKILL");
  throw error;
}
process.stderr.write(`chaos: uninterrupted run ${referenceSeconds.toFixed(1)} s, ${approvalsDecided} approvals decided; interrupted run done\n`);
watch.close();

// ---------------------------------------------------------------- comparison

interface Envelope {
  id: string;
  type: string;
  source?: string;
}
const [refEvents, chaosEvents] = await Promise.all([run(["events", "--json"], refDb), run(["events", "--json"], chaosDb)]).then((outs) =>
  outs.map((o) => o.stdout),
);
const [refState, chaosState] = await Promise.all([run(["state", "--json"], refDb), run(["state", "--json"], chaosDb)]).then((outs) =>
  outs.map((o) => JSON.parse(o.stdout) as Record<string, unknown>),
);
const [refVerify, chaosVerify] = await Promise.all([run(["verify", "--json"], refDb), run(["verify", "--json"], chaosDb)]);
const ref = JSON.parse(refEvents) as Envelope[];
const got = JSON.parse(chaosEvents) as Envelope[];

const refIds = new Set(ref.map((e) => e.id));
const seen = new Map<string, number>();
for (const e of got) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
const lost = ref.filter((e) => !seen.has(e.id)).length;
// An event applied twice shows as its id twice, or as an event the uninterrupted run never produced.
const twice = [...seen.values()].filter((n) => n > 1).length + got.filter((e) => !refIds.has(e.id)).length;
const inputIds = lines.map((l) => (JSON.parse(l) as { id: string }).id);
const inputsOnce = inputIds.filter((id) => seen.get(id) === 1).length;
const sameLog = refEvents === chaosEvents;
const withoutHead = (s: Record<string, unknown>) => ({ ...s, checkpointId: undefined });
const sameState = JSON.stringify(withoutHead(refState)) === JSON.stringify(withoutHead(chaosState));
const verified = refVerify.code === 0 && chaosVerify.code === 0;
const killsByKind = (kind: KillKind) => kills.filter((k) => k.kind === kind).length;
const enoughKills = kills.length === KILLS;

const rows: [string, string | number][] = [
  ["kills survived (SIGKILL, restarted with the same command)", `${kills.length} of ${KILLS}`],
  [
    "  at progress / mid-superstep / after an append / gate or resume / startup",
    `${killsByKind("progress")} / ${killsByKind("mid-superstep")} / ${killsByKind("after-append")} / ${killsByKind("gate")} / ${killsByKind("startup")}`,
  ],
  ["restarts", restarts],
  [
    "commands (ingest / approve / deny; with extra restarts of the last ingest)",
    `${steps.filter((s) => s.kind === "ingest").length} / ${steps.filter((s) => s.kind === "approve").length} / ${steps.filter((s) => s.kind === "deny").length}`,
  ],
  ["approvals decided", approvalsDecided],
  ["events checked (log of the uninterrupted run)", ref.length],
  ["input events in the log exactly once", `${inputsOnce} of ${inputIds.length}`],
  ["events lost", lost],
  ["events applied twice", twice],
  ["identical event log (ids, order, content)", sameLog ? "yes" : "no"],
  ["identical state (state --json without the head id)", sameState ? "yes" : "no"],
  ["verify (both runs)", verified ? "ok" : `failed: reference ${refVerify.code}, chaos ${chaosVerify.code}`],
  ["seconds (uninterrupted / whole script)", `${referenceSeconds.toFixed(1)} / ${((Date.now() - started) / 1000).toFixed(1)}`],
];
const table = new Table({ head: ["measure", "value"], style: { head: [], border: [], compact: true } });
table.push(...rows);
process.stdout.write(`${table.toString()}\n`);

const ok = sameLog && sameState && lost === 0 && twice === 0 && inputsOnce === inputIds.length && verified && enoughKills;
if (args.write) writeResults(ok);
if (!ok) {
  if (!enoughKills) process.stderr.write(`chaos: only ${kills.length} of ${KILLS} planned kills happened (commands finished first)\n`);
  process.stderr.write(`chaos: FAILED; the databases are kept in ${dir}\n`);
  process.exit(1);
}
if (args.keep) process.stderr.write(`chaos: databases kept in ${dir}\n`);
else rmSync(dir, { recursive: true, force: true });
process.stderr.write("chaos: OK\n");

/** The table as docs/reliability-results.md: generated, with the commit and settings it ran with. */
function writeResults(ok: boolean): void {
  const git = (...gitArgs: string[]) => execFileSync("git", gitArgs, { cwd: ROOT, encoding: "utf8" }).trim();
  const dirty = git("status", "--porcelain", "--", "src", "bin", "scripts", "package.json") !== "";
  const cell = (value: string | number) => String(value).replaceAll("|", "\\|");
  const text = `# Crash safety: the chaos run's results

Generated by \`npm run chaos -- --write\` (scripts/chaos.ts; what it does: [reliability.md](reliability.md)); do not edit by hand.

- commit: \`${git("rev-parse", "HEAD")}\`${dirty ? " (with uncommitted changes to src, bin, scripts or package.json)" : ""}
- settings: ${EVENTS} events, ${KILLS} kills, seed ${SEED}, ${PARTS} parts
- run ${new Date().toISOString()} on Node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(1)} at the end
- verdict: ${ok ? "**OK**" : "**FAILED**"}

| measure | value |
|---|---|
${rows.map(([measure, value]) => `| ${cell(measure.trim())} | ${cell(value)} |`).join("\n")}
`;
  const file = join(ROOT, "docs", "reliability-results.md");
  writeFileSync(file, text);
  process.stderr.write(`chaos: results written to ${file}\n`);
}
