/**
 * Our serializer's fast load path must read every value exactly as the stock
 * `JsonPlusSerializer` does (persistence/serde.ts): plain JSON, delta
 * snapshots, LangChain messages, Sets, Maps and `undefined`, alone, side by
 * side and inside one another.
 */
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { DeltaSnapshot, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import { FastJsonPlusSerializer } from "../src/persistence/serde.js";

const stock = new JsonPlusSerializer();
const fast = new FastJsonPlusSerializer();

const message = (i: number) => new AIMessage({ id: `m${i}`, content: `reply ${i}: "lc": is only text here` });
const cases: Record<string, unknown> = {
  "plain JSON": { orders: { a: { qty: 1, lines: [1, 2, 3] } }, text: 'a "lc": 1 inside a string' },
  "a delta snapshot": { tasks: new DeltaSnapshot({ t1: { status: "done" } }), other: [1, 2] },
  "messages in a snapshot": { messages: new DeltaSnapshot([message(1), new HumanMessage({ id: "h", content: "hi" }), message(2)]) },
  "a message as a snapshot's value": new DeltaSnapshot(message(3)),
  "a message at the root": message(4),
  "undefined in objects and arrays": { a: undefined, b: [1, undefined, 3], c: { d: undefined } },
  "a Set and a Map": { s: new Set(["x", "y"]), m: new Map([["k", { v: 1 }]]) },
  "a Set inside a Map": { m: new Map<string, unknown>([["k", new Set([1, 2])]]) },
  "a message inside a Map": { m: new Map([["k", message(5)]]) },
  "side by side": { tasks: new DeltaSnapshot({ t: { error: undefined } }), messages: [message(6)], seen: new Set([1]), plain: { x: [{ y: 1 }] } },
};

describe("FastJsonPlusSerializer.loadsTyped", () => {
  it.each(Object.entries(cases))("reads %s as the stock serializer does", async (_name, value) => {
    const [type, bytes] = await stock.dumpsTyped(value);
    const expected = await stock.loadsTyped(type, bytes);
    const actual = await fast.loadsTyped(type, bytes);
    expect(actual).toStrictEqual(expected);
    // Same classes, not just the same fields.
    expect(JSON.stringify(await fast.dumpsTyped(actual))).toEqual(JSON.stringify(await stock.dumpsTyped(expected)));
  });
});
