/**
 * The log at every checkpoint against a reference model (docs/architecture.md,
 * "State, event store and checkpoints"): random sequences of ingest, rollback,
 * a Studio-style run from a past checkpoint, replay, approve and prune on a
 * real SQLite store. The model is a plain list per checkpoint:
 * - a checkpoint's log never changes once written, whatever happens later
 *   (abandoned branches stay byte for byte);
 * - a checkpoint's log extends its parent's (the log is append-only along a branch);
 * - a fork's first checkpoint has exactly its source's log;
 * - an ingest appends its new input events in order after the head's log;
 * and `verify` holds at the head whenever it is at rest.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { StoreEvent } from "../src/domain/events.js";
import { verifyValues } from "../src/app/verify.js";
import { pruneStore } from "../src/app/maintenance.js";
import { wholeLog } from "../src/persistence/store_log.js";
import type { State } from "../src/state.js";
import { decideApprovals, ingestLines, logOf, openStore, type SqliteStoreSession } from "../src/store.js";
import { checkpointConfig, checkpointIdOf, headTuple } from "../src/timetravel/refs.js";
import { replayFrom } from "../src/timetravel/replay.js";
import { rollback } from "../src/timetravel/rollback.js";

/** A low threshold, so that refunds wait for a person and `approve` has work. */
const RUN = { approvalThresholdCents: 1_000, maxSteps: 500 };

type Op =
  | { kind: "ingest"; orders: number; message: boolean; restock: boolean }
  | { kind: "rollback"; pick: number }
  | { kind: "runFrom"; pick: number; orders: number }
  | { kind: "replay"; pick: number }
  | { kind: "approve" }
  | { kind: "prune"; keep: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("ingest" as const), orders: fc.integer({ min: 0, max: 2 }), message: fc.boolean(), restock: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("rollback" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("runFrom" as const), pick: fc.nat(), orders: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("replay" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "approve" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("prune" as const), keep: fc.integer({ min: 5, max: 40 }) }) },
);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-model-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Input lines with ids unique over the whole run; the minute keeps time moving forward. */
function inputs() {
  let n = 0;
  let minute = 0;
  const orderIds: string[] = [];
  const line = (type: string, data: Record<string, unknown>) =>
    JSON.stringify({ id: `m-${++n}`, type, at: new Date(Date.UTC(2026, 2, 1, 8, ++minute)).toISOString(), data });
  return {
    products: () => [
      line("ProductAdded", { sku: "SKU-MUG", name: "Mug", priceCents: 1500, initialStock: 30, reorderPoint: 5 }),
      line("ProductAdded", { sku: "SKU-TEE", name: "Tee", priceCents: 2500, initialStock: 6, reorderPoint: 3 }),
    ],
    batch: (orders: number, message: boolean, restock: boolean) => {
      const lines: string[] = [];
      for (let i = 0; i < orders; i++) {
        const orderId = `ORD-${n + 1}`;
        orderIds.push(orderId);
        lines.push(line("OrderPlaced", { orderId, customerId: `C-${orderIds.length % 3}`, lines: [{ sku: i % 2 ? "SKU-TEE" : "SKU-MUG", qty: 1 + (i % 2) }] }));
        lines.push(line("OrderShipped", { orderId }), line("OrderDelivered", { orderId }));
      }
      // A message about an order this branch may not have: unknown orders are rejected input, which is fine.
      if (message && orderIds.length > 0) {
        const orderId = orderIds[orderIds.length - 1];
        lines.push(line("CustomerMessage", { customerId: `C-${orderIds.length % 3}`, orderId, text: `My order ${orderId} arrived broken, please refund it.` }));
      }
      if (restock) lines.push(line("StockReceived", { sku: "SKU-TEE", qty: 4 }));
      return lines;
    },
  };
}

describe("the log at every checkpoint follows a list-per-checkpoint model", () => {
  it("through ingest, rollback, run-from-a-past-checkpoint, replay, approve and prune", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 7 }), async (ops) => {
        const session = openStore(join(dir, `s-${Math.random().toString(36).slice(2)}.db`), "model");
        try {
          await runScenario(session, ops);
        } finally {
          await session.close();
        }
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 6), endOnFailure: true },
    );
  });
});

