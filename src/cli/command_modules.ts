/**
 * What the CLI's commands use beyond parsing and printing, in one module that
 * `main.ts` imports when a command runs (see `loadCommandModules` there): a
 * process that only prints help or a usage error loads none of it.
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
  UsageError,
} from "../store.js";
export { default as cliProgress } from "cli-progress";
