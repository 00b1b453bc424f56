/**
 * The store team for `langgraph.json` (Studio and the LangGraph server).
 * Compiled without a checkpointer: the server supplies its own, which stores
 * snapshots whole, so delta channels snapshot at LangGraph's default cadence.
 */
import { compileStoreGraph } from "../src/graph.js";
import { WHOLE_SNAPSHOT_FREQUENCY } from "../src/state.js";

export const graph = compileStoreGraph({ snapshotFrequency: WHOLE_SNAPSHOT_FREQUENCY });
