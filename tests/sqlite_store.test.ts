/**
 * SqliteStore against InMemoryStore: every case in CASES runs on both, and
 * both must give the expected result (so agreeing on a wrong answer fails too).
 * Cases port the namespace and store tests of langgraphjs libs/checkpoint.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import fc from "fast-check";
import { InMemoryStore, InvalidNamespaceError, type BaseStore, type Item } from "@langchain/langgraph-checkpoint";
import { openDatabase, sqliteSaver } from "../src/persistence/sqlite.js";
import { KB_ITEMS_TABLE, SqliteStore } from "../src/memory/sqlite_store.js";
import { recordQueryPlans } from "./support/query_plans.js";

let dir: string;
const opened: Database.Database[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shopstate-kb-store-"));
});
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function openSqlite(file = "kb.db"): { db: Database.Database; store: SqliteStore } {
  const db = openDatabase(join(dir, file));
  opened.push(db);
  return { db, store: new SqliteStore(db) };
}

/** What a case compares: items without their clocks (the two stores put at different instants). */
const brief = (item: Item | null) => (item ? { namespace: item.namespace, key: item.key, value: item.value } : null);
const keys = (items: Item[]) => items.map((i) => i.key);

async function putAll(store: BaseStore, entries: [string[], string, Record<string, unknown>][]): Promise<void> {
  for (const [namespace, key, value] of entries) await store.put(namespace, key, value);
}

const PRODUCTS: [string[], string, Record<string, unknown>][] = [
  [["shop", "items"], "mug", { kind: "kitchen", price: 12, stock: 5, tags: ["blue"], active: true, note: null, code: "7" }],
  [["shop", "items"], "pan", { kind: "kitchen", price: 30, stock: 0, active: false, code: 7 }],
  [["shop", "items"], "lamp", { kind: "home", price: "25", stock: 2, active: true }],
  [["shop", "items"], "rug", { kind: "home", price: 99.5, active: 1 }],
  [["shop", "items"], "sock", { kind: "wear", price: 4, stock: 100, "odd-field": "yes", nested: { a: 1 } }],
];

interface Case {
  name: string;
  run: (store: BaseStore) => Promise<unknown>;
  expected: unknown;
}

