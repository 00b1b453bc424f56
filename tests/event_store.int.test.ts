/**
 * The PostgreSQL event store against the event store's contract
 * (tests/support/event_store_contract.ts), on a real, throwaway server
 * (tests/support/postgres.ts); each `open` has its own pool, as another
 * process would. Also: the LangGraph server's lazy store connects on first
 * use and names the (redacted) URL when it cannot, and `connectPostgres`
 * hands out an event store on its pool.
 */
import pg from "pg";
import { EMPTY_LOG } from "../src/persistence/event_store.js";
import { lazyPgEventStore, pgEventStore } from "../src/persistence/pg_event_store.js";
import { connectPostgres } from "../src/persistence/postgres.js";
import { eventStoreContract, stockReceived } from "./support/event_store_contract.js";
import { freePort } from "./support/net.js";
import { startPostgres, type PostgresServer } from "./support/postgres.js";

let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(() => {
  server?.stop();
});

eventStoreContract("PostgreSQL", async () => {
  const url = await server.createDatabase("events");
  const pools: pg.Pool[] = [];
  const newPool = () => {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pools.push(pool);
    return pool;
  };
  const counter = newPool();
  const open = () => pgEventStore(newPool());
  // The tables appear on first use: before that, `rows` would find none.
  await open().read("no-thread", EMPTY_LOG);
  return {
    open,
    rows: async (threadId) =>
      Number((await counter.query<{ n: string }>("SELECT COUNT(*) AS n FROM shopstate_events WHERE thread_id = $1", [threadId])).rows[0].n),
    stop: async () => {
      await Promise.all(pools.map((p) => p.end()));
    },
  };
});

describe("the LangGraph server's PostgreSQL event store", () => {
  it("does not connect until first used, and then says which database it could not reach (without the password)", async () => {
    const port = await freePort(); // nothing listens there
    const store = lazyPgEventStore(`postgres://shop:s3cret@127.0.0.1:${port}/nowhere`);
    const failure = store.append("t", EMPTY_LOG, [stockReceived("SKU-MUG")]);
    await expect(failure).rejects.toThrow(`cannot connect to PostgreSQL at postgres://shop:***@127.0.0.1:${port}/nowhere (DATABASE_URL) for the event store`);
    await expect(failure).rejects.not.toThrow(/s3cret/);
    await store.close?.();
  });

  it("works on a database that exists, creating its tables on first use", async () => {
    const url = await server.createDatabase("lazy_events");
    const store = lazyPgEventStore(url);
    try {
      const tip = await store.append("t", EMPTY_LOG, [stockReceived("SKU-MUG"), stockReceived("SKU-TEE")]);
      expect(tip).toEqual({ branch: 0, length: 2 });
      expect(await store.count("t", tip, { stream: "sku:SKU-TEE" })).toBe(1);
    } finally {
      await store.close?.();
    }
  });

  it("connectPostgres gives an event store on its pool", async () => {
    const backend = await connectPostgres(await server.createDatabase("backend_events"));
    try {
      const tip = await backend.events.append("t", EMPTY_LOG, [stockReceived("SKU-MUG")]);
      expect((await backend.events.read("t", tip)).map((e) => e.position)).toEqual([0]);
    } finally {
      await backend.close();
    }
  });
});
