/**
 * LangSmith tracing that cannot slow the CLI down or flood it (docs/eval.md).
 *
 * The LangSmith SDK sends traces in the background, retries a failed batch
 * and warns on every failure; with the service out of reach a short command
 * spent minutes after its output printing "Failed to fetch" lists. Here every
 * LangSmith client fetches through a guard: the first trace upload that
 * fails (no answer in time, a network error, an error status) marks the
 * service unreachable, and from then on trace uploads are answered locally
 * at once, so nothing is retried or warned about. At exit the flush is
 * bounded, and one line says the traces could not be sent.
 *
 * Only trace uploads are guarded: the experiment calls of `shopstate eval`
 * (datasets, examples, feedback) fail as errors, since the user asked for them.
 */
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { LangChainTracer } from "@langchain/core/tracers/tracer_langchain";
import { overrideFetchImplementation } from "langsmith";
import type { Config } from "../config.js";

/** How long one trace upload may take before the service counts as unreachable. */
export const TRACE_UPLOAD_TIMEOUT_MS = 5_000;
/** How long the CLI waits at exit for traces still being sent. */
export const TRACE_FLUSH_TIMEOUT_MS = 5_000;

/** Trace uploads, batched or one run at a time (and the SDK's look-up of the server's limits before the first one). */
const TRACE_PATHS = /\/(runs(\/multipart|\/batch|\/[0-9a-f-]{36})?|info)\/?$/;

export interface TraceGuard {
  /** Why traces could not be sent (the first failure), or undefined while all is well. */
  readonly failure: string | undefined;
  /** Waits (bounded) for traces still being sent; returns the one line to print when they could not be sent. */
  finish(): Promise<string | undefined>;
}

const NO_TRACING: TraceGuard = { failure: undefined, finish: async () => undefined };
const answeredLocally = () => new Response("{}", { status: 200, headers: { "content-type": "application/json" } });

/**
 * Installs the guard. Without a key nothing may leave the machine: the SDK would still trace when
 * LANGSMITH_TRACING is on, so every LangSmith request is answered locally.
 */
export function guardTraces(config: Pick<Config, "langsmith">, fetchImpl: typeof fetch = fetch): TraceGuard {
  const { apiKey, tracing, endpoint } = config.langsmith;
  if (!apiKey) {
    if (tracing) overrideFetchImplementation(async () => answeredLocally());
    return NO_TRACING;
  }
  let failure: string | undefined;

  overrideFetchImplementation(async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!TRACE_PATHS.test(new URL(url).pathname)) return fetchImpl(input, init);
    if (failure !== undefined) return answeredLocally();
    try {
      const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(TRACE_UPLOAD_TIMEOUT_MS)]) : AbortSignal.timeout(TRACE_UPLOAD_TIMEOUT_MS);
      const response = await fetchImpl(input, { ...init, signal });
      if (response.ok) return response;
      failure = `${endpoint} answered ${response.status} ${response.statusText}`.trim();
    } catch (error) {
      failure = `${endpoint} is unreachable (${describe(error)})`;
    }
    return answeredLocally();
  });

  return {
    get failure() {
      return failure;
    },
    async finish() {
      if (tracing) await withinMs(TRACE_FLUSH_TIMEOUT_MS, flushTraces());
      return failure === undefined ? undefined : `LangSmith traces could not be sent: ${failure}`;
    },
  };
}

async function flushTraces(): Promise<void> {
  await awaitAllCallbacks();
  // The tracer's client is the SDK's shared default, the one every traced run used.
  const client = new LangChainTracer().client as { awaitPendingTraceBatches?: () => Promise<void> };
  await client.awaitPendingTraceBatches?.();
}

async function withinMs(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([work.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.message) : undefined;
  if (error.name === "TimeoutError") return `no answer within ${TRACE_UPLOAD_TIMEOUT_MS} ms`;
  // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, ...).
  return code ?? error.message;
}
