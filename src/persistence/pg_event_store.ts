/**
 * The event store in PostgreSQL (DATABASE_URL): the same tables and the same
 * promises as the SQLite one (event_store.ts says what it promises,
 * sqlite_event_store.ts is its twin). Tables are created on first use; every
 * read goes through an index.
 *
 * Appends to one store are serialised by a transaction-level advisory lock
 * per thread, and each append re-reads the thread's branch records under it:
 * two nodes of one round append the same events at the same pointer at once,
 * and the second must find the first's events and get the same pointer back.
 * Bodies are stored as the exact JSON text (not JSONB, which reorders keys),
 * because an idempotent re-append is recognised by comparing that text.
 */
import pg from "pg";
import type { StoreEvent } from "../domain/events.js";
import { streamsOf } from "../domain/streams.js";
import {
  appendCandidates,
  commonPrefix,
  decideAppend,
  segmentsOf,
  type AppendCandidate,
  type BranchRecord,
  type EventQuery,
  type EventStore,
  type LogPointer,
  type LoggedEvent,
  type Segment,
} from "./event_store.js";
import { lockKeyOf, LOCK_NAMESPACE, SETUP_LOCK_KEY } from "./pg_lease.js";
import { redactUrl } from "./url.js";

/**
 * First key of the append locks (the second is `lockKeyOf(threadId)`). Not
 * LOCK_NAMESPACE: the write lease holds (LOCK_NAMESPACE, key) on a connection
 * of its own for a whole run, and an append from that run must not wait for it.
 */
