/**
 * Unit tests of the multi-line reducers in src/state.ts. Reducers must be
 * pure, total (accept undefined) and, for the append-only logs, invariant to
 * how writes are batched.
 */
import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Conflict } from "../src/domain/decide.js";
import type { StoreEvent } from "../src/domain/events.js";
import type { Proposal } from "../src/domain/proposals.js";
import {
  appendMessages,
  appendNotes,
  appendOnly,
  applyProposalOps,
  applyTaskOps,
  conflictLog,
  eventLog,
  FINISHED_TASK_WINDOW,
  tasksToForget,
  MEMORY_WINDOW,
  MESSAGE_WINDOW,
  rejectedLog,
  type MemoryNote,
  type Task,
  type TaskOp,
} from "../src/state.js";

interface Item {
  key: string;
  payload: number;
}

const item = (key: string, payload = 0): Item => ({ key, payload });
const byKey = () => appendOnly<Item>((i) => i.key);

/** What an append-only, first-wins log means, written the slow obvious way. */
function naiveAppend(current: readonly Item[], incoming: readonly Item[]): Item[] {
  const next = [...current];
  for (const candidate of incoming) if (!next.some((i) => i.key === candidate.key)) next.push(candidate);
  return next;
}

const itemsArb = fc.array(
  fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e", "f"), payload: fc.nat(9) }),
  { maxLength: 12 },
);

// ---------------------------------------------------------------- appendOnly

