/**
 * The event store in the SQLite file, beside the checkpoints (event_store.ts
 * says what it promises). Four tables (docs/event-store.md, "How the SQLite
 * tables are laid out"): threads (each store's thread id, once, with the
 * integer key every other row carries), branches (lineage), events (one row per
 * event per branch that appended it, keyed by position, the body deflated by
 * event_codec.ts) and streams (which entity streams each event belongs to).
 * Every read goes through an index.
 *
 * A file written before the integer key (every row carried the thread id) is
 * migrated when a store opens it (`migrateThreadIds`).
 */
import Database from "better-sqlite3";
import type { StoreEvent } from "../domain/events.js";
import { streamsOf } from "../domain/streams.js";
import { decodeBody, encodeBody } from "./event_codec.js";
import {
  appendCandidates,
  commonPrefix,
  decideAppend,
  segmentsOf,
  type BranchRecord,
  type EventQuery,
  type EventStore,
  type LogPointer,
  type LoggedEvent,
  type Segment,
} from "./event_store.js";

/**
 * A thread's key never changes once given (deleteThread keeps it), so a store
 * object may cache it. `body` is BLOB-typed so that a deflated body is stored
 * as it is; a TEXT value there is the JSON itself.
 */
const TABLES = `
CREATE TABLE IF NOT EXISTS shopstate_event_threads (
  thread INTEGER PRIMARY KEY,
  thread_id TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS shopstate_branches (
  thread INTEGER NOT NULL,
  branch INTEGER NOT NULL,
  parent INTEGER,
  fork_at INTEGER NOT NULL,
  PRIMARY KEY (thread, branch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shopstate_events (
  thread INTEGER NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (thread, branch, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shopstate_streams (
  thread INTEGER NOT NULL,
  stream TEXT NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (thread, stream, branch, position)
) WITHOUT ROWID;`;
const INDEXES = `
CREATE INDEX IF NOT EXISTS shopstate_events_id ON shopstate_events (thread, id);
CREATE INDEX IF NOT EXISTS shopstate_events_type ON shopstate_events (thread, branch, type, position);`;

/** Whether the file's event tables carry the thread id in every row (the layout before the integer key). */
function hasThreadIdRows(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM pragma_table_info('shopstate_events') WHERE name = 'thread_id'").get() !== undefined;
}

/**
 * Moves a file's event tables from the layout with the thread id in every row
 * to the integer key, in one IMMEDIATE transaction: two processes may open the
 * same old file at once (workers do), so the second waits for the first and
 * finds nothing left to do. Old bodies are copied as they are (plain JSON,
 * which reads as before): the copy is one statement per table, so the write
 * lock is held briefly. The old tables' pages go to the file's free list, and
 * new rows reuse them.
 */
function migrateThreadIds(db: Database.Database): void {
  if (!hasThreadIdRows(db)) return;
  db.transaction(() => {
    if (!hasThreadIdRows(db)) return;
    for (const table of ["shopstate_events", "shopstate_streams", "shopstate_branches"]) db.exec(`ALTER TABLE ${table} RENAME TO ${table}_by_id`);
    // Indexes follow their table when it is renamed; the new tables' indexes take their names.
    db.exec("DROP INDEX IF EXISTS shopstate_events_id; DROP INDEX IF EXISTS shopstate_events_type;");
    db.exec(TABLES);
    db.exec(`
      INSERT INTO shopstate_event_threads (thread_id)
        SELECT thread_id FROM shopstate_branches_by_id UNION SELECT thread_id FROM shopstate_events_by_id ORDER BY 1;
      INSERT INTO shopstate_branches (thread, branch, parent, fork_at)
        SELECT t.thread, b.branch, b.parent, b.fork_at FROM shopstate_branches_by_id b JOIN shopstate_event_threads t ON t.thread_id = b.thread_id
        ORDER BY 1, 2;
      INSERT INTO shopstate_events (thread, branch, position, id, type, body)
        SELECT t.thread, e.branch, e.position, e.id, e.type, e.body FROM shopstate_events_by_id e JOIN shopstate_event_threads t ON t.thread_id = e.thread_id
        ORDER BY 1, 2, 3;
      INSERT INTO shopstate_streams (thread, stream, branch, position)
        SELECT t.thread, s.stream, s.branch, s.position FROM shopstate_streams_by_id s JOIN shopstate_event_threads t ON t.thread_id = s.thread_id
        ORDER BY 1, 2, 3, 4;
      DROP TABLE shopstate_events_by_id;
      DROP TABLE shopstate_streams_by_id;
      DROP TABLE shopstate_branches_by_id;`);
    db.exec(INDEXES);
  }).immediate();
}

