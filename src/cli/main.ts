/**
 * The `shopstate` command line (docs/cli.md). Thin: parses, calls the store
 * operations, prints. Exit codes: 0 ok, 1 failure or verify violation,
 * 2 bad input or usage, 3 step limit hit.
 */
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { Command, CommanderError, Option } from "commander";
import type { Decision } from "../nodes/approval_gate.js";
import type { Config } from "../config.js";
import { demoLines, hourlyBatches, summarise } from "../demo.js";
import { visible } from "../domain/text.js";
import { UsageError } from "../errors.js";
import type { PostgresBackend } from "../persistence/postgres.js";
import type { StateDiff } from "../timetravel/diff.js";
import type { PointInTime } from "../timetravel/rollback.js";
import type { IngestResult, InputLine, StoreSession } from "../store.js";
import { diffView, historyView, ingestView, stateView, type VerifyView } from "../views.js";
import type { TraceGuard } from "../tracing/guard.js";
import { addEvalCommand } from "./eval.js";
import { EXIT, printError, printJson } from "./print.js";

// The modules behind the commands (LangGraph, SQLite, zod, the application layer), loaded when a command runs:
// `--help` and a usage error need none of them. `act` loads them before any action; `lib` holds them from then on,
// typed by command_modules.ts, the one list of what the commands use.
type CommandModules = typeof import("./command_modules.js");
let lib!: CommandModules;

async function loadCommandModules(): Promise<CommandModules> {
  lib ??= await import("./command_modules.js");
  return lib;
}

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
  /** PostgreSQL instead of the SQLite file (DATABASE_URL). */
  databaseUrl?: string;
  /** Where the stores are, for messages: the SQLite path or the URL without its password. */
  where: string;
  thread: string;
  waitMs: number;
}

