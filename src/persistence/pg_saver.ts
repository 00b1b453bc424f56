/**
 * The stock PostgreSQL checkpointer with the two things our SQLite saver adds
 * that the store's correctness needs:
 *
 * - the store's name in every checkpoint's metadata (SPEC §6), as
 *   `ShopstateSaver` writes it;
 * - a superstep's writes returned in `writesSortKey` order (task path, task
 *   id, index). LangGraph applies a step's writes in that order, and rebuilds
 *   a delta channel (the event log) from the stored writes of the ancestors;
 *   `PostgresSaver` returns them by task id, which is random per run, so two
 *   events the two services append in one step could trade places when the
 *   log is read back. The task paths are kept in `shopstate_task_paths` and
 *   the pending writes of a tuple are sorted by them.
 *
 * A class because LangGraph asks for one (a `BaseCheckpointSaver`).
 */
import { compareWritesSortKeys, writesSortKey, type ChannelVersions, type Checkpoint, type CheckpointMetadata, type CheckpointTuple, type PendingWrite } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type { RunnableConfig } from "@langchain/core/runnables";
import type pg from "pg";

export const TASK_PATHS_SCHEMA = `
CREATE TABLE IF NOT EXISTS shopstate_task_paths (
  thread_id TEXT NOT NULL,
  checkpoint_ns TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  task_path TEXT NOT NULL,
  PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id)
);`;

export class ShopstatePostgresSaver extends PostgresSaver {
  constructor(
    private readonly db: pg.Pool,
    /** Thread id -> store name, written into each checkpoint's metadata. */
    readonly names: Map<string, string> = new Map(),
  ) {
    super(db);
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const store = this.names.get(String(config.configurable?.thread_id));
    return super.put(config, checkpoint, store ? ({ ...metadata, store } as CheckpointMetadata) : metadata, newVersions);
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    await super.putWrites(config, writes, taskId);
    // Input and Command writes have no path and sort first, as LangGraph applies them.
    if (taskPath === "") return;
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable ?? {};
    await this.db.query("INSERT INTO shopstate_task_paths (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", [
      thread_id,
      checkpoint_ns,
      checkpoint_id,
      taskId,
      taskPath,
    ]);
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const tuple = await super.getTuple(config);
    const writes = tuple?.pendingWrites;
    if (!tuple || !writes || writes.length < 2) return tuple;
    const { thread_id, checkpoint_ns = "", checkpoint_id } = tuple.config.configurable ?? {};
    const { rows } = await this.db.query<{ task_id: string; task_path: string }>("SELECT task_id, task_path FROM shopstate_task_paths WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3", [
      thread_id,
      checkpoint_ns,
      checkpoint_id,
    ]);
    const paths = new Map(rows.map((r) => [r.task_id, r.task_path]));
    // PostgresSaver returns each task's writes in index order; a stable sort keeps that within a task.
    const keyed = writes.map((write, i) => ({ write, key: writesSortKey(paths.get(write[0]) ?? "", write[0], i) }));
    keyed.sort((a, b) => compareWritesSortKeys(a.key, b.key));
    return { ...tuple, pendingWrites: keyed.map((k) => k.write) };
  }

  override async deleteThread(threadId: string): Promise<void> {
    await super.deleteThread(threadId);
    await this.db.query("DELETE FROM shopstate_task_paths WHERE thread_id = $1", [threadId]);
  }
}
