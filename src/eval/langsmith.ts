/**
 * Records an eval run as a LangSmith experiment, the ecosystem's convention:
 * the corpus becomes a dataset (one example per case, its expectations as
 * reference outputs, its part as the example's split), and `evaluate` runs
 * each case through the store with the scores as feedback. The agents'
 * traces of a case nest under the experiment's run for it.
 */
import { createHash } from "node:crypto";
import { Client } from "langsmith";
import { evaluate } from "langsmith/evaluation";
import type { Example, Run } from "langsmith/schemas";
import type { EvalCase } from "./corpus.js";
import type { CaseResult } from "./score.js";

export interface ExperimentOptions {
  apiKey: string;
  endpoint: string;
  /** The experiment's name starts with this (LangSmith adds a unique suffix). */
  experimentPrefix: string;
  metadata: Record<string, unknown>;
}

/** The dataset's name: the corpus's content decides it, so a changed corpus gets a new dataset. */
export function datasetName(cases: readonly EvalCase[]): string {
  const hash = createHash("sha256").update(JSON.stringify(cases)).digest("hex").slice(0, 10);
  return `shopstate-eval-${hash}`;
}

/** Runs `cases` as an experiment; returns the results in case order, and the experiment's name. */
export async function runExperiment(
  all: readonly EvalCase[],
  cases: readonly EvalCase[],
  runOne: (item: EvalCase) => Promise<CaseResult>,
  options: ExperimentOptions,
): Promise<{ results: CaseResult[]; experiment: string }> {
  const client = new Client({ apiKey: options.apiKey, apiUrl: options.endpoint });
  const examples = await datasetExamples(client, all);
  const wanted = new Set(cases.map((c) => c.id));
  const chosen = examples.filter((e) => wanted.has(String(e.inputs.case_id)));
  const byId = new Map(cases.map((c) => [c.id, c]));
  const results = new Map<string, CaseResult>();

  const experiment = await evaluate(
    async (inputs: Record<string, unknown>) => {
      const item = byId.get(String(inputs.case_id));
      if (!item) throw new Error(`example names case '${String(inputs.case_id)}', which is not in the corpus`);
      const result = await runOne(item);
      results.set(item.id, result);
      const { correct, checks, violations, summary, toolCalls, tokens, latencyMs } = result;
      return { correct, checks, violations, summary, toolCalls, tokens, latencyMs };
    },
    {
      data: chosen,
      client,
      evaluators: [feedback],
      experimentPrefix: options.experimentPrefix,
      metadata: options.metadata,
      maxConcurrency: 1,
    },
  );
  await client.awaitPendingTraceBatches();
  return { results: cases.map((c) => results.get(c.id)).filter((r): r is CaseResult => r !== undefined), experiment: experiment.experimentName };
}

/** The scores LangSmith shows per example: correctness, rule violations, tool calls and tokens. */
function feedback({ run }: { run: Run }) {
  const outputs = (run.outputs ?? {}) as Partial<CaseResult>;
  return {
    results: [
      { key: "correct", score: outputs.correct ? 1 : 0, comment: outputs.summary },
      { key: "rule_violations", score: outputs.violations?.length ?? 0 },
      { key: "tool_calls", score: outputs.toolCalls ?? 0 },
      { key: "tokens", score: outputs.tokens ?? 0 },
    ],
  };
}

async function datasetExamples(client: Client, cases: readonly EvalCase[]): Promise<Example[]> {
  const name = datasetName(cases);
  if (!(await client.hasDataset({ datasetName: name }))) {
    const dataset = await client.createDataset(name, {
      description: "shopstate eval corpus (eval/corpus): one example per case; reference outputs are the case's expectations.",
    });
    await client.createExamples(
      cases.map((c) => ({
        dataset_id: dataset.id,
        inputs: { case_id: c.id, agent: c.agent, world: c.world, ...(c.agent === "support" ? { message: c.message } : { events: c.events }), setup: c.setup },
        reference_outputs: c.expect,
        metadata: { tags: c.tags },
        split: c.split,
      })),
    );
  }
  const examples: Example[] = [];
  for await (const example of client.listExamples({ datasetName: name })) examples.push(example);
  return examples;
}
