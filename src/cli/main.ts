/**
 * The `shopstate` command line (SPEC §7). Thin: parses, calls the store
 * operations, prints. Exit codes: 0 ok, 1 failure or verify violation,
 * 2 bad input or usage, 3 step limit hit.
 */
import { existsSync, readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import cliProgress from "cli-progress";
import { loadConfig, ConfigError, type Config } from "../config.js";
import { demoLines, hourlyBatches, summarise } from "../demo.js";
import { verify } from "../domain/verify.js";
import { LeaseBusyError } from "../persistence/lease.js";
import { listStores } from "../persistence/stores.js";
import { worldOf } from "../services/decisions.js";
import type { State } from "../state.js";
import { deleteStore, headValues, ingestLines, openStore, pruneStore, storeRecord, UsageError, type IngestResult, type InputLine, type StoreSession } from "../store.js";
import { ingestView, stateView, type VerifyView } from "../views.js";
import { EXIT, printError, printJson, renderApprovals, renderDemo, renderEvents, renderState, renderViolations } from "./output.js";

interface GlobalOptions {
  db?: string;
  thread?: string;
  json?: boolean;
  wait?: string;
}

interface Context {
  config: Config;
  json: boolean;
  dbPath: string;
  thread: string;
  waitMs: number;
}

function contextOf(command: Command): Context {
  const options = command.optsWithGlobals<GlobalOptions>();
  const config = loadConfig();
  const waitSeconds = options.wait === undefined ? 0 : Number(options.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait must be a number of seconds, got '${options.wait}'`);
  return { config, json: options.json ?? false, dbPath: options.db ?? config.dbPath, thread: options.thread ?? config.thread, waitMs: waitSeconds * 1000 };
}

async function withStore<T>(ctx: Context, work: (session: StoreSession) => Promise<T>): Promise<T> {
  const session = openStore(ctx.dbPath, ctx.thread);
  try {
    return await work(session);
  } finally {
    session.close();
  }
}

function readInput(file: string): InputLine[] {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${file === "-" ? "standard input" : `'${file}'`}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((line, i) => ({ line: i + 1, text: line }))
    .filter((l) => l.text.trim() !== "");
}

function progressBar(ctx: Context, total: number): ((done: number, total: number) => void) | undefined {
  if (ctx.json || !process.stderr.isTTY || total <= ctx.config.batchSize) return undefined;
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: "ingesting [{bar}] {value}/{total} events ({eta}s left)", hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return (done, all) => {
    bar.update(done);
    if (done >= all) bar.stop();
  };
}

interface Shown {
  json: unknown;
  text: string;
  exitCode?: number;
}

/** A read-only command: loads the store's head state and prints one view of it, as JSON or text. */
async function show(command: Command, build: (head: { values: State; checkpointId: string }, session: StoreSession) => Shown): Promise<number> {
  const ctx = contextOf(command);
  if (!existsSync(ctx.dbPath)) throw new UsageError(`no database at ${ctx.dbPath} (run 'shopstate demo' or 'shopstate ingest FILE' first, or pass --db)`);
  return withStore(ctx, async (session) => {
    if (!storeRecord(session)) {
      const others = listStores(session.db).map((s) => s.name);
      const hint = others.length > 0 ? `stores in it: ${others.join(", ")}` : "run 'shopstate demo' or 'shopstate ingest FILE' first";
      throw new UsageError(`no store named '${session.name}' in ${ctx.dbPath} (${hint})`);
    }
    const shown = build(await headValues(session), session);
    if (ctx.json) printJson(shown.json);
    else process.stdout.write(`${shown.text}\n`);
    return shown.exitCode ?? EXIT.ok;
  });
}

interface IngestRun {
  result: IngestResult;
  exitCode: number;
}

async function runIngest(ctx: Context, lines: InputLine[], source: string, origin: string, batches?: (l: InputLine[]) => InputLine[][]): Promise<IngestRun> {
  const result = await withStore(ctx, (session) =>
    ingestLines(session, lines, {
      batchSize: ctx.config.batchSize,
      approvalThresholdCents: ctx.config.approvalThresholdCents,
      maxSteps: ctx.config.maxSteps,
      waitMs: ctx.waitMs,
      source,
      origin,
      batches,
      onProgress: progressBar(ctx, lines.length),
    }),
  );
  // Every bad line goes to stderr with its line number, whatever the output mode.
  for (const r of result.rejected) {
    if (ctx.json) process.stderr.write(`${JSON.stringify({ rejected: { source: r.source, line: r.line, reason: r.reason } })}\n`);
    else process.stderr.write(`${r.source}:${r.line}: rejected: ${r.reason}\n`);
  }
  if (result.stepLimitHit) {
    printError(`the run stopped at the step limit (${ctx.config.maxSteps} supersteps, SHOPSTATE_MAX_STEPS); run 'shopstate ingest' again to continue where it stopped`, ctx.json, { kind: "step-limit" });
  }
  const exitCode = result.stepLimitHit ? EXIT.stepLimit : result.rejected.length > 0 ? EXIT.badInput : EXIT.ok;
  return { result, exitCode };
}

export function buildProgram(outcome: { exitCode: number }, json = false): Command {
  const act =
    <Args extends unknown[]>(action: (...args: Args) => Promise<number | void>) =>
    async (...args: Args) => {
      outcome.exitCode = (await action(...args)) ?? EXIT.ok;
    };
  const program = new Command("shopstate")
    .description("A team of LangGraph.js agents running a small store's back office over one event-sourced, time-travelling world state.")
    .option("--db <path>", "SQLite file of the stores (env SHOPSTATE_DB, default .shopstate/shopstate.db)")
    .option("--thread <name>", "store name (env SHOPSTATE_THREAD, default main)")
    .option("--json", "machine-readable JSON on stdout (errors as JSON on stderr)")
    .option("--wait <seconds>", "wait this long for another process writing the same store (default: refuse at once)")
    .showHelpAfterError(!json)
    .exitOverride();
  // With --json, stderr carries only the JSON error that main() prints. Subcommands copy
  // these settings when they are created, so they are set before any command is added.
  if (json) program.configureOutput({ writeErr: () => undefined });

  program
    .command("demo")
    .description("run the bundled demo day into a fresh store and print a summary")
    .action(act(async (_options: unknown, command: Command) => {
      const ctx = contextOf(command);
      await withStore(ctx, async (session) => {
        const existing = storeRecord(session);
        if (existing && existing.origin !== "demo") {
          throw new UsageError(`store '${session.name}' holds data that is not the demo's; run the demo into another store (--thread demo) or delete it (shopstate stores --delete ${session.name})`);
        }
        if (existing) await deleteStore(session, ctx.waitMs);
      });
      const { exitCode } = await runIngest(ctx, demoLines(), "data/demo-day.jsonl", "demo", hourlyBatches);
      const violations = await withStore(ctx, async (session) => {
        const { values, checkpointId } = await headValues(session);
        const found = verify(worldOf(values), values.events);
        if (ctx.json) printJson({ summary: summarise(values), state: stateView(values, checkpointId), violations: found });
        else process.stdout.write(renderDemo({ values, checkpointId, storeName: session.name, dbPath: ctx.dbPath, violations: found }));
        return found;
      });
      if (violations.length > 0) return EXIT.failure;
      return exitCode;
    }));

  program
    .command("ingest")
    .description("append input events (JSON lines) and run the team until quiet")
    .argument("<file>", "a .jsonl file, or - for standard input")
    .action(act(async (file: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const { result, exitCode } = await runIngest(ctx, readInput(file), file === "-" ? "stdin" : file, "ingest");
      if (ctx.json) printJson(ingestView(result, exitCode));
      else {
        const { accepted, received, duplicates, rejected, eventCount, pendingApprovals } = result;
        process.stdout.write(`Ingested ${accepted} of ${received} events into '${ctx.thread}' (${duplicates} already in the log, ${rejected.length} rejected); the log holds ${eventCount} events.\n`);
        if (pendingApprovals > 0) process.stdout.write(`${pendingApprovals} refund(s) wait for a person's approval: shopstate approvals\n`);
      }
      return exitCode;
    }));

  program
    .command("state")
    .description("the world state")
    .action(act((_options: unknown, command: Command) =>
      show(command, ({ values, checkpointId }, session) => {
        const view = stateView(values, checkpointId);
        return { json: view, text: renderState(view, session.name) };
      }),
    ));

  program
    .command("events")
    .description("the event log (audit trail), oldest first")
    .addOption(new Option("--type <type>", "only events of this type"))
    .action(act((options: { type?: string }, command: Command) =>
      show(command, ({ values }) => {
        const events = (values.events ?? []).filter((e) => !options.type || e.type === options.type);
        return { json: events, text: events.length > 0 ? renderEvents(events) : "no events" };
      }),
    ));

  program
    .command("approvals")
    .description("refunds waiting for a person's decision")
    .action(act((_options: unknown, command: Command) =>
      show(command, ({ values, checkpointId }) => {
        const pending = stateView(values, checkpointId).pendingApprovals;
        return { json: pending, text: renderApprovals(pending) };
      }),
    ));

  program
    .command("verify")
    .description("check every rule of SPEC §5 and replay the log; exit 1 on any violation")
    .action(act((_options: unknown, command: Command) =>
      show(command, ({ values, checkpointId }, session) => {
        const violations = verify(worldOf(values), values.events ?? []);
        const view: VerifyView = { ok: violations.length === 0, checkpointId, eventCount: values.events?.length ?? 0, violations };
        const text = view.ok
          ? `OK: store '${session.name}', ${view.eventCount} events; every rule holds and replaying the log reproduces the state.`
          : `${violations.length} violation(s) in store '${session.name}':\n${renderViolations(violations)}`;
        return { json: view, text, exitCode: view.ok ? EXIT.ok : EXIT.failure };
      }),
    ));

  program
    .command("prune")
    .description("remove old checkpoints (never tagged ones) and reclaim the space; the event log stays complete")
    .option("--keep-last <n>", "keep this many newest checkpoints")
    .option("--before <checkpoint>", "remove the checkpoints older than this one (a full checkpoint id)")
    .action(act(async (options: { keepLast?: string; before?: string }, command: Command) => {
      const ctx = contextOf(command);
      if ((options.keepLast === undefined) === (options.before === undefined)) throw new UsageError("prune takes exactly one of --keep-last N and --before CHECKPOINT_ID");
      if (!existsSync(ctx.dbPath)) throw new UsageError(`no database at ${ctx.dbPath}`);
      const keepLast = options.keepLast === undefined ? undefined : Number(options.keepLast);
      const result = await withStore(ctx, async (session) => {
        if (!storeRecord(session)) throw new UsageError(`no store named '${session.name}' in ${ctx.dbPath}`);
        return pruneStore(session, { keepLast, before: options.before }, ctx.waitMs);
      });
      if (ctx.json) printJson(result);
      else {
        const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
        const tagged = result.keptTagged > 0 ? ` (${result.keptTagged} older ones kept: tagged)` : "";
        process.stdout.write(`removed ${result.removed} checkpoints of '${ctx.thread}', kept ${result.kept}${tagged}; database ${mib(result.bytesBefore)} -> ${mib(result.bytesAfter)}\n`);
      }
    }));

  program
    .command("stores")
    .description("list the stores in the database, or delete one")
    .option("--delete <name>", "delete this store and all its checkpoints")
    .action(act(async (options: { delete?: string }, command: Command) => {
      const ctx = contextOf(command);
      if (options.delete) {
        const name = options.delete;
        await withStore({ ...ctx, thread: name }, async (session) => {
          if (!storeRecord(session)) throw new UsageError(`no store named '${name}' in ${ctx.dbPath}`);
          await deleteStore(session, ctx.waitMs);
        });
        if (ctx.json) printJson({ deleted: name });
        else process.stdout.write(`deleted store '${name}'\n`);
        return;
      }
      const stores = existsSync(ctx.dbPath) ? await withStore(ctx, async (session) => listStores(session.db)) : [];
      if (ctx.json) printJson(stores);
      else if (stores.length === 0) process.stdout.write(`no stores in ${ctx.dbPath}\n`);
      else process.stdout.write(`${stores.map((s) => `${s.name.padEnd(20)} ${s.threadId}  ${s.checkpoints} checkpoints  created ${s.createdAt} by ${s.origin}`).join("\n")}\n`);
    }));

  return program;
}

/** Runs the CLI and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const outcome = { exitCode: EXIT.ok as number };
  const program = buildProgram(outcome, json);
  try {
    await program.parseAsync(argv, { from: "user" });
    return outcome.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok;
      if (json) printError(error.message.replace(/^error: /, ""), true, { kind: "usage" });
      return EXIT.badInput;
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      printError(error.message, json, { kind: "usage" });
      return EXIT.badInput;
    }
    if (error instanceof LeaseBusyError) {
      printError(error.message, json, { kind: "busy", store: error.store, holder: error.holder });
      return EXIT.failure;
    }
    printError(error instanceof Error ? error.message : String(error), json, { kind: "failure" });
    return EXIT.failure;
  }
}