function contextOf(command: Command): Context {
  const options = command.optsWithGlobals<GlobalOptions>();
  const config = lib.loadConfig();
  const waitSeconds = options.wait === undefined ? 0 : Number(options.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait must be a number of seconds, got '${options.wait}'`);
  // --db names a SQLite file: with DATABASE_URL set it would be silently ignored, so it is refused.
  if (options.db !== undefined && config.databaseUrl !== undefined) {
    throw new UsageError(
      `--db names a SQLite file, but DATABASE_URL is set (the stores are in PostgreSQL at ${lib.redactUrl(config.databaseUrl)}); unset DATABASE_URL to use a SQLite file`,
    );
  }
  const dbPath = options.db ?? config.dbPath;
  const where = config.databaseUrl === undefined ? dbPath : lib.redactUrl(config.databaseUrl);
  return {
    config,
    json: options.json ?? false,
    dbPath,
    databaseUrl: config.databaseUrl,
    where,
    thread: options.thread ?? config.thread,
    waitMs: waitSeconds * 1000,
  };
}

async function withStore<T>(ctx: Context, work: (session: StoreSession) => Promise<T>): Promise<T> {
  const session = await lib.openStoreAt(ctx.databaseUrl === undefined ? { dbPath: ctx.dbPath } : { databaseUrl: ctx.databaseUrl }, ctx.thread);
  try {
    return await work(session);
  } finally {
    await session.close();
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
  const bar = new lib.cliProgress.SingleBar(
    { stream: process.stderr, format: "ingesting [{bar}] {value}/{total} events ({eta}s left)", hideCursor: true },
    lib.cliProgress.Presets.shades_classic,
  );
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

/** Opens a store that must already exist: a missing file or store is a usage error, and creates nothing. */
async function withExistingStore<T>(ctx: Context, work: (session: StoreSession) => Promise<T>): Promise<T> {
  if (ctx.databaseUrl === undefined && !existsSync(ctx.dbPath))
    throw new UsageError(`no database at ${ctx.dbPath} (run 'shopstate demo' or 'shopstate ingest FILE' first, or pass --db)`);
  return withStore(ctx, async (session) => {
    if (!(await lib.storeRecord(session))) {
      const others = (await session.meta.listStores()).map((s) => s.name);
      const hint = others.length > 0 ? `stores in it: ${others.join(", ")}` : "run 'shopstate demo' or 'shopstate ingest FILE' first";
      throw new UsageError(`no store named '${session.name}' in ${ctx.where} (${hint})`);
    }
    await lib.assertCurrentLayout(session);
    return work(session);
  });
}

/** The time a decision is stamped with: given (a decision made earlier, or a scripted one that must replay identically) or now. */
function decisionTime(given: string | undefined): string {
  if (given === undefined) return new Date().toISOString();
  const time = new Date(given);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(given) || Number.isNaN(time.getTime()))
    throw new UsageError(`--decided-at must be an ISO 8601 time such as 2026-03-01T16:00:00Z, got '${given}'`);
  return time.toISOString();
}

function defaultDecider(): string {
  try {
    return userInfo().username || "cli";
  } catch {
    return "cli";
  }
}

/** Like withExistingStore, for commands that also need the context inside. */
async function inStore<T>(command: Command, work: (session: StoreSession, ctx: Context) => Promise<T>): Promise<T> {
  const ctx = contextOf(command);
  return withExistingStore(ctx, (session) => work(session, ctx));
}

/** Prints a command's result as JSON or text and returns its exit code. */
function print(ctx: Context, shown: Shown): number {
  if (ctx.json) printJson(shown.json);
  else process.stdout.write(`${shown.text}\n`);
  return shown.exitCode ?? EXIT.ok;
}

/** A read-only command: loads the store's state at its head (or at `--at REF`) and prints one view of it, as JSON or text. */
async function show(command: Command, build: (point: PointInTime, session: StoreSession) => Shown | Promise<Shown>): Promise<number> {
  const { at } = command.opts<{ at?: string }>();
  return inStore(command, async (session, ctx) => print(ctx, await build(await lib.stateAt(session, at), session)));
}

const atOption = () => new Option("--at <ref>", "at a past checkpoint: full id, unique id prefix, tag or head~N");

interface IngestRun {
  result: IngestResult;
  exitCode: number;
}

async function runIngest(ctx: Context, lines: InputLine[], source: string, origin: string, batches?: (l: InputLine[]) => InputLine[][]): Promise<IngestRun> {
  const result = await withStore(ctx, (session) =>
    lib.ingestLines(session, lines, {
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
    printError(
      `the run stopped at the step limit (${ctx.config.maxSteps} supersteps, SHOPSTATE_MAX_STEPS); run 'shopstate ingest' again to continue where it stopped`,
      ctx.json,
      { kind: "step-limit" },
    );
  }
  const exitCode = result.stepLimitHit ? EXIT.stepLimit : result.rejected.length > 0 ? EXIT.badInput : EXIT.ok;
  return { result, exitCode };
}

export function buildProgram(outcome: { exitCode: number }, json = false): Command {
  const act =
    <Args extends unknown[]>(action: (...args: Args) => Promise<number | void>) =>
    async (...args: Args) => {
      await loadCommandModules();
      await guardTracesOnce();
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
    .action(
      act(async (_options: unknown, command: Command) => {
        const ctx = contextOf(command);
        await withStore(ctx, async (session) => {
          const existing = await lib.storeRecord(session);
          if (existing && existing.origin !== "demo") {
            throw new UsageError(
              `store '${session.name}' holds data that is not the demo's; run the demo into another store (--thread demo) or delete it (shopstate stores --delete ${session.name})`,
            );
          }
          if (existing) await lib.deleteStore(session, ctx.waitMs);
        });
        const { exitCode } = await runIngest(ctx, demoLines(), "data/demo-day.jsonl", "demo", hourlyBatches);
        const violations = await withStore(ctx, async (session) => {
          const { values, checkpointId } = await lib.headValues(session);
          const log = lib.logOf(session, values);
          const events = await lib.wholeLog(log);
          const orders = await lib.allOrders(log);
          const { violations: found } = await lib.verifyValues(session, values);
          if (ctx.json) printJson({ summary: summarise(values, events), state: stateView(values, checkpointId, orders), violations: found });
          else process.stdout.write(lib.renderDemo({ values, events, orders, checkpointId, storeName: session.name, dbPath: ctx.where, violations: found }));
          return found;
        });
        if (violations.length > 0) return EXIT.failure;
        return exitCode;
      }),
    );

  program
    .command("ingest")
    .description("append input events (JSON lines) and run the team until quiet")
    .argument("<file>", "a .jsonl file, or - for standard input")
    .action(
      act(async (file: string, _options: unknown, command: Command) => {
        const ctx = contextOf(command);
        const { result, exitCode } = await runIngest(ctx, readInput(file), file === "-" ? "stdin" : file, "ingest");
        if (ctx.json) printJson(ingestView(result, exitCode));
        else {
          const { accepted, received, duplicates, rejected, eventCount, pendingApprovals } = result;
          process.stdout.write(
            `Ingested ${accepted} of ${received} events into '${ctx.thread}' (${duplicates} already in the log, ${rejected.length} rejected); the log holds ${eventCount} events.\n`,
          );
          if (pendingApprovals > 0) process.stdout.write(`${pendingApprovals} refund(s) wait for a person's approval: shopstate approvals\n`);
        }
        return exitCode;
      }),
    );

  program
    .command("state")
    .description("the world state")
    .addOption(atOption())
    .action(
      act((_options: unknown, command: Command) =>
        show(command, async ({ values, checkpointId }, session) => {
          const view = stateView(values, checkpointId, await lib.allOrders(lib.logOf(session, values)));
          return { json: view, text: lib.renderState(view, session.name) };
        }),
      ),
    );

  program
    .command("events")
    .description("the event log (audit trail), oldest first")
    .addOption(new Option("--type <type>", "only events of this type"))
    .addOption(atOption())
    .action(
      act((options: { type?: string }, command: Command) =>
        show(command, async ({ values }, session) => {
          const events = (await lib.readLog(lib.logOf(session, values), options.type ? { types: [options.type] } : {})).map((e) => e.event);
          return { json: events, text: events.length > 0 ? lib.renderEvents(events) : "no events" };
        }),
      ),
    );

  program
    .command("approvals")
    .description("refunds waiting for a person's decision")
    .addOption(atOption())
    .action(
      act((_options: unknown, command: Command) =>
        show(command, ({ values, checkpointId }) => {
          const pending = stateView(values, checkpointId).pendingApprovals;
          return { json: pending, text: lib.renderApprovals(pending) };
        }),
      ),
    );

  const decide = (verdict: Decision["decision"]) =>
    act(async (ids: string[], options: { by?: string; reason?: string; decidedAt?: string }, command: Command) => {
      const ctx = contextOf(command);
      const by = options.by ?? defaultDecider();
      const at = decisionTime(options.decidedAt);
      const decisions: Decision[] = [...new Set(ids)].map((approvalId) => ({
        approvalId,
        decision: verdict,
        by,
        at,
        ...(options.reason ? { reason: options.reason } : {}),
      }));
      const result = await withExistingStore(ctx, (session) =>
        lib.decideApprovals(session, decisions, {
          approvalThresholdCents: ctx.config.approvalThresholdCents,
          maxSteps: ctx.config.maxSteps,
          waitMs: ctx.waitMs,
        }),
      );
      if (ctx.json) printJson(result);
      else
        process.stdout.write(`${lib.renderDecisions(result.approvals)}
`);
      for (const r of result.rejected) printError(`decision rejected: ${r.reason}`, ctx.json, { kind: "rejected" });
      if (result.stepLimitHit)
        printError(`the run stopped at the step limit (${ctx.config.maxSteps} supersteps); run 'shopstate ingest' again to continue`, ctx.json, {
          kind: "step-limit",
        });
      return result.stepLimitHit ? EXIT.stepLimit : result.rejected.length > 0 ? EXIT.badInput : EXIT.ok;
    });

  program
    .command("approve")
    .description("approve pending refunds: the refund is processed (rule 3 is checked again)")
    .argument("<ids...>", "approval ids (see 'shopstate approvals')")
    .option("--by <name>", "who decides (default: your user name)")
    .option("--reason <text>", "why")
    .option("--decided-at <time>", "when it was decided (ISO 8601; default now)")
    .action(decide("approved"));

  program
    .command("deny")
    .description("deny pending refunds: the refund is rejected and its quantity released")
    .argument("<ids...>", "approval ids (see 'shopstate approvals')")
    .option("--by <name>", "who decides (default: your user name)")
    .option("--reason <text>", "why")
    .option("--decided-at <time>", "when it was decided (ISO 8601; default now)")
    .action(decide("denied"));

  program
    .command("verify")
    .description("check every rule (docs/RULES.md) and replay the log; exit 1 on any violation")
    .addOption(atOption())
    .action(
      act((_options: unknown, command: Command) =>
        show(command, async ({ values, checkpointId }, session) => {
          const { violations, eventCount } = await lib.verifyValues(session, values);
          const view: VerifyView = { ok: violations.length === 0, checkpointId, eventCount, violations };
          const where = `store '${session.name}'${command.opts<{ at?: string }>().at ? ` at ${checkpointId}` : ""}`;
          const text = view.ok
            ? `OK: ${where}, ${view.eventCount} events; every rule holds and replaying the log reproduces the state.`
            : `${violations.length} violation(s) in ${where}:\n${lib.renderViolations(violations)}`;
          return { json: view, text, exitCode: view.ok ? EXIT.ok : EXIT.failure };
        }),
      ),
    );

  program
    .command("ui")
    .description("serve the store console (docs/console.md) on this database until Ctrl-C")
    .option("--port <n>", "port (0: any free port)", "4100")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--open", "open the console in the desktop's browser")
    .action(
      act(async (options: { port: string; host: string; open?: boolean }, command: Command) => {
        const ctx = contextOf(command);
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number from 0 to 65535, got '${options.port}'`);
        const { serveConsole } = await import("../console/serve.js");
        const location = ctx.databaseUrl === undefined ? { dbPath: ctx.dbPath } : { databaseUrl: ctx.databaseUrl };
        const running = await serveConsole({
          location,
          where: ctx.where,
          store: ctx.thread,
          port,
          host: options.host,
          open: options.open ?? false,
          run: { approvalThresholdCents: ctx.config.approvalThresholdCents, maxSteps: ctx.config.maxSteps },
        });
        process.stdout.write(`shopstate console: ${running.url}\n(Ctrl-C to stop)\n`);
        await new Promise<void>((resolve) => process.once("SIGINT", resolve).once("SIGTERM", resolve));
        await running.close();
      }),
    );

  addTimeTravelCommands(program, act);
  addWorkerCommands(program, act);
  addEvalCommand(program, act);

  program
    .command("prune")
    .description("remove old checkpoints (never tagged ones) and reclaim the space; the event log stays complete")
    .option("--keep-last <n>", "keep this many newest checkpoints")
    .option("--before <ref>", "remove the checkpoints older than this one (id, prefix, tag or head~N)")
    .action(
      act(async (options: { keepLast?: string; before?: string }, command: Command) => {
        const ctx = contextOf(command);
        if ((options.keepLast === undefined) === (options.before === undefined))
          throw new UsageError("prune takes exactly one of --keep-last N and --before REF");
        const keepLast = options.keepLast === undefined ? undefined : Number(options.keepLast);
        const result = await withExistingStore(ctx, async (session) => {
          const before = options.before === undefined ? undefined : (await lib.resolveRef(session, options.before)).checkpointId;
          return lib.pruneStore(session, { keepLast, before }, ctx.waitMs);
        });
        if (ctx.json) printJson(result);
        else {
          const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
          const tagged = result.keptTagged > 0 ? ` (${result.keptTagged} older ones kept: tagged)` : "";
          process.stdout.write(
            `removed ${result.removed} checkpoints of '${ctx.thread}', kept ${result.kept}${tagged}; database ${mib(result.bytesBefore)} -> ${mib(result.bytesAfter)}\n`,
          );
        }
      }),
    );

  program
    .command("stores")
    .description("list the stores in the database, or delete one")
    .option("--delete <name>", "delete this store and all its checkpoints")
    .action(
      act(async (options: { delete?: string }, command: Command) => {
        const ctx = contextOf(command);
        if (options.delete) {
          const name = options.delete;
          await withStore({ ...ctx, thread: name }, async (session) => {
            if (!(await lib.storeRecord(session))) throw new UsageError(`no store named '${name}' in ${ctx.where}`);
            await lib.deleteStore(session, ctx.waitMs);
          });
          if (ctx.json) printJson({ deleted: name });
          else process.stdout.write(`deleted store '${name}'\n`);
          return;
        }
        const stores = ctx.databaseUrl !== undefined || existsSync(ctx.dbPath) ? await withStore(ctx, (session) => session.meta.listStores()) : [];
        if (ctx.json) printJson(stores);
        else if (stores.length === 0) process.stdout.write(`no stores in ${ctx.where}\n`);
        else
          process.stdout.write(
            `${stores.map((s) => `${s.name.padEnd(20)} ${s.threadId}  ${s.checkpoints} checkpoints  created ${s.createdAt} by ${s.origin}`).join("\n")}\n`,
          );
      }),
    );

  return program;
}

/** history, diff, tag, rollback, replay and import (docs/time-travel.md): the store's timeline. */
function addTimeTravelCommands(
  program: Command,
  act: <Args extends unknown[]>(action: (...args: Args) => Promise<number | void>) => (...args: Args) => Promise<void>,
): void {
  program
    .command("history")
    .description("checkpoints, newest first: who wrote each, when, its tags and what changed")
    .option("--limit <n>", "how many checkpoints", "20")
    .option("--before <id>", "start below this checkpoint id (the 'next' value of a previous page)")
    .action(
      act((options: { limit: string; before?: string }, command: Command) =>
        inStore(command, async (session, ctx) => {
          const limit = Number(options.limit);
          if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number of at least 1, got '${options.limit}'`);
          const before = options.before === undefined ? undefined : (await lib.resolveRef(session, options.before)).checkpointId;
          const page = await lib.historyPage(session, { limit, before });
          return print(ctx, { json: historyView(page), text: lib.renderHistory(page, session.name) });
        }),
      ),
    );

  program
    .command("diff")
    .description("what changed from REF_A to REF_B (default: the head), per entity, and the events in between")
    .argument("<refA>", "full id, unique id prefix, tag or head~N")
    .argument("[refB]", "the same; default head")
    .action(
      act((refA: string, refB: string | undefined, _options: unknown, command: Command) =>
        inStore(command, async (session, ctx) => {
          const a = await lib.stateAt(session, refA);
          const b = await lib.stateAt(session, refB ?? "head");
          const diff = await lib.diffStates({ values: a.values, log: lib.logOf(session, a.values) }, { values: b.values, log: lib.logOf(session, b.values) });
          return print(ctx, { json: diffView(a.checkpointId, b.checkpointId, diff), text: lib.renderDiff(diff, a.checkpointId, b.checkpointId) });
        }),
      ),
    );

  program
    .command("tag")
    .description("name a checkpoint (default: the head); without a label, list the store's tags")
    .argument("[label]", "a name starting with a letter: letters, digits, '.', '_', '-'")
    .addOption(atOption())
    .action(
      act((label: string | undefined, options: { at?: string }, command: Command) =>
        inStore(command, async (session, ctx) => {
          if (label === undefined) {
            const tags = await session.meta.listTags(session.threadId);
            return print(ctx, {
              json: tags,
              text: tags.length > 0 ? tags.map((t) => `${t.label.padEnd(24)} ${t.checkpointId}  ${t.createdAt}`).join("\n") : "no tags",
            });
          }
          const tag = await lib.tagCheckpoint(session, label, options.at ?? "head", ctx.waitMs);
          return print(ctx, { json: tag, text: `tagged ${tag.checkpointId} as '${tag.label}'` });
        }),
      ),
    );

  program
    .command("rollback")
    .description("fork a new head from REF; nothing is deleted and the old head stays in history")
    .argument("<ref>", "full id, unique id prefix, tag or head~N")
    .action(
      act((ref: string, _options: unknown, command: Command) =>
        inStore(command, async (session, ctx) => {
          const result = await lib.rollback(session, ref, ctx.waitMs);
          const back = result.previousHead
            ? `; the old head ${result.previousHead} stays in history ('shopstate rollback ${result.previousHead}' returns to it)`
            : "";
          return print(ctx, { json: result, text: `rolled back: new head ${result.newHead} forked from ${result.from}${back}` });
        }),
      ),
    );

  program
    .command("replay")
    .description("re-run a run from one of its checkpoints (invoke(null, pastConfig)) and compare with the original branch")
    .argument("<ref>", "a checkpoint inside a run, e.g. the 'input' step history shows")
    .action(
      act((ref: string, _options: unknown, command: Command) =>
        inStore(command, async (session, ctx) => {
          const result = await lib.replayFrom(session, ref, {
            approvalThresholdCents: ctx.config.approvalThresholdCents,
            maxSteps: ctx.config.maxSteps,
            waitMs: ctx.waitMs,
          });
          const verdict =
            result.equivalent === undefined
              ? "no original run to compare with (REF is not on the head's branch)"
              : result.identical
                ? `the outcome equals the original run's end ${result.original} byte for byte`
                : result.equivalent
                  ? `the outcome has the same entities, tasks and events as the original run's end ${result.original} (some events of one step are in another order)`
                  : `the outcome differs from the original run's end ${result.original}:\n${lib.renderDiff(result.diff as StateDiff, result.original as string, result.replayed)}`;
          return print(ctx, {
            json: { ...result, diff: result.diff ? diffView(result.original as string, result.replayed, result.diff) : undefined },
            text: `replayed from ${result.from}; new head ${result.replayed}; ${verdict}`,
            exitCode: result.equivalent === false ? EXIT.failure : EXIT.ok,
          });
        }),
      ),
    );

  program
    .command("import")
    .description("rebuild a new store (--thread) from an exported log ('events --json', system events included) and verify it")
    .argument("<file>", "a JSON array of events, or - for standard input")
    .action(
      act(async (file: string, _options: unknown, command: Command) => {
        const ctx = contextOf(command);
        const log = lib.parseEventLog(
          readInput(file)
            .map((l) => l.text)
            .join("\n"),
          file === "-" ? "stdin" : file,
        );
        const result = await withStore(ctx, (session) => lib.importLog(session, log, ctx.waitMs));
        const ok = result.identical && result.violations.length === 0;
        const text = ok
          ? `imported ${result.eventCount} events into store '${result.store}' (head ${result.checkpointId}); its log equals the file and verify passes`
          : `imported into '${result.store}' but ${result.identical ? "" : "its log differs from the file; "}${result.violations.length} violation(s):\n${lib.renderViolations(result.violations)}`;
        return print(ctx, { json: { ...result, ok }, text, exitCode: ok ? EXIT.ok : EXIT.failure });
      }),
    );
}

