/**
 * The stock chart's data: per SKU, stock over time from its `InventoryUpdated`
 * events, downsampled on the server, with the low-stock alerts and reorders of
 * that SKU as marks.
 *
 * The three event types are read by type (an index), not per SKU stream, and
 * kept as small rows per store: a later chart reads only the events after the
 * point where its log parts from one charted before (an event at a position
 * never changes), so charting the head again after new input reads the new
 * events only.
 */
import type { EventStore, LogPointer, LoggedEvent } from "../persistence/event_store.js";
import { readLog, type StoreLog } from "../persistence/store_log.js";

/** The most points a SKU's series has after downsampling. */
export const MAX_POINTS = 200;

export interface SkuSeries {
  sku: string;
  /** Seconds since the epoch (what uPlot takes). */
  t: number[];
  available: number[];
  onHand: number[];
  alerts: { t: number; available: number }[];
  reorders: { t: number; qty: number }[];
}

interface Point {
  t: number;
  available: number;
  onHand: number;
}

/**
 * At most `max` points, keeping the shape: the series is cut into max/2
 * buckets and each keeps its lowest and highest point (in time order), so a
 * dip to zero is never smoothed away. The first and last points are kept.
 */
export function downsample<T extends Point>(points: readonly T[], max = MAX_POINTS): T[] {
  if (points.length <= max) return [...points];
  const buckets = Math.floor((max - 2) / 2);
  const inner = points.slice(1, -1);
  const out: T[] = [points[0]];
  for (let b = 0; b < buckets; b++) {
    const slice = inner.slice(Math.floor((b * inner.length) / buckets), Math.floor(((b + 1) * inner.length) / buckets));
    if (slice.length === 0) continue;
    let lo = slice[0];
    let hi = slice[0];
    for (const p of slice) {
      if (p.available < lo.available) lo = p;
      if (p.available > hi.available) hi = p;
    }
    if (lo === hi) out.push(lo);
    else out.push(...(slice.indexOf(lo) < slice.indexOf(hi) ? [lo, hi] : [hi, lo]));
  }
  out.push(points[points.length - 1]);
  return out;
}

/** The event types the chart shows; each names its SKU in `data.sku` (its SKU stream, domain/streams.ts). */
const CHART_TYPES = ["InventoryUpdated", "LowStockAlert", "ReorderRequested"] as const;

/** One chart event, as much of it as the chart needs. */
interface Mark {
  position: number;
  id: string;
  type: (typeof CHART_TYPES)[number];
  sku: string;
  t: number;
  /** available (InventoryUpdated, LowStockAlert) or qty (ReorderRequested). */
  value: number;
  onHand: number;
}

/** The chart events of the log at `at`, oldest first. */
interface Charted {
  at: LogPointer;
  marks: readonly Mark[];
}

/** How many charted logs are kept per store (the head, and a few checkpoints looked at with ?at=). */
const CHARTED_PER_STORE = 4;
/** Per event store, per thread: the logs charted last, newest use last. */
const charted = new WeakMap<EventStore, Map<string, Charted[]>>();

const seconds = (at: string) => Math.floor(Date.parse(at) / 1000);

function markOf({ position, event }: LoggedEvent): Mark {
  const data = event.data as { sku?: unknown; onHand?: number; available?: number; qty?: number };
  return {
    position,
    id: event.id,
    type: event.type as Mark["type"],
    sku: typeof data.sku === "string" ? data.sku : "",
    t: seconds(event.at),
    value: (event.type === "ReorderRequested" ? data.qty : data.available) ?? 0,
    onHand: data.onHand ?? 0,
  };
}

/** How many of `marks` lie before `position` (they are in position order). */
function countBefore(marks: readonly Mark[], position: number): number {
  let [lo, hi] = [0, marks.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (marks[mid].position < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The chart events of `log`: those of the charted log sharing the longest
 * prefix with it, up to where they part, then the events after that point.
 */
async function marksOf(log: StoreLog): Promise<readonly Mark[]> {
  let stores = charted.get(log.store);
  if (!stores) charted.set(log.store, (stores = new Map()));
  const known = stores.get(log.threadId) ?? [];
  let base: { marks: readonly Mark[]; common: number } = { marks: [], common: 0 };
  for (const c of known) {
    // A branch the store no longer has (it was deleted and made again under the same name) shares nothing.
    const common = await log.store.commonLength(log.threadId, c.at, log.at).catch(() => 0);
    if (common > base.common) base = { marks: c.marks, common };
  }
  let kept = base.marks.slice(0, countBefore(base.marks, base.common));
  let from = base.common;
  // Likewise the newest kept event must still be where it was, or nothing kept is trusted.
  const last = kept.at(-1);
  if (last) {
    const [found] = await readLog(log, { types: CHART_TYPES, to: last.position + 1, descending: true, limit: 1 });
    if (found?.position !== last.position || found.event.id !== last.id) [kept, from] = [[], 0];
  } else from = 0;
  const added = (await readLog(log, { types: CHART_TYPES, from })).map(markOf);
  const marks = added.length === 0 ? kept : kept.concat(added);
  stores.set(
    log.threadId,
    [...known.filter((c) => c.at.branch !== log.at.branch || c.at.length !== log.at.length), { at: log.at, marks }].slice(-CHARTED_PER_STORE),
  );
  return marks;
}

export async function chartData(log: StoreLog, skus: readonly string[]): Promise<SkuSeries[]> {
  const bySku = new Map<string, { points: Point[]; alerts: SkuSeries["alerts"]; reorders: SkuSeries["reorders"] }>(
    skus.map((sku) => [sku, { points: [], alerts: [], reorders: [] }]),
  );
  for (const mark of await marksOf(log)) {
    const of = bySku.get(mark.sku);
    if (!of) continue;
    if (mark.type === "InventoryUpdated") of.points.push({ t: mark.t, available: mark.value, onHand: mark.onHand });
    else if (mark.type === "LowStockAlert") of.alerts.push({ t: mark.t, available: mark.value });
    else of.reorders.push({ t: mark.t, qty: mark.value });
  }
  return skus.map((sku) => {
    const { points, alerts, reorders } = bySku.get(sku) as { points: Point[]; alerts: SkuSeries["alerts"]; reorders: SkuSeries["reorders"] };
    const kept = downsample(points);
    return {
      sku,
      t: kept.map((p) => p.t),
      available: kept.map((p) => p.available),
      onHand: kept.map((p) => p.onHand),
      alerts: alerts.slice(-MAX_POINTS),
      reorders: reorders.slice(-MAX_POINTS),
    };
  });
}
