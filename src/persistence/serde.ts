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
 * - only `DeltaSnapshot` records (`lc: 2`, `type: "delta_snapshot"`): revived
 *   synchronously in one `JSON.parse` reviver;
 * - anything else (LangChain messages, Sets, Maps, `undefined` records): the
 *   stock reviver, unchanged.
 *
 * The checks are on the serialized text, which `JSON.stringify` writes without
 * spaces, so a key `"lc"` always appears as `"lc":`; the same characters inside
 * a string value are escaped (`\"lc\":`) and cannot match. A false positive only
 * takes the slow path. Dumping is the stock one, so stored bytes are unchanged.
 */
import { DeltaSnapshot, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";

const LC_KEY = '"lc":';
const NEEDS_STOCK_REVIVER = ['"lc":1', '"type":"constructor"', '"type":"undefined"'];

function reviveDeltaSnapshots(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const record = value as { lc?: unknown; type?: unknown; value?: unknown };
    if (record.lc === 2 && record.type === "delta_snapshot" && Object.prototype.hasOwnProperty.call(record, "value")) return new DeltaSnapshot(record.value);
  }
  return value;
}

export class FastJsonPlusSerializer extends JsonPlusSerializer {
  protected override async _loads(data: string): Promise<unknown> {
    if (!data.includes(LC_KEY)) return JSON.parse(data);
    if (NEEDS_STOCK_REVIVER.some((marker) => data.includes(marker))) return super._loads(data);
    return JSON.parse(data, reviveDeltaSnapshots);
  }
}
