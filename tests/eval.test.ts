/**
 * `shopstate eval` (docs/eval.md): the committed corpus, the scoring of one
 * case, and the command end to end on a small slice (the real store graph,
 * the offline model), including its exit code under --min-score and its
 * answer to a corpus that does not parse.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.js";
import { loadCorpus, type EvalCase } from "../src/eval/corpus.js";
import { CORPUS_DIR } from "../src/eval/index.js";
import { isCorrect, partScore, scoreCase, summarise, type CaseResult, type Observed } from "../src/eval/score.js";
import { cli, parseJson, tempDir } from "./support/cli.js";

const nothing = (): Observed => ({ refunds: [], replies: [], reorders: [], posts: [], pauses: [], resumes: [], refused: [], failedTasks: [], violations: [] });

const supportCase: EvalCase = {
  id: "t-1",
  split: "tuning",
  agent: "support",
  tags: [],
  world: "shop",
  setup: [],
  message: { customerId: "C-DANA", text: "1 mug and 1 tee from ORD-2001 arrived broken" },
  expect: {
    refunds: [
      { orderId: "ORD-2001", sku: "SKU-MUG", qty: 1, reason: ["damaged"] },
      { orderId: "ORD-2001", sku: "SKU-TEE", qty: 1 },
    ],
    approval: false,
    reply: { status: "delivered", includes: ["ORD-2001"] },
  },
};

describe("the corpus", () => {
  const corpus = loadCorpus(CORPUS_DIR);

  it("has at least 100 cases, mostly support, 20 adversarial, a held-out third, and every world it names", () => {
    const { cases } = corpus;
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(cases.filter((c) => c.agent === "support").length).toBeGreaterThan(cases.length / 2);
    for (const agent of ["inventory", "marketing"] as const) expect(cases.filter((c) => c.agent === agent).length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((c) => c.tags.includes("adversarial")).length).toBeGreaterThanOrEqual(20);
    const heldout = cases.filter((c) => c.split === "heldout").length / cases.length;
    expect(heldout).toBeGreaterThan(0.3);
    expect(heldout).toBeLessThan(0.4);
    for (const tag of ["negation", "several-items", "spelled-numbers", "typos", "no-order-id", "not-an-order-id", "cash-back", "spanish", "outside-window"]) {
      expect(
        cases.some((c) => c.tags.includes(tag) && c.split === "tuning"),
        `tuning has ${tag}`,
      ).toBe(true);
      expect(
        cases.some((c) => c.tags.includes(tag) && c.split === "heldout"),
        `held-out has ${tag}`,
      ).toBe(true);
    }
  });

  it("reports a case that does not parse with its file and line", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "corpus"));
    mkdirSync(join(dir, "worlds"));
    writeFileSync(join(dir, "worlds", "shop.jsonl"), "");
    writeFileSync(
      join(dir, "corpus", "tuning.jsonl"),
      `${JSON.stringify({ id: "ok-1", agent: "inventory", world: "shop", events: [{ type: "StockReceived", data: { sku: "SKU-MUG", qty: 1 } }], expect: { reorders: [] } })}\n{"id": "bad-1", "agent": "support", "world": "shop"}\n`,
    );
    writeFileSync(join(dir, "corpus", "heldout.jsonl"), "");
    expect(() => loadCorpus(dir)).toThrow(new RegExp(`tuning\\.jsonl:2: .*message`));
  });
});

describe("scoring one case", () => {
  const refunds = (...lines: [string, number, "damaged" | "other"][]): Observed["refunds"] =>
    lines.map(([sku, qty, reason]) => ({ orderId: "ORD-2001", sku, qty, reason, approval: false }));
  const reply = {
    customerId: "C-DANA",
    orderId: "ORD-2001",
    text: "Order ORD-2001 was delivered; I've asked for a refund of 1 x Ceramic Mug and 1 x Organic Cotton Tee.",
  };

  it("is correct when every refund, the approval and the reply match", () => {
    const checks = scoreCase(supportCase, { ...nothing(), refunds: refunds(["SKU-TEE", 1, "other"], ["SKU-MUG", 1, "damaged"]), replies: [reply] });
    expect(checks.filter((c) => !c.pass)).toEqual([]);
    expect(isCorrect(checks, [])).toBe(true);
  });

  it("names what differs: a missing line, a wrong reason, a second reply, a reply without the status", () => {
    const checks = scoreCase(supportCase, {
      ...nothing(),
      refunds: refunds(["SKU-MUG", 2, "other"]),
      replies: [{ ...reply, text: "Refund asked for ORD-2001." }, reply],
    });
    expect(checks.filter((c) => !c.pass).map((c) => c.name)).toEqual(["refunds", "reason SKU-MUG", "one reply"]);
    expect(checks.find((c) => c.name === "refunds")?.detail).toBe("expected [ORD-2001 SKU-MUG x1, ORD-2001 SKU-TEE x1], got [ORD-2001 SKU-MUG x2]");
    const silent = scoreCase(supportCase, {
      ...nothing(),
      refunds: refunds(["SKU-MUG", 1, "damaged"], ["SKU-TEE", 1, "damaged"]),
      replies: [{ ...reply, text: "Refund asked for ORD-2001." }],
    });
    expect(silent.filter((c) => !c.pass).map((c) => c.name)).toEqual(["reply states delivered"]);
  });

  it("a rule violation or a failed task makes a case wrong whatever its checks say", () => {
    const checks = scoreCase(supportCase, {
      ...nothing(),
      refunds: refunds(["SKU-MUG", 1, "damaged"], ["SKU-TEE", 1, "damaged"]),
      replies: [reply],
      failedTasks: ["support_agent on e-1: budget"],
    });
    expect(isCorrect(checks, [])).toBe(false);
    expect(isCorrect([{ name: "refunds", pass: true }], ["rule 3 order:ORD-2001: refunded more than paid"])).toBe(false);
  });

  it("inventory and marketing cases compare reorders, posts, pauses and resumes as sets", () => {
    const inventory: EvalCase = {
      id: "i",
      split: "heldout",
      agent: "inventory",
      tags: [],
      world: "shop",
      setup: [],
      events: [{ type: "StockReceived", data: {} }],
      expect: { reorders: [{ sku: "SKU-MUG", qty: 24 }] },
    };
    expect(scoreCase(inventory, { ...nothing(), reorders: [{ sku: "SKU-MUG", qty: 24 }] }).every((c) => c.pass)).toBe(true);
    expect(scoreCase(inventory, { ...nothing(), reorders: [{ sku: "SKU-MUG", qty: 8 }] })[0]).toMatchObject({
      pass: false,
      detail: "expected [SKU-MUG x24], got [SKU-MUG x8]",
    });
    const marketing: EvalCase = {
      id: "m",
      split: "heldout",
      agent: "marketing",
      tags: [],
      world: "shop",
      setup: [],
      events: [{ type: "StockReceived", data: {} }],
      expect: { posts: [], pauses: ["SKU-TEE", "SKU-MUG"], resumes: [] },
    };
    expect(scoreCase(marketing, { ...nothing(), pauses: ["SKU-MUG", "SKU-TEE"] }).every((c) => c.pass)).toBe(true);
    expect(
      scoreCase(marketing, { ...nothing(), pauses: ["SKU-MUG"], posts: ["SKU-MUG"] })
        .filter((c) => !c.pass)
        .map((c) => c.name),
    ).toEqual(["posts", "pauses"]);
  });

  it("scores each part apart: the share of correct cases, with the usage summed", () => {
    const result = (id: string, split: CaseResult["split"], correct: boolean): CaseResult => ({
      id,
      split,
      agent: "support",
      tags: [],
      correct,
      checks: [],
      violations: [],
      summary: "",
      toolCalls: 3,
      tokens: 100,
      latencyMs: 10,
    });
    const scores = summarise([result("a", "tuning", true), result("b", "tuning", false), result("c", "heldout", true)]);
    expect(scores.tuning).toMatchObject({ cases: 2, correct: 1, score: 0.5, toolCalls: 6, tokens: 200 });
    expect(scores.heldout).toMatchObject({ cases: 1, correct: 1, score: 1 });
    expect(scores.overall).toMatchObject({ cases: 3, correct: 2, score: 0.667, violations: 0 });
    expect(partScore([]).score).toBe(1);
  });
});

describe("shopstate eval, end to end on a small slice", () => {
  it("runs cases of each agent through the store and reports per case and per part", { timeout: 300_000 }, async () => {
    const run = await cli(["eval", "--json", "--limit", "2", "--agents", "support,inventory"], { timeoutMs: 240_000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = parseJson<{ model: string; cases: CaseResult[]; scores: ReturnType<typeof summarise>; passed: boolean }>(run.stdout, "eval --json");
    expect(report.model).toBe("offline");
    expect(report.cases.map((c) => c.id)).toEqual(["sup-plain-01", "sup-plain-02"]);
    for (const c of report.cases) {
      expect(c, c.summary).toMatchObject({ correct: true, violations: [] });
      // lookup_order, request_refund, draft_reply
      expect(c.toolCalls).toBe(3);
      expect(c.tokens).toBeGreaterThan(0);
    }
    expect(report.scores.overall).toMatchObject({ cases: 2, correct: 2, score: 1, violations: 0 });

    const inventory = await cli(["eval", "--agents", "inventory", "--limit", "1"], { timeoutMs: 240_000 });
    expect(inventory.code).toBe(0);
    expect(inventory.stdout).toMatch(/inv-01 .*reorder SKU-MUG x24/);
    expect(inventory.stdout).toMatch(/^overall\s+1\.000 {2}\(1\/1 correct, 0 rule violations/m);
  });

  it("exits 1 below --min-score", { timeout: 300_000 }, async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "corpus"));
    mkdirSync(join(dir, "worlds"));
    writeFileSync(
      join(dir, "worlds", "tiny.jsonl"),
      `${JSON.stringify({ id: "w-1", type: "ProductAdded", at: "2026-03-01T07:00:00Z", data: { sku: "SKU-MUG", name: "Ceramic Mug", priceCents: 1500, initialStock: 40, reorderPoint: 8, reorderQty: 24 } })}\n`,
    );
    // A wrong label: 25 of 40 mugs leave 15, above the reorder point, so the right answer is no reorder.
    const wrong = {
      id: "wrong-label",
      agent: "inventory",
      world: "tiny",
      events: [{ type: "OrderPlaced", data: { orderId: "ORD-1", customerId: "C-1", lines: [{ sku: "SKU-MUG", qty: 25 }] } }],
      expect: { reorders: [{ sku: "SKU-MUG", qty: 24 }] },
    };
    writeFileSync(join(dir, "corpus", "tuning.jsonl"), `${JSON.stringify(wrong)}\n`);
    writeFileSync(join(dir, "corpus", "heldout.jsonl"), "");
    const below = await cli(["eval", "--corpus", dir, "--min-score", "0.5"], { timeoutMs: 240_000 });
    expect(below.code).toBe(1);
    expect(below.stdout).toMatch(/wrong-label .*reorders: expected \[SKU-MUG x24\], got \[\]/s);
    expect(below.stdout).toMatch(/BELOW --min-score 0\.5/);
  });

  it("answers bad options and a corpus that does not parse with exit 2 and the reason", { timeout: 300_000 }, async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "corpus"));
    mkdirSync(join(dir, "worlds"));
    writeFileSync(join(dir, "corpus", "tuning.jsonl"), "");
    writeFileSync(join(dir, "corpus", "heldout.jsonl"), "{not json\n");
    // In this process the shell's settings would count: no OpenAI or LangSmith key here.
    vi.stubEnv("OPENAI_API_KEY", "");
    vi.stubEnv("LANGSMITH_API_KEY", "");
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      const codes = [
        await main(["eval", "--corpus", dir]),
        await main(["eval", "--min-score", "2"]),
        await main(["eval", "--agents", "support,billing"]),
        await main(["eval", "--model", "gpt-4o-mini", "--limit", "1"]),
      ];
      expect(codes).toEqual([2, 2, 2, 2]);
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(errors[0]).toMatch(/heldout\.jsonl:1: not JSON/);
    expect(errors[1]).toMatch(/--min-score must be a number from 0 to 1, got '2'/);
    expect(errors[2]).toMatch(/--agents must list some of support, inventory, marketing; got 'support,billing'/);
    expect(errors[3]).toMatch(/OPENAI_API_KEY is not set/);
  });
});
