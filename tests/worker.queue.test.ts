/**
 * The pure parts of the job queue (src/worker/queue.ts): a job's payload is
 * checked before it runs, and a store's queue name maps back to the store.
 * The queue itself runs on a real PostgreSQL in tests/postgres.int.test.ts.
 */
import { parsePayload, queueOf, storeOfQueue } from "../src/worker/queue.js";

describe("a job's payload", () => {
  it("is accepted when it is a store's input lines", () => {
    const payload = { store: "north", source: "day.jsonl", lines: [{ line: 1, text: "{}" }] };
    expect(parsePayload(payload)).toEqual(payload);
  });

  it("is refused with what is wrong and where, when it is not", () => {
    expect(parsePayload('[{"line": 1, ')).toMatch(
      /^its payload is not a job's input \(\{store, source, lines: \[\{line, text\}\]\}\): \(the payload\): .*expected object.*; the job cannot run/,
    );
    expect(parsePayload({ store: "north", source: "x", lines: [{ line: "one", text: "{}" }] })).toMatch(/lines\.0\.line: .*expected number/);
    expect(parsePayload({ source: "x", lines: [] })).toMatch(/store: /);
  });
});

describe("a store's queue", () => {
  it("is named after the store, and names it back", () => {
    expect(queueOf("north")).toBe("store:north");
    expect(storeOfQueue(queueOf("north"))).toBe("north");
    expect(storeOfQueue(null)).toBe("(none)");
    expect(storeOfQueue("someone-else's-queue")).toBe("(none)");
  });
});
