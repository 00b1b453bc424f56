/**
 * Approvals from the command line: each command is its own process, so every
 * decision here resumes a run that another process paused.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli, parseJson, tempDir } from "./support/cli.js";

interface Pending {
  id: string;
  orderId: string;
  sku: string;
  amountCents: number;
}

interface Decided {
  approvals: { id: string; status: string; decidedBy?: string; decisionReason?: string }[];
  resumed: boolean;
  rejected: unknown[];
}

describe("approve and deny on the demo day", () => {
  let dir: string;
  let db: string;
  beforeAll(async () => {
    dir = tempDir();
    db = join(dir, "shop.db");
    const demo = await cli(["demo", "--db", db]);
    expect(demo.code, demo.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("approvals lists the large refund; approving it processes the refund and verify passes", async () => {
    const listed = await cli(["approvals", "--db", db, "--json"]);
    const pending = parseJson<Pending[]>(listed.stdout, "approvals --json");
    expect(pending).toEqual([expect.objectContaining({ orderId: "ORD-1005", sku: "SKU-JACKET", amountCents: 12_900 })]);

    const approved = await cli(["approve", pending[0].id, "--by", "alice", "--reason", "photos checked", "--db", db, "--json"]);
    expect(approved.code, approved.stderr).toBe(0);
    const result = parseJson<Decided>(approved.stdout, "approve --json");
    expect(result.approvals).toEqual([expect.objectContaining({ id: pending[0].id, status: "approved", decidedBy: "alice" })]);

    const [state, verify, again, text] = await Promise.all([
      cli(["state", "--db", db, "--json"]),
      cli(["verify", "--db", db]),
      cli(["approve", pending[0].id, "--db", db]),
      cli(["approvals", "--db", db]),
    ]);
    const orders = parseJson<{ orders: Record<string, { refundedCents: number }>; pendingApprovals: unknown[] }>(state.stdout, "state --json");
    expect(orders.orders["ORD-1005"].refundedCents).toBe(12_900);
    expect(orders.pendingApprovals).toEqual([]);
    expect(verify.code, verify.stdout).toBe(0);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`cannot decide approval '${pending[0].id}': it was already approved by alice`);
    expect(text.stdout).toContain("Pending approvals: none");
  });
});

describe("two approvals at once", () => {
  let dir: string;
  let db: string;
  beforeAll(() => {
    dir = tempDir();
    db = join(dir, "shop.db");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("deny one and approve the other, each with its own command, then verify", async () => {
    const at = (m: number) => `2026-03-01T09:${String(m).padStart(2, "0")}:00Z`;
    const events = [
      { id: "p1", type: "ProductAdded", at: at(0), data: { sku: "JACKET", name: "Rain Jacket", priceCents: 15_000, initialStock: 5, reorderPoint: 1 } },
      { id: "o1", type: "OrderPlaced", at: at(1), data: { orderId: "O-1", customerId: "C-ANN", lines: [{ sku: "JACKET", qty: 1 }] } },
      { id: "o2", type: "OrderPlaced", at: at(2), data: { orderId: "O-2", customerId: "C-BEN", lines: [{ sku: "JACKET", qty: 1 }] } },
      { id: "m1", type: "CustomerMessage", at: at(3), data: { customerId: "C-ANN", orderId: "O-1", text: "The jacket arrived torn, refund please." } },
      { id: "m2", type: "CustomerMessage", at: at(4), data: { customerId: "C-BEN", orderId: "O-2", text: "My jacket is damaged. I want a refund." } },
    ];
    const file = join(dir, "day.jsonl");
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join("\n"));
    const ingest = await cli(["ingest", file, "--db", db]);
    expect(ingest.code, ingest.stderr).toBe(0);
    expect(ingest.stdout).toContain("2 refund(s) wait for a person's approval");

    const pending = parseJson<Pending[]>((await cli(["approvals", "--db", db, "--json"])).stdout, "approvals --json");
    expect(pending.map((p) => p.orderId)).toEqual(["O-1", "O-2"]);

    // The ingest ended paused at the gate: this process resumes that run, the next one sends plain input.
    const denied = await cli(["deny", pending[0].id, "--reason", "no photos", "--by", "bob", "--db", db, "--json"]);
    expect(denied.code, denied.stderr).toBe(0);
    expect(parseJson<Decided>(denied.stdout, "deny --json").resumed).toBe(true);
    const shown = await cli(["events", "--type", "ApprovalDecided", "--db", db]);
    expect(shown.stdout).toContain(pending[0].id);
    const approved = await cli(["approve", pending[1].id, "--by", "bob", "--db", db]);
    // Text output names the outcome.
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`${pending[1].id} (order O-2, 1 x JACKET): refund of $150.00 processed`);

    const state = parseJson<{ orders: Record<string, { refundedCents: number }>; inventory: Record<string, { reserved: number }> }>(
      (await cli(["state", "--db", db, "--json"])).stdout,
      "state",
    );
    expect(state.orders["O-1"].refundedCents).toBe(0);
    expect(state.orders["O-2"].refundedCents).toBe(15_000);
    expect((await cli(["verify", "--db", db])).code).toBe(0);
  });
});