describe("appendOnly", () => {
  it("appends new items in order", () => {
    const { reducer } = byKey();
    expect(reducer([item("a")], [[item("b"), item("c")]])).toEqual([item("a"), item("b"), item("c")]);
  });

  it("accepts undefined as the empty log", () => {
    const { reducer } = byKey();
    expect(reducer(undefined, [[item("a")]])).toEqual([item("a")]);
    expect(reducer(undefined, [])).toEqual([]);
  });

  it("accepts single items as well as arrays in a batch", () => {
    const { reducer } = byKey();
    expect(reducer([], [item("a"), [item("b"), item("c")], item("d")]).map((i) => i.key)).toEqual(["a", "b", "c", "d"]);
  });

  it("drops items whose key is already in the log: the first wins", () => {
    const { reducer } = byKey();
    expect(reducer([item("a", 1)], [[item("a", 2), item("b", 1)]])).toEqual([item("a", 1), item("b", 1)]);
  });

  it("drops duplicates within one batch: the first wins", () => {
    const { reducer } = byKey();
    expect(reducer([], [[item("a", 1), item("a", 2)], item("a", 3)])).toEqual([item("a", 1)]);
  });

  it("returns the same array when nothing is new", () => {
    const { reducer } = byKey();
    const current = reducer([], [[item("a"), item("b")]]);
    expect(reducer(current, [])).toBe(current);
    expect(reducer(current, [[]])).toBe(current);
    expect(reducer(current, [[item("a", 7), item("b", 7)]])).toBe(current);
  });

  it("never mutates the current array", () => {
    const { reducer } = byKey();
    const current = Object.freeze([item("a")]) as readonly Item[];
    const next = reducer(current, [[item("b")]]);
    expect(current).toEqual([item("a")]);
    expect(next).not.toBe(current);
  });

  it("positionOf finds an item by key, or -1", () => {
    const { reducer, positionOf } = byKey();
    const log = reducer(undefined, [[item("a"), item("b"), item("c")]]);
    expect(positionOf(log, "a")).toBe(0);
    expect(positionOf(log, "c")).toBe(2);
    expect(positionOf(log, "z")).toBe(-1);
    expect(positionOf([], "a")).toBe(-1);
  });

  it("positionOf on an older, shorter log does not see items appended later", () => {
    const { reducer, positionOf } = byKey();
    const older = reducer(undefined, [[item("a")]]);
    const newer = reducer(older, [[item("b")]]);
    expect(positionOf(newer, "b")).toBe(1);
    expect(positionOf(older, "b")).toBe(-1);
  });

  it("stays deduplicated when two branches grow from the same log (a fork)", () => {
    const { reducer, positionOf } = byKey();
    const base = reducer(undefined, [[item("a")]]);
    const left = reducer(base, [[item("b")]]);
    const right = reducer(base, [[item("c")]]);
    reducer(left, [[item("c")]]);
    expect(positionOf(right, "c")).toBe(1);
    expect(reducer(right, [[item("c", 9)]])).toBe(right);
  });

  it("is batching-invariant: r(r(s, xs), ys) equals r(s, xs.concat(ys))", () => {
    fc.assert(
      fc.property(itemsArb, itemsArb, itemsArb, (s, xs, ys) => {
        const { reducer } = byKey();
        const start = reducer(undefined, [s]);
        const stepwise = reducer(reducer(start, [xs]), [ys]);
        const together = reducer(start, [xs.concat(ys)]);
        const oneByOne = xs.concat(ys).reduce((log, x) => reducer(log, [x]), start);
        expect(stepwise).toEqual(together);
        expect(oneByOne).toEqual(together);
        expect(together).toEqual(naiveAppend(naiveAppend([], s), xs.concat(ys)));
      }),
      { numRuns: 200 },
    );
  });

  it("matches the obvious definition on any tree of appends (branches share ancestors)", () => {
    const opsArb = fc.array(fc.record({ from: fc.nat(), batch: itemsArb }), { minLength: 1, maxLength: 15 });
    fc.assert(
      fc.property(opsArb, (ops) => {
        const { reducer, positionOf } = byKey();
        const versions: Item[][] = [reducer(undefined, [])];
        for (const { from, batch } of ops) {
          const base = versions[from % versions.length];
          const next = reducer(base, [batch]);
          expect(next).toEqual(naiveAppend(base, batch));
          versions.push(next);
        }
        for (const version of versions) {
          for (const [position, entry] of version.entries()) expect(positionOf(version, entry.key)).toBe(position);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("keys the store's logs by event id, conflict id and content hash", () => {
    const event = { id: "evt-1", type: "CustomerMessage" } as unknown as StoreEvent;
    expect(eventLog.reducer([event], [[{ ...event }]])).toHaveLength(1);
    const conflict = { id: "c-1", reason: "first" } as Conflict;
    expect(conflictLog.reducer([conflict], [[{ ...conflict, reason: "other" }]])).toHaveLength(1);
    const rejected = { source: "f", line: 1, reason: "bad", hash: "h1" };
    expect(rejectedLog.reducer([rejected], [[{ ...rejected, line: 2 }]])).toHaveLength(1);
    expect(rejectedLog.reducer([rejected], [[{ ...rejected, hash: "h2" }]])).toHaveLength(2);
  });
});

// ---------------------------------------------------------------- applyTaskOps

describe("applyTaskOps", () => {
  const add = (taskId: string, assignee = "support_agent"): TaskOp => ({ op: "add", task: { taskId, eventId: `evt-${taskId}`, assignee } });
  const start = (taskId: string): TaskOp => ({ op: "start", taskId });
  const complete = (taskId: string, result = "done"): TaskOp => ({ op: "complete", taskId, result });
  const fail = (taskId: string, retry: boolean, error = "boom"): TaskOp => ({ op: "fail", taskId, error, retry });

  it("adds a task as pending with no attempts", () => {
    expect(applyTaskOps(undefined, [add("t1")])).toEqual({ t1: { taskId: "t1", eventId: "evt-t1", assignee: "support_agent", status: "pending", attempts: 0 } });
  });

  it("adding a known task again changes nothing", () => {
    const running = applyTaskOps(undefined, [add("t1"), start("t1")]);
    expect(applyTaskOps(running, [add("t1", "someone_else")]).t1).toEqual(running.t1);
  });

  it("start marks it running and counts the attempt", () => {
    expect(applyTaskOps(undefined, [add("t1"), start("t1")]).t1).toMatchObject({ status: "running", attempts: 1 });
  });

  it("complete records the result and clears an earlier error", () => {
    const tasks = applyTaskOps(undefined, [add("t1"), start("t1"), fail("t1", true, "stale"), start("t1"), complete("t1", "replied")]);
    expect(tasks.t1).toMatchObject({ status: "completed", attempts: 2, result: "replied" });
    expect(tasks.t1.error).toBeUndefined();
  });

  it("fail with retry puts the task back to pending with the error", () => {
    const tasks = applyTaskOps(undefined, [add("t1"), start("t1"), fail("t1", true, "stale proposal")]);
    expect(tasks.t1).toMatchObject({ status: "pending", attempts: 1, error: "stale proposal" });
  });

  it("fail without retry marks the task failed", () => {
    const tasks = applyTaskOps(undefined, [add("t1"), start("t1"), fail("t1", false, "gave up")]);
    expect(tasks.t1).toMatchObject({ status: "failed", attempts: 1, error: "gave up" });
  });

  it("ignores ops on unknown tasks", () => {
    const tasks = applyTaskOps(undefined, [add("t1")]);
    expect(applyTaskOps(tasks, [start("nope"), complete("nope"), fail("nope", false)])).toEqual(tasks);
  });

  it("never mutates the current record", () => {
    const current = applyTaskOps(undefined, [add("t1")]);
    const snapshot = structuredClone(current);
    applyTaskOps(current, [start("t1"), add("t2")]);
    expect(current).toEqual(snapshot);
  });

  it("forget drops the named tasks and nothing else", () => {
    const tasks = applyTaskOps(undefined, [add("t1"), start("t1"), complete("t1"), add("t2"), add("t3")]);
    expect(Object.keys(applyTaskOps(tasks, [{ op: "forget", taskIds: ["t1", "t3", "unknown"] }]))).toEqual(["t2"]);
  });

  it("gives the same tasks however a sequence of ops is split into writes (a DeltaValue reducer must)", () => {
    const ids = ["t1", "t2", "t3"];
    const opArb = fc.oneof(
      fc.constantFrom(...ids).map((id) => add(id)),
      fc.constantFrom(...ids).map((id) => start(id)),
      fc.constantFrom(...ids).map((id) => complete(id)),
      fc.tuple(fc.constantFrom(...ids), fc.boolean()).map(([id, retry]) => fail(id, retry)),
      fc.subarray(ids).map((taskIds): TaskOp => ({ op: "forget", taskIds })),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.nat(30), (ops, cut) => {
        const at = Math.min(cut, ops.length);
        const together = applyTaskOps(undefined, ops);
        const split = applyTaskOps(applyTaskOps(undefined, ops.slice(0, at)), ops.slice(at));
        expect(split).toEqual(together);
      }),
    );
  });

  it("tasksToForget names the oldest finished tasks beyond the window and never an unfinished one", () => {
    const unfinished: TaskOp[] = [add("pending-1"), add("running-1"), start("running-1"), add("retrying-1"), start("retrying-1"), fail("retrying-1", true)];
    const finishedIds = Array.from({ length: FINISHED_TASK_WINDOW + 100 }, (_, i) => `done-${String(i).padStart(4, "0")}`);
    const finished = finishedIds.flatMap((id, i): TaskOp[] => [add(id), start(id), i % 2 === 0 ? complete(id) : fail(id, false)]);
    const tasks = applyTaskOps(undefined, [...unfinished, ...finished]);
    const forget = tasksToForget(tasks);
    expect(forget).toEqual(finishedIds.slice(0, 100));
    const kept = applyTaskOps(tasks, [{ op: "forget", taskIds: forget }]);
    expect(Object.values(kept).filter((t: Task) => t.status === "completed" || t.status === "failed")).toHaveLength(FINISHED_TASK_WINDOW);
    expect(Object.keys(kept)).toEqual(expect.arrayContaining(["pending-1", "running-1", "retrying-1"]));
    expect(tasksToForget(kept)).toEqual([]);
  });
});

// ---------------------------------------------------------------- appendMessages

describe("appendMessages", () => {
  const human = (id: string, text = id) => new HumanMessage({ id, content: text });
  const ai = (id: string, text = id) => new AIMessage({ id, content: text });
  const ids = (messages: BaseMessage[]) => messages.map((m) => m.id);

  it("appends messages in order; accepts undefined, single messages and arrays", () => {
    expect(ids(appendMessages(undefined, [human("m1"), [ai("m2"), human("m3")]]))).toEqual(["m1", "m2", "m3"]);
  });

  it("keeps one message per id; a later write replaces the content in place", () => {
    const current = appendMessages(undefined, [[human("m1", "hello"), ai("m2", "draft")]]);
    const next = appendMessages(current, [[ai("m2", "final"), human("m3")]]);
    expect(ids(next)).toEqual(["m1", "m2", "m3"]);
    expect(next[1].content).toBe("final");
  });

  it("keeps only the newest MESSAGE_WINDOW messages", () => {
    const many = Array.from({ length: MESSAGE_WINDOW + 50 }, (_, i) => human(`m${i}`));
    const kept = appendMessages(undefined, [many]);
    expect(kept).toHaveLength(MESSAGE_WINDOW);
    expect(ids(kept)).toEqual(ids(many.slice(50)));
  });

  it("windows across calls as well", () => {
    let messages: BaseMessage[] = [];
    for (let i = 0; i < MESSAGE_WINDOW + 5; i++) messages = appendMessages(messages, [human(`m${i}`)]);
    expect(messages).toHaveLength(MESSAGE_WINDOW);
    expect(messages[0].id).toBe("m5");
  });

  it("is batching-invariant for messages with ids", () => {
    const batchArb = fc.array(fc.record({ id: fc.constantFrom("m1", "m2", "m3", "m4"), text: fc.constantFrom("x", "y", "z") }), { maxLength: 8 });
    fc.assert(
      fc.property(batchArb, batchArb, (xs, ys) => {
        const toMessages = (batch: { id: string; text: string }[]) => batch.map((m) => human(m.id, m.text));
        const stepwise = appendMessages(appendMessages(undefined, [toMessages(xs)]), [toMessages(ys)]);
        const together = appendMessages(undefined, [toMessages(xs.concat(ys))]);
        expect(stepwise.map((m) => [m.id, m.content])).toEqual(together.map((m) => [m.id, m.content]));
      }),
      { numRuns: 100 },
    );
  });

  it("keeps messages that have no id", () => {
    let messages = appendMessages(undefined, [new HumanMessage("one")]);
    messages = appendMessages(messages, [new HumanMessage("two")]);
    messages = appendMessages(messages, [new HumanMessage("three")]);
    expect(messages.map((m) => m.content)).toEqual(["one", "two", "three"]);
  });
});

// ---------------------------------------------------------------- applyProposalOps

describe("applyProposalOps", () => {
  const proposal = (id: string): Proposal => ({
    id,
    agent: "support_agent",
    taskId: `task-${id}`,
    causationId: "evt-1",
    at: "2026-03-01T09:00:00.000Z",
    type: "ReplyDrafted",
    data: {},
    basedOn: [],
  });
  const idsOf = (queue: Proposal[]) => queue.map((p) => p.id);

  it("enqueues in order, starting from undefined", () => {
    expect(idsOf(applyProposalOps(undefined, { enqueue: [proposal("p1"), proposal("p2")] }))).toEqual(["p1", "p2"]);
  });

  it("does not enqueue a proposal already queued", () => {
    const queue = applyProposalOps(undefined, { enqueue: [proposal("p1")] });
    expect(idsOf(applyProposalOps(queue, { enqueue: [proposal("p1"), proposal("p2")] }))).toEqual(["p1", "p2"]);
  });

  it("does not enqueue the same proposal twice from one batch", () => {
    expect(idsOf(applyProposalOps(undefined, { enqueue: [proposal("p1"), proposal("p1")] }))).toEqual(["p1"]);
  });

  it("dequeues the decided proposals and keeps the rest in order", () => {
    const queue = applyProposalOps(undefined, { enqueue: ["p1", "p2", "p3", "p4"].map(proposal) });
    expect(idsOf(applyProposalOps(queue, { dequeue: ["p3", "p1", "unknown"] }))).toEqual(["p2", "p4"]);
  });

  it("dequeuing nothing returns the same queue", () => {
    const queue = applyProposalOps(undefined, { enqueue: [proposal("p1")] });
    expect(applyProposalOps(queue, { dequeue: [] })).toBe(queue);
  });

  it("never mutates the current queue", () => {
    const queue = applyProposalOps(undefined, { enqueue: [proposal("p1")] });
    applyProposalOps(queue, { enqueue: [proposal("p2")] });
    applyProposalOps(queue, { dequeue: ["p1"] });
    expect(idsOf(queue)).toEqual(["p1"]);
  });
});

// ---------------------------------------------------------------- appendNotes

describe("appendNotes", () => {
  const note = (i: number): MemoryNote => ({ at: "2026-03-01T09:00:00.000Z", eventId: `evt-${i}`, note: `note ${i}` });

  it("appends notes, starting from undefined", () => {
    expect(appendNotes(appendNotes(undefined, [note(1)]), [note(2)])).toEqual([note(1), note(2)]);
  });

  it("keeps only the newest MEMORY_WINDOW notes", () => {
    const notes = Array.from({ length: MEMORY_WINDOW + 7 }, (_, i) => note(i));
    const kept = appendNotes(notes.slice(0, 10), notes.slice(10));
    expect(kept).toEqual(notes.slice(7));
  });
});
