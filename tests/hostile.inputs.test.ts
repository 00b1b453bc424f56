/**
 * Hostile and malformed input (issue 7 part 3): the corpus in
 * tests/fixtures/hostile-inputs.json, each case with its expected outcome,
 * through the real ingest path twice: in-process (src/store.ts on a SQLite
 * file) and as a user runs it (`shopstate ingest FILE`, exit 2, one
 * `FILE:LINE: rejected: REASON` per bad line on stderr, the valid lines kept).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { worldAt } from "../src/app/verify.js";
import type { StoreEvent } from "../src/domain/events.js";
import { verify } from "../src/domain/verify.js";
import type { Order } from "../src/domain/world.js";
import { allOrders, wholeLog } from "../src/persistence/store_log.js";
import type { State } from "../src/state.js";
import { headValues, ingestLines, logOf, openStore, type IngestResult, type InputLine } from "../src/store.js";
import { cli, parseJson, tempDir } from "./support/cli.js";

type Expectation =
  | { reason: string }
  | { event: string; because?: string }
  | { conflict: string }
  | { accepted: true }
  | { duplicate: true }
  | { refunded: { orderId: string; cents: number } };

interface Case {
  category: string;
  name: string;
  line?: string;
  lines?: string[];
  expect: Expectation;
}

const CORPUS = JSON.parse(readFileSync(new URL("./fixtures/hostile-inputs.json", import.meta.url), "utf8")) as { prelude: string[]; cases: Case[] };

/** `{{repeat:N:S}}` in a line stands for S repeated N times (keeps huge payloads out of the fixture). */
function expand(text: string): string {
  return text.replace(/\{\{repeat:(\d+):(.+?)\}\}/gu, (_m, n: string, s: string) => s.repeat(Number(n)));
}

/** Each case's lines, numbered as they stand in the corpus file, the last one the line its expectation is about. */
const placed = (() => {
  let line = 0;
  return CORPUS.cases.map((c) => {
    const lines = (c.lines ?? [c.line as string]).map((text) => ({ line: ++line, text: expand(text) }));
    return { ...c, numbered: lines, last: lines[lines.length - 1] };
  });
})();
const corpusLines: InputLine[] = placed.flatMap((c) => c.numbered);
const preludeLines: InputLine[] = CORPUS.prelude.map((text, i) => ({ line: i + 1, text }));
const badCases = placed.filter((c) => "reason" in c.expect);

/** The event id of a line the corpus expects to be valid. */
function idOf(text: string): string {
  return (JSON.parse(text.replace(/^\uFEFF/, "")) as { id: string }).id;
}

const RUN = { approvalThresholdCents: 10_000, maxSteps: 500, batchSize: 1_000 };

/** What an ingest left: the state's conflicts, and the log and orders from the event store. */
interface Outcome {
  conflicts: State["conflicts"];
  events: StoreEvent[];
  orders: Record<string, Order>;
}

/** Checks every case against what an ingest reported and the state and log it left. */
function checkCases(rejectedAt: (line: number) => { reason: string } | undefined, outcome: Outcome, duplicates: number) {
  const outcomes: string[] = [];
  for (const c of placed) {
    const where = `${c.category} / ${c.name} (line ${c.last.line})`;
    for (const earlier of c.numbered.slice(0, -1)) expect.soft(rejectedAt(earlier.line), `${where}: setup line ${earlier.line}`).toBeUndefined();
    const rejection = rejectedAt(c.last.line);
    const e = c.expect;
    if ("reason" in e) {
      expect.soft(rejection, `${where}: should be rejected`).toBeDefined();
      expect.soft(rejection?.reason, where).toMatch(new RegExp((e as { reason: string }).reason, "u"));
      outcomes.push("rejected");
      continue;
    }
    expect.soft(rejection, `${where}: should not be rejected`).toBeUndefined();
    const id = idOf(c.last.text);
    if ("event" in e) {
      const answer = outcome.events.find((ev) => ev.type === e.event && ev.causationId === id) as (StoreEvent & { data: { reason?: string } }) | undefined;
      expect.soft(answer, `${where}: ${e.event}`).toBeDefined();
      if (e.because) expect.soft(answer?.data.reason, where).toMatch(new RegExp(e.because, "u"));
    } else if ("conflict" in e) {
      const conflict = outcome.conflicts.find((k) => k.eventId === id);
      expect.soft(conflict, `${where}: a recorded conflict`).toBeDefined();
      expect.soft(conflict?.reason, where).toMatch(new RegExp(e.conflict, "u"));
      expect
        .soft(
          outcome.events.filter((ev) => ev.causationId === id),
          `${where}: no effect`,
        )
        .toEqual([]);
    } else if ("accepted" in e) {
      expect
        .soft(
          outcome.events.some((ev) => ev.id === id),
          `${where}: appended`,
        )
        .toBe(true);
    } else if ("duplicate" in e) {
      expect
        .soft(
          outcome.events.filter((ev) => ev.id === id),
          `${where}: once in the log`,
        )
        .toHaveLength(1);
    } else {
      expect.soft(outcome.orders[e.refunded.orderId].refundedCents, where).toBe(e.refunded.cents);
    }
    outcomes.push(Object.keys(e)[0]);
  }
  expect.soft(duplicates).toBe(placed.filter((c) => "duplicate" in c.expect).length);
  return outcomes;
}

