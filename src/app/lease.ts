/**
 * One writer per store (docs/architecture.md, "Crashes and concurrent
 * writers"): every command that writes runs inside `withLease`.
 */
import type { StoreSession } from "./session.js";

/**
 * Runs `work` holding the store's write lease. `work` gets the lease's `lost`
 * signal and passes it to the graph runs it makes, so they stop at their next
 * step if the lease is lost meanwhile; withLease then throws the LeaseLostError:
 * what was checkpointed stays, and the next command resumes from it.
 */
export async function withLease<T>(session: StoreSession, waitMs: number | undefined, work: (lost: AbortSignal) => Promise<T>): Promise<T> {
  const lease = await session.meta.acquireLease(session.name, session.threadId, waitMs ?? 0);
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    const value = await work(lease.lost);
    lease.lost.throwIfAborted();
    outcome = { ok: true, value };
  } catch (caught) {
    // An abort surfaces from LangGraph as its own error: report why instead.
    outcome = { ok: false, error: lease.lost.aborted ? lease.lost.reason : caught };
  }
  try {
    await lease.release();
  } catch (releaseError) {
    if (outcome.ok) throw releaseError;
    // The work's error is the one to report: a release that also fails is added to it, not put in its place.
    if (outcome.error instanceof Error)
      outcome.error.message += ` (releasing the write lease of store '${session.name}' also failed: ${(releaseError as Error).message ?? String(releaseError)})`;
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
