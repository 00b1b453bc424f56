/**
 * The console on a LangGraph server (`langgraph.json` `http.app`): "the same
 * store the server's graph uses". A store is a thread of the `store` graph.
 * States and checkpoints are read through the server's own API (the SDK's
 * Client pointed at the same origin, with the caller's credentials passed
 * on); events and orders are read from the event store the environment names
 * (as graphs/store.ts opens it), at the state's log pointer.
 */
import { Client, type ThreadState } from "@langchain/langgraph-sdk";
import { APPROVAL_GATE, decisionEvent, type Decision } from "../nodes/approval_gate.js";
import type { Approval } from "../domain/world.js";
import { UsageError } from "../errors.js";
import { EMPTY_LOG, type EventStore } from "../persistence/event_store.js";
import { LeaseBusyError } from "../persistence/lease.js";
import { approvalById, storeLog } from "../persistence/store_log.js";
import type { State } from "../state.js";
import { diffStates } from "../timetravel/diff.js";
import { shortIdOf, type HistoryEntry } from "../timetravel/history.js";
import { NotFoundError, UnsupportedError, type ConsoleSource, type Snapshot } from "./source.js";

/** The graph whose threads are stores. */
export const STORE_GRAPH = "store";

export interface ServerSourceOptions {
  /**
   * The server's own URL (the request's origin). Leave it out inside the
   * LangGraph server: the SDK then calls the server's API in-process through
   * the loopback fetch the server binds for custom routes (no network).
   */
  apiUrl?: string;
  /** Headers passed on to the server's API (the caller's credentials under custom auth). */
  headers?: Record<string, string>;
  events: EventStore;
  /** What the footer says the stores are. */
  where: string;
}

type StoreState = ThreadState<State>;