describe("rule 13: the hostile input corpus", () => {
  it("has at least 60 bad inputs, each with its expected outcome, in every category the issue names", () => {
    expect(badCases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(placed.map((c) => c.category)).size).toBeGreaterThanOrEqual(9);
    for (const c of placed) expect(Object.keys(c.expect).length, c.name).toBeGreaterThan(0);
  });

  describe("in-process, through src/store.ts on a SQLite file", () => {
    const dir = tempDir();
    let result: IngestResult;
    let values: State;
    let events: StoreEvent[];
    let orders: Record<string, Order>;

    beforeAll(async () => {
      const session = openStore(join(dir, "s.db"), "main");
      try {
        const prelude = await ingestLines(session, preludeLines, { ...RUN, source: "prelude.jsonl" });
        expect(prelude.rejected).toEqual([]);
        result = await ingestLines(session, corpusLines, { ...RUN, source: "hostile.jsonl" });
        values = (await headValues(session)).values;
        events = await wholeLog(logOf(session, values));
        orders = await allOrders(logOf(session, values));
      } finally {
        await session.close();
      }
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("every case ends as expected: rejected with its reason, or refused by a rule, or kept", () => {
      const byLine = new Map(result.rejected.map((r) => [r.line, r]));
      const outcomes = checkCases((line) => byLine.get(line), { conflicts: values.conflicts, events, orders }, result.duplicates);
      // Exactly the bad lines were rejected, and each once.
      expect(result.rejected.map((r) => r.line).sort((a, b) => a - b)).toEqual(badCases.map((c) => c.last.line));
      const counts = outcomes.reduce<Record<string, number>>((n, o) => ({ ...n, [o]: (n[o] ?? 0) + 1 }), {});
      console.info(`[figures] corpus: ${placed.length} cases, ${corpusLines.length} lines; outcomes as expected: ${JSON.stringify(counts)}`);
    });

    it("every rejection is explained, recorded once in the state, and escapes invisible characters", () => {
      for (const r of result.rejected) {
        expect(r.reason.length).toBeGreaterThan(10);
        expect(r.reason, `line ${r.line}`).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}]/u);
      }
      const recorded = values.rejected.filter((r) => r.source === "hostile.jsonl");
      expect(recorded.map((r) => r.line).sort((a, b) => a - b)).toEqual(badCases.map((c) => c.last.line));
    });

    it("the store still obeys every rule of docs/RULES.md and replays", () => {
      expect(verify(worldAt(values, events), events)).toEqual([]);
    });
  });

  describe("as a user runs it: shopstate ingest FILE", () => {
    const dir = tempDir();
    const db = join(dir, "cli.db");
    const corpusFile = join(dir, "hostile.jsonl");
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("exits 2, reports each bad line as FILE:LINE: rejected: REASON, keeps the valid lines", async () => {
      writeFileSync(join(dir, "prelude.jsonl"), `${CORPUS.prelude.join("\n")}\n`);
      writeFileSync(corpusFile, `${corpusLines.map((l) => l.text).join("\n")}\n`);
      const env = { SHOPSTATE_BATCH_SIZE: "1000" };
      const prelude = await cli(["ingest", join(dir, "prelude.jsonl"), "--db", db], { env });
      expect(prelude.code, prelude.stderr).toBe(0);

      const run = await cli(["ingest", corpusFile, "--db", db], { env });
      expect(run.code, run.stderr).toBe(2);
      const reported = new Map<number, { reason: string }>();
      for (const text of run.stderr.split("\n").filter((l) => l.includes(": rejected: "))) {
        const match = /^(.+):(\d+): rejected: (.*)$/u.exec(text);
        expect(match, text).not.toBeNull();
        expect(match?.[1]).toBe(corpusFile);
        reported.set(Number(match?.[2]), { reason: match?.[3] ?? "" });
      }
      expect([...reported.keys()].sort((a, b) => a - b)).toEqual(badCases.map((c) => c.last.line));

      const shown = parseJson<Pick<Outcome, "orders" | "conflicts"> & Pick<State, "rejected">>(
        (await cli(["state", "--json", "--db", db], { env })).stdout,
        "state --json",
      );
      const events = parseJson<StoreEvent[]>((await cli(["events", "--json", "--db", db], { env })).stdout, "events --json");
      checkCases((line) => reported.get(line), { ...shown, events }, 1);
      expect(shown.rejected.filter((r) => r.source === corpusFile)).toHaveLength(badCases.length);

      // Ingesting the same file again changes nothing: every valid line is now a duplicate, every bad one is rejected again.
      const again = await cli(["ingest", corpusFile, "--db", db, "--json"], { env });
      expect(again.code).toBe(2);
      const report = parseJson<{ duplicates: number; accepted: number; rejected: unknown[] }>(again.stdout, "ingest --json");
      expect(report).toMatchObject({ duplicates: corpusLines.length - badCases.length, accepted: 0 });
      expect(report.rejected).toHaveLength(badCases.length);
      const after = parseJson<unknown[]>((await cli(["events", "--json", "--db", db], { env })).stdout, "events --json");
      expect(after).toHaveLength(events.length);

      const verified = await cli(["verify", "--db", db], { env });
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    });
  });
});
