/**
 * The store team for `langgraph.json` (Studio and the LangGraph server).
 * Compiled without a checkpointer: the server supplies its own, which stores
 * snapshots whole, so delta channels snapshot at LangGraph's default cadence.
 * A run may take as many supersteps as a CLI run (SHOPSTATE_MAX_STEPS):
 * LangGraph's default of 25 is too few for a pasted batch of events, and the
 * server keeps a limit bound here unless a run sets `recursion_limit`.
 */
import { loadConfig } from "../src/config.js";
import { compileStoreGraph } from "../src/graph.js";
import { WHOLE_SNAPSHOT_FREQUENCY } from "../src/state.js";

export const graph = compileStoreGraph({ snapshotFrequency: WHOLE_SNAPSHOT_FREQUENCY }).withConfig({ recursionLimit: loadConfig().maxSteps });
