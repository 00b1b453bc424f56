/**
 * A LangGraph `BaseStore` on SQLite. LangGraph.js ships no SQLite store, and
 * the knowledge base must persist in the same file as the checkpoints so a
 * CLI run and its memory travel together. It shares the caller's connection
 * (see persistence/sqlite.ts `openDatabase`) and keeps to its own tables.
 *
 * The reference for every behaviour is `InMemoryStore` (tests/sqlite_store.test.ts
 * runs one table of cases against both):
 * - reads in a batch see the store as it was before the batch; puts are applied
 *   after them, the last put of a key winning (items are fresh objects, never
 *   the live ones InMemoryStore hands out);
 * - search returns items in namespace creation order, then item insertion order
 *   (an update keeps an item's place, a delete and re-put moves it to the end);
 * - `filter` compares top-level value fields with `===` or the operators
 *   $eq/$ne/$gt/$gte/$lt/$lte/$in/$nin, with the same coercions;
 * - `query` is accepted and ignored (there is no vector index; `score` is
 *   undefined), as with an `InMemoryStore` that has no index. Ranking is done by
 *   the caller (memory/knowledge.ts) so every store retrieves alike.
 *
 * One deliberate difference: `listNamespaces` lists namespaces that hold items;
 * `InMemoryStore` also lists namespaces whose items were all deleted.
 *
 * Layout (docs/architecture.md, "Customer knowledge base"): `shopstate_kb_namespaces`
 * holds each namespace once, its labels joined by ':', its id giving creation
 * order; `shopstate_kb_items` refers to it by that integer id and keeps its
 * timestamps as integer milliseconds since the epoch. Repeating the namespace
 * text in every item (and again in the item's unique index) and storing ISO
 * timestamp strings took about 180 bytes per item, two fifths of the table and
 * its index at 10,000 input events (docs/upgrading.md). A namespace search
 * finds the namespaces in their (small) table by their text, then the items of
 * each by namespace id. Files written with the older layout are migrated on
 * first open (`migrateFromPrefixLayout`).
 */
import type Database from "better-sqlite3";
import {
  BaseStore,
  validateNamespace,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from "@langchain/langgraph-checkpoint";

/** Joins namespace labels; validateNamespace forbids ':' inside a label, so the join is unambiguous. */
const SEPARATOR = ":";
/** The character after ':' in code-point order: `prefix:` <= x < `prefix;` selects exactly the children. */
const AFTER_SEPARATOR = ";";

export const KB_ITEMS_TABLE = "shopstate_kb_items";
export const KB_NAMESPACES_TABLE = "shopstate_kb_namespaces";

/**
 * The items table. `id` gives the insertion order that InMemoryStore's Maps
 * keep; `namespace` is the id of a `shopstate_kb_namespaces` row; UNIQUE
 * (namespace, key) is the item's identity and the index a namespace's items are
 * read by. Values are SQLite JSONB (read them with `json(value)`): filters then
 * read a field without parsing the whole value text, which made paging a long
 * filtered history three times faster. `created_at` / `updated_at` are
 * milliseconds since the epoch, the precision `Date` has.
 */
const ITEMS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ${KB_ITEMS_TABLE} (
    id INTEGER PRIMARY KEY,
    namespace INTEGER NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (namespace, key)
  );`;

/** Where the items of an old-layout file wait while they are copied into the new table (inside the migration's transaction only). */
const PREFIX_LAYOUT_TABLE = `${KB_ITEMS_TABLE}_by_prefix`;

/**
 * Creates the store's tables if missing, first migrating a file written with
 * the older layout (see `migrateFromPrefixLayout`). The namespaces table's
 * `id` gives namespace creation order, as InMemoryStore's Map keeps it.
 */
export function ensureKnowledgeTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${KB_NAMESPACES_TABLE} (
      id INTEGER PRIMARY KEY,
      prefix TEXT NOT NULL UNIQUE
    );`);
  if (hasPrefixLayout(db)) migrateFromPrefixLayout(db);
  db.exec(ITEMS_SCHEMA);
}

