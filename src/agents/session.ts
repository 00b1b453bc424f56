/**
 * One agent task's working memory while its tool loop runs: the delivery it
 * reads, the proposals its tools have drafted, every tool call it made and
 * the scope conflicts it ran into. Tools write here; nothing reaches the
 * shared state until the task completes, so a failed task leaves no trace
 * but its failure.
 */
import type { Conflict } from "../domain/decide.js";
import type { BasedOn } from "../domain/proposals.js";
import type { Delivery } from "../memory/context.js";
import type { RecalledFact } from "../memory/facts.js";
import { ordersIn, type CustomerOrders } from "./support/orders.js";

/** A proposal as an agent drafts it; the runtime gives it an id and provenance. */
export interface ProposalDraft {
  type: string;
  data: unknown;
  basedOn?: BasedOn[];
}

export interface ToolCallRecord {
  name: string;
  args: unknown;
  /** Set when the call did nothing: the reason the tool (or the runtime) gave. */
  error?: string;
}

/** Searches the customer's history; the knowledge store's `recall` can stand behind it. */
export type SearchHistory = (delivery: Delivery, query: string, k: number) => RecalledFact[] | Promise<RecalledFact[]>;

export interface AgentSession {
  delivery: Delivery;
  drafts: ProposalDraft[];
  toolCalls: ToolCallRecord[];
  conflicts: Conflict[];
  searchHistory: SearchHistory;
  /** The customer's orders beyond the delivery's newest few (default: only those). */
  customerOrders: CustomerOrders;
}

export function newSession(
  delivery: Delivery,
  searchHistory: SearchHistory,
  customerOrders: CustomerOrders = ordersIn(delivery.context.orders, delivery.context.products),
): AgentSession {
  return { delivery, drafts: [], toolCalls: [], conflicts: [], searchHistory, customerOrders };
}

/** Records a draft. `replace`: a later draft of the same type supersedes the earlier one (a reply is rewritten, not sent twice). */
export function recordDraft(session: AgentSession, draft: ProposalDraft, options: { replace?: boolean } = {}): void {
  if (options.replace) session.drafts = session.drafts.filter((d) => d.type !== draft.type);
  session.drafts.push(draft);
}

/** A tool's answer to the model when it did nothing: it starts with "error:" so any model can tell. */
export class ToolRefusal extends Error {
  override name = "ToolRefusal";
}
