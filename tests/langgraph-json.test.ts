import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { CompiledStateGraph } from "@langchain/langgraph";

const root = resolve(import.meta.dirname, "..");
const manifest = JSON.parse(readFileSync(resolve(root, "langgraph.json"), "utf8")) as { graphs: Record<string, string> };

describe("langgraph.json", () => {
  it("registers the store graph", () => {
    expect(Object.keys(manifest.graphs)).toContain("store");
  });

  it.each(Object.entries(manifest.graphs))("entry %s resolves to an exported compiled graph without a checkpointer", async (_name, target) => {
    const [file, exportName] = target.split(":");
    const module = (await import(pathToFileURL(resolve(root, file)).href)) as Record<string, unknown>;
    const graph = module[exportName];
    expect(graph).toBeInstanceOf(CompiledStateGraph);
    expect((graph as CompiledStateGraph<never, never>).checkpointer).toBeFalsy();
  });
});
