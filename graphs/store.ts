/**
 * The store team for `langgraph.json` (Studio and the LangGraph server).
 * Compiled without a checkpointer: the server supplies its own. The log lives
 * in the event store the environment names (the SQLite file SHOPSTATE_DB by
 * default, PostgreSQL with DATABASE_URL; see .env.example), opened once per
 * server process; the state carries only its pointer and a window.
 * A run may take as many supersteps as a CLI run (SHOPSTATE_MAX_STEPS):
 * LangGraph's default of 25 is too few for a pasted batch of events, and the
 * server keeps a limit bound here unless a run sets `recursion_limit`.
 */
import { loadConfig } from "../src/config.js";
import { compileStoreGraph } from "../src/graph.js";
import { eventStoreFromConfig } from "../src/persistence/open_event_store.js";

const config = loadConfig();

export const graph = compileStoreGraph({ events: eventStoreFromConfig(config) }).withConfig({ recursionLimit: config.maxSteps });
