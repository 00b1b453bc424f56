/**
 * Loading a checkpoint on a stock saver walks back to each delta channel's last
 * snapshot, one `getTuple` per ancestor (docs/event-store.md, "Checkpoints").
 * The walk must stay short however old the store is: a channel that stopped
 * changing (the catalog, once the products are listed) is snapshotted again
 * after MAX_SUPERSTEPS_WITHOUT_SNAPSHOT supersteps.
 */
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import { generateWorkload } from "../bench/generator.js";
import { compileStoreGraph } from "../src/graph.js";
import { MAX_SUPERSTEPS_WITHOUT_SNAPSHOT } from "../src/state.js";
import { testLog } from "./support/log.js";

it("reading the head of an old store on the stock SqliteSaver walks back a bounded number of ancestors", async () => {
  const db = new Database(":memory:");
  const saver = new SqliteSaver(db);
  let getTuples = 0;
  const getTuple = saver.getTuple.bind(saver);
  saver.getTuple = (config) => {
    getTuples += 1;
    return getTuple(config);
  };
  const log = testLog("walk");
  const graph = compileStoreGraph({ checkpointer: saver, events: log.events });
  const config = { configurable: { thread_id: "walk" }, recursionLimit: 500 };
  const lines = generateWorkload({ events: 400, seed: 7 });
  const walks: number[] = [];
  for (let i = 0; i < lines.length; i += 25) {
    await graph.invoke({ inbox: lines.slice(i, i + 25).map((l) => JSON.parse(l) as unknown) }, config);
    getTuples = 0;
    await graph.getState(config);
    walks.push(getTuples);
  }
  const checkpoints = (db.prepare("SELECT COUNT(*) AS n FROM checkpoints").get() as { n: number }).n;
  // The store is far older than the bound, so an unbounded walk (to the catalog's snapshot in the first batch) would show.
  expect(checkpoints).toBeGreaterThan(10 * MAX_SUPERSTEPS_WITHOUT_SNAPSHOT);
  // The head itself, its ancestors up to the bound, and the walk's own first read of the head.
  expect(Math.max(...walks)).toBeLessThanOrEqual(MAX_SUPERSTEPS_WITHOUT_SNAPSHOT + 2);
  db.close();
});