const CASES: Case[] = [
  {
    name: "put then get returns the value, key and namespace",
    run: async (s) => {
      await s.put(["users", "123"], "prefs", { theme: "dark", n: 1 });
      return brief(await s.get(["users", "123"], "prefs"));
    },
    expected: { namespace: ["users", "123"], key: "prefs", value: { theme: "dark", n: 1 } },
  },
  {
    name: "get of a missing key or namespace is null",
    run: async (s) => {
      await s.put(["users", "123"], "prefs", { theme: "dark" });
      return [await s.get(["users", "123"], "other"), await s.get(["users", "999"], "prefs"), await s.get(["users"], "prefs")];
    },
    expected: [null, null, null],
  },
  {
    name: "a second put replaces the value and keeps createdAt",
    run: async (s) => {
      await s.put(["docs"], "d1", { v: 1 });
      // Read the clocks now: InMemoryStore hands out its live item, which the next put mutates.
      const first = await s.get(["docs"], "d1");
      const [created, updated] = [first?.createdAt.getTime(), first?.updatedAt.getTime()];
      await new Promise((r) => setTimeout(r, 5));
      await s.put(["docs"], "d1", { v: 2, extra: "x" });
      const second = await s.get(["docs"], "d1");
      return {
        value: second?.value,
        sameCreated: created === second?.createdAt.getTime(),
        updatedLater: (second?.updatedAt.getTime() ?? 0) > (updated ?? 0),
        dates: second?.createdAt instanceof Date && second.updatedAt instanceof Date,
      };
    },
    expected: { value: { v: 2, extra: "x" }, sameCreated: true, updatedLater: true, dates: true },
  },
  {
    name: "delete removes the item from get and search; deleting a missing item is harmless",
    run: async (s) => {
      await s.put(["docs"], "d1", { v: 1 });
      await s.put(["docs"], "d2", { v: 2 });
      await s.delete(["docs"], "d1");
      await s.delete(["docs"], "never-there");
      await s.delete(["nowhere"], "never-there");
      return { get: await s.get(["docs"], "d1"), search: keys(await s.search(["docs"])) };
    },
    expected: { get: null, search: ["d2"] },
  },
  {
    name: "put with value null in a batch deletes",
    run: async (s) => {
      await s.put(["docs"], "d1", { v: 1 });
      await s.batch([{ namespace: ["docs"], key: "d1", value: null }]);
      return s.get(["docs"], "d1");
    },
    expected: null,
  },
  {
    name: "search by namespace prefix matches whole labels only",
    run: async (s) => {
      await putAll(s, [
        [["a"], "1", { x: 1 }],
        [["a", "b"], "2", { x: 2 }],
        [["a", "b", "c"], "3", { x: 3 }],
        [["ab"], "4", { x: 4 }],
        [["a-b"], "5", { x: 5 }],
        [["b", "a"], "6", { x: 6 }],
      ]);
      return {
        a: keys(await s.search(["a"])),
        ab: keys(await s.search(["a", "b"])),
        abc: keys(await s.search(["a", "b", "c"])),
        all: keys(await s.search([])),
        none: keys(await s.search(["a", "z"])),
      };
    },
    expected: { a: ["1", "2", "3"], ab: ["2", "3"], abc: ["3"], all: ["1", "2", "3", "4", "5", "6"], none: [] },
  },
  {
    name: "search returns 10 items by default and pages with limit and offset",
    run: async (s) => {
      for (let i = 0; i < 25; i += 1) await s.put(["many"], `k${String(i).padStart(2, "0")}`, { i });
      return {
        byDefault: (await s.search(["many"])).length,
        page2: keys(await s.search(["many"], { limit: 5, offset: 5 })),
        tail: keys(await s.search(["many"], { limit: 10, offset: 22 })),
        beyond: keys(await s.search(["many"], { limit: 10, offset: 40 })),
        all: (await s.search(["many"], { limit: 1000 })).length,
      };
    },
    expected: { byDefault: 10, page2: ["k05", "k06", "k07", "k08", "k09"], tail: ["k22", "k23", "k24"], beyond: [], all: 25 },
  },
  {
    name: "search order: namespace creation order, then insertion order; update keeps the place, re-put after delete moves to the end",
    run: async (s) => {
      await putAll(s, [
        [["n", "x"], "x1", { v: 1 }],
        [["n", "y"], "y1", { v: 1 }],
        [["n", "x"], "x2", { v: 1 }],
        [["n", "y"], "y2", { v: 1 }],
        [["n", "x"], "x3", { v: 1 }],
      ]);
      await s.put(["n", "x"], "x1", { v: 2 });
      await s.delete(["n", "x"], "x2");
      await s.put(["n", "x"], "x2", { v: 3 });
      return keys(await s.search(["n"]));
    },
    expected: ["x1", "x3", "x2", "y1", "y2"],
  },
  {
    name: "filter by exact value compares type and value like ===",
    run: async (s) => {
      await putAll(s, PRODUCTS);
      const f = async (filter: Record<string, unknown>) => keys(await s.search(["shop"], { filter }));
      return {
        kind: await f({ kind: "kitchen" }),
        two: await f({ kind: "home", active: true }),
        numberSeven: await f({ code: 7 }),
        stringSeven: await f({ code: "7" }),
        trueIsNotOne: await f({ active: true }),
        oneIsNotTrue: await f({ active: 1 }),
        falsy: await f({ active: false }),
        nulls: await f({ note: null }),
        float: await f({ price: 99.5 }),
        stringPrice: await f({ price: "25" }),
        objectsNever: await f({ nested: { a: 1 } }),
        arraysNever: await f({ tags: ["blue"] }),
        oddFieldName: await f({ "odd-field": "yes" }),
        missing: await f({ nosuch: "x" }),
      };
    },
    expected: {
      kind: ["mug", "pan"],
      two: ["lamp"],
      numberSeven: ["pan"],
      stringSeven: ["mug"],
      trueIsNotOne: ["mug", "lamp"],
      oneIsNotTrue: ["rug"],
      falsy: ["pan"],
      nulls: ["mug"],
      float: ["rug"],
      stringPrice: ["lamp"],
      objectsNever: [],
      arraysNever: [],
      oddFieldName: ["sock"],
      missing: [],
    },
  },
  {
    name: "filter operators $eq $ne $in $nin (missing fields are $ne and $nin)",
    run: async (s) => {
      await putAll(s, PRODUCTS);
      const f = async (filter: Record<string, unknown>) => keys(await s.search(["shop"], { filter }));
      return {
        eq: await f({ kind: { $eq: "home" } }),
        ne: await f({ kind: { $ne: "home" } }),
        neMissing: await f({ stock: { $ne: 0 } }),
        in: await f({ kind: { $in: ["home", "wear"] } }),
        inEmpty: await f({ kind: { $in: [] } }),
        inNotArray: await f({ kind: { $in: "home" } }),
        nin: await f({ kind: { $nin: ["home", "kitchen"] } }),
        ninNotArray: await f({ kind: { $nin: "home" } }),
        ninMissing: await f({ note: { $nin: [null] } }),
        combined: await f({ kind: { $ne: "wear", $nin: ["home"] }, active: { $eq: true } }),
        emptyOperators: await f({ kind: {} }),
      };
    },
    expected: {
      eq: ["lamp", "rug"],
      ne: ["mug", "pan", "sock"],
      neMissing: ["mug", "lamp", "rug", "sock"],
      in: ["lamp", "rug", "sock"],
      inEmpty: [],
      inNotArray: [],
      nin: ["sock"],
      ninNotArray: ["mug", "pan", "lamp", "rug", "sock"],
      ninMissing: ["pan", "lamp", "rug", "sock"],
      combined: ["mug"],
      emptyOperators: ["mug", "pan", "lamp", "rug", "sock"],
    },
  },
  {
    name: "filter comparisons $gt $gte $lt $lte coerce with Number() (strings, booleans, null; missing never matches)",
    run: async (s) => {
      await putAll(s, PRODUCTS);
      const f = async (filter: Record<string, unknown>) => keys(await s.search(["shop"], { filter }));
      return {
        gt: await f({ price: { $gt: 12 } }),
        gte: await f({ price: { $gte: 12 } }),
        lt: await f({ price: { $lt: 25 } }),
        lte: await f({ price: { $lte: 25 } }),
        range: await f({ price: { $gt: 4, $lt: 99.5 } }),
        stockMissing: await f({ stock: { $gte: 0 } }),
        booleans: await f({ active: { $gte: 1 } }),
        nullIsZero: await f({ note: { $lte: 0 } }),
        withEquality: await f({ kind: "home", price: { $gte: 25 } }),
        paged: keys(await s.search(["shop"], { filter: { price: { $gte: 0 } }, limit: 2, offset: 1 })),
      };
    },
    expected: {
      gt: ["pan", "lamp", "rug"],
      gte: ["mug", "pan", "lamp", "rug"],
      lt: ["mug", "sock"],
      lte: ["mug", "lamp", "sock"],
      range: ["mug", "pan", "lamp"],
      stockMissing: ["mug", "pan", "lamp", "sock"],
      booleans: ["mug", "lamp", "rug"],
      nullIsZero: ["mug"],
      withEquality: ["lamp", "rug"],
      paged: ["pan", "lamp"],
    },
  },
  {
    name: "filter with limit and offset pages over the matching items only",
    run: async (s) => {
      for (let i = 0; i < 30; i += 1) await s.put(["f"], `k${String(i).padStart(2, "0")}`, { even: i % 2 === 0 });
      return keys(await s.search(["f"], { filter: { even: true }, limit: 4, offset: 3 }));
    },
    expected: ["k06", "k08", "k10", "k12"],
  },
  {
    name: "query without a vector index leaves order as is and gives no score",
    run: async (s) => {
      await putAll(s, [
        [["docs"], "a", { text: "python tutorial" }],
        [["docs"], "b", { text: "typescript guide" }],
        [["docs"], "c", { text: "rust book" }],
      ]);
      const found = await s.search(["docs"], { query: "typescript", limit: 2 });
      return found.map((i) => ({ key: i.key, score: i.score }));
    },
    expected: [
      { key: "a", score: undefined },
      { key: "b", score: undefined },
    ],
  },
  {
    name: "a batch reads before it writes; the last put of a key wins",
    run: async (s) => {
      await s.put(["b"], "k", { v: 0 });
      const results = await s.batch([
        { namespace: ["b"], key: "k", value: { v: 1 } },
        { namespace: ["b"], key: "j", value: { v: 9 } },
        { namespace: ["b"], key: "j" },
        { namespacePrefix: ["b"], limit: 10, offset: 0 },
        { namespace: ["b"], key: "k", value: { v: 2 } },
        { matchConditions: undefined, limit: 10, offset: 0 },
      ]);
      return {
        puts: [results[0], results[1], results[4]],
        getOfNewKey: results[2],
        search: (results[3] as Item[]).map((i) => i.value),
        list: results[5],
        after: keys(await s.search(["b"])),
        k: (await s.get(["b"], "k"))?.value,
      };
    },
    expected: { puts: [null, null, null], getOfNewKey: null, search: [{ v: 0 }], list: [["b"]], after: ["k", "j"], k: { v: 2 } },
  },
  {
    name: "values keep unicode, nesting, numbers and booleans",
    run: async (s) => {
      const value = { text: "Grüße, ☕ 'quotes' \"dq\"", n: -0.125, big: 2 ** 52, deep: { list: [1, "two", { three: [true, null] }] } };
      await s.put(["u"], "k:ey with spaces/and:colons", value);
      return brief(await s.get(["u"], "k:ey with spaces/and:colons"));
    },
    expected: {
      namespace: ["u"],
      key: "k:ey with spaces/and:colons",
      value: { text: "Grüße, ☕ 'quotes' \"dq\"", n: -0.125, big: 2 ** 52, deep: { list: [1, "two", { three: [true, null] }] } },
    },
  },
  {
    name: "listNamespaces by prefix, suffix, both, maxDepth, limit and offset",
    run: async (s) => {
      const namespaces = [
        ["a", "b", "c"],
        ["a", "b", "d", "e"],
        ["a", "b", "d", "i"],
        ["a", "b", "f"],
        ["a", "c", "f"],
        ["b", "a", "f"],
        ["users", "123"],
        ["users", "456", "settings"],
        ["admin", "users", "789"],
      ];
      for (let i = 0; i < namespaces.length; i += 1) await s.put(namespaces[i], `id_${i}`, { i });
      return {
        prefix: await s.listNamespaces({ prefix: ["a", "b"] }),
        suffix: await s.listNamespaces({ suffix: ["f"] }),
        both: await s.listNamespaces({ prefix: ["a"], suffix: ["f"] }),
        depth: await s.listNamespaces({ prefix: ["a", "b"], maxDepth: 3 }),
        limit: await s.listNamespaces({ prefix: ["a", "b"], limit: 2 }),
        offset: await s.listNamespaces({ prefix: ["a", "b"], offset: 2 }),
        all: await s.listNamespaces(),
        depth1: await s.listNamespaces({ maxDepth: 1 }),
      };
    },
    expected: {
      prefix: [
        ["a", "b", "c"],
        ["a", "b", "d", "e"],
        ["a", "b", "d", "i"],
        ["a", "b", "f"],
      ],
      suffix: [
        ["a", "b", "f"],
        ["a", "c", "f"],
        ["b", "a", "f"],
      ],
      both: [
        ["a", "b", "f"],
        ["a", "c", "f"],
      ],
      depth: [
        ["a", "b", "c"],
        ["a", "b", "d"],
        ["a", "b", "f"],
      ],
      limit: [
        ["a", "b", "c"],
        ["a", "b", "d", "e"],
      ],
      offset: [
        ["a", "b", "d", "i"],
        ["a", "b", "f"],
      ],
      all: [
        ["a", "b", "c"],
        ["a", "b", "d", "e"],
        ["a", "b", "d", "i"],
        ["a", "b", "f"],
        ["a", "c", "f"],
        ["admin", "users", "789"],
        ["b", "a", "f"],
        ["users", "123"],
        ["users", "456", "settings"],
      ],
      depth1: [["a"], ["admin"], ["b"], ["users"]],
    },
  },
  {
    name: "listNamespaces with wildcards",
    run: async (s) => {
      const namespaces = [
        ["users", "123"],
        ["users", "456"],
        ["users", "789", "settings"],
        ["admin", "users", "789"],
        ["guests", "123"],
        ["guests", "456", "preferences"],
      ];
      for (let i = 0; i < namespaces.length; i += 1) await s.put(namespaces[i], `id_${i}`, { i });
      const before = {
        usersAny: await s.listNamespaces({ prefix: ["users", "*"] }),
        anyPreferences: await s.listNamespaces({ suffix: ["*", "preferences"] }),
        anyUsersAnySettings: await s.listNamespaces({ prefix: ["*", "users"], suffix: ["*", "settings"] }),
        any123: await s.listNamespaces({ prefix: ["*", "123"] }),
      };
      await s.put(["admin", "users", "settings", "789"], "foo", { data: "some_val" });
      return { ...before, after: await s.listNamespaces({ prefix: ["*", "users"], suffix: ["settings", "*"] }) };
    },
    expected: {
      usersAny: [
        ["users", "123"],
        ["users", "456"],
        ["users", "789", "settings"],
      ],
      anyPreferences: [["guests", "456", "preferences"]],
      anyUsersAnySettings: [],
      any123: [
        ["guests", "123"],
        ["users", "123"],
      ],
      after: [["admin", "users", "settings", "789"]],
    },
  },
  {
    name: "listNamespaces pages through many namespaces",
    run: async (s) => {
      for (let i = 19; i >= 0; i -= 1) await s.put(["namespace", `sub_${String(i).padStart(2, "0")}`], "id", { i });
      return {
        first: await s.listNamespaces({ prefix: ["namespace"], limit: 3, offset: 0 }),
        middle: await s.listNamespaces({ prefix: ["namespace"], limit: 3, offset: 9 }),
        byDefault: (await s.listNamespaces({ prefix: ["namespace"] })).length,
      };
    },
    expected: {
      first: [
        ["namespace", "sub_00"],
        ["namespace", "sub_01"],
        ["namespace", "sub_02"],
      ],
      middle: [
        ["namespace", "sub_09"],
        ["namespace", "sub_10"],
        ["namespace", "sub_11"],
      ],
      byDefault: 20,
    },
  },
  {
    name: "listNamespaces of an empty store is empty",
    run: async (s) => s.listNamespaces({}),
    expected: [],
  },
  {
    name: "invalid namespaces are refused; 'langgraph' is a reserved root for put only",
    run: async (s) => {
      const doc = { foo: "bar" };
      const refused = async (attempt: Promise<unknown>) =>
        attempt.then(
          () => "accepted",
          (e: unknown) => (e instanceof InvalidNamespaceError ? "refused" : String(e)),
        );
      const outcomes = [
        await refused(s.put([], "foo", doc)),
        await refused(s.put(["the", "thing.about"], "foo", doc)),
        await refused(s.put(["some", "fun", ""], "foo", doc)),
        await refused(s.put(["a:b"], "foo", doc)),
        await refused(s.put(["langgraph", "foo"], "bar", doc)),
        await refused(s.search(["bad.label"])),
      ];
      await s.put(["foo", "langgraph", "foo"], "bar", doc);
      await s.batch([{ namespace: ["langgraph", "foo"], key: "bar", value: doc }]);
      return {
        outcomes,
        nested: brief(await s.get(["foo", "langgraph", "foo"], "bar"))?.value,
        root: (await s.search(["langgraph", "foo"])).map((i) => i.value),
      };
    },
    expected: { outcomes: ["refused", "refused", "refused", "refused", "refused", "refused"], nested: { foo: "bar" }, root: [{ foo: "bar" }] },
  },
];

