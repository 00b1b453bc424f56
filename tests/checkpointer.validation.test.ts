/**
 * The official checkpointer conformance suite, run against our SQLite saver
 * under its own name (the suite skips tests only for savers it names, so
 * nothing is skipped here), plus the opt-in delta-channel history tests.
 * Each checkpointer gets a fresh SQLite file opened with the store's pragmas.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deltaChannelHistoryTests, validate, type CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { SAVER_NAME, ShopstateSaver } from "../src/persistence/saver.js";
import { openDatabase } from "../src/persistence/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "shopstate-validation-"));
let files = 0;

const initializer: CheckpointSaverTestInitializer<ShopstateSaver> = {
  checkpointerName: SAVER_NAME,
  createCheckpointer: () => new ShopstateSaver(openDatabase(join(dir, `saver-${++files}.db`))),
  destroyCheckpointer: (saver) => {
    saver.db.close();
  },
  afterAll: () => rmSync(dir, { recursive: true, force: true }),
};

validate(initializer);
deltaChannelHistoryTests(initializer);
