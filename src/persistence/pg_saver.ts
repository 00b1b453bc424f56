/**
 * The stock PostgreSQL checkpointer with the two things our SQLite saver adds
 * that the store's correctness needs:
 *
 * - the store's name in every checkpoint's metadata (docs/architecture.md), as
 *   `ShopstateSaver` writes it;
 * - a superstep's writes returned in `writesSortKey` order (task path, task
 *   id, index). LangGraph applies a step's writes in that order, and rebuilds
 *   a delta channel (the event log) from the stored writes of the ancestors;
 *   `PostgresSaver` returns them by task id, which is random per run, so two
 *   events the two services append in one step could trade places when the
 *   log is read back. The task paths are kept in `shopstate_task_paths` and
 *   the pending writes of a tuple are sorted by them.
 *
 * It also answers `getDeltaChannelHistory` in a few queries (a recursive walk
 * of the parent chain, then the seeds' blobs and the chain's writes) instead
 * of the default's one `getTuple` per ancestor, each loading every channel.
 *
 * A class because LangGraph asks for one (a `BaseCheckpointSaver`).
 */
import {
  compareWritesSortKeys,
  writesSortKey,
  WRITES_IDX_MAP,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type { RunnableConfig } from "@langchain/core/runnables";
import type pg from "pg";
import { FastJsonPlusSerializer } from "./serde.js";

export const TASK_PATHS_SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_task_paths (
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  task_path TEXT NOT NULL,
  PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id)
);`;

/** Ancestors read per query while looking for delta channels' seeds. */
const DELTA_PAGE = 128;

export class ShopstatePostgresSaver extends PostgresSaver {
  constructor(
    private readonly db: pg.Pool,
    /** Thread id -> store name, written into each checkpoint's metadata. */
    readonly names: Map<string, string> = new Map(),
  ) {
    // The stock serializer's bytes, with a faster load path (serde.ts).
    super(db, new FastJsonPlusSerializer());
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const store = this.names.get(String(config.configurable?.thread_id));
    return super.put(config, checkpoint, store ? ({ ...metadata, store } as CheckpointMetadata) : metadata, newVersions);
  }

  /**
   * The task's writes and its task path in one transaction, as the stock saver writes the writes alone: a crash between
   * two statements would leave writes with no path, which sort first, as if they were input.
   */
  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    // Input and Command writes have no path and sort first, as LangGraph applies them.
    if (taskPath === "") return super.putWrites(config, writes, taskId);
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable ?? {};
    // The stock saver's statements (its own are private): special channels (errors, interrupts) replace, others are kept.
    const upsert = writes.every((w) => w[0] in WRITES_IDX_MAP);
    const rows = await this._dumpWrites(thread_id, checkpoint_ns, checkpoint_id, taskId, writes);
    const client = await this.db.connect();
    try {
      await client.query("BEGIN");
      for (const row of rows) {
        await client.query(
          `INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO ${upsert ? "UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob" : "NOTHING"}`,
          row,
        );
      }
      await client.query(
        "INSERT INTO shopstate_task_paths (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        [thread_id, checkpoint_ns, checkpoint_id, taskId, taskPath],
      );
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const tuple = await super.getTuple(config);
    const writes = tuple?.pendingWrites;
    if (!tuple || !writes || writes.length < 2) return tuple;
    const { thread_id, checkpoint_ns = "", checkpoint_id } = tuple.config.configurable ?? {};
    const { rows } = await this.db.query<{ task_id: string; task_path: string }>(
      "SELECT task_id, task_path FROM shopstate_task_paths WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3",
      [thread_id, checkpoint_ns, checkpoint_id],
    );
    const paths = new Map(rows.map((r) => [r.task_id, r.task_path]));
    // PostgresSaver returns each task's writes in index order; a stable sort keeps that within a task.
    const keyed = writes.map((write, i) => ({ write, key: writesSortKey(paths.get(write[0]) ?? "", write[0], i) }));
    keyed.sort((a, b) => compareWritesSortKeys(a.key, b.key));
    return { ...tuple, pendingWrites: keyed.map((k) => k.write) };
  }

  override async getDeltaChannelHistory(options: { config: RunnableConfig; channels: string[] }): Promise<Record<string, DeltaChannelHistory>> {
    const { config, channels } = options;
    if (channels.length === 0) return {};
    const threadId = String(config.configurable?.thread_id);
    const ns = String(config.configurable?.checkpoint_ns ?? "");
    let from = config.configurable?.checkpoint_id as string | undefined;
    if (!from) from = (await this.getTuple(config))?.config.configurable?.checkpoint_id as string | undefined;
    if (!from) return Object.fromEntries(channels.map((ch) => [ch, { writes: [] }]));

    // The ancestors, nearest first, a page at a time, until every channel has a stored value (its seed).
    const chain: { id: string; versions: Record<string, string> }[] = [];
    const seedAt = new Map<string, { depth: number; version: string }>();
    let next =
      (
        await this.db.query<{ parent: string | null }>(
          "SELECT parent_checkpoint_id AS parent FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3",
          [threadId, ns, from],
        )
      ).rows[0]?.parent ?? null;
    while (next !== null && seedAt.size < channels.length) {
      const { rows } = await this.db.query<{ id: string; parent: string | null; versions: Record<string, string> | null }>(
        `WITH RECURSIVE chain(id, parent, versions, depth) AS (
           SELECT checkpoint_id, parent_checkpoint_id, checkpoint->'channel_versions', 0 FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3
           UNION ALL
           SELECT c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint->'channel_versions', chain.depth + 1 FROM chain
           JOIN checkpoints c ON c.thread_id = $1 AND c.checkpoint_ns = $2 AND c.checkpoint_id = chain.parent
           WHERE chain.depth < $4)
         SELECT id, parent, versions FROM chain ORDER BY depth`,
        [threadId, ns, next, DELTA_PAGE - 1],
      );
      if (rows.length === 0) break;
      const page = rows.map((r) => ({ id: r.id, versions: Object.fromEntries(Object.entries(r.versions ?? {}).map(([k, v]) => [k, String(v)])) }));
      // Which of the page's channel versions have a stored (non-empty) value.
      const wanted = channels.filter((ch) => !seedAt.has(ch));
      const pairs = page.flatMap((p) => wanted.filter((ch) => p.versions[ch] !== undefined).map((ch) => [ch, p.versions[ch]]));
      const stored = new Set(
        (
          await this.db.query<{ channel: string; version: string }>(
            "SELECT channel, version FROM checkpoint_blobs WHERE thread_id = $1 AND checkpoint_ns = $2 AND type <> 'empty' AND (channel, version) IN (SELECT * FROM unnest($3::text[], $4::text[]))",
            [threadId, ns, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
          )
        ).rows.map((r) => `${r.channel}\u0000${r.version}`),
      );
      for (const [i, p] of page.entries()) {
        chain.push(p);
        for (const ch of wanted) {
          const version = p.versions[ch];
          if (!seedAt.has(ch) && version !== undefined && stored.has(`${ch}\u0000${version}`)) seedAt.set(ch, { depth: chain.length - 1, version });
        }
        if (seedAt.size === channels.length) {
          next = null;
          break;
        }
        if (i === page.length - 1) next = rows[rows.length - 1].parent;
      }
    }

    // Each channel's writes from its seed's checkpoint up to the target's parent (the target's own are pending), oldest first.
    const depthOf = (ch: string) => seedAt.get(ch)?.depth ?? chain.length - 1;
    const ids = chain.slice(0, Math.max(...channels.map(depthOf)) + 1).map((c) => c.id);
    const writeRows =
      ids.length === 0
        ? []
        : (
            await this.db.query<{ checkpoint_id: string; task_id: string; idx: number; channel: string; type: string; blob: Buffer; task_path: string | null }>(
              `SELECT w.checkpoint_id, w.task_id, w.idx, w.channel, w.type, w.blob, p.task_path FROM checkpoint_writes w
             LEFT JOIN shopstate_task_paths p ON p.thread_id = w.thread_id AND p.checkpoint_ns = w.checkpoint_ns AND p.checkpoint_id = w.checkpoint_id AND p.task_id = w.task_id
             WHERE w.thread_id = $1 AND w.checkpoint_ns = $2 AND w.checkpoint_id = ANY($3) AND w.channel = ANY($4)`,
              [threadId, ns, ids, channels],
            )
          ).rows;
    const depthOfId = new Map(ids.map((id, depth) => [id, depth]));
    writeRows.sort(
      (a, b) =>
        (depthOfId.get(b.checkpoint_id) as number) - (depthOfId.get(a.checkpoint_id) as number) ||
        compareWritesSortKeys(writesSortKey(a.task_path ?? "", a.task_id, a.idx), writesSortKey(b.task_path ?? "", b.task_id, b.idx)),
    );

    const result: Record<string, DeltaChannelHistory> = {};
    for (const ch of channels) {
      const limit = depthOf(ch);
      const writes: CheckpointPendingWrite[] = [];
      for (const row of writeRows) {
        if (row.channel !== ch || (depthOfId.get(row.checkpoint_id) as number) > limit) continue;
        writes.push([row.task_id, ch, await this.serde.loadsTyped(row.type, row.blob)]);
      }
      result[ch] = { writes };
      const seed = seedAt.get(ch);
      if (seed) {
        const { rows } = await this.db.query<{ type: string; blob: Buffer }>(
          "SELECT type, blob FROM checkpoint_blobs WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3 AND version = $4",
          [threadId, ns, ch, seed.version],
        );
        result[ch].seed = await this.serde.loadsTyped(rows[0].type, rows[0].blob);
      }
    }
    return result;
  }

  override async deleteThread(threadId: string): Promise<void> {
    await super.deleteThread(threadId);
    await this.db.query("DELETE FROM shopstate_task_paths WHERE thread_id = $1", [threadId]);
  }
}