async function runScenario(session: SqliteStoreSession, ops: Op[]): Promise<void> {
  const feed = inputs();
  /** The model: every checkpoint seen, with its log as ids and exact JSON. */
  const model = new Map<string, string[]>();
  const valuesAt = async (id: string) => (await session.graph.getState(checkpointConfig(session.threadId, id))).values as State;
  const logAt = async (id: string) => (await wholeLog(logOf(session, await valuesAt(id)))).map((e) => JSON.stringify(e));
  const ingest = (lines: string[]) =>
    ingestLines(
      session,
      lines.map((text, i) => ({ line: i + 1, text })),
      { ...RUN, batchSize: 50, source: "model" },
    );

  /** Every checkpoint of the store, with its parent, oldest first. */
  const checkpoints = async () => {
    const all: { id: string; parent?: string }[] = [];
    for await (const tuple of session.saver.list({ configurable: { thread_id: session.threadId } }))
      all.push({ id: checkpointIdOf(tuple.config) as string, parent: checkpointIdOf(tuple.parentConfig) });
    return all.reverse();
  };

  /** Records new checkpoints (each must extend its parent's log) and checks that no recorded one changed. */
  const check = async (expectations: { forkOf?: { head: string; source: string }; appended?: { after: string; ids: string[]; resumed?: string[] } } = {}) => {
    const existing = await checkpoints();
    const ids = new Set(existing.map((c) => c.id));
    for (const [id, log] of model) {
      if (!ids.has(id)) {
        model.delete(id); // pruned
        continue;
      }
      expect(await logAt(id), `log at checkpoint ${id} changed`).toEqual(log);
    }
    for (const { id, parent } of existing) {
      if (model.has(id)) continue;
      const log = await logAt(id);
      if (parent && model.has(parent)) {
        const parentLog = model.get(parent) as string[];
        // Along a branch the log only grows; a fork's first checkpoint (an update) holds its source's log.
        expect(log.slice(0, parentLog.length), `checkpoint ${id} does not extend its parent ${parent}`).toEqual(parentLog);
      }
      model.set(id, log);
    }
    if (expectations.forkOf) expect(model.get(expectations.forkOf.head)).toEqual(model.get(expectations.forkOf.source));
    const head = checkpointIdOf((await headTuple(session))?.config) as string;
    if (expectations.appended) {
      const before = model.get(expectations.appended.after) as string[];
      const now = model.get(head) as string[];
      expect(now.slice(0, before.length)).toEqual(before);
      // Only this batch and what it caused follow the log it started from: its accepted inputs in batch order
      // (a rejected line is not an event), and facts whose ids derive from them (`m-7>OrderConfirmed`, ...).
      // An ingest at a checkpoint inside a run (a rollback can land there) finishes that run first: its
      // inputs come first, and facts of inputs already in the log may follow (the run had not decided them).
      const resumed = expectations.appended.resumed;
      const sent = [...(resumed ?? []), ...expectations.appended.ids];
      const roots = new Set([...sent, ...(resumed ? before.map((e) => (JSON.parse(e) as StoreEvent).id) : [])]);
      const added = now.slice(before.length).map((e) => (JSON.parse(e) as StoreEvent).id);
      expect(added.filter((id) => !roots.has(id.split(">")[0]) && !id.startsWith("policy-"))).toEqual([]);
      const newInputs = added.filter((id) => sent.includes(id));
      expect(newInputs).toEqual(sent.filter((id) => newInputs.includes(id)));
    }
    // At rest (a run's end, or a pause for approvals): mid-run, inputs are in the log and not yet decided.
    const snapshot = await session.graph.getState(checkpointConfig(session.threadId, head));
    if (snapshot.next.length === 0 || snapshot.next.every((n) => n === "approval_gate")) {
      const { violations } = await verifyValues(session, snapshot.values as State);
      expect(violations).toEqual([]);
    }
  };

  const pick = (n: number) => {
    const ids = [...model.keys()];
    return ids[n % ids.length];
  };
  const head = async () => checkpointIdOf((await headTuple(session))?.config) as string;
  const idsOf = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { id: string }).id);
  /**
   * The input ids of the run a checkpoint is inside (not one paused at the approval gate), or undefined at rest.
   * At a run's input checkpoint the input is still in LangGraph's `__start__` channel; after it, in the inbox.
   */
  const interruptedInputs = async (id: string) => {
    const snapshot = await session.graph.getState(checkpointConfig(session.threadId, id));
    if (snapshot.next.every((n) => n === "approval_gate")) return undefined;
    const start = (await session.saver.getTuple(checkpointConfig(session.threadId, id)))?.checkpoint.channel_values.__start__ as Partial<State> | undefined;
    const inbox = [...(start?.inbox ?? []), ...((snapshot.values as State).inbox ?? [])] as unknown[];
    return inbox.map((item) => (typeof item === "string" ? JSON.parse(item) : item) as { id: string }).map((item) => item.id);
  };

  await ingest(feed.products());
  await check();
  for (const step of ops) {
    switch (step.kind) {
      case "ingest": {
        const before = await head();
        const lines = feed.batch(step.orders, step.message, step.restock);
        if (lines.length === 0) break;
        const resumed = await interruptedInputs(before);
        await ingest(lines);
        await check({ appended: { after: before, ids: idsOf(lines), resumed } });
        break;
      }
      case "rollback": {
        const source = pick(step.pick);
        const { newHead } = await rollback(session, source);
        await check({ forkOf: { head: newHead, source } });
        break;
      }
      case "runFrom": {
        // What Studio does with "fork from here": a new run with new input from a past checkpoint.
        const source = pick(step.pick);
        const snapshot = await session.graph.getState(checkpointConfig(session.threadId, source));
        if (snapshot.tasks.length > 0) break; // a run still in progress there: Studio would resume it, not start one
        const lines = feed.batch(step.orders, false, false);
        await session.graph.invoke(
          { inbox: lines },
          {
            ...checkpointConfig(session.threadId, source),
            recursionLimit: RUN.maxSteps,
            context: { approvalThresholdCents: RUN.approvalThresholdCents, model: undefined },
          },
        );
        await check({ appended: { after: source, ids: idsOf(lines) } });
        break;
      }
      case "replay": {
        const candidates: string[] = [];
        for (const id of model.keys()) if ((await session.graph.getState(checkpointConfig(session.threadId, id))).next.length > 0) candidates.push(id);
        if (candidates.length === 0) break;
        await replayFrom(session, candidates[step.pick % candidates.length], RUN);
        await check();
        break;
      }
      case "approve": {
        const values = (await session.graph.getState(session.config)).values as State;
        const pending = Object.values(values.approvals ?? {}).filter((a) => a.status === "pending");
        if (pending.length === 0) break;
        await decideApprovals(session, [{ approvalId: pending[0].id, decision: "approved", by: "model-test", at: "2026-03-02T09:00:00.000Z" }], RUN);
        await check();
        break;
      }
      case "prune": {
        if (model.size <= step.keep) break;
        await pruneStore(session, { keepLast: step.keep });
        await check();
        break;
      }
      default: {
        const exhaustive: never = step;
        throw new Error(`unknown op ${JSON.stringify(exhaustive)}`);
      }
    }
  }
}
