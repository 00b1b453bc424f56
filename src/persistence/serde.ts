/**
 * LangGraph's JSON serializer with a fast path for loading.
 *
 * The stock `JsonPlusSerializer` revives every parsed value with an async
 * recursion that creates a promise per JSON node; profiling the store showed
 * that reviver (and the garbage it leaves) as the largest single cost of
 * loading a checkpoint. Most of what we store is plain JSON (events, entity
 * maps), where reviving changes nothing. So:
 *
 * - no `"lc":` key anywhere in the text: nothing to revive, `JSON.parse` alone;
 * - otherwise one `JSON.parse` with a synchronous reviver that turns
 *   `DeltaSnapshot` records (`lc: 2`, `type: "delta_snapshot"`) into snapshots
 *   and notes every other record (LangChain objects such as the messages
 *   channel's, Sets and Maps, `undefined`); each noted record is then revived
 *   alone, a LangChain object by LangChain's `load` (what the stock reviver
 *   calls for it), any other by the stock reviver, so a state with a hundred
 *   messages no longer sends its every other value through it;
 * - a record inside another record (a Set in a Map, a snapshot in a message):
 *   the stock reviver for the whole text, unchanged.
 *
 * The checks are on the serialized text, which `JSON.stringify` writes without
 * spaces, so a key `"lc"` always appears as `"lc":`; the same characters inside
 * a string value are escaped (`\"lc\":`) and cannot match. A false positive only
 * takes the slow path. Dumping is the stock one, so stored bytes are unchanged.
 */
import { load } from "@langchain/core/load";
import { DeltaSnapshot, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";

const LC_KEY = '"lc":';

type Json = Record<string, unknown>;

function isDeltaSnapshotRecord(value: Json): boolean {
  return value.lc === 2 && value.type === "delta_snapshot" && Object.prototype.hasOwnProperty.call(value, "value");
}

/** What the stock reviver passes to LangChain's `load` (a message, for instance). */
function isLangChainObject(value: Json): boolean {
  return value.lc === 1 && value.type === "constructor" && Array.isArray(value.id);
}

/** A record for the stock reviver: a LangChain object (`lc: 1`) or any other `lc: 2` record (constructor, undefined). */
function isStockRecord(value: Json): boolean {
  return value.lc === 1 || value.lc === 2;
}

export class FastJsonPlusSerializer extends JsonPlusSerializer {
  protected override async _loads(data: string): Promise<unknown> {
    if (!data.includes(LC_KEY)) return JSON.parse(data);
    const noted: { holder: Json; key: string; record: Json }[] = [];
    let nested = false;
    const parsed: unknown = JSON.parse(data, function (this: Json, key: string, value: unknown) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
      const record = value as Json;
      if (isDeltaSnapshotRecord(record)) {
        // Records deeper in the value are revived in place later; one that is the value itself would be lost.
        nested ||= noted.some((n) => n.holder === record);
        return new DeltaSnapshot(record.value);
      }
      if (isStockRecord(record)) noted.push({ holder: this, key, record });
      return value;
    });
    if (noted.length === 0) return parsed;
    const texts = noted.map((n) => JSON.stringify(n.record));
    // A record holding another one (or a snapshot made above) goes through the stock reviver whole, as before.
    if (nested || texts.some((t) => t.split(LC_KEY).length > 2 || t.includes('"lg_name":'))) return super._loads(data);
    let root = parsed;
    for (const [i, { holder, key, record }] of noted.entries()) {
      // A LangChain object is what the stock reviver hands to `load` once its (plain) fields are revived.
      const revived = isLangChainObject(record) ? await load(texts[i]) : await super._loads(texts[i]);
      if (key === "" && holder[key] === parsed) root = revived;
      else holder[key] = revived;
    }
    return root;
  }
}
