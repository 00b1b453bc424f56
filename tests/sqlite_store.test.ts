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
