/**
 * A seeded store workload: products, then a stream of orders, shipments,
 * deliveries, cancellations, restocks and customer messages (some asking for
 * refunds). Same seed, same events.
 */
export interface GeneratorOptions {
  events: number;
  seed?: number;
  products?: number;
  customers?: number;
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  "Tee",
  "Mug",
  "Hoodie",
  "Cap",
  "Tote",
  "Lamp",
  "Jacket",
  "Socks",
  "Poster",
  "Scarf",
  "Notebook",
  "Bottle",
  "Candle",
  "Apron",
  "Blanket",
  "Pillow",
];

/** Input events as JSON lines. */
export function generateWorkload(options: GeneratorOptions): string[] {
  const random = mulberry32(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const productCount = options.products ?? 24;
  const customerCount = options.customers ?? 200;
  const lines: string[] = [];
  let clock = Date.UTC(2026, 0, 1, 8);
  let n = 0;
  const emit = (type: string, data: Record<string, unknown>) => {
    clock += 30_000 + Math.floor(random() * 90_000);
    lines.push(JSON.stringify({ id: `g-${++n}`, type, at: new Date(clock).toISOString(), source: "generator", data }));
  };

  const skus: string[] = [];
  for (let i = 0; i < productCount && lines.length < options.events; i++) {
    const sku = `SKU-${NAMES[i % NAMES.length].toUpperCase()}-${i}`;
    skus.push(sku);
    emit("ProductAdded", {
      sku,
      name: `${NAMES[i % NAMES.length]} ${i}`,
      priceCents: 500 + Math.floor(random() * 200) * 100,
      initialStock: 200 + Math.floor(random() * 300),
      reorderPoint: 20,
      reorderQty: 300,
    });
  }
  const placed: { orderId: string; customerId: string; sku: string; stage: "placed" | "shipped" | "delivered" | "cancelled" }[] = [];
  let orderSeq = 0;
  while (lines.length < options.events) {
    const roll = random();
    const open = placed.filter((o) => o.stage !== "cancelled" && o.stage !== "delivered");
    if (roll < 0.4 || open.length === 0) {
      const orderId = `ORD-${++orderSeq}`;
      const customerId = `C-${1 + Math.floor(random() * customerCount)}`;
      const sku = pick(skus);
      const lines2 = [{ sku, qty: 1 + Math.floor(random() * 3) }];
      if (random() < 0.3) {
        const other = pick(skus);
        if (other !== sku) lines2.push({ sku: other, qty: 1 });
      }
      placed.push({ orderId, customerId, sku, stage: "placed" });
      emit("OrderPlaced", { orderId, customerId, lines: lines2 });
    } else if (roll < 0.6) {
      const order = pick(open.filter((o) => o.stage === "placed").concat(open.slice(0, 1)));
      order.stage = order.stage === "placed" ? "shipped" : order.stage;
      emit("OrderShipped", { orderId: order.orderId });
    } else if (roll < 0.72) {
      const shipped = open.filter((o) => o.stage === "shipped");
      const order = shipped.length > 0 ? pick(shipped) : pick(open);
      if (order.stage === "shipped") order.stage = "delivered";
      emit("OrderDelivered", { orderId: order.orderId });
    } else if (roll < 0.75) {
      const order = pick(open);
      if (order.stage === "placed") order.stage = "cancelled";
      emit("OrderCancelled", { orderId: order.orderId, reason: "customer request" });
    } else if (roll < 0.82) {
      emit("StockReceived", { sku: pick(skus), qty: 50 + Math.floor(random() * 100) });
    } else {
      const order = pick(placed);
      const name = order.sku.split("-")[1].toLowerCase();
      const texts = [
        `My ${name} arrived broken, I want a refund for order ${order.orderId}.`,
        `Where is my order ${order.orderId}?`,
        `The ${name} never arrived. Refund please.`,
        `Hi, I got the wrong item in ${order.orderId}, can I return the ${name}?`,
        `Thanks, all good!`,
      ];
      emit("CustomerMessage", { customerId: order.customerId, text: pick(texts) });
    }
  }
  return lines;
}