/**
 * How a stream row finds its event: one search by position for each. CROSS
 * JOIN keeps the stream as the outer loop; the unary `+` stops SQLite from
 * carrying the stream's position range over to the events table, where
 * without statistics it searches that range for every stream row instead.
 */
const STREAM_TO_EVENT = "e.thread = s.thread AND e.branch = s.branch AND e.position = +s.position";

/** Ids looked up per statement (SQLite's default limit on parameters is far above it). */
const ID_CHUNK = 500;

interface Row {
  position: number;
  body: Uint8Array | string;
}

/** How many event rows a thread has in the file, on every branch (for tests that check an append wrote nothing). */
export function storedEventRows(db: Database.Database, threadId: string): number {
  const row = db
    .prepare("SELECT COUNT(*) AS n FROM shopstate_events e JOIN shopstate_event_threads t ON e.thread = t.thread WHERE t.thread_id = ?")
    .get(threadId) as { n: number };
  return row.n;
}

export function sqliteEventStore(db: Database.Database): EventStore {
  migrateThreadIds(db);
  db.exec(TABLES + INDEXES);
  const keys = new Map<string, number>();
  const lineage = new Map<string, Map<number, BranchRecord>>();

  const selectThread = db.prepare<[string], { thread: number }>("SELECT thread FROM shopstate_event_threads WHERE thread_id = ?");
  const insertThread = db.prepare("INSERT OR IGNORE INTO shopstate_event_threads (thread_id) VALUES (?)");
  const selectBranches = db.prepare<[number], { branch: number; parent: number | null; fork_at: number }>(
    "SELECT branch, parent, fork_at FROM shopstate_branches WHERE thread = ?",
  );
  const insertBranch = db.prepare("INSERT INTO shopstate_branches (thread, branch, parent, fork_at) VALUES (?, ?, ?, ?)");
  const insertEvent = db.prepare("INSERT INTO shopstate_events (thread, branch, position, id, type, body) VALUES (?, ?, ?, ?, ?, ?)");
  const insertStream = db.prepare("INSERT INTO shopstate_streams (thread, stream, branch, position) VALUES (?, ?, ?, ?)");
  const selectTip = db.prepare<[number, number], { tip: number | null }>(
    "SELECT MAX(position) + 1 AS tip FROM shopstate_events WHERE thread = ? AND branch = ?",
  );
  // Read statements vary with the query's filters: each text is prepared once.
  const prepared = new Map<string, Database.Statement<unknown[]>>();
  const statement = (sql: string): Database.Statement<unknown[]> => {
    let found = prepared.get(sql);
    if (!found) prepared.set(sql, (found = db.prepare<unknown[]>(sql)));
    return found;
  };
  // INDEXED BY: without ANALYZE statistics SQLite searches the primary key's (thread) prefix
  // instead, a scan of the thread's whole log for every id (tests/event_store.test.ts checks the plan).
  const selectIds = db.prepare<[string, number], Row & { id: string; branch: number }>(
    "SELECT e.id, e.branch, e.position, e.body FROM json_each(?) j CROSS JOIN shopstate_events e INDEXED BY shopstate_events_id ON e.thread = ? AND e.id = j.value",
  );
  const selectRange = db.prepare<[number, number, number, number], Row>(
    "SELECT position, body FROM shopstate_events WHERE thread = ? AND branch = ? AND position >= ? AND position < ? ORDER BY position",
  );

  /** The thread's key, if it has ever appended (reads of a thread that has not find nothing, and write nothing). */
  const keyOf = (threadId: string): number | undefined => {
    let key = keys.get(threadId);
    if (key === undefined) {
      key = selectThread.get(threadId)?.thread;
      if (key !== undefined) keys.set(threadId, key);
    }
    return key;
  };
  /** The thread's key, given now if it has none (inside the append's transaction). */
  const keyFor = (threadId: string): number => {
    const known = keyOf(threadId);
    if (known !== undefined) return known;
    insertThread.run(threadId);
    return keyOf(threadId)!;
  };

  /** The thread's branch records; re-read when a pointer names one not seen yet (records never change once written). */
  const branchesOf = (threadId: string, need?: number): Map<number, BranchRecord> => {
    let branches = lineage.get(threadId);
    if (!branches || (need !== undefined && need !== 0 && !branches.has(need))) {
      const thread = keyOf(threadId);
      const rows = thread === undefined ? [] : selectBranches.all(thread);
      branches = new Map(rows.map((r) => [r.branch, { branch: r.branch, parent: r.parent, forkAt: r.fork_at }]));
      lineage.set(threadId, branches);
    }
    return branches;
  };
  const segments = (threadId: string, at: LogPointer): Segment[] => segmentsOf(branchesOf(threadId, at.branch), at);
  const tipOf = (thread: number, branch: BranchRecord): number => selectTip.get(thread, branch.branch)?.tip ?? branch.forkAt;
  /** The JSON of a stored body; where it is stored names it in the error an unknown format gets. */
  const bodyText = (threadId: string, branch: number, row: Row): string =>
    decodeBody(row.body, () => `event ${row.position} of branch ${branch} of thread ${threadId}`);

  const insertAll = (thread: number, branch: number, from: number, events: readonly StoreEvent[]) => {
    events.forEach((event, i) => {
      insertEvent.run(thread, branch, from + i, event.id, event.type, encodeBody(JSON.stringify(event)));
      for (const stream of streamsOf(event)) insertStream.run(thread, stream, branch, from + i);
    });
  };

  const appendTx = db.transaction((threadId: string, at: LogPointer, events: readonly StoreEvent[]): LogPointer => {
    lineage.delete(threadId); // another process may have made branches since
    const thread = keyFor(threadId);
    const branches = branchesOf(threadId);
    if (!branches.has(0)) {
      insertBranch.run(thread, 0, null, 0);
      branches.set(0, { branch: 0, parent: null, forkAt: 0 });
    }
    const end = at.length + events.length;
    const candidates = appendCandidates(threadId, branches, at).map((branch) => {
      // Decoded: a body is compared as the JSON text it stands for, whatever format stored it.
      const stored = selectRange.all(thread, branch.branch, at.length, end).map((r) => bodyText(threadId, branch.branch, r));
      return { branch, stored, tip: stored.length === 0 ? tipOf(thread, branch) : undefined };
    });
    const decision = decideAppend(threadId, branches, at, events, candidates);
    if (decision.kind === "write") insertAll(thread, decision.branch, at.length, events);
    if (decision.kind === "fork") {
      const { fork } = decision;
      insertBranch.run(thread, fork.branch, fork.parent, fork.forkAt);
      branches.set(fork.branch, fork);
      insertAll(thread, fork.branch, at.length, events);
    }
    return decision.pointer;
  });

  const readSegment = (thread: number, s: Segment, query: EventQuery, limit: number): Row[] => {
    const params: unknown[] = [thread, s.branch, s.from, s.to];
    const order = query.descending ? "DESC" : "ASC";
    let sql: string;
    if (query.stream !== undefined) {
      sql = `SELECT e.position, e.body FROM shopstate_streams s CROSS JOIN shopstate_events e ON ${STREAM_TO_EVENT}
             WHERE s.thread = ? AND s.branch = ? AND s.position >= ? AND s.position < ? AND s.stream = ?`;
      params.push(query.stream);
      if (query.types) {
        sql += ` AND e.type IN (${query.types.map(() => "?").join(",")})`;
        params.push(...query.types);
      }
      sql += ` ORDER BY s.position ${order}`;
    } else if (query.types) {
      sql = `SELECT position, body FROM shopstate_events INDEXED BY shopstate_events_type WHERE thread = ? AND branch = ? AND position >= ? AND position < ? AND type IN (${query.types.map(() => "?").join(",")}) ORDER BY position ${order}`;
      params.push(...query.types);
    } else {
      sql = `SELECT position, body FROM shopstate_events WHERE thread = ? AND branch = ? AND position >= ? AND position < ? ORDER BY position ${order}`;
    }
    if (Number.isFinite(limit)) {
      sql += " LIMIT ?";
      params.push(limit);
    }
    return statement(sql).all(...params) as Row[];
  };

  /** The query's segments, clipped to [from, to), in reading order. */
  const clipped = (threadId: string, at: LogPointer, query: EventQuery): Segment[] => {
    const from = query.from ?? 0;
    const to = Math.min(query.to ?? at.length, at.length);
    const parts = segments(threadId, at)
      .map((s) => ({ branch: s.branch, from: Math.max(s.from, from), to: Math.min(s.to, to) }))
      .filter((s) => s.from < s.to);
    return query.descending ? parts.reverse() : parts;
  };

  return {
    append: async (threadId, at, events) => {
      if (events.length === 0) return at;
      try {
        // IMMEDIATE: take the write lock before reading, so another connection's append cannot slip in between (a deferred
        // transaction that has read would fail with SQLITE_BUSY instead of waiting).
        return appendTx.immediate(threadId, at, events);
      } catch (error) {
        lineage.delete(threadId); // the rolled-back transaction may have added branches to the cached records
        keys.delete(threadId); // and may have given the thread a key that was rolled back
        throw error;
      }
    },

    read: async (threadId, at, query = {}) => {
      const found: LoggedEvent[] = [];
      const limit = query.limit ?? Infinity;
      const parts = clipped(threadId, at, query);
      const thread = keyOf(threadId);
      if (thread === undefined) return found;
      for (const segment of parts) {
        for (const row of readSegment(thread, segment, query, limit - found.length))
          found.push({ position: row.position, event: JSON.parse(bodyText(threadId, segment.branch, row)) as StoreEvent });
        if (found.length >= limit) break;
      }
      return found;
    },

    findIds: async (threadId, at, ids) => {
      const found = new Map<string, LoggedEvent>();
      if (ids.length === 0 || at.length === 0) return found;
      const parts = segments(threadId, at);
      const thread = keyOf(threadId);
      if (thread === undefined) return found;
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        const chunk = ids.slice(i, i + ID_CHUNK);
        const rows = selectIds.all(JSON.stringify(chunk), thread);
        for (const row of rows) {
          if (parts.some((s) => s.branch === row.branch && row.position >= s.from && row.position < s.to))
            found.set(row.id, { position: row.position, event: JSON.parse(bodyText(threadId, row.branch, row)) as StoreEvent });
        }
      }
      return found;
    },

    existingStreams: async (threadId, at, streams) => {
      const found = new Set<string>();
      const parts = segments(threadId, at);
      const thread = keyOf(threadId);
      if (thread === undefined) return found;
      for (let i = 0; i < streams.length && parts.length > 0; i += ID_CHUNK) {
        const chunk = streams.slice(i, i + ID_CHUNK);
        const inSegments = parts.map(() => "(s.branch = ? AND s.position >= ? AND s.position < ?)").join(" OR ");
        const rows = statement(
          `SELECT DISTINCT s.stream FROM json_each(?) j CROSS JOIN shopstate_streams s ON s.thread = ? AND s.stream = j.value WHERE ${inSegments}`,
        ).all(JSON.stringify(chunk), thread, ...parts.flatMap((s) => [s.branch, s.from, s.to])) as { stream: string }[];
        for (const row of rows) found.add(row.stream);
      }
      return found;
    },

    count: async (threadId, at, query = {}) => {
      let total = 0;
      const parts = clipped(threadId, at, query);
      const thread = keyOf(threadId);
      if (thread === undefined) return total;
      for (const s of parts) {
        const params: unknown[] = [thread, s.branch, s.from, s.to];
        let sql: string;
        if (query.stream !== undefined) {
          // Every stream row has its event row (written and deleted together): the join is for the type alone.
          sql = query.types
            ? `SELECT COUNT(*) AS n FROM shopstate_streams s CROSS JOIN shopstate_events e ON ${STREAM_TO_EVENT} WHERE s.thread = ? AND s.branch = ? AND s.position >= ? AND s.position < ? AND s.stream = ? AND e.type IN (${query.types.map(() => "?").join(",")})`
            : "SELECT COUNT(*) AS n FROM shopstate_streams s WHERE s.thread = ? AND s.branch = ? AND s.position >= ? AND s.position < ? AND s.stream = ?";
          params.push(query.stream);
        } else {
          sql = `SELECT COUNT(*) AS n FROM shopstate_events${query.types ? " INDEXED BY shopstate_events_type" : ""} WHERE thread = ? AND branch = ? AND position >= ? AND position < ?`;
          if (query.types) sql += ` AND type IN (${query.types.map(() => "?").join(",")})`;
        }
        if (query.types) params.push(...query.types);
        total += (statement(sql).get(...params) as { n: number } | undefined)?.n ?? 0;
      }
      return total;
    },

    commonLength: async (threadId, a, b) => commonPrefix(segments(threadId, a), a.length, segments(threadId, b), b.length),

    deleteThread: async (threadId) => {
      const thread = keyOf(threadId);
      if (thread !== undefined) {
        db.transaction(() => {
          for (const table of ["shopstate_events", "shopstate_streams", "shopstate_branches"]) statement(`DELETE FROM ${table} WHERE thread = ?`).run(thread);
        })();
      }
      lineage.delete(threadId);
    },
  };
}

/** An event store in a private in-memory SQLite database (tests and throwaway graphs). */
export function memoryEventStore(): EventStore {
  return sqliteEventStore(new Database(":memory:"));
}
