/**
 * The only module that reads `process.env`: parsed once with zod, defaults
 * filled in, errors that say which variable is wrong.
 */
import { z } from "zod";
import { DEFAULT_APPROVAL_THRESHOLD_CENTS } from "./domain/rules.js";

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const EnvSchema = z.object({
  SHOPSTATE_DB: z.string().min(1).default(".shopstate/shopstate.db"),
  SHOPSTATE_THREAD: z.string().min(1).default("main"),
  SHOPSTATE_APPROVAL_THRESHOLD_CENTS: z.coerce.number().int().nonnegative().default(DEFAULT_APPROVAL_THRESHOLD_CENTS),
  SHOPSTATE_MAX_STEPS: positiveInt(500),
  SHOPSTATE_BATCH_SIZE: positiveInt(100),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_MODEL: z.string().min(1).default("gpt-4o-mini"),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_EMBEDDINGS_MODEL: z.string().min(1).default("text-embedding-3-small"),
  // The LangSmith SDK's own variables, and the LANGCHAIN_ names it still honours.
  LANGSMITH_API_KEY: z.string().min(1).optional(),
  LANGCHAIN_API_KEY: z.string().min(1).optional(),
  LANGSMITH_TRACING: z.string().optional(),
  LANGSMITH_TRACING_V2: z.string().optional(),
  LANGCHAIN_TRACING_V2: z.string().optional(),
  LANGSMITH_ENDPOINT: z.url().optional(),
  LANGCHAIN_ENDPOINT: z.url().optional(),
  LANGSMITH_PROJECT: z.string().min(1).optional(),
  DATABASE_URL: z
    .string()
    .refine((url) => /^postgres(ql)?:\/\/[^\s]+$/.test(url), "must be a PostgreSQL URL: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or postgresql://...)")
    .optional(),
});

export interface Config {
  /** SQLite file of the stores. */
  dbPath: string;
  /** PostgreSQL holding the stores instead of the SQLite file, for several worker processes (DATABASE_URL). */
  databaseUrl?: string;
  /** Store (thread) name used when none is given. */
  thread: string;
  /** Refunds above this many cents wait for a person (docs/RULES.md rule 4). */
  approvalThresholdCents: number;
  /** Supersteps one run may take before it stops and reports (exit code 3). */
  maxSteps: number;
  /** Input events per graph run when ingesting a file. */
  batchSize: number;
  /** `embeddingsModel` ranks the customer knowledge base when a key is set (memory/embeddings.ts). */
  openai: { apiKey?: string; model: string; baseUrl?: string; embeddingsModel: string };
  /**
   * LangSmith (docs/eval.md): with a key, `shopstate eval` records an experiment; with
   * `tracing` too, every run is traced. Without a key nothing leaves the machine.
   */
  langsmith: { apiKey?: string; tracing: boolean; endpoint: string; project?: string };
}

/** Where LangSmith is when LANGSMITH_ENDPOINT does not say. */
export const LANGSMITH_DEFAULT_ENDPOINT = "https://api.smith.langchain.com";

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new ConfigError(`invalid environment: ${problems}`);
  }
  const e = parsed.data;
  return {
    dbPath: e.SHOPSTATE_DB,
    databaseUrl: e.DATABASE_URL,
    thread: e.SHOPSTATE_THREAD,
    approvalThresholdCents: e.SHOPSTATE_APPROVAL_THRESHOLD_CENTS,
    maxSteps: e.SHOPSTATE_MAX_STEPS,
    batchSize: e.SHOPSTATE_BATCH_SIZE,
    openai: { apiKey: e.OPENAI_API_KEY, model: e.OPENAI_MODEL, baseUrl: e.OPENAI_BASE_URL, embeddingsModel: e.OPENAI_EMBEDDINGS_MODEL },
    langsmith: {
      apiKey: e.LANGSMITH_API_KEY ?? e.LANGCHAIN_API_KEY,
      tracing: [e.LANGSMITH_TRACING, e.LANGSMITH_TRACING_V2, e.LANGCHAIN_TRACING_V2].some((v) => v === "true"),
      endpoint: e.LANGSMITH_ENDPOINT ?? e.LANGCHAIN_ENDPOINT ?? LANGSMITH_DEFAULT_ENDPOINT,
      project: e.LANGSMITH_PROJECT,
    },
  };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Sets LangGraph's process-wide bound on supersteps between a delta channel's
 * snapshots (`LANGGRAPH_DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT`, read by LangGraph
 * when it writes a checkpoint) unless the environment already names one.
 */
export function boundDeltaSnapshots(supersteps: number, env: Record<string, string | undefined> = process.env): void {
  env.LANGGRAPH_DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT ??= String(supersteps);
}
