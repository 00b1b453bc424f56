/**
 * The event store in the SQLite file, beside the checkpoints (event_store.ts
 * says what it promises). Three tables: branches (lineage), events (one row per
 * event per branch that appended it, keyed by position) and streams (which
 * entity streams each event belongs to). Every read goes through an index.
 */
import Database from "better-sqlite3";
import type { StoreEvent } from "../domain/events.js";
import { streamsOf } from "../domain/streams.js";
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_branches (
  thread_id TEXT NOT NULL,
  branch INTEGER NOT NULL,
  parent INTEGER,
  fork_at INTEGER NOT NULL,
  PRIMARY KEY (thread_id, branch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shopstate_events (
  thread_id TEXT NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (thread_id, branch, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shopstate_events_id ON shopstate_events (thread_id, id);
CREATE INDEX IF NOT EXISTS shopstate_events_type ON shopstate_events (thread_id, branch, type, position);
CREATE TABLE IF NOT EXISTS shopstate_streams (
  thread_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  branch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (thread_id, stream, branch, position)
) WITHOUT ROWID;`;

/** Ids looked up per statement (SQLite's default limit on parameters is far above it). */
const ID_CHUNK = 500;

interface Row {
  position: number;
  body: string;
}

export function sqliteEventStore(db: Database.Database): EventStore {
  db.exec(SCHEMA);
  const lineage = new Map<string, Map<number, BranchRecord>>();

  const selectBranches = db.prepare<[string], { branch: number; parent: number | null; fork_at: number }>(
    "SELECT branch, parent, fork_at FROM shopstate_branches WHERE thread_id = ?",
  );
  const insertBranch = db.prepare("INSERT INTO shopstate_branches (thread_id, branch, parent, fork_at) VALUES (?, ?, ?, ?)");
  const insertEvent = db.prepare("INSERT INTO shopstate_events (thread_id, branch, position, id, type, body) VALUES (?, ?, ?, ?, ?, ?)");
  const insertStream = db.prepare("INSERT INTO shopstate_streams (thread_id, stream, branch, position) VALUES (?, ?, ?, ?)");
  const selectTip = db.prepare<[string, number], { tip: number | null }>(
    "SELECT MAX(position) + 1 AS tip FROM shopstate_events WHERE thread_id = ? AND branch = ?",
  );
  // Read statements vary with the query's filters: each text is prepared once.
  const prepared = new Map<string, Database.Statement<unknown[]>>();
  const statement = (sql: string): Database.Statement<unknown[]> => {
    let found = prepared.get(sql);
    if (!found) prepared.set(sql, (found = db.prepare<unknown[]>(sql)));
    return found;
  };
  // INDEXED BY: without ANALYZE statistics SQLite searches the primary key's (thread_id) prefix
  // instead, a scan of the thread's whole log for every id (tests/event_store.test.ts checks the plan).
  const selectIds = db.prepare<[string, string], Row & { id: string; branch: number }>(
    "SELECT e.id, e.branch, e.position, e.body FROM json_each(?) j CROSS JOIN shopstate_events e INDEXED BY shopstate_events_id ON e.thread_id = ? AND e.id = j.value",
  );
  const selectRange = db.prepare<[string, number, number, number], Row>(
    "SELECT position, body FROM shopstate_events WHERE thread_id = ? AND branch = ? AND position >= ? AND position < ? ORDER BY position",
  );

  /** The thread's branch records; re-read when a pointer names one not seen yet (records never change once written). */
  const branchesOf = (threadId: string, need?: number): Map<number, BranchRecord> => {
    let branches = lineage.get(threadId);
    if (!branches || (need !== undefined && need !== 0 && !branches.has(need))) {
      branches = new Map(selectBranches.all(threadId).map((r) => [r.branch, { branch: r.branch, parent: r.parent, forkAt: r.fork_at }]));
      lineage.set(threadId, branches);
    }
    return branches;
  };
  const segments = (threadId: string, at: LogPointer): Segment[] => segmentsOf(branchesOf(threadId, at.branch), at);
  const tipOf = (threadId: string, branch: BranchRecord): number => selectTip.get(threadId, branch.branch)?.tip ?? branch.forkAt;

  const insertAll = (threadId: string, branch: number, from: number, events: readonly StoreEvent[]) => {
    events.forEach((event, i) => {
      insertEvent.run(threadId, branch, from + i, event.id, event.type, JSON.stringify(event));
      for (const stream of streamsOf(event)) insertStream.run(threadId, stream, branch, from + i);
    });
  };

  const appendTx = db.transaction((threadId: string, at: LogPointer, events: readonly StoreEvent[]): LogPointer => {
    lineage.delete(threadId); // another process may have made branches since
    const branches = branchesOf(threadId);
    if (!branches.has(0)) {
      insertBranch.run(threadId, 0, null, 0);
      branches.set(0, { branch: 0, parent: null, forkAt: 0 });
    }
    const end = at.length + events.length;
    const candidates = appendCandidates(threadId, branches, at).map((branch) => {
      const stored = selectRange.all(threadId, branch.branch, at.length, end).map((r) => r.body);
      return { branch, stored, tip: stored.length === 0 ? tipOf(threadId, branch) : undefined };
    });
    const decision = decideAppend(threadId, branches, at, events, candidates);
    if (decision.kind === "write") insertAll(threadId, decision.branch, at.length, events);
    if (decision.kind === "fork") {
      const { fork } = decision;
      insertBranch.run(threadId, fork.branch, fork.parent, fork.forkAt);
      branches.set(fork.branch, fork);
      insertAll(threadId, fork.branch, at.length, events);
    }
    return decision.pointer;
  });

  const readSegment = (threadId: string, s: Segment, query: EventQuery, limit: number): Row[] => {
    const params: unknown[] = [threadId, s.branch, s.from, s.to];
    const order = query.descending ? "DESC" : "ASC";
    let sql: string;
    if (query.stream !== undefined) {
      sql = `SELECT e.position, e.body FROM shopstate_streams s JOIN shopstate_events e ON e.thread_id = s.thread_id AND e.branch = s.branch AND e.position = s.position
             WHERE s.thread_id = ? AND s.branch = ? AND s.position >= ? AND s.position < ? AND s.stream = ?`;
      params.push(query.stream);
      if (query.types) {
        sql += ` AND e.type IN (${query.types.map(() => "?").join(",")})`;
        params.push(...query.types);
      }
      sql += ` ORDER BY s.position ${order}`;
    } else if (query.types) {
      sql = `SELECT position, body FROM shopstate_events INDEXED BY shopstate_events_type WHERE thread_id = ? AND branch = ? AND position >= ? AND position < ? AND type IN (${query.types.map(() => "?").join(",")}) ORDER BY position ${order}`;
      params.push(...query.types);
    } else {
      sql = `SELECT position, body FROM shopstate_events WHERE thread_id = ? AND branch = ? AND position >= ? AND position < ? ORDER BY position ${order}`;
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
        throw error;
      }
    },

    read: async (threadId, at, query = {}) => {
      const found: LoggedEvent[] = [];
      const limit = query.limit ?? Infinity;
      for (const segment of clipped(threadId, at, query)) {
        for (const row of readSegment(threadId, segment, query, limit - found.length))
          found.push({ position: row.position, event: JSON.parse(row.body) as StoreEvent });
        if (found.length >= limit) break;
      }
      return found;
    },

    findIds: async (threadId, at, ids) => {
      const found = new Map<string, LoggedEvent>();
      if (ids.length === 0 || at.length === 0) return found;
      const parts = segments(threadId, at);
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        const chunk = ids.slice(i, i + ID_CHUNK);
        const rows = selectIds.all(JSON.stringify(chunk), threadId);
        for (const row of rows) {
          if (parts.some((s) => s.branch === row.branch && row.position >= s.from && row.position < s.to))
            found.set(row.id, { position: row.position, event: JSON.parse(row.body) as StoreEvent });
        }
      }
      return found;
    },

    existingStreams: async (threadId, at, streams) => {
      const found = new Set<string>();
      const parts = segments(threadId, at);
      for (let i = 0; i < streams.length && parts.length > 0; i += ID_CHUNK) {
        const chunk = streams.slice(i, i + ID_CHUNK);
        const inSegments = parts.map(() => "(s.branch = ? AND s.position >= ? AND s.position < ?)").join(" OR ");
        const rows = statement(
          `SELECT DISTINCT s.stream FROM json_each(?) j CROSS JOIN shopstate_streams s ON s.thread_id = ? AND s.stream = j.value WHERE ${inSegments}`,
        ).all(JSON.stringify(chunk), threadId, ...parts.flatMap((s) => [s.branch, s.from, s.to])) as { stream: string }[];
        for (const row of rows) found.add(row.stream);
      }
      return found;
    },

    count: async (threadId, at, query = {}) => {
      let total = 0;
      for (const s of clipped(threadId, at, query)) {
        const params: unknown[] = [threadId, s.branch, s.from, s.to];
        let sql: string;
        if (query.stream !== undefined) {
          sql =
            "SELECT COUNT(*) AS n FROM shopstate_streams s JOIN shopstate_events e ON e.thread_id = s.thread_id AND e.branch = s.branch AND e.position = s.position WHERE s.thread_id = ? AND s.branch = ? AND s.position >= ? AND s.position < ? AND s.stream = ?";
          params.push(query.stream);
          if (query.types) sql += ` AND e.type IN (${query.types.map(() => "?").join(",")})`;
        } else {
          sql = `SELECT COUNT(*) AS n FROM shopstate_events${query.types ? " INDEXED BY shopstate_events_type" : ""} WHERE thread_id = ? AND branch = ? AND position >= ? AND position < ?`;
          if (query.types) sql += ` AND type IN (${query.types.map(() => "?").join(",")})`;
        }
        if (query.types) params.push(...query.types);
        total += (statement(sql).get(...params) as { n: number } | undefined)?.n ?? 0;
      }
      return total;
    },

    commonLength: async (threadId, a, b) => commonPrefix(segments(threadId, a), a.length, segments(threadId, b), b.length),

    deleteThread: async (threadId) => {
      db.transaction(() => {
        for (const table of ["shopstate_events", "shopstate_streams", "shopstate_branches"])
          db.prepare(`DELETE FROM ${table} WHERE thread_id = ?`).run(threadId);
      })();
      lineage.delete(threadId);
    },
  };
}

/** An event store in a private in-memory SQLite database (tests and throwaway graphs). */
export function memoryEventStore(): EventStore {
  return sqliteEventStore(new Database(":memory:"));
}