export function serverSource(options: ServerSourceOptions): ConsoleSource {
  // No retries: a refused write (409) must reach the page as it is, not be tried again.
  const client = new Client({ ...(options.apiUrl ? { apiUrl: options.apiUrl } : {}), defaultHeaders: options.headers, callerOptions: { maxRetries: 0 } });

  const threads = async () => client.threads.search({ metadata: { graph_id: STORE_GRAPH }, limit: 100, sortBy: "updated_at", sortOrder: "desc" });

  const stateOf = async (store: string, at?: string): Promise<StoreState> => {
    if (!store) throw new NotFoundError("no store thread on this server yet: run the `store` graph once (Studio, or the SDK)");
    try {
      if (at === undefined || at === "head") return await client.threads.getState<State>(store);
      const back = /^head~(\d+)$/.exec(at);
      if (back) {
        const history = await client.threads.getHistory<State>(store, { limit: Number(back[1]) + 1 });
        const state = history[Number(back[1])];
        if (!state) throw new NotFoundError(`'${at}': the thread has only ${history.length} checkpoints`);
        return state;
      }
      return await client.threads.getState<State>(store, at);
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      if (statusOf(error) === 404)
        throw new NotFoundError(
          `no thread '${store}'${at ? ` or checkpoint '${at}'` : ""} on this server (a checkpoint is named by its full id, head or head~N here)`,
        );
      throw error;
    }
  };

  const snapshotOf = (store: string, state: StoreState): Snapshot => ({
    values: state.values,
    checkpointId: state.checkpoint.checkpoint_id ?? "",
    log: storeLog(options.events, store, state.values?.log ?? EMPTY_LOG),
  });

  return {
    kind: "server",
    where: options.where,
    defaultStore: async () => (await threads())[0]?.thread_id ?? "",
    async stores() {
      return (await threads()).map((t) => ({ name: t.thread_id, detail: `thread of '${STORE_GRAPH}', ${t.status}, updated ${t.updated_at}` }));
    },
    async snapshot(store, at) {
      return snapshotOf(store, await stateOf(store, at));
    },
    async history(store, page) {
      await stateOf(store);
      const states = await client.threads.getHistory<State>(store, {
        limit: page.limit + 1,
        ...(page.before ? { before: { configurable: { checkpoint_id: page.before } } } : {}),
      });
      const shown = states.slice(0, page.limit);
      const head = page.before ? undefined : shown[0]?.checkpoint.checkpoint_id;
      const entries: HistoryEntry[] = shown.map((s, i) => {
        const id = s.checkpoint.checkpoint_id ?? "";
        const parentId = s.parent_checkpoint?.checkpoint_id ?? undefined;
        const older = states[i + 1];
        const metadata = (s.metadata ?? {}) as { step?: number; source?: string; writes?: Record<string, unknown> | null };
        const length = s.values?.log?.length ?? 0;
        const added = length - (older?.values?.log?.length ?? 0);
        const followsOlder = parentId === undefined || parentId === older?.checkpoint.checkpoint_id;
        return {
          checkpointId: id,
          shortId: shortIdOf(id, [shown[i - 1]?.checkpoint.checkpoint_id ?? undefined, older?.checkpoint.checkpoint_id ?? undefined]),
          parentId,
          step: Number(metadata.step ?? 0),
          source: String(metadata.source ?? ""),
          writers: Object.keys(metadata.writes ?? {}).length > 0 ? Object.keys(metadata.writes ?? {}) : [String(metadata.source ?? "")],
          createdAt: s.created_at ?? undefined,
          tags: [],
          summary: `log of ${length} events${added > 0 ? ` (+${added})` : ""}`,
          next: s.next,
          head: id === head,
          branchedFrom: followsOlder ? undefined : parentId,
        };
      });
      return { entries, nextBefore: states.length > page.limit ? (shown[shown.length - 1]?.checkpoint.checkpoint_id ?? undefined) : undefined };
    },
    async diff(store, from, to) {
      const [a, b] = [snapshotOf(store, await stateOf(store, from)), snapshotOf(store, await stateOf(store, to))];
      return { from: a.checkpointId, to: b.checkpointId, diff: await diffStates(a, b) };
    },
    async tag() {
      throw new UnsupportedError(
        "tags are kept in the CLI's database; the LangGraph server has no tag table (use `shopstate ui` on a CLI database to tag checkpoints)",
      );
    },
    async rollback(store, at) {
      const previous = await stateOf(store);
      const target = await stateOf(store, at);
      const forked = (await busyAware(store, () =>
        client.threads.updateState<null>(store, { values: null, checkpointId: target.checkpoint.checkpoint_id ?? undefined }),
      )) as { checkpoint?: { checkpoint_id?: string }; configurable?: { checkpoint_id?: string } };
      const newHead = forked.checkpoint?.checkpoint_id ?? forked.configurable?.checkpoint_id ?? "";
      return { from: target.checkpoint.checkpoint_id ?? "", newHead, previousHead: previous.checkpoint.checkpoint_id ?? undefined };
    },
    async decide(store, decisions: Decision[]) {
      if (decisions.length === 0) throw new UsageError("no decision given");
      const before = await stateOf(store);
      const paused = before.tasks.some((t) => t.name === APPROVAL_GATE && t.interrupts.length > 0);
      // A paused run resumes with the decisions; otherwise they go in as ApprovalDecided input. One run per thread at a time.
      await busyAware(store, () =>
        paused
          ? client.runs.wait(store, STORE_GRAPH, { command: { resume: { decisions } }, multitaskStrategy: "reject", raiseError: true })
          : client.runs.wait(store, STORE_GRAPH, { input: { inbox: decisions.map((d) => decisionEvent(d)) }, multitaskStrategy: "reject", raiseError: true }),
      );
      const after = snapshotOf(store, await stateOf(store));
      const approvals = await Promise.all(decisions.map(async (d) => after.values.approvals?.[d.approvalId] ?? (await approvalById(after.log, d.approvalId))));
      const rejected = (after.values.lastIngest?.rejected ?? []).map(({ source, line, reason }) => ({ source, line, reason }));
      return { approvals: approvals.filter((a): a is Approval => a !== undefined), rejected };
    },
    async close() {
      await options.events.close?.();
    },
  };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown })?.status;
  return typeof status === "number" ? status : undefined;
}

/** A run already in progress on the thread (the server answers 409) is the server's "another writer holds the store". */
async function busyAware<T>(store: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (statusOf(error) === 409) throw new LeaseBusyError(store, "a run in progress on the LangGraph server");
    throw error;
  }
}