/** Whether the items table is the older layout: each item's namespace as text (`prefix`), its timestamps as ISO strings. */
function hasPrefixLayout(db: Database.Database): boolean {
  const columns = db.prepare("SELECT name FROM pragma_table_info(?)").all(KB_ITEMS_TABLE) as { name: string }[];
  return columns.some((c) => c.name === "prefix");
}

/** SQL turning an ISO timestamp column into integer milliseconds since the epoch (NULL if it is not a date). */
const millisecondsOf = (column: string) => `CAST(ROUND(unixepoch(${column}, 'subsec') * 1000) AS INTEGER)`;

/**
 * Moves the items of a file written with the older layout into the new table,
 * once. IMMEDIATE, so two processes opening the file together cannot both do
 * it: the second waits for the first, then finds the new layout and does
 * nothing. Item ids (insertion order, so search order) are kept; a namespace
 * missing from the namespaces table is added in its items' order rather than
 * its items dropped. A timestamp that is not a date stops the migration (and
 * leaves the file as it was) instead of losing the item.
 */
function migrateFromPrefixLayout(db: Database.Database): void {
  db.transaction(() => {
    if (!hasPrefixLayout(db)) return;
    db.exec(`ALTER TABLE ${KB_ITEMS_TABLE} RENAME TO ${PREFIX_LAYOUT_TABLE};`);
    const undated = db
      .prepare(
        `SELECT id, prefix, key, created_at, updated_at FROM ${PREFIX_LAYOUT_TABLE}
         WHERE ${millisecondsOf("created_at")} IS NULL OR ${millisecondsOf("updated_at")} IS NULL LIMIT 1`,
      )
      .get() as { id: number; prefix: string; key: string; created_at: unknown; updated_at: unknown } | undefined;
    if (undated) {
      throw new Error(
        `SqliteStore: cannot migrate ${KB_ITEMS_TABLE} to namespace ids: item ${undated.id} (${undated.prefix} / ${undated.key}) has a timestamp that is not a date ` +
          `(created_at ${JSON.stringify(undated.created_at)}, updated_at ${JSON.stringify(undated.updated_at)}); the file is unchanged`,
      );
    }
    db.exec(`
      INSERT OR IGNORE INTO ${KB_NAMESPACES_TABLE} (prefix) SELECT prefix FROM ${PREFIX_LAYOUT_TABLE} GROUP BY prefix ORDER BY MIN(id);
      ${ITEMS_SCHEMA}
      INSERT INTO ${KB_ITEMS_TABLE} (id, namespace, key, value, created_at, updated_at)
        SELECT o.id, n.id, o.key, o.value, ${millisecondsOf("o.created_at")}, ${millisecondsOf("o.updated_at")}
        FROM ${PREFIX_LAYOUT_TABLE} o JOIN ${KB_NAMESPACES_TABLE} n ON n.prefix = o.prefix ORDER BY o.id;
      DROP TABLE ${PREFIX_LAYOUT_TABLE};`);
  }).immediate();
}

interface ItemRow {
  prefix: string;
  key: string;
  value: string;
  created_at: number;
  updated_at: number;
}

/**
 * Items with their namespace's text, namespaces first: CROSS JOIN keeps that
 * order, so a namespace search finds the namespaces by the index on their text
 * and then each one's items by namespace id, never scanning every item.
 */
const ITEMS_BY_NAMESPACE = `${KB_NAMESPACES_TABLE} n CROSS JOIN ${KB_ITEMS_TABLE} i ON i.namespace = n.id`;
const ITEM_COLUMNS = "n.prefix, i.key, json(i.value) AS value, i.created_at, i.updated_at";

