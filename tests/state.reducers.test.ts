/**
 * Unit tests of the multi-line reducers in src/state.ts. Reducers must be
 * pure, total (accept undefined) and, for DeltaValue channels, invariant to
 * how writes are batched (a saver rebuilds a channel by replaying all its
 * writes since the last snapshot in one reducer call).
 */
import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Conflict } from "../src/domain/decide.js";
import type { StoreEvent } from "../src/domain/events.js";
import type { Proposal } from "../src/domain/proposals.js";
import {
  mergeWindowed,
  appendConflicts,
  appendMessages,
  appendNotes,
  appendRecentEvents,
  appendRejected,
  appendWindow,
  applyProposalOps,
  applyTaskOps,
  CONFLICT_WINDOW,
  FINISHED_TASK_WINDOW,
  tasksToForget,
  MEMORY_WINDOW,
  MESSAGE_WINDOW,
  RECENT_EVENTS_WINDOW,
  REJECTED_WINDOW,
  type MemoryNote,
  type Task,
  type TaskOp,
} from "../src/state.js";

interface Item {
  key: string;
  payload: number;
}

const item = (key: string, payload = 0): Item => ({ key, payload });
/** A window large enough that nothing falls out, and a small one to see the window at work. */
const wide = appendWindow<Item>((i) => i.key, 1000);
const narrow = (size: number) => appendWindow<Item>((i) => i.key, size);

/** What a deduplicated window means, written the slow obvious way: first wins, then the newest `size`. */
function naiveAppend(current: readonly Item[], incoming: readonly Item[], size = Infinity): Item[] {
  const next = [...current];
  for (const candidate of incoming) if (!next.some((i) => i.key === candidate.key)) next.push(candidate);
  return next.slice(Math.max(0, next.length - size));
}

