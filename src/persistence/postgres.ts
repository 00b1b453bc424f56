/**
 * Stores in PostgreSQL (DATABASE_URL): the checkpoints through
 * `@langchain/langgraph-checkpoint-postgres` (`pg_saver.ts`), the customer
 * knowledge base in its `PostgresStore`, and our own tables (store names,
 * tags, history lines, task paths) beside them, created on first use. Several
 * processes share one database; a store has one writer at a time
 * (`pg_lease.ts`).
 *
 * `prune` is SQLite-only: it rewrites our saver's diff-encoded snapshots,
 * which the PostgreSQL saver does not have.
 */
import pg from "pg";
import { PostgresStore } from "@langchain/langgraph-checkpoint-postgres/store";
import type { CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import type { StepRecord } from "./steps_table.js";
import { TagExistsError, type Tag } from "../timetravel/tags.js";
import type { StoreMeta } from "./backend.js";
import type { EventStore } from "./event_store.js";
import { pgEventStore } from "./pg_event_store.js";
import { acquirePgLease, LOCK_NAMESPACE, SETUP_LOCK_KEY } from "./pg_lease.js";
import { ShopstatePostgresSaver, TASK_PATHS_SCHEMA } from "./pg_saver.js";
import { STORE_PG_TYPES } from "./pg_types.js";
import type { CheckpointHeader } from "./sqlite_headers.js";
import { threadIdFor, type StoreRecord } from "./stores.js";
import { redactUrl } from "./url.js";

export { redactUrl };

// "C" collation wherever we order or compare text: checkpoint ids and labels
// sort by code point, as in SQLite, whatever the database's locale.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_stores (
  name TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  origin TEXT NOT NULL DEFAULT 'ingest'
);
CREATE TABLE IF NOT EXISTS shopstate_tags (
  thread_id TEXT NOT NULL,
  label TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (thread_id, label)
);
CREATE TABLE IF NOT EXISTS shopstate_steps (
  thread_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (thread_id, checkpoint_id)
);
${TASK_PATHS_SCHEMA}`;

/** Connections per process and pool: a CLI command or a worker runs one store at a time. */
const POOL_SIZE = 4;

export interface PostgresBackend {
  pool: pg.Pool;
  saver: ShopstatePostgresSaver;
  /** The event store's tables in the same database. */
  events: EventStore;
  knowledge: PostgresStore;
  meta: StoreMeta;
  close(): Promise<void>;
}

/**
 * Connects to the database and creates every table on first use. Set-up runs
 * under an advisory lock: the stock savers' migrations are not transactional,
 * and several workers starting at once would race to create the same tables.
 */
export async function connectPostgres(url: string): Promise<PostgresBackend> {
  const where = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, types: STORE_PG_TYPES });
  // An idle connection the server dropped must not crash the process; the next query reports it.
  pool.on("error", () => undefined);
  const saver = new ShopstatePostgresSaver(pool);
  const knowledge = new PostgresStore({ connectionOptions: { connectionString: url, max: POOL_SIZE } });
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await Promise.all([pool.end(), knowledge.stop()]).catch(() => undefined);
    throw new Error(`cannot connect to PostgreSQL at ${where} (DATABASE_URL): ${(error as Error).message}`, { cause: error });
  }
  try {
    await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_NAMESPACE, SETUP_LOCK_KEY]);
    await saver.setup();
    await knowledge.setup();
    await client.query(SCHEMA);
    await client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_NAMESPACE, SETUP_LOCK_KEY]);
  } catch (error) {
    // Destroying the connection drops the set-up lock with it, whatever step failed.
    client.release(error as Error);
    await Promise.all([pool.end(), knowledge.stop()]).catch(() => undefined);
    throw new Error(`cannot set up shopstate's tables in PostgreSQL at ${where}: ${(error as Error).message}`, { cause: error });
  }
  client.release();
  return {
    pool,
    saver,
    events: pgEventStore(pool),
    knowledge,
    meta: postgresMeta(pool, url, where),
    close: async () => {
      await Promise.all([pool.end(), knowledge.stop()]);
    },
  };
}

const STORE_COLUMNS = 'name, thread_id AS "threadId", created_at AS "createdAt", origin';
const TAG_COLUMNS = 'label, checkpoint_id AS "checkpointId", created_at AS "createdAt"';

