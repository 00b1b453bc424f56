/**
 * The entities of the store (docs/architecture.md) and a draft: a cheap, private overlay on
 * the world that a service folds events into without copying the whole world.
 */
import { DEFAULT_APPROVAL_THRESHOLD_CENTS } from "./rules.js";
import type { OrderStatus, RefundReason } from "./events.js";

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  reorderPoint: number;
  reorderQty: number;
}

export interface StockLevel {
  /** Units in the warehouse, reserved ones included. */
  onHand: number;
  /** Units of confirmed, unshipped orders. */
  reserved: number;
  /** Units sent back by customers, awaiting inspection; not in `onHand`. */
  returned: number;
  /** Always `onHand - reserved`; stored so readers need no arithmetic. */
  available: number;
  version: number;
  /** True after a LowStockAlert until available rises above the reorder point (rule 5). */
  lowStock: boolean;
}

export interface OrderLine {
  sku: string;
  qty: number;
  unitPriceCents: number;
  refundedQty: number;
}

export interface Order {
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  status: OrderStatus;
  paidCents: number;
  refundedCents: number;
  version: number;
  placedAt: string;
  rejectionReason?: string;
}

export type ApprovalStatus = "pending" | "approved" | "denied";

export interface Approval {
  id: string;
  kind: "refund";
  orderId: string;
  customerId: string;
  sku: string;
  qty: number;
  amountCents: number;
  reason: RefundReason;
  status: ApprovalStatus;
  requestedAt: string;
  /** The ApprovalRequested event. */
  eventId: string;
  decidedBy?: string;
  decisionReason?: string;
}

export type PromotionStatus = "active" | "paused";

export interface Reorder {
  sku: string;
  qty: number;
  eventId: string;
  at: string;
}

export interface Post {
  postId: string;
  sku: string;
  text: string;
  at: string;
}

export interface Policy {
  approvalThresholdCents: number;
}

export const DEFAULT_POLICY: Policy = { approvalThresholdCents: DEFAULT_APPROVAL_THRESHOLD_CENTS };

/** Every keyed collection of the world, each owned by exactly one service. */
export interface Collections {
  catalog: Record<string, Product>;
  inventory: Record<string, StockLevel>;
  orders: Record<string, Order>;
  approvals: Record<string, Approval>;
  promotions: Record<string, PromotionStatus>;
  /** Open reorders by SKU (rule 7); a received delivery closes one. */
  reorders: Record<string, Reorder>;
  posts: Record<string, Post>;
}
export type CollectionName = keyof Collections;
export type EntityOf<C extends CollectionName> = Collections[C][string];

export interface World extends Collections {
  policy: Policy;
}

export function emptyWorld(policy: Policy = DEFAULT_POLICY): World {
  return { catalog: {}, inventory: {}, orders: {}, approvals: {}, promotions: {}, reorders: {}, posts: {}, policy };
}

export const COLLECTIONS: readonly CollectionName[] = ["catalog", "inventory", "orders", "approvals", "promotions", "reorders", "posts"];

/**
 * A world being decided on: reads see this draft's changes first, then the base.
 * `null` in `changes` means the entity was removed.
 */
export interface Draft {
  readonly base: World;
  readonly changes: { [C in CollectionName]: Map<string, EntityOf<C> | null> };
  policy: Policy;
}

export function draftOf(base: World): Draft {
  const changes = Object.fromEntries(COLLECTIONS.map((c) => [c, new Map()])) as Draft["changes"];
  return { base, changes, policy: base.policy };
}

export function read<C extends CollectionName>(draft: Draft, collection: C, key: string): EntityOf<C> | undefined {
  const changed = draft.changes[collection] as Map<string, EntityOf<C> | null>;
  if (changed.has(key)) return changed.get(key) ?? undefined;
  return Object.hasOwn(draft.base[collection], key) ? (draft.base[collection][key] as EntityOf<C>) : undefined;
}

export function write<C extends CollectionName>(draft: Draft, collection: C, key: string, value: EntityOf<C> | null): void {
  (draft.changes[collection] as Map<string, EntityOf<C> | null>).set(key, value);
}

/** The draft's changes as per-collection patches, ready to merge into state channels. */
export function patchesOf(draft: Draft): { [C in CollectionName]: Record<string, EntityOf<C> | null> } {
  return Object.fromEntries(COLLECTIONS.map((c) => [c, Object.fromEntries(draft.changes[c])])) as never;
}

/** A plain world with the draft's changes applied (used by replay and tests). */
export function commit(draft: Draft): World {
  const world = { ...draft.base, policy: draft.policy };
  for (const collection of COLLECTIONS) {
    const changes = draft.changes[collection];
    if (changes.size > 0) (world as Record<CollectionName, unknown>)[collection] = mergePatch<unknown>(draft.base[collection], Object.fromEntries(changes));
  }
  return world;
}

/** Merges a patch of whole entities into a keyed map; `null` removes a key. */
export function mergePatch<T>(current: Record<string, T> | undefined, patch: Record<string, T | null>): Record<string, T> {
  const next: Record<string, T> = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}
