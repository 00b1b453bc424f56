/**
 * `shopstate eval`: parses the options, runs the eval (src/eval) and prints
 * a table or JSON (docs/eval.md).
 */
import type { Command } from "commander";
import { EVAL_AGENTS, type EvalAgent } from "../eval/agents.js";
import { UsageError } from "../errors.js";
import { EXIT, printJson } from "./print.js";

interface EvalCommandOptions {
  model?: string;
  agents?: string;
  minScore?: string;
  limit?: string;
  corpus?: string;
}

export function addEvalCommand(
  program: Command,
  act: <Args extends unknown[]>(action: (...args: Args) => Promise<number | void>) => (...args: Args) => Promise<void>,
): void {
  program
    .command("eval")
    .description("run the labelled corpus (eval/) through the agents on fresh in-memory stores and score the decisions")
    .option("--model <name>", "'offline' or a model name for ChatOpenAI (OPENAI_API_KEY, OPENAI_BASE_URL); default: OPENAI_MODEL with a key, else offline")
    .option("--agents <list>", `comma-separated: ${EVAL_AGENTS.join(",")} (default: all)`)
    .option("--min-score <x>", "exit 1 when the overall score (0..1) is below this")
    .option("--limit <n>", "only the first N chosen cases")
    .option("--corpus <dir>", "a corpus directory holding corpus/{tuning,heldout}.jsonl and worlds/*.jsonl (default: the bundled eval/)")
    .action(
      act(async (options: EvalCommandOptions, command: Command) => {
        const json = command.optsWithGlobals<{ json?: boolean }>().json ?? false;
        const minScore = options.minScore === undefined ? undefined : fraction(options.minScore);
        // Loaded when asked for: the eval (and LangSmith's evaluation API) stays out of every other command's start-up.
        const [{ runEval }, { CorpusError }, { ModelChoiceError }, { loadConfig }, { renderEval }] = await Promise.all([
          import("../eval/index.js"),
          import("../eval/corpus.js"),
          import("../llm/model.js"),
          import("../config.js"),
          import("./output.js"),
        ]);
        const report = await runEval(loadConfig(), {
          model: options.model,
          agents: agentList(options.agents),
          limit: count(options.limit),
          ...(options.corpus ? { corpusDir: options.corpus } : {}),
        }).catch((error: unknown) => {
          // A corpus that does not parse and a model that cannot be had are the user's input, not a failure of the run.
          if (error instanceof CorpusError || error instanceof ModelChoiceError) throw new UsageError(error.message);
          throw error;
        });
        const below = minScore !== undefined && report.scores.overall.score < minScore;
        if (json) printJson({ ...report, minScore: minScore ?? null, passed: !below && report.scores.overall.violations === 0 });
        else process.stdout.write(renderEval(report, minScore));
        return below || report.scores.overall.violations > 0 ? EXIT.failure : EXIT.ok;
      }),
    );
}

function agentList(given: string | undefined): EvalAgent[] | undefined {
  if (given === undefined) return undefined;
  const names = given
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  const unknown = names.filter((a) => !(EVAL_AGENTS as readonly string[]).includes(a));
  if (unknown.length > 0 || names.length === 0) throw new UsageError(`--agents must list some of ${EVAL_AGENTS.join(", ")}; got '${given}'`);
  return names as EvalAgent[];
}

function fraction(given: string): number {
  const x = Number(given);
  if (given.trim() === "" || !Number.isFinite(x) || x < 0 || x > 1) throw new UsageError(`--min-score must be a number from 0 to 1, got '${given}'`);
  return x;
}

function count(given: string | undefined): number | undefined {
  if (given === undefined) return undefined;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit must be a whole number of cases (1 or more), got '${given}'`);
  return n;
}
