import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { CompiledStateGraph, MemorySaver } from "@langchain/langgraph";
import { Hono } from "hono";
import { z } from "zod";
import { loadConfig } from "../src/config.js";
import { compileStoreGraph } from "../src/graph.js";
import { StoreContextSchema } from "../src/nodes/ingest.js";
import { StoreInput, StoreState, type State } from "../src/state.js";
import { jsonSchemaOf } from "../src/state_json_schema.js";
import { testLog } from "./support/log.js";

const root = resolve(import.meta.dirname, "..");
const manifest = JSON.parse(readFileSync(resolve(root, "langgraph.json"), "utf8")) as {
  $schema: string;
  node_version: string;
  env: unknown;
  graphs: Record<string, string>;
  http?: { app?: string };
};

type Described = { properties: Record<string, { description?: string }> };

describe("langgraph.json", () => {
  it("registers the store team and each agent as its own graph, loads .env when there is one, on Node 20", () => {
    expect(Object.keys(manifest.graphs).sort()).toEqual(["inventory_agent", "marketing_agent", "store", "support_agent"]);
    expect(manifest.$schema).toBe("https://langgra.ph/schema.json");
    expect(manifest.node_version).toBe("20");
    // A path, not an object: langgraphjs dev 1.5.1 warns and goes on when the file is missing (a fresh clone).
    expect(manifest.env).toBe(".env");
  });

  it.each(Object.entries(manifest.graphs))("entry %s resolves to an exported compiled graph without a checkpointer", async (name, target) => {
    const [file, exportName] = target.split(":");
    const module = (await import(pathToFileURL(resolve(root, file)).href)) as Record<string, unknown>;
    const graph = module[exportName];
    expect(graph).toBeInstanceOf(CompiledStateGraph);
    expect((graph as CompiledStateGraph<never, never>).checkpointer).toBeFalsy();
    expect((graph as CompiledStateGraph<never, never>).name).toBe(name);
    // LangGraph's default of 25 steps is too few for a pasted batch or a full tool budget.
    expect((graph as CompiledStateGraph<never, never>).config?.recursionLimit).toBeGreaterThan(25);
  });
});

describe("langgraph.json http.app (the store console, docs/console.md)", () => {
  it("resolves to an exported Hono app whose routes all live under /console, never the server's own paths", async () => {
    const target = manifest.http?.app;
    expect(target).toBe("./src/console/server_app.ts:app");
    const [file, exportName] = (target as string).split(":");
    const module = (await import(pathToFileURL(resolve(root, file)).href)) as Record<string, unknown>;
    const app = module[exportName] as Hono;
    expect(app).toBeInstanceOf(Hono);
    const paths = app.routes.map((r) => r.path);
    expect(paths.length).toBeGreaterThan(10);
    for (const path of paths) expect(path === "/console" || path.startsWith("/console/"), path).toBe(true);
    // The server's own routes fall through to it: the app answers nothing there.
    for (const path of ["/threads", "/runs", "/assistants", "/store", "/ok", "/info", "/docs"]) expect((await app.request(path)).status, path).toBe(404);
  });
});

describe("the store graph's schemas, as Studio's forms show them", () => {
  it("takes only a batch of events (and optionally its origin) as input, each field described", () => {
    const input = StoreInput.getInputJsonSchema() as Described;
    expect(Object.keys(input.properties).sort()).toEqual(["inbox", "inboxOrigin"]);
    expect(input.properties.inbox.description).toMatch(/Input events to ingest/);
    expect(input.properties.inboxOrigin.description).toMatch(/where the inbox items come from/);
  });

  it("builds a channel's published JSON schema when it is first read, and it reads as if built at once", () => {
    const shape = z.object({ sku: z.string(), qty: z.number().int().describe("units") });
    // The conversion looks up each schema's metadata in zod's registry: a look-up means it ran.
    const lookups = vi.spyOn(z.globalRegistry, "get");
    try {
      const published = jsonSchemaOf("A line.", shape);
      expect(lookups).not.toHaveBeenCalled();
      const { $schema: _ignored, ...atOnce } = z.toJSONSchema(shape, { target: "draft-07", unrepresentable: "any" });
      const expected = { ...atOnce, description: "A line." };
      expect({ ...published }).toEqual(expected);
      expect(JSON.parse(JSON.stringify(published))).toEqual(expected);
      expect(Object.keys(published)).toEqual(Object.keys(expected));
      expect("properties" in published && published.description).toBe("A line.");
      // Built once: reading it again converts nothing.
      lookups.mockClear();
      expect({ ...published }).toEqual(expected);
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
  });

  it("publishes a state schema the server can clone, every channel described", () => {
    const state = structuredClone(StoreState.getJsonSchema()) as Described;
    expect(Object.keys(state.properties)).toEqual(expect.arrayContaining(["inventory", "approvals", "policy", "lastIngest", "tasks", "messages"]));
    for (const [channel, schema] of Object.entries(state.properties)) expect(schema.description, channel).toBeTruthy();
  });

  it("describes the run settings: the approval threshold and the model", () => {
    const context = z.toJSONSchema(StoreContextSchema) as Described;
    expect(Object.keys(context.properties).sort()).toEqual(["approvalThresholdCents", "model"]);
    expect(context.properties.approvalThresholdCents.description).toMatch(/wait for a person/);
    expect(context.properties.model.description).toMatch(/"offline".*OpenAI model name/);
  });

  it.skipIf(loadConfig().openai.apiKey !== undefined)(
    "a run that chooses an OpenAI model without a key fails at ingest, before anything changes; 'offline' runs",
    async () => {
      const log = testLog("model");
      const graph = compileStoreGraph({ checkpointer: new MemorySaver(), events: log.events });
      const config = { configurable: { thread_id: "model" }, recursionLimit: 100 };
      const inbox = [
        {
          id: "e1",
          type: "ProductAdded",
          at: "2026-03-01T09:00:00Z",
          data: { sku: "SKU-1", name: "Mug", priceCents: 1500, initialStock: 10, reorderPoint: 2 },
        },
      ];
      await expect(graph.invoke({ inbox }, { ...config, context: { approvalThresholdCents: undefined, model: "gpt-4o" } })).rejects.toThrow(
        /context.model 'gpt-4o' is an OpenAI model, but OPENAI_API_KEY is not set/,
      );
      expect(await log.eventsOf((await graph.getState(config)).values as Partial<State>)).toEqual([]);

      const state = (await graph.invoke({ inbox }, { ...config, context: { approvalThresholdCents: undefined, model: "offline" } })) as State;
      expect(state.inventory["SKU-1"].onHand).toBe(10);
    },
  );

  it("refuses an empty model name (the context is validated)", async () => {
    const graph = compileStoreGraph({ checkpointer: new MemorySaver() });
    await expect(
      graph.invoke({ inbox: [] }, { configurable: { thread_id: "empty" }, context: { approvalThresholdCents: undefined, model: "" } }),
    ).rejects.toThrow(/Too small: expected string to have >=1 characters/);
  });
});
