/**
 * The official checkpointer conformance suite and the opt-in delta-channel
 * history tests, run against our PostgreSQL saver (the stock PostgresSaver
 * plus write order, store names and a one-walk getDeltaChannelHistory) on a
 * real, throwaway server. Each checkpointer gets a fresh database.
 */
import { deltaChannelHistoryTests, validate, type CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { connectPostgres, type PostgresBackend } from "../src/persistence/postgres.js";
import type { ShopstatePostgresSaver } from "../src/persistence/pg_saver.js";
import { startPostgres, type PostgresServer } from "./support/postgres.js";

let server: PostgresServer | undefined;
let databases = 0;
const backends = new Map<ShopstatePostgresSaver, PostgresBackend>();

const initializer: CheckpointSaverTestInitializer<ShopstatePostgresSaver> = {
  checkpointerName: "ShopstatePostgresSaver",
  beforeAll: async () => {
    server = await startPostgres();
  },
  beforeAllTimeout: 120_000,
  createCheckpointer: async () => {
    if (!server) throw new Error("the PostgreSQL server did not start (see beforeAll)");
    const backend = await connectPostgres(await server.createDatabase(`saver_${++databases}`));
    backends.set(backend.saver, backend);
    return backend.saver;
  },
  destroyCheckpointer: async (saver) => {
    await backends.get(saver)?.close();
    backends.delete(saver);
  },
  afterAll: () => server?.stop(),
};

validate(initializer);
deltaChannelHistoryTests(initializer);
