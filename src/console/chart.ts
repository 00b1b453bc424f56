/**
 * The stock chart's data: per SKU, stock over time from its `InventoryUpdated`
 * events (read from the SKU's stream), downsampled on the server, with the
 * low-stock alerts and reorders of that SKU as marks.
 */
import { readLog, type StoreLog } from "../persistence/store_log.js";
import { streamKey } from "../domain/streams.js";

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

const seconds = (at: string) => Math.floor(Date.parse(at) / 1000);

export async function chartData(log: StoreLog, skus: readonly string[]): Promise<SkuSeries[]> {
  const series: SkuSeries[] = [];
  for (const sku of skus) {
    const events = await readLog(log, { stream: streamKey("sku", sku), types: ["InventoryUpdated", "LowStockAlert", "ReorderRequested"] });
    const points: Point[] = [];
    const alerts: SkuSeries["alerts"] = [];
    const reorders: SkuSeries["reorders"] = [];
    for (const { event } of events) {
      const data = event.data as { onHand?: number; available?: number; qty?: number };
      if (event.type === "InventoryUpdated") points.push({ t: seconds(event.at), available: data.available ?? 0, onHand: data.onHand ?? 0 });
      else if (event.type === "LowStockAlert") alerts.push({ t: seconds(event.at), available: data.available ?? 0 });
      else reorders.push({ t: seconds(event.at), qty: data.qty ?? 0 });
    }
    const kept = downsample(points);
    series.push({
      sku,
      t: kept.map((p) => p.t),
      available: kept.map((p) => p.available),
      onHand: kept.map((p) => p.onHand),
      alerts: alerts.slice(-MAX_POINTS),
      reorders: reorders.slice(-MAX_POINTS),
    });
  }
  return series;
}