/** `n.prefix` is the namespace `labels` or one under it, by whole labels (`a` holds `a:b`, not `ab`). */
function namespaceWithin(labels: string[], params: unknown[]): string {
  const prefix = labels.join(SEPARATOR);
  params.push(prefix, prefix + SEPARATOR, prefix + AFTER_SEPARATOR);
  return "(n.prefix = ? OR (n.prefix >= ? AND n.prefix < ?))";
}

type FilterOperator = "$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte" | "$in" | "$nin";
const OPERATORS: readonly string[] = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"];
/** Operators whose InMemoryStore semantics (`Number()` coercion) SQL cannot mirror exactly; they run in JS. */
const NUMERIC_OPERATORS: readonly string[] = ["$gt", "$gte", "$lt", "$lte"];
/** Field names that can be written into a JSON path without quoting. */
const PLAIN_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class SqliteStore extends BaseStore {
  constructor(private readonly db: Database.Database) {
    super();
    ensureKnowledgeTables(db);
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const results: unknown[] = [];
    // Last put of a key wins, in the order keys first appeared (as InMemoryStore).
    const puts = new Map<string, PutOperation>();
    for (const op of operations) {
      if ("namespace" in op) validateNamespace(op.namespace, { allowReservedRoot: true });
      if ("namespacePrefix" in op) {
        results.push(this.searchItems(op));
      } else if ("value" in op) {
        puts.set(JSON.stringify([...op.namespace, op.key]), op);
        results.push(null); // as InMemoryStore (the type says void)
      } else if ("key" in op) {
        results.push(this.getItem(op));
      } else if ("matchConditions" in op || "limit" in op) {
        results.push(this.matchingNamespaces(op));
      } else {
        throw new Error(`SqliteStore.batch: unknown operation ${JSON.stringify(op)}`);
      }
    }
    if (puts.size > 0) this.applyPuts([...puts.values()]);
    return results as OperationResults<Op>;
  }

  private getItem(op: GetOperation): Item | null {
    const row = this.db
      .prepare(`SELECT ${ITEM_COLUMNS} FROM ${ITEMS_BY_NAMESPACE} WHERE n.prefix = ? AND i.key = ?`)
      .get(op.namespace.join(SEPARATOR), op.key) as ItemRow | undefined;
    return row ? itemOf(row) : null;
  }

  private searchItems(op: SearchOperation): SearchItem[] {
    if (op.namespacePrefix.length > 0) validateNamespace(op.namespacePrefix, { allowReservedRoot: true });
    const offset = op.offset ?? 0;
    const limit = op.limit ?? 10;
    const where: string[] = [];
    const params: unknown[] = [];
    if (op.namespacePrefix.length > 0) where.push(namespaceWithin(op.namespacePrefix, params));
    const filter = op.filter ?? {};
    const inSql = canFilterInSql(filter);
    if (inSql) {
      for (const [field, expected] of Object.entries(filter)) where.push(fieldClause(field, expected, params));
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    if (inSql) {
      // Page over ids first, then read the values of that page only: sorting and
      // skipping whole JSON values made paging through a long history quadratic.
      const page = `SELECT i.id FROM ${ITEMS_BY_NAMESPACE} ${whereSql} ORDER BY n.id, i.id LIMIT ? OFFSET ?`;
      const rows = this.db
        .prepare(
          `SELECT ${ITEM_COLUMNS} FROM (${page}) p CROSS JOIN ${KB_ITEMS_TABLE} i ON i.id = p.id CROSS JOIN ${KB_NAMESPACES_TABLE} n ON n.id = i.namespace
           ORDER BY i.namespace, i.id`,
        )
        .all(...params, limit, offset) as ItemRow[];
      return rows.map((row) => ({ ...itemOf(row), score: undefined }));
    }
    const rows = this.db.prepare(`SELECT ${ITEM_COLUMNS} FROM ${ITEMS_BY_NAMESPACE} ${whereSql} ORDER BY n.id, i.id`).all(...params) as ItemRow[];
    const matching = rows.map(itemOf).filter((item) => matchesFilter(item.value, filter));
    return matching.slice(offset, offset + limit).map((item) => ({ ...item, score: undefined }));
  }

  private matchingNamespaces(op: ListNamespacesOperation): string[][] {
    const conditions = op.matchConditions ?? [];
    // Only namespaces that hold items (one look-up each in the items' unique index).
    const where = [`EXISTS (SELECT 1 FROM ${KB_ITEMS_TABLE} i WHERE i.namespace = n.id)`];
    const params: unknown[] = [];
    // Narrow the namespaces read by the literal head of a prefix condition; wildcards and suffixes are matched below.
    const prefixPath = conditions.find((c) => c.matchType === "prefix")?.path ?? [];
    const wildcard = prefixPath.indexOf("*");
    const head = wildcard === -1 ? prefixPath : prefixPath.slice(0, wildcard);
    if (head.length > 0) where.push(namespaceWithin(head, params));
    const rows = this.db.prepare(`SELECT n.prefix FROM ${KB_NAMESPACES_TABLE} n WHERE ${where.join(" AND ")}`).all(...params) as { prefix: string }[];
    let namespaces = rows.map((r) => r.prefix.split(SEPARATOR)).filter((ns) => conditions.every((c) => matchesCondition(c, ns)));
    if (op.maxDepth !== undefined) {
      const depth = op.maxDepth;
      namespaces = [...new Set(namespaces.map((ns) => ns.slice(0, depth).join(SEPARATOR)))].map((ns) => ns.split(SEPARATOR));
    }
    // The same comparison as InMemoryStore, so both stores page through namespaces alike.
    namespaces.sort((a, b) => a.join(SEPARATOR).localeCompare(b.join(SEPARATOR)));
    const offset = op.offset ?? 0;
    return namespaces.slice(offset, offset + (op.limit ?? namespaces.length));
  }

  private applyPuts(puts: PutOperation[]): void {
    const registerNamespace = this.db.prepare(`INSERT OR IGNORE INTO ${KB_NAMESPACES_TABLE} (prefix) VALUES (?)`);
    const namespaceId = `(SELECT id FROM ${KB_NAMESPACES_TABLE} WHERE prefix = @prefix)`;
    const remove = this.db.prepare(`DELETE FROM ${KB_ITEMS_TABLE} WHERE namespace = ${namespaceId} AND key = @key`);
    // An upsert keeps the row (and so its id, its place in search order) and its created_at.
    const upsert = this.db.prepare(`INSERT INTO ${KB_ITEMS_TABLE} (namespace, key, value, created_at, updated_at)
      VALUES (${namespaceId}, @key, jsonb(@value), @now, @now)
      ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
    this.db.transaction(() => {
      for (const op of puts) {
        const prefix = op.namespace.join(SEPARATOR);
        // InMemoryStore creates a namespace on any put, a delete included; its order follows from that.
        registerNamespace.run(prefix);
        if (op.value === null) remove.run({ prefix, key: op.key });
        else upsert.run({ prefix, key: op.key, value: serializeValue(op), now: Date.now() });
      }
    })();
  }
}

function itemOf(row: ItemRow): Item {
  return {
    value: JSON.parse(row.value) as Record<string, unknown>,
    key: row.key,
    namespace: row.prefix.split(SEPARATOR),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function serializeValue(op: PutOperation): string {
  const text = JSON.stringify(op.value);
  if (typeof text !== "string" || typeof op.value !== "object" || Array.isArray(op.value)) {
    throw new TypeError(
      `SqliteStore.put ${op.namespace.join("/")}/${op.key}: the value must be a JSON object, got ${Array.isArray(op.value) ? "an array" : typeof op.value}`,
    );
  }
  return text;
}

function matchesCondition(condition: MatchCondition, namespace: string[]): boolean {
  const { matchType, path } = condition;
  if (path.length > namespace.length) return false;
  const start = matchType === "prefix" ? 0 : namespace.length - path.length;
  return path.every((label, i) => label === "*" || namespace[start + i] === label);
}

/** InMemoryStore treats an object whose keys are all operators (an empty one included) as operators. */
function isOperators(value: unknown): value is Partial<Record<FilterOperator, unknown>> {
  return typeof value === "object" && value !== null && Object.keys(value).every((k) => OPERATORS.includes(k));
}

/** SQL mirrors equality exactly; numeric comparisons coerce like JS `Number()` and run in JS instead. */
function canFilterInSql(filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(
    ([field, expected]) => PLAIN_FIELD.test(field) && !(isOperators(expected) && Object.keys(expected).some((k) => NUMERIC_OPERATORS.includes(k))),
  );
}

/** The filter semantics of InMemoryStore (`compareValues` in @langchain/langgraph-checkpoint). */
export function matchesFilter(value: Record<string, unknown>, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([field, expected]) => matchesField(value[field], expected));
}

function matchesField(actual: unknown, expected: unknown): boolean {
  if (!isOperators(expected)) return actual === expected;
  return Object.entries(expected).every(([op, operand]) => {
    switch (op as FilterOperator) {
      case "$eq":
        return actual === operand;
      case "$ne":
        return actual !== operand;
      case "$gt":
        return Number(actual) > Number(operand);
      case "$gte":
        return Number(actual) >= Number(operand);
      case "$lt":
        return Number(actual) < Number(operand);
      case "$lte":
        return Number(actual) <= Number(operand);
      case "$in":
        return Array.isArray(operand) ? operand.includes(actual) : false;
      case "$nin":
        return Array.isArray(operand) ? !operand.includes(actual) : true;
    }
  });
}

/** A 0/1 SQL expression for one filter field (equality operators only; see canFilterInSql). */
function fieldClause(field: string, expected: unknown, params: unknown[]): string {
  const path = `$.${field}`;
  if (!isOperators(expected)) return equalsClause(path, expected, params);
  const parts = Object.entries(expected).map(([op, operand]) => {
    switch (op as FilterOperator) {
      case "$eq":
        return equalsClause(path, operand, params);
      case "$ne":
        return `NOT ${equalsClause(path, operand, params)}`;
      case "$in":
        return Array.isArray(operand) ? anyEqualsClause(path, operand, params) : "0";
      case "$nin":
        return Array.isArray(operand) ? `NOT ${anyEqualsClause(path, operand, params)}` : "1";
      default:
        throw new Error(`SqliteStore: operator ${op} is evaluated in JS, not SQL`);
    }
  });
  return parts.length > 0 ? `(${parts.join(" AND ")})` : "1";
}

function anyEqualsClause(path: string, operands: unknown[], params: unknown[]): string {
  return operands.length > 0 ? `(${operands.map((o) => equalsClause(path, o, params)).join(" OR ")})` : "0";
}

/**
 * `value[field] === expected` in SQL, type included (a JSON `true` is not the
 * number 1, the string "1" is not the number 1). Always 0 or 1, never NULL, so
 * NOT works for missing fields as `!==` does.
 */
function equalsClause(path: string, expected: unknown, params: unknown[]): string {
  const type = `json_type(i.value, '${path}')`;
  const extracted = `json_extract(i.value, '${path}')`;
  if (expected === undefined) return `(${type} IS NULL)`;
  if (expected === null) return `COALESCE(${type} = 'null', 0)`;
  if (expected === true) return `COALESCE(${type} = 'true', 0)`;
  if (expected === false) return `COALESCE(${type} = 'false', 0)`;
  if (typeof expected === "string") {
    params.push(expected);
    return `COALESCE(${type} = 'text' AND ${extracted} = ?, 0)`;
  }
  if (typeof expected === "number" && Number.isFinite(expected)) {
    params.push(expected);
    return `COALESCE(${type} IN ('integer', 'real') AND ${extracted} = ?, 0)`;
  }
  // Objects, arrays, NaN and the like are never `===` to a value read from JSON.
  return "0";
}