export const APPEND_LOCK_NAMESPACE = (LOCK_NAMESPACE + 1) | 0;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_branches (
  thread_id TEXT NOT NULL,
  branch INTEGER NOT NULL,
  parent INTEGER,
  fork_at INTEGER NOT NULL,
  PRIMARY KEY (thread_id, branch)
);
CREATE TABLE IF NOT EXISTS shopstate_events (
  thread_id TEXT NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (thread_id, branch, position)
);
CREATE INDEX IF NOT EXISTS shopstate_events_id ON shopstate_events (thread_id, id);
CREATE INDEX IF NOT EXISTS shopstate_events_type ON shopstate_events (thread_id, branch, type, position);
CREATE TABLE IF NOT EXISTS shopstate_streams (
  thread_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (thread_id, stream, branch, position)
);`;

interface Row {
  position: number;
  body: string;
}

type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

async function selectBranches(db: Queryable, threadId: string): Promise<Map<number, BranchRecord>> {
  const { rows } = await db.query<{ branch: number; parent: number | null; fork_at: number }>(
    "SELECT branch, parent, fork_at FROM shopstate_branches WHERE thread_id = $1 ORDER BY branch",
    [threadId],
  );
  return new Map(rows.map((r) => [r.branch, { branch: r.branch, parent: r.parent, forkAt: r.fork_at }]));
}

/** The filter and parameters of one segment's rows in `table` (alias `t`), parameters numbered from $1. */
function segmentFilter(threadId: string, s: Segment, query: Pick<EventQuery, "types" | "stream">): { where: string; params: unknown[]; join: string } {
  const params: unknown[] = [threadId, s.branch, s.from, s.to];
  if (query.stream === undefined) {
    let where = "e.thread_id = $1 AND e.branch = $2 AND e.position >= $3 AND e.position < $4";
    if (query.types) {
      params.push([...query.types]);
      where += ` AND e.type = ANY($${params.length}::text[])`;
    }
    return { join: "shopstate_events e", where, params };
  }
  params.push(query.stream);
  let where = `s.thread_id = $1 AND s.branch = $2 AND s.position >= $3 AND s.position < $4 AND s.stream = $5`;
  if (query.types) {
    params.push([...query.types]);
    where += ` AND e.type = ANY($${params.length}::text[])`;
  }
  return {
    join: "shopstate_streams s JOIN shopstate_events e ON e.thread_id = s.thread_id AND e.branch = s.branch AND e.position = s.position",
    where,
    params,
  };
}

export function pgEventStore(pool: pg.Pool): EventStore {
  const lineage = new Map<string, Map<number, BranchRecord>>();

  let setup: Promise<void> | undefined;
  /** Creates the tables once per store object, under the set-up lock every shopstate process takes (postgres.ts). */
  const ready = (): Promise<void> =>
    (setup ??= (async () => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_NAMESPACE, SETUP_LOCK_KEY]);
        await client.query(SCHEMA);
        await client.query("COMMIT");
        client.release();
      } catch (error) {
        client.release(error as Error); // destroys the connection, and any open transaction with it
        throw new Error(`cannot create the event store's tables in PostgreSQL: ${(error as Error).message}`, { cause: error });
      }
    })().catch((error: unknown) => {
      setup = undefined; // a later call tries again
      throw error;
    }));

  /** Runs `work` in one transaction holding the thread's append lock. */
  const inThreadTransaction = async <T>(threadId: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    await ready();
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1, $2)", [APPEND_LOCK_NAMESPACE, lockKeyOf(threadId)]);
      const result = await work(client);
      await client.query("COMMIT");
      client.release();
      return result;
    } catch (error) {
      lineage.delete(threadId);
      client.release(error as Error);
      throw error;
    }
  };

  /** The thread's branch records; re-read when a pointer names one not seen yet (records never change once written). */
  const branchesOf = async (threadId: string, need: number): Promise<Map<number, BranchRecord>> => {
    let branches = lineage.get(threadId);
    if (!branches || (need !== 0 && !branches.has(need))) {
      await ready();
      branches = await selectBranches(pool, threadId);
      lineage.set(threadId, branches);
    }
    return branches;
  };
  const segments = async (threadId: string, at: LogPointer): Promise<Segment[]> => segmentsOf(await branchesOf(threadId, at.branch), at);

  /** The query's segments, clipped to [from, to), in reading order. */
  const clipped = async (threadId: string, at: LogPointer, query: EventQuery): Promise<Segment[]> => {
    const from = query.from ?? 0;
    const to = Math.min(query.to ?? at.length, at.length);
    const parts = (await segments(threadId, at))
      .map((s) => ({ branch: s.branch, from: Math.max(s.from, from), to: Math.min(s.to, to) }))
      .filter((s) => s.from < s.to);
    return query.descending ? parts.reverse() : parts;
  };

  const insertAll = async (client: pg.PoolClient, threadId: string, branch: number, from: number, events: readonly StoreEvent[]) => {
    const positions = events.map((_, i) => from + i);
    await client.query(
      `INSERT INTO shopstate_events (thread_id, branch, position, id, type, body)
       SELECT $1, $2, r.position, r.id, r.type, r.body FROM unnest($3::int[], $4::text[], $5::text[], $6::text[]) AS r(position, id, type, body)`,
      [threadId, branch, positions, events.map((e) => e.id), events.map((e) => e.type), events.map((e) => JSON.stringify(e))],
    );
    const streams = events.flatMap((event, i) => streamsOf(event).map((stream) => ({ stream, position: from + i })));
    if (streams.length === 0) return;
    await client.query(
      `INSERT INTO shopstate_streams (thread_id, stream, branch, position)
       SELECT $1, r.stream, $2, r.position FROM unnest($3::text[], $4::int[]) AS r(stream, position)`,
      [threadId, branch, streams.map((s) => s.stream), streams.map((s) => s.position)],
    );
  };

  const append = (threadId: string, at: LogPointer, events: readonly StoreEvent[]): Promise<LogPointer> =>
    inThreadTransaction(threadId, async (client) => {
      // Another process (or another node of this one) may have made branches since: read them under the lock.
      const branches = await selectBranches(client, threadId);
      if (!branches.has(0)) {
        await client.query("INSERT INTO shopstate_branches (thread_id, branch, parent, fork_at) VALUES ($1, 0, NULL, 0)", [threadId]);
        branches.set(0, { branch: 0, parent: null, forkAt: 0 });
      }
      const end = at.length + events.length;
      const candidates: AppendCandidate[] = [];
      for (const branch of appendCandidates(threadId, branches, at)) {
        const { rows } = await client.query<Row>(
          "SELECT position, body FROM shopstate_events WHERE thread_id = $1 AND branch = $2 AND position >= $3 AND position < $4 ORDER BY position",
          [threadId, branch.branch, at.length, end],
        );
        candidates.push({ branch, stored: rows.map((r) => r.body), tip: rows.length === 0 ? await tipOf(client, threadId, branch) : undefined });
      }
      const decision = decideAppend(threadId, branches, at, events, candidates);
      if (decision.kind === "write") await insertAll(client, threadId, decision.branch, at.length, events);
      if (decision.kind === "fork") {
        const { fork } = decision;
        await client.query("INSERT INTO shopstate_branches (thread_id, branch, parent, fork_at) VALUES ($1, $2, $3, $4)", [
          threadId,
          fork.branch,
          fork.parent,
          fork.forkAt,
        ]);
        branches.set(fork.branch, fork);
        await insertAll(client, threadId, fork.branch, at.length, events);
      }
      lineage.set(threadId, branches);
      return decision.pointer;
    });

  return {
    append: async (threadId, at, events) => (events.length === 0 ? at : append(threadId, at, events)),

    read: async (threadId, at, query = {}) => {
      const found: LoggedEvent[] = [];
      const limit = query.limit ?? Infinity;
      for (const segment of await clipped(threadId, at, query)) {
        if (found.length >= limit) break;
        const { join, where, params } = segmentFilter(threadId, segment, query);
        const column = query.stream === undefined ? "e.position" : "s.position";
        let sql = `SELECT ${column} AS position, e.body FROM ${join} WHERE ${where} ORDER BY ${column} ${query.descending ? "DESC" : "ASC"}`;
        if (Number.isFinite(limit)) {
          params.push(limit - found.length);
          sql += ` LIMIT $${params.length}`;
        }
        const { rows } = await pool.query<Row>(sql, params);
        for (const row of rows) found.push({ position: row.position, event: JSON.parse(row.body) as StoreEvent });
      }
      return found;
    },

    findIds: async (threadId, at, ids) => {
      const found = new Map<string, LoggedEvent>();
      if (ids.length === 0 || at.length === 0) return found;
      const parts = await segments(threadId, at);
      const { rows } = await pool.query<Row & { id: string; branch: number }>(
        "SELECT id, branch, position, body FROM shopstate_events WHERE thread_id = $1 AND id = ANY($2::text[])",
        [threadId, [...ids]],
      );
      for (const row of rows) {
        if (parts.some((s) => s.branch === row.branch && row.position >= s.from && row.position < s.to))
          found.set(row.id, { position: row.position, event: JSON.parse(row.body) as StoreEvent });
      }
      return found;
    },

    existingStreams: async (threadId, at, streams) => {
      const parts = await segments(threadId, at);
      if (streams.length === 0 || parts.length === 0) return new Set();
      const { rows } = await pool.query<{ stream: string }>(
        `SELECT k.stream FROM unnest($2::text[]) AS k(stream)
         WHERE EXISTS (SELECT 1 FROM unnest($3::int[], $4::int[], $5::int[]) AS g(branch, lo, hi)
                       JOIN shopstate_streams s ON s.thread_id = $1 AND s.stream = k.stream AND s.branch = g.branch AND s.position >= g.lo AND s.position < g.hi)`,
        [threadId, [...new Set(streams)], parts.map((s) => s.branch), parts.map((s) => s.from), parts.map((s) => s.to)],
      );
      return new Set(rows.map((r) => r.stream));
    },

    count: async (threadId, at, query = {}) => {
      let total = 0;
      for (const segment of await clipped(threadId, at, query)) {
        const { join, where, params } = segmentFilter(threadId, segment, query);
        const { rows } = await pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${join} WHERE ${where}`, params);
        total += Number(rows[0]?.n ?? 0);
      }
      return total;
    },

    commonLength: async (threadId, a, b) => commonPrefix(await segments(threadId, a), a.length, await segments(threadId, b), b.length),

    deleteThread: async (threadId) => {
      await inThreadTransaction(threadId, async (client) => {
        for (const table of ["shopstate_events", "shopstate_streams", "shopstate_branches"])
          await client.query(`DELETE FROM ${table} WHERE thread_id = $1`, [threadId]);
      });
      lineage.delete(threadId);
    },
  };
}

/** Where a branch's own events end (its fork point while it has none). */
async function tipOf(client: pg.PoolClient, threadId: string, branch: BranchRecord): Promise<number> {
  const { rows } = await client.query<{ tip: number | null }>("SELECT MAX(position) + 1 AS tip FROM shopstate_events WHERE thread_id = $1 AND branch = $2", [
    threadId,
    branch.branch,
  ]);
  return rows[0]?.tip ?? branch.forkAt;
}

/** Connections of the LangGraph server's event store (graphs/store.ts); its checkpointer has its own. */
const LAZY_POOL_SIZE = 4;

/**
 * An event store on the database at `url` that connects on first use: the
 * LangGraph server imports its graph module before any request, and importing
 * must not need the database. A failed connection says where it tried
 * (password redacted); the next call tries again.
 */
export function lazyPgEventStore(url: string): EventStore {
  const where = redactUrl(url);
  let opened: Promise<{ pool: pg.Pool; store: EventStore }> | undefined;
  const open = () =>
    (opened ??= (async () => {
      const pool = new pg.Pool({ connectionString: url, max: LAZY_POOL_SIZE });
      // An idle connection the server dropped must not crash the process; the next query reports it.
      pool.on("error", () => undefined);
      try {
        (await pool.connect()).release();
      } catch (error) {
        await pool.end().catch(() => undefined);
        throw new Error(`cannot connect to PostgreSQL at ${where} (DATABASE_URL) for the event store: ${(error as Error).message}`, { cause: error });
      }
      return { pool, store: pgEventStore(pool) };
    })().catch((error: unknown) => {
      opened = undefined;
      throw error;
    }));
  const store = async () => (await open()).store;
  return {
    append: async (threadId, at, events) => (await store()).append(threadId, at, events),
    read: async (threadId, at, query) => (await store()).read(threadId, at, query),
    findIds: async (threadId, at, ids) => (await store()).findIds(threadId, at, ids),
    count: async (threadId, at, query) => (await store()).count(threadId, at, query),
    existingStreams: async (threadId, at, streams) => (await store()).existingStreams(threadId, at, streams),
    commonLength: async (threadId, a, b) => (await store()).commonLength(threadId, a, b),
    deleteThread: async (threadId) => (await store()).deleteThread(threadId),
    close: async () => {
      const current = opened;
      opened = undefined;
      if (current) await (await current.catch(() => undefined))?.pool.end();
    },
  };
}