const itemsArb = fc.array(fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e", "f"), payload: fc.nat(9) }), { maxLength: 12 });

// ---------------------------------------------------------------- appendWindow

describe("appendWindow", () => {
  it("appends new items in order", () => {
    expect(wide([item("a")], [[item("b"), item("c")]])).toEqual([item("a"), item("b"), item("c")]);
  });

  it("accepts undefined as the empty window", () => {
    expect(wide(undefined, [[item("a")]])).toEqual([item("a")]);
    expect(wide(undefined, [])).toEqual([]);
  });

  it("accepts single items as well as arrays in a batch", () => {
    expect(wide([], [item("a"), [item("b"), item("c")], item("d")]).map((i) => i.key)).toEqual(["a", "b", "c", "d"]);
  });

  it("drops items whose key is already in the window: the first wins", () => {
    expect(wide([item("a", 1)], [[item("a", 2), item("b", 1)]])).toEqual([item("a", 1), item("b", 1)]);
  });

  it("drops duplicates within one batch: the first wins", () => {
    expect(wide([], [[item("a", 1), item("a", 2)], item("a", 3)])).toEqual([item("a", 1)]);
  });

  it("returns the same array when nothing is new", () => {
    const current = wide([], [[item("a"), item("b")]]);
    expect(wide(current, [])).toBe(current);
    expect(wide(current, [[]])).toBe(current);
    expect(wide(current, [[item("a", 7), item("b", 7)]])).toBe(current);
  });

  it("never mutates the current array", () => {
    const current = Object.freeze([item("a")]) as readonly Item[];
    const next = wide(current, [[item("b")]]);
    expect(current).toEqual([item("a")]);
    expect(next).not.toBe(current);
  });

  it("keeps only the newest `size` items, however many arrive at once or one by one", () => {
    const many = Array.from({ length: 25 }, (_, i) => item(`k${i}`));
    expect(narrow(10)(undefined, [many])).toEqual(many.slice(15));
    expect(many.reduce((window, x) => narrow(10)(window, [x]), [] as Item[])).toEqual(many.slice(15));
  });

  it("is batching-invariant while nothing falls out: r(r(s, xs), ys) equals r(s, xs.concat(ys))", () => {
    fc.assert(
      fc.property(itemsArb, itemsArb, itemsArb, (s, xs, ys) => {
        const start = wide(undefined, [s]);
        const stepwise = wide(wide(start, [xs]), [ys]);
        const together = wide(start, [xs.concat(ys)]);
        const oneByOne = xs.concat(ys).reduce((log, x) => wide(log, [x]), start);
        expect(stepwise).toEqual(together);
        expect(oneByOne).toEqual(together);
        expect(together).toEqual(naiveAppend(naiveAppend([], s), xs.concat(ys)));
      }),
      { numRuns: 200 },
    );
  });

  it("is batching-invariant when items fall out of the window and keys come back (a DeltaValue replays all writes since a snapshot in one call)", () => {
    fc.assert(
      fc.property(itemsArb, itemsArb, itemsArb, fc.integer({ min: 1, max: 4 }), (s, xs, ys, size) => {
        const r = narrow(size);
        const start = r(undefined, [s]);
        expect(r(r(start, [xs]), [ys])).toEqual(r(start, [xs.concat(ys)]));
      }),
      { numRuns: 500 },
    );
  });

  it("matches the obvious definition on any tree of appends (branches share ancestors)", () => {
    const opsArb = fc.array(fc.record({ from: fc.nat(), batch: itemsArb }), { minLength: 1, maxLength: 15 });
    fc.assert(
      fc.property(opsArb, (ops) => {
        const versions: Item[][] = [wide(undefined, [])];
        for (const { from, batch } of ops) {
          const base = versions[from % versions.length];
          const next = wide(base, [batch]);
          expect(next).toEqual(naiveAppend(base, batch));
          versions.push(next);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("keys the state's windows by event id, conflict id and content hash, each bounded by its window", () => {
    const event = { id: "evt-1", type: "CustomerMessage" } as unknown as StoreEvent;
    expect(appendRecentEvents([event], [[{ ...event }]])).toHaveLength(1);
    const conflict = { id: "c-1", reason: "first" } as Conflict;
    expect(appendConflicts([conflict], [[{ ...conflict, reason: "other" }]])).toEqual([conflict]);
    const rejected = { source: "f", line: 1, reason: "bad", hash: "h1" };
    expect(appendRejected([rejected], [[{ ...rejected, line: 2 }]])).toEqual([rejected]);
    expect(appendRejected([rejected], [[{ ...rejected, hash: "h2" }]])).toHaveLength(2);

    const events = Array.from({ length: RECENT_EVENTS_WINDOW + 5 }, (_, i) => ({ id: `evt-${i}` }) as unknown as StoreEvent);
    expect(appendRecentEvents(undefined, [events]).map((e) => e.id)).toEqual(events.slice(5).map((e) => e.id));
    const conflicts = Array.from({ length: CONFLICT_WINDOW + 5 }, (_, i) => ({ id: `c-${i}` }) as Conflict);
    expect(appendConflicts(undefined, [conflicts])).toHaveLength(CONFLICT_WINDOW);
    const rejections = Array.from({ length: REJECTED_WINDOW + 5 }, (_, i) => ({ source: "f", line: i, reason: "bad", hash: `h${i}` }));
    expect(appendRejected(undefined, [rejections])).toHaveLength(REJECTED_WINDOW);
  });
});

// ---------------------------------------------------------------- applyTaskOps

describe("applyTaskOps", () => {
  const add = (taskId: string, assignee = "support_agent"): TaskOp => ({ op: "add", task: { taskId, eventId: `evt-${taskId}`, assignee } });
  const start = (taskId: string): TaskOp => ({ op: "start", taskId });
  const complete = (taskId: string, result = "done"): TaskOp => ({ op: "complete", taskId, result });
  const fail = (taskId: string, retry: boolean, error = "boom"): TaskOp => ({ op: "fail", taskId, error, retry });

  it("adds a task as pending with no attempts", () => {
    expect(applyTaskOps(undefined, [add("t1")])).toEqual({
      t1: { taskId: "t1", eventId: "evt-t1", assignee: "support_agent", status: "pending", attempts: 0 },
    });
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
    // No `error: undefined` key either: a saver would store a record for it.
    expect(Object.keys(tasks.t1)).not.toContain("error");
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

  it("a message that left the window and comes back is appended, whether the writes come one by one or together", () => {
    const full = appendMessages(undefined, [Array.from({ length: MESSAGE_WINDOW }, (_, i) => human(`m${i}`))]);
    const stepwise = appendMessages(appendMessages(full, [human("new")]), [human("m0", "again")]);
    const together = appendMessages(full, [human("new"), human("m0", "again")]);
    expect(ids(stepwise)).toEqual([...ids(full).slice(2), "new", "m0"]);
    expect(ids(together)).toEqual(ids(stepwise));
  });

  it("is batching-invariant when messages fall out of the window and their ids come back", () => {
    const idArb = fc.integer({ min: 0, max: MESSAGE_WINDOW + 20 }).map((i) => `m${i}`);
    const batchArb = fc.array(fc.record({ id: idArb, text: fc.constantFrom("x", "y") }), { maxLength: MESSAGE_WINDOW + 40 });
    fc.assert(
      fc.property(batchArb, batchArb, batchArb, (s, xs, ys) => {
        const toMessages = (batch: { id: string; text: string }[]) => batch.map((m) => human(m.id, m.text));
        const start = appendMessages(undefined, [toMessages(s)]);
        const stepwise = appendMessages(appendMessages(start, [toMessages(xs)]), [toMessages(ys)]);
        const together = appendMessages(start, [toMessages(xs), toMessages(ys)]);
        expect(stepwise.map((m) => [m.id, m.content])).toEqual(together.map((m) => [m.id, m.content]));
      }),
      { numRuns: 200 },
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

describe("mergeWindowed (posts)", () => {
  const reduce = mergeWindowed<number>(2);
  it("keeps the newest keys and gives the same result however patches are batched, also when a key comes back", () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.constantFrom("a", "b", "c", "d"), fc.option(fc.integer(), { nil: null })), { maxLength: 6 }),
        fc.nat(6),
        (patches, cut) => {
          const once = reduce({}, patches);
          const twice = reduce(reduce({}, patches.slice(0, cut)), patches.slice(cut));
          expect(twice).toEqual(once);
          expect(Object.keys(once).length).toBeLessThanOrEqual(2);
        },
      ),
    );
    expect(reduce({}, [{ a: 1 }, { b: 2 }, { c: 3 }, { a: 4 }])).toEqual({ c: 3, a: 4 });
  });
});
