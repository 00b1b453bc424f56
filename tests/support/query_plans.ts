/**
 * Records the statements a piece of code prepares on a SQLite connection, so a
 * test can check how SQLite runs each one (`EXPLAIN QUERY PLAN`).
 */
import type Database from "better-sqlite3";

export interface QueryPlan {
  sql: string;
  /** The plan's lines (`detail`), in SQLite's order. */
  plan: string[];
  /** The statement and its plan, for an assertion's message. */
  why: string;
}

/** Starts recording `db.prepare`'s statements; `plans` gives the distinct reads so far that `keep` selects, each with its plan (parameters bound to NULL). */
export function recordQueryPlans(db: Database.Database, keep: (sql: string) => boolean = () => true): { plans: () => QueryPlan[] } {
  const statements: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    statements.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  return {
    plans: () =>
      [...new Set(statements)]
        .filter((sql) => /^\s*SELECT/i.test(sql) && keep(sql))
        .map((sql) => {
          const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null);
          const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
          return { sql, plan, why: `${sql}\n${plan.join("\n")}` };
        }),
  };
}