function postgresMeta(pool: pg.Pool, url: string, where: string): StoreMeta {
  const findStore = async (name: string) => (await pool.query<StoreRecord>(`SELECT ${STORE_COLUMNS} FROM shopstate_stores WHERE name = $1`, [name])).rows[0];
  const findTag = async (threadId: string, label: string) =>
    (await pool.query<Tag>(`SELECT ${TAG_COLUMNS} FROM shopstate_tags WHERE thread_id = $1 AND label = $2`, [threadId, label])).rows[0];
  return {
    where,
    async registerStore(name, origin = "ingest") {
      await pool.query("INSERT INTO shopstate_stores (name, thread_id, created_at, origin) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", [
        name,
        threadIdFor(name),
        new Date().toISOString(),
        origin,
      ]);
      return (await findStore(name)) as StoreRecord;
    },
    findStore,
    async listStores() {
      const { rows } = await pool.query<StoreRecord & { checkpoints: string }>(
        `SELECT ${STORE_COLUMNS}, (SELECT COUNT(*) FROM checkpoints c WHERE c.thread_id = s.thread_id AND c.checkpoint_ns = '') AS checkpoints
         FROM shopstate_stores s ORDER BY name COLLATE "C"`,
      );
      return rows.map((r) => ({ ...r, checkpoints: Number(r.checkpoints) }));
    },
    async forgetStore(name) {
      await pool.query("DELETE FROM shopstate_stores WHERE name = $1", [name]);
    },
    acquireLease: (store, threadId, waitMs) => acquirePgLease({ connectionString: url }, store, threadId, waitMs),
    async addTag(threadId, label, checkpointId) {
      const createdAt = new Date().toISOString();
      const inserted = await pool.query(
        "INSERT INTO shopstate_tags (thread_id, label, checkpoint_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [threadId, label, checkpointId, createdAt],
      );
      if (inserted.rowCount === 0) throw new TagExistsError(label, (await findTag(threadId, label))?.checkpointId ?? "?");
      return { label, checkpointId, createdAt };
    },
    findTag,
    async listTags(threadId) {
      return (
        await pool.query<Tag>(`SELECT ${TAG_COLUMNS} FROM shopstate_tags WHERE thread_id = $1 ORDER BY created_at COLLATE "C", label COLLATE "C"`, [threadId])
      ).rows;
    },
    async forgetTags(threadId) {
      await pool.query("DELETE FROM shopstate_tags WHERE thread_id = $1", [threadId]);
    },
    async storedSteps(threadId, checkpointIds) {
      const found = new Map<string, StepRecord>();
      if (checkpointIds.length === 0) return found;
      const { rows } = await pool.query<{ id: string; record: string }>(
        "SELECT checkpoint_id AS id, record FROM shopstate_steps WHERE thread_id = $1 AND checkpoint_id = ANY($2)",
        [threadId, [...checkpointIds]],
      );
      for (const row of rows) found.set(row.id, JSON.parse(row.record) as StepRecord);
      return found;
    },
    async storeSteps(threadId, records) {
      if (records.size === 0) return;
      const ids = [...records.keys()];
      await pool.query(
        `INSERT INTO shopstate_steps (thread_id, checkpoint_id, record) SELECT $1, id, record FROM unnest($2::text[], $3::text[]) AS r(id, record)
         ON CONFLICT (thread_id, checkpoint_id) DO UPDATE SET record = EXCLUDED.record`,
        [threadId, ids, ids.map((id) => JSON.stringify(records.get(id)))],
      );
    },
    async forgetSteps(threadId) {
      await pool.query("DELETE FROM shopstate_steps WHERE thread_id = $1", [threadId]);
    },
    async listHeaders(threadId, options) {
      const { rows } = await pool.query<{ checkpoint_id: string; parent_checkpoint_id: string | null; metadata: CheckpointMetadata; ts: string | null }>(
        `SELECT checkpoint_id, parent_checkpoint_id, metadata, checkpoint->>'ts' AS ts FROM checkpoints
         WHERE thread_id = $1 AND checkpoint_ns = '' AND ($2::text IS NULL OR checkpoint_id < $2 COLLATE "C")
         ORDER BY checkpoint_id COLLATE "C" DESC LIMIT $3`,
        [threadId, options.before ?? null, options.limit],
      );
      return rows.map((r): CheckpointHeader => ({
        checkpointId: r.checkpoint_id,
        parentId: r.parent_checkpoint_id ?? undefined,
        metadata: r.metadata,
        createdAt: r.ts ?? undefined,
      }));
    },
  };
}