/**
 * enqueue, worker and jobs: shopstate's own worker processes on PostgreSQL
 * (src/worker/). `enqueue` queues a file's lines as jobs for a store; any
 * number of `worker` processes run them, each store's in order.
 */
function addWorkerCommands(
  program: Command,
  act: <Args extends unknown[]>(action: (...args: Args) => Promise<number | void>) => (...args: Args) => Promise<void>,
): void {
  /** Runs `work` on the job queue's database (the queue engine's schema created on first use) and closes the connections after. */
  const withQueue = async <T>(ctx: Context, command: string, work: (backend: PostgresBackend) => Promise<T>): Promise<T> => {
    if (ctx.databaseUrl === undefined)
      throw new UsageError(`'${command}' needs PostgreSQL: the job queue and the stores of several workers live there; set DATABASE_URL=postgres://...`);
    const { connectPostgres } = await import("../persistence/postgres.js");
    const backend = await connectPostgres(ctx.databaseUrl);
    try {
      const { ensureQueue } = await import("../worker/queue.js");
      await ensureQueue(backend.pool);
      return await work(backend);
    } finally {
      await backend.close();
    }
  };

  program
    .command("enqueue")
    .description("queue input events (JSON lines) as jobs for the store, for 'shopstate worker' processes (PostgreSQL)")
    .argument("<file>", "a .jsonl file, or - for standard input")
    .option("--batch <n>", "input lines per job (default SHOPSTATE_BATCH_SIZE)")
    .action(
      act(async (file: string, options: { batch?: string }, command: Command) => {
        const ctx = contextOf(command);
        const batch = options.batch === undefined ? ctx.config.batchSize : Number(options.batch);
        if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a whole number of at least 1, got '${options.batch}'`);
        lib.assertStoreName(ctx.thread);
        const lines = readInput(file);
        const batches = lib.chunk(lines, batch);
        const { enqueueJobs } = await import("../worker/queue.js");
        const ids = await withQueue(ctx, "enqueue", (backend) => enqueueJobs(backend.pool, ctx.thread, file === "-" ? "stdin" : file, batches));
        return print(ctx, {
          json: { store: ctx.thread, jobs: ids, lines: lines.length },
          text: `queued ${ids.length} job(s), ${lines.length} line(s), for store '${ctx.thread}'`,
        });
      }),
    );

  program
    .command("worker")
    .description(
      "run queued jobs (PostgreSQL): each store's jobs in order, one writer per store; waits up to 60 s for another writer unless --wait says otherwise; stop with Ctrl-C",
    )
    .option("--exit-when-idle", "stop once no job is left that a worker could run (waiting, retrying or running; jobs that failed for good wait for a person)")
    .action(
      act(async (options: { exitWhenIdle?: boolean }, command: Command) => {
        const ctx = contextOf(command);
        const stop = new AbortController();
        // Finish the job at hand, then stop.
        const onSignal = () => stop.abort();
        process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
        const { runWorker, WORKER_WAIT_MS } = await import("../worker/run.js");
        try {
          const summary = await withQueue(ctx, "worker", (backend) =>
            runWorker(backend, {
              batchSize: ctx.config.batchSize,
              approvalThresholdCents: ctx.config.approvalThresholdCents,
              maxSteps: ctx.config.maxSteps,
              // A worker waits for a person's write to the store rather than failing the job at once.
              waitMs: command.optsWithGlobals<GlobalOptions>().wait === undefined ? WORKER_WAIT_MS : ctx.waitMs,
              exitWhenIdle: options.exitWhenIdle ?? false,
              signal: stop.signal,
              onJob: (r) => {
                if (ctx.json) process.stderr.write(`${JSON.stringify({ job: r })}\n`);
                else if (r.retried) process.stderr.write(`job ${r.jobId} (${r.store}) queued again, no attempt used: ${r.error}\n`);
                else if (r.ok)
                  process.stderr.write(`job ${r.jobId} (${r.store}): ${r.accepted} accepted, ${r.rejected} rejected; the log holds ${r.eventCount} events\n`);
                else
                  process.stderr.write(
                    `job ${r.jobId} (${r.store}) failed, attempt ${r.attempt} of ${r.maxAttempts}${r.willRetry ? ", will be retried" : ", given up"}: ${r.error}\n`,
                  );
              },
            }),
          );
          return print(ctx, {
            json: summary,
            text: `${summary.worker}: ${summary.done} job(s) done, ${summary.failed} failed`,
            exitCode: summary.failed > 0 ? EXIT.failure : EXIT.ok,
          });
        } finally {
          process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
        }
      }),
    );

  program
    .command("jobs")
    .description(
      "the job queue (PostgreSQL): every job still queued, running or failed, oldest first, or the store's with --thread (a job that succeeded is gone)",
    )
    .action(
      act(async (_options: unknown, command: Command) => {
        const ctx = contextOf(command);
        const { listJobs } = await import("../worker/queue.js");
        const jobs = await withQueue(ctx, "jobs", (backend) => listJobs(backend.pool, command.optsWithGlobals<GlobalOptions>().thread));
        const text =
          jobs.length === 0
            ? "no jobs"
            : jobs
                .map(
                  (j) =>
                    `${String(j.id).padStart(6)} ${j.store.padEnd(20)} ${j.status.padEnd(7)} ${j.events} line(s), ${j.attempts} of ${j.maxAttempts} attempt(s)${j.error ? `: ${oneLine(j.error)}` : ""}`,
                )
                .join("\n");
        return print(ctx, { json: jobs, text });
      }),
    );
}

/** An error text on one line of a table: line breaks and other control characters escaped (`--json` has it whole). */
function oneLine(text: string): string {
  return visible(text.replaceAll("\r\n", "\\n").replaceAll("\n", "\\n").replaceAll("\r", "\\r"));
}

/** The trace guard of this process, installed when a command runs (help and usage errors load no tracing). */
let traces: TraceGuard | undefined;

async function guardTracesOnce(): Promise<void> {
  if (traces) return;
  let config: Config;
  try {
    config = lib.loadConfig();
  } catch {
    // A bad environment is reported by the command itself.
    return;
  }
  // Without a LangSmith key or tracing there is nothing to guard (guardTraces would install nothing), so LangSmith stays unloaded.
  if (config.langsmith.apiKey === undefined && !config.langsmith.tracing) return;
  const { guardTraces } = await import("../tracing/guard.js");
  traces = guardTraces(config);
}

/** Runs the CLI and returns the exit code; traces still being sent get a bounded wait and, if they fail, one line. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await runCommand(argv);
  } finally {
    const failure = await traces?.finish();
    if (failure) process.stderr.write(`shopstate: ${failure}\n`);
  }
}

async function runCommand(argv: string[]): Promise<number> {
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
    // Any other error came from a command, which loaded these modules first (this only finds them loaded).
    await loadCommandModules();
    if (error instanceof UsageError || error instanceof lib.ConfigError) {
      const ref = error instanceof lib.RefNotFoundError ? { ref: error.ref, closeMatches: error.closeMatches } : {};
      printError(error.message, json, { kind: "usage", ...ref });
      return EXIT.badInput;
    }
    if (error instanceof lib.ImportVerifyError) {
      printError(`${error.message}:\n${lib.renderViolations(error.violations)}`, json, { kind: "verify", violations: error.violations });
      return EXIT.failure;
    }
    if (error instanceof lib.LeaseBusyError) {
      printError(error.message, json, { kind: "busy", store: error.store, holder: error.holder });
      return EXIT.failure;
    }
    printError(error instanceof Error ? error.message : String(error), json, { kind: "failure" });
    return EXIT.failure;
  }
}
