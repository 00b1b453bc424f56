/**
 * A customer-facing fact as the knowledge store keeps it and the support
 * agent sees it: one per event (an order, a refund, a reply), in the
 * customer's namespace, tagged with the event it came from so a reader can
 * drop facts that are not in its branch's log.
 */
export type FactKind = "order" | "refund" | "reply" | "message";

export interface CustomerFact {
  /** The event the fact came from (also its key in the store). */
  eventId: string;
  customerId: string;
  kind: FactKind;
  /** One line a person (or a model) can read. */
  text: string;
  /** The event's time. */
  at: string;
  orderId?: string;
}

/** A fact returned by a search, with its similarity to the query (higher is closer). */
export interface RecalledFact extends CustomerFact {
  score: number;
}