describe("SqliteStore and InMemoryStore agree", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, testCase) => {
    const memory = await testCase.run(new InMemoryStore());
    const sqlite = await testCase.run(openSqlite().store);
    expect(memory).toEqual(testCase.expected);
    expect(sqlite).toEqual(testCase.expected);
  });
});

describe("SqliteStore on a file", () => {
  it("keeps items, their order, timestamps and namespaces across closing and reopening the file", async () => {
    const first = openSqlite();
    for (let i = 0; i < 12; i += 1) await first.store.put(["customers", `c${i % 3}`, "facts"], `e${i}`, { i, customerId: `c${i % 3}` });
    await first.store.delete(["customers", "c0", "facts"], "e3");
    const before = await first.store.get(["customers", "c1", "facts"], "e4");
    first.db.close();

    const second = openSqlite();
    const after = await second.store.get(["customers", "c1", "facts"], "e4");
    expect(after).toEqual(before);
    expect(keys(await second.store.search(["customers"], { limit: 100 }))).toEqual(["e0", "e6", "e9", "e1", "e4", "e7", "e10", "e2", "e5", "e8", "e11"]);
    expect(keys(await second.store.search(["customers"], { filter: { customerId: "c2" }, limit: 2, offset: 1 }))).toEqual(["e5", "e8"]);
    expect(await second.store.listNamespaces({ suffix: ["facts"] })).toEqual([
      ["customers", "c0", "facts"],
      ["customers", "c1", "facts"],
      ["customers", "c2", "facts"],
    ]);
    await second.store.put(["customers", "c0", "facts"], "e3", { i: 3, customerId: "c0" });
    expect(keys(await second.store.search(["customers", "c0"]))).toEqual(["e0", "e6", "e9", "e3"]);
  });

  it("shares the connection and file with the checkpointer, in its own tables", async () => {
    const { db, store } = openSqlite();
    const saver = sqliteSaver(db);
    await store.put(["customers", "c1", "facts"], "e1", { text: "hello" });
    await expect(saver.getTuple({ configurable: { thread_id: "t" } })).resolves.toBeUndefined();
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining([KB_ITEMS_TABLE, "shopstate_kb_namespaces", "checkpoints"]));
    // A second store object on the same connection sees the same items (no private cache).
    expect((await new SqliteStore(db).get(["customers", "c1", "facts"], "e1"))?.value).toEqual({ text: "hello" });
  });

  it("lists only namespaces that hold items (InMemoryStore also lists emptied ones)", async () => {
    const { store } = openSqlite();
    await store.put(["gone"], "k", { v: 1 });
    await store.put(["kept"], "k", { v: 1 });
    await store.delete(["gone"], "k");
    expect(await store.listNamespaces()).toEqual([["kept"]]);
  });

  it("refuses a value that is not a JSON object, saying which item", async () => {
    const { store } = openSqlite();
    await expect(store.batch([{ namespace: ["x"], key: "k", value: [1, 2] as unknown as Record<string, unknown> }])).rejects.toThrow(
      /x\/k: the value must be a JSON object, got an array/,
    );
  });

  it("pages through thousands of items in one namespace with a filter", async () => {
    const { store } = openSqlite();
    await store.batch(
      Array.from({ length: 3000 }, (_, i) => ({
        namespace: ["customers", "c1", "facts"],
        key: `e${String(i).padStart(4, "0")}`,
        value: { customerId: i % 2 === 0 ? "c1" : "c2", i },
      })),
    );
    const seen: string[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await store.search(["customers", "c1", "facts"], { filter: { customerId: "c1" }, limit: 500, offset });
      if (page.length === 0) break;
      seen.push(...keys(page));
    }
    expect(seen).toHaveLength(1500);
    expect(new Set(seen).size).toBe(1500);
    expect(seen[0]).toBe("e0000");
    expect(seen.at(-1)).toBe("e2998");
  });
});

