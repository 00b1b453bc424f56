/**
 * The console on the CLI's database (`shopstate ui`): the same application
 * layer the CLI's commands call, one open session per store.
 */
import type { Decision } from "../nodes/approval_gate.js";
import type { State } from "../state.js";
import { decideApprovals, logOf, openStoreAt, storeRecord, UsageError, type StoreLocation, type StoreSession } from "../store.js";
import { diffStates } from "../timetravel/diff.js";
import { historyPage } from "../timetravel/history.js";
import { checkpointConfig, checkpointIdOf, headTuple, resolveRef } from "../timetravel/refs.js";
import { rollback, stateAt, tagCheckpoint, type PointInTime } from "../timetravel/rollback.js";
import { NotFoundError, type ConsoleSource, type Snapshot } from "./source.js";

export interface DatabaseSourceOptions {
  location: StoreLocation;
  /** Where the stores are, for the footer (the SQLite path or the URL without its password). */
  where: string;
  defaultStore: string;
  /** Settings a decision's run uses (as the CLI's `approve`). */
  run: { approvalThresholdCents: number; maxSteps: number };
}

/** How many checkpoints' states the console keeps in memory (each is bounded: see src/state.ts). */
const POINT_CACHE = 16;

/**
 * A full checkpoint id that cannot also be a tag (tags start with a letter; our
 * ids, UUIDv6, start with a digit): `resolveRef` would only check that it
 * exists, which reading it (or its header) does too.
 */
const PLAIN_ID = /^[0-9][0-9a-f]{7}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The state at a checkpoint named by its full id, as `stateAt` reads it (without the ref resolved again); undefined when there is none. */
async function stateById(s: StoreSession, id: string): Promise<PointInTime | undefined> {
  const snapshot = await s.graph.getState(checkpointConfig(s.threadId, id));
  // The graph answers an unknown checkpoint with an empty snapshot: no metadata.
  if (snapshot.metadata === undefined) return undefined;
  return { values: snapshot.values as State, checkpointId: checkpointIdOf(snapshot.config) ?? "", next: [...snapshot.next] };
}

export function databaseSource(options: DatabaseSourceOptions): ConsoleSource {
  const sessions = new Map<string, Promise<StoreSession>>();

  /** The open session of an existing store; an unknown name is a 404, and opens nothing. */
  const session = async (store: string): Promise<StoreSession> => {
    let opened = sessions.get(store);
    if (!opened) {
      opened = openStoreAt(options.location, store);
      sessions.set(store, opened);
      opened.catch(() => sessions.delete(store));
    }
    const s = await opened;
    if (!(await storeRecord(s))) throw new NotFoundError(`no store named '${store}' in ${options.where}`);
    return s;
  };

  // A checkpoint's state never changes, and reading one through the graph (getState) is the slow part of a page:
  // the newest few are kept by checkpoint id. The id comes from a header (the head's, or a plain id's: no state
  // decoded) or from the resolved ref, and a state not kept is read once, by id.
  const points = new Map<string, PointInTime>();
  /** The newest checkpoint header's id (what `getTuple` of the thread would return), undefined for an empty store. */
  const headId = async (s: StoreSession): Promise<string | undefined> =>
    s.meta.listHeaders ? (await s.meta.listHeaders(s.threadId, { limit: 1 }))[0]?.checkpointId : checkpointIdOf((await headTuple(s))?.config);
  /** Whether the store has this checkpoint, from its header ('~' sorts after every id character, so the id is the newest below id~). */
  const hasCheckpoint = async (s: StoreSession, id: string): Promise<boolean> =>
    s.meta.listHeaders
      ? (await s.meta.listHeaders(s.threadId, { limit: 1, before: `${id}~` }))[0]?.checkpointId === id
      : (await s.saver.getTuple(checkpointConfig(s.threadId, id))) !== undefined;
  const snapshotOf = async (s: StoreSession, at?: string): Promise<Snapshot> => {
    const plain = at?.trim().toLowerCase() ?? "";
    const id = at === undefined || at === "head" ? await headId(s) : PLAIN_ID.test(plain) ? plain : (await resolveRef(s, at)).checkpointId;
    let point = id === undefined ? undefined : points.get(`${s.threadId}/${id}`);
    // A plain id kept from earlier must still be there (a pruned store may have lost it), as resolveRef would check.
    if (point && PLAIN_ID.test(plain) && !(await hasCheckpoint(s, plain))) point = undefined;
    if (!point) {
      point = id === undefined ? await stateAt(s) : await stateById(s, id);
      if (!point) {
        // No such checkpoint: resolveRef says so with close matches (and finds the checkpoint if it has appeared since).
        point = await stateById(s, (await resolveRef(s, at ?? "head")).checkpointId);
        if (!point) throw new NotFoundError(`no checkpoint ${id} in store '${s.name}'`);
      }
      points.set(`${s.threadId}/${point.checkpointId}`, point);
      if (points.size > POINT_CACHE) points.delete(points.keys().next().value as string);
    }
    return { values: point.values, checkpointId: point.checkpointId, log: logOf(s, point.values) };
  };

  return {
    kind: "database",
    where: options.where,
    defaultStore: async () => options.defaultStore,
    async stores() {
      // Any open session reads the store list; the default store's name may not exist yet.
      const s = await (sessions.get(options.defaultStore) ?? openStoreAt(options.location, options.defaultStore));
      if (!sessions.has(options.defaultStore)) sessions.set(options.defaultStore, Promise.resolve(s));
      return (await s.meta.listStores()).map((r) => ({ name: r.name, detail: `${r.checkpoints} checkpoints, created ${r.createdAt} by ${r.origin}` }));
    },
    async snapshot(store, at) {
      return snapshotOf(await session(store), at);
    },
    async history(store, page) {
      return historyPage(await session(store), page);
    },
    async diff(store, from, to) {
      const s = await session(store);
      const [a, b] = [await snapshotOf(s, from), await snapshotOf(s, to)];
      return { from: a.checkpointId, to: b.checkpointId, diff: await diffStates(a, b) };
    },
    async tag(store, label, at) {
      const tag = await tagCheckpoint(await session(store), label, at);
      return { label: tag.label, checkpointId: tag.checkpointId };
    },
    async rollback(store, at) {
      return rollback(await session(store), at);
    },
    async decide(store, decisions: Decision[]) {
      if (decisions.length === 0) throw new UsageError("no decision given");
      const result = await decideApprovals(await session(store), decisions, { ...options.run, waitMs: 0 });
      return { approvals: result.approvals, rejected: result.rejected.map(({ source, line, reason }) => ({ source, line, reason })) };
    },
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      for (const s of await Promise.allSettled(open)) if (s.status === "fulfilled") await s.value.close();
    },
  };
}
