/**
 * What the CLI's commands use beyond parsing (the application layer and the
 * tables they print), in one module that `main.ts` imports when a command
 * runs (`loadCommandModules`; `lib` there is this module): a process that
 * only prints help or a usage error loads none of it. The one list of it:
 * a name exported here is `lib.name` in main.ts.
 */
export { loadConfig, ConfigError } from "../config.js";
export { verifyValues } from "../app/verify.js";
export { allOrders, readLog, wholeLog } from "../persistence/store_log.js";
export { redactUrl } from "../persistence/url.js";
export { diffStates } from "../timetravel/diff.js";
export { historyPage } from "../timetravel/history.js";
export { ImportVerifyError, importLog, parseEventLog } from "../timetravel/import.js";
export { RefNotFoundError, resolveRef } from "../timetravel/refs.js";
export { replayFrom } from "../timetravel/replay.js";
export { rollback, stateAt, tagCheckpoint } from "../timetravel/rollback.js";
export {
  assertCurrentLayout,
  assertStoreName,
  chunk,
  decideApprovals,
  deleteStore,
  headValues,
  ingestLines,
  logOf,
  openStoreAt,
  pruneStore,
  storeRecord,
} from "../store.js";
export { LeaseBusyError } from "../persistence/lease.js";
export { default as cliProgress } from "cli-progress";
export { renderApprovals, renderDecisions, renderDemo, renderDiff, renderEvents, renderHistory, renderState, renderViolations } from "./output.js";