describe("random operation sequences", () => {
  const NAMESPACES = [["a"], ["a", "b"], ["a", "b", "c"], ["ab"], ["z", "y"]];
  const KEYS = ["k0", "k1", "k2", "k3"];
  const scalar = fc.constantFrom<unknown>(0, 1, 2, 3.5, -1, "1", "x", "y", "", true, false, null);
  const value = fc.dictionary(fc.constantFrom("n", "s", "t"), scalar, { maxKeys: 3 });
  const operand = fc.oneof(
    scalar,
    fc.record({ $eq: scalar }),
    fc.record({ $ne: scalar }),
    fc.record({ $gt: scalar }, { requiredKeys: [] }),
    fc.record({ $gte: scalar, $lt: scalar }, { requiredKeys: [] }),
    fc.record({ $lte: scalar }),
    fc.record({ $in: fc.array(scalar, { maxLength: 3 }) }),
    fc.record({ $nin: fc.array(scalar, { maxLength: 3 }) }),
  );
  const operation = fc.oneof(
    fc.record({ op: fc.constant("put" as const), ns: fc.constantFrom(...NAMESPACES), key: fc.constantFrom(...KEYS), value }),
    fc.record({ op: fc.constant("delete" as const), ns: fc.constantFrom(...NAMESPACES), key: fc.constantFrom(...KEYS) }),
    fc.record({ op: fc.constant("get" as const), ns: fc.constantFrom(...NAMESPACES), key: fc.constantFrom(...KEYS) }),
    fc.record({
      op: fc.constant("search" as const),
      prefix: fc.constantFrom([], ...NAMESPACES),
      filter: fc.option(fc.dictionary(fc.constantFrom("n", "s", "t"), operand, { maxKeys: 2 }), { nil: undefined }),
      limit: fc.integer({ min: 0, max: 6 }),
      offset: fc.integer({ min: 0, max: 6 }),
      query: fc.option(fc.constant("anything"), { nil: undefined }),
    }),
  );
  type Step = typeof operation extends fc.Arbitrary<infer T> ? T : never;

  /** Runs the steps and records what each read saw (copied at once: InMemoryStore hands out live items). */
  async function observe(store: BaseStore, steps: Step[]): Promise<unknown[]> {
    const seen: unknown[] = [];
    for (const step of steps) {
      if (step.op === "put") await store.put(step.ns, step.key, step.value);
      else if (step.op === "delete") await store.delete(step.ns, step.key);
      else if (step.op === "get") seen.push(structuredClone(brief(await store.get(step.ns, step.key))));
      else seen.push(structuredClone((await store.search(step.prefix, step)).map((i) => ({ ...brief(i), score: i.score }))));
    }
    return seen;
  }

  it("SqliteStore sees exactly what InMemoryStore sees", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 5, maxLength: 40, size: "max" }), async (steps) => {
        const db = openDatabase(":memory:");
        try {
          expect(await observe(new SqliteStore(db), steps)).toEqual(await observe(new InMemoryStore(), steps));
        } finally {
          db.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("SqliteStore's reads by namespace", () => {
  it("find the namespaces by their text, then their items by namespace id, never scanning every item", async () => {
    const { db, store } = openSqlite();
    for (let i = 0; i < 30; i += 1) await store.put(["customers", `c${i % 10}`, "facts"], `e${i}`, { customerId: `c${i % 10}`, i });
    const recorded = recordQueryPlans(db);
    await store.get(["customers", "c1", "facts"], "e1");
    await store.search(["customers", "c1"]);
    await store.search(["customers", "c1", "facts"], { filter: { customerId: "c1" }, limit: 2, offset: 1 });
    await store.search(["customers"], { filter: { i: { $gte: 20 } } });
    await store.listNamespaces({ prefix: ["customers", "*", "facts"] });
    const reads = recorded.plans();
    expect(reads.length).toBeGreaterThanOrEqual(4);
    for (const { plan, why } of reads) {
      // `SCAN p` reads the page of ids a subquery found, not a table.
      expect(
        plan.filter((d) => /^SCAN /.test(d) && d !== "SCAN p"),
        why,
      ).toEqual([]);
      expect(
        plan.some((d) => /^SEARCH n USING COVERING INDEX sqlite_autoindex_shopstate_kb_namespaces_1 \(prefix[=>]\?/.test(d)),
        why,
      ).toBe(true);
      expect(
        plan.some((d) => /^SEARCH i (EXISTS )?USING (COVERING )?INDEX sqlite_autoindex_shopstate_kb_items_1 \(namespace=\?/.test(d)),
        why,
      ).toBe(true);
    }
  });
});

/** The tables as the store created them before items referred to their namespace by id (namespace text and ISO timestamps in every item). */
const PREFIX_LAYOUT = `
  CREATE TABLE shopstate_kb_namespaces (id INTEGER PRIMARY KEY, prefix TEXT NOT NULL UNIQUE);
  CREATE TABLE shopstate_kb_items (
    id INTEGER PRIMARY KEY,
    prefix TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (prefix, key)
  );`;

/**
 * Namespaces in creation order (7: "gone" had its only item deleted) and items
 * by id: id 4 was deleted, e0 was put again after a delete (so it comes last in
 * its namespace), k0 was updated, and e9's value is JSON text as the first
 * layout stored it.
 */
const OLD_NAMESPACES = ["customers:c1:facts", "a", "a:b", "ab", "a:b:c", "gone", "customers:c2:facts"];
const OLD_ITEMS: { id: number; prefix: string; key: string; value: Record<string, unknown>; created: string; updated: string; text?: true }[] = [
  {
    id: 1,
    prefix: "customers:c1:facts",
    key: "e1",
    value: { customerId: "c1", text: "ordered a mug" },
    created: "2026-03-01T09:00:00.001Z",
    updated: "2026-03-01T09:00:00.001Z",
  },
  { id: 2, prefix: "a", key: "k1", value: { x: 1 }, created: "2026-03-01T09:00:01.010Z", updated: "2026-03-01T09:00:01.010Z" },
  {
    id: 3,
    prefix: "a:b",
    key: "k2",
    value: { x: 2, s: "y", nested: { deep: [1, null, true] } },
    created: "2026-03-01T09:00:02.999Z",
    updated: "2026-03-01T09:00:02.999Z",
  },
  {
    id: 5,
    prefix: "customers:c1:facts",
    key: "e2",
    value: { customerId: "c1", text: "asked for a refund" },
    created: "2026-03-01T10:00:00.000Z",
    updated: "2026-03-01T10:00:00.000Z",
  },
  { id: 6, prefix: "ab", key: "k4", value: { x: 4 }, created: "2026-03-02T00:00:00.123Z", updated: "2026-03-02T00:00:00.123Z" },
  { id: 7, prefix: "a:b:c", key: "k3", value: { x: 3 }, created: "2026-03-02T00:00:00.124Z", updated: "2026-03-02T00:00:00.124Z" },
  {
    id: 8,
    prefix: "customers:c1:facts",
    key: "e0",
    value: { customerId: "c1", text: "put again" },
    created: "2026-03-03T23:59:59.999Z",
    updated: "2026-03-03T23:59:59.999Z",
  },
  { id: 9, prefix: "a", key: "k0", value: { x: 0, n: 2.5 }, created: "1999-12-31T23:59:59.500Z", updated: "2026-03-04T12:34:56.789Z" },
  {
    id: 10,
    prefix: "customers:c2:facts",
    key: "e9",
    value: { customerId: "c2", text: "ünïcödé ✓" },
    created: "2026-03-05T01:02:03.004Z",
    updated: "2026-03-05T01:02:03.004Z",
    text: true,
  },
];

function writePrefixLayout(file: string, items = OLD_ITEMS, namespaces = OLD_NAMESPACES): void {
  const db = openDatabase(join(dir, file));
  db.exec(PREFIX_LAYOUT);
  const namespace = db.prepare("INSERT INTO shopstate_kb_namespaces (prefix) VALUES (?)");
  for (const prefix of namespaces) namespace.run(prefix);
  const jsonb = db.prepare("INSERT INTO shopstate_kb_items (id, prefix, key, value, created_at, updated_at) VALUES (?, ?, ?, jsonb(?), ?, ?)");
  const text = db.prepare("INSERT INTO shopstate_kb_items (id, prefix, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)");
  for (const item of items) (item.text ? text : jsonb).run(item.id, item.prefix, item.key, JSON.stringify(item.value), item.created, item.updated);
  db.close();
}

/** Everything a reader of the store can see, to compare a migrated file with what the old layout answered. */
async function everything(store: BaseStore) {
  const listed = async (options: Parameters<BaseStore["listNamespaces"]>[0]) => store.listNamespaces(options);
  return {
    all: keys(await store.search([], { limit: 100 })),
    a: keys(await store.search(["a"], { limit: 100 })),
    ab: keys(await store.search(["a", "b"])),
    customers: keys(await store.search(["customers"], { filter: { customerId: "c1" } })),
    c2: (await store.search(["customers"], { filter: { customerId: "c2" } })).map(brief),
    numeric: keys(await store.search(["a"], { filter: { x: { $gte: 1 } } })),
    paged: keys(await store.search([], { limit: 3, offset: 2 })),
    namespaces: await listed({}),
    underA: await listed({ prefix: ["a"] }),
    facts: await listed({ suffix: ["facts"] }),
    depth1: await listed({ maxDepth: 1 }),
  };
}

/** What the old layout's store answered for OLD_ITEMS (namespace creation order, then item id). */
const OLD_ANSWERS = {
  all: ["e1", "e2", "e0", "k1", "k0", "k2", "k4", "k3", "e9"],
  a: ["k1", "k0", "k2", "k3"],
  ab: ["k2", "k3"],
  customers: ["e1", "e2", "e0"],
  c2: [{ namespace: ["customers", "c2", "facts"], key: "e9", value: { customerId: "c2", text: "ünïcödé ✓" } }],
  numeric: ["k1", "k2", "k3"],
  paged: ["e0", "k1", "k0"],
  namespaces: [["a"], ["a", "b"], ["a", "b", "c"], ["ab"], ["customers", "c1", "facts"], ["customers", "c2", "facts"]],
  underA: [["a"], ["a", "b"], ["a", "b", "c"]],
  facts: [
    ["customers", "c1", "facts"],
    ["customers", "c2", "facts"],
  ],
  depth1: [["a"], ["ab"], ["customers"]],
};

const columnsOf = (db: Database.Database, table: string) =>
  (db.prepare("SELECT name FROM pragma_table_info(?)").all(table) as { name: string }[]).map((c) => c.name);

describe("SqliteStore on a file written with the older layout (namespace text in every item)", () => {
  it("migrates it on first open, keeping every item, its id, its dates and every answer", async () => {
    writePrefixLayout("old.db");
    const { db, store } = openSqlite("old.db");
    expect(columnsOf(db, KB_ITEMS_TABLE)).toEqual(["id", "namespace", "key", "value", "created_at", "updated_at"]);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'shopstate_kb%'").all() as { name: string }[]).map((t) => t.name);
    expect(tables.sort()).toEqual([KB_ITEMS_TABLE, "shopstate_kb_namespaces"]);
    // Ids (insertion order) kept, each item in its own namespace, namespaces untouched.
    expect(
      db.prepare(`SELECT i.id, n.prefix, i.key FROM ${KB_ITEMS_TABLE} i JOIN shopstate_kb_namespaces n ON n.id = i.namespace ORDER BY i.id`).all(),
    ).toEqual(OLD_ITEMS.map(({ id, prefix, key }) => ({ id, prefix, key })));
    expect((db.prepare("SELECT prefix FROM shopstate_kb_namespaces ORDER BY id").all() as { prefix: string }[]).map((r) => r.prefix)).toEqual(OLD_NAMESPACES);
    for (const item of OLD_ITEMS) {
      expect(await store.get(item.prefix.split(":"), item.key)).toEqual({
        namespace: item.prefix.split(":"),
        key: item.key,
        value: item.value,
        createdAt: new Date(item.created),
        updatedAt: new Date(item.updated),
      });
    }
    expect(await everything(store)).toEqual(OLD_ANSWERS);
  });

  it("is migrated once: opening it again, or from another connection, changes nothing", async () => {
    writePrefixLayout("old.db");
    const first = openSqlite("old.db");
    const dump = () => first.db.prepare(`SELECT * FROM ${KB_ITEMS_TABLE} ORDER BY id`).all();
    const migrated = dump();
    const again = new SqliteStore(first.db);
    const other = openSqlite("old.db");
    expect(dump()).toEqual(migrated);
    expect(await everything(again)).toEqual(OLD_ANSWERS);
    expect(await everything(other.store)).toEqual(OLD_ANSWERS);
    first.db.close();
    other.db.close();
    const reopened = openSqlite("old.db");
    expect(reopened.db.prepare(`SELECT * FROM ${KB_ITEMS_TABLE} ORDER BY id`).all()).toEqual(migrated);
    expect(await everything(reopened.store)).toEqual(OLD_ANSWERS);
  });

  it("keeps the search order rules after migrating: an update keeps its place, a delete and re-put goes last", async () => {
    writePrefixLayout("old.db");
    const { store } = openSqlite("old.db");
    await store.put(["a"], "k1", { x: 10 });
    await store.put(["a"], "new", { x: 5 });
    expect(keys(await store.search(["a"], { limit: 100 }))).toEqual(["k1", "k0", "new", "k2", "k3"]);
    await store.delete(["a"], "k1");
    await store.put(["a"], "k1", { x: 11 });
    expect(keys(await store.search(["a"], { limit: 100 }))).toEqual(["k0", "new", "k1", "k2", "k3"]);
    expect((await store.get(["a"], "k0"))?.createdAt).toEqual(new Date("1999-12-31T23:59:59.500Z"));
  });

  it("keeps an item whose namespace row is missing, adding the namespace after the others", async () => {
    writePrefixLayout("old.db", [...OLD_ITEMS, { ...OLD_ITEMS[0], id: 11, prefix: "orphan:x" }]);
    const { store } = openSqlite("old.db");
    expect(keys(await store.search([], { limit: 100 }))).toEqual([...OLD_ANSWERS.all, "e1"]);
    expect((await store.get(["orphan", "x"], "e1"))?.value).toEqual(OLD_ITEMS[0].value);
  });

  it("refuses to migrate an item whose timestamp is not a date, saying which, and leaves the file as it was", async () => {
    writePrefixLayout("old.db", [...OLD_ITEMS, { ...OLD_ITEMS[1], id: 11, key: "bad", updated: "yesterday" }]);
    const db = openDatabase(join(dir, "old.db"));
    opened.push(db);
    expect(() => new SqliteStore(db)).toThrow(/item 11 \(a \/ bad\) has a timestamp that is not a date .*"yesterday".*the file is unchanged/);
    expect(columnsOf(db, KB_ITEMS_TABLE)).toContain("prefix");
    expect(db.prepare(`SELECT COUNT(*) AS n FROM ${KB_ITEMS_TABLE}`).get()).toEqual({ n: OLD_ITEMS.length + 1 });
  });
});
