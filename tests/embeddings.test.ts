import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../src/config.js";
import { cosine, embeddingsFromConfig, embedText, LOCAL_EMBEDDING_DIMS, localEmbeddings, wordsOf } from "../src/memory/embeddings.js";

const norm = (v: number[]) => Math.hypot(...v);

describe("local embeddings", () => {
  it("are deterministic, of fixed size and L2-normalised", async () => {
    const text = "Order O-1001 placed: 2 × Blue Mug (MUG-BLUE), total $24.00";
    const a = embedText(text);
    expect(a).toHaveLength(LOCAL_EMBEDDING_DIMS);
    expect(embedText(text)).toEqual(a);
    expect(norm(a)).toBeCloseTo(1, 12);
    const embeddings = localEmbeddings();
    expect(await embeddings.embedQuery(text)).toEqual(a);
    expect(await embeddings.embedDocuments([text, "kettle"])).toEqual([a, embedText("kettle")]);
    expect(embeddings.modelId).toBe(`local-hash-v1-${LOCAL_EMBEDDING_DIMS}`);
  });

  it("split SKUs and ids into words, drop accents, case and stop words", () => {
    expect(wordsOf("Where is MY Crème-Brûlée torch, order O-1001?")).toEqual(["where", "creme", "brulee", "torch", "order", "o", "1001"]);
  });

  it("give the zero vector to text without words, and cosine 0 with it", () => {
    const zero = embedText("the, and... ?!");
    expect(zero.every((x) => x === 0)).toBe(true);
    expect(cosine(zero, embedText("blue mug"))).toBe(0);
  });

  it("ignore word order", () => {
    expect(cosine(embedText("blue mug broken"), embedText("broken mug, blue"))).toBeCloseTo(1, 12);
  });

  it("keep a typo closer to its word than to another product", () => {
    const right = embedText("Walnut salad bowl");
    const typo = embedText("walnutt sallad bowel");
    const other = embedText("Steel kettle");
    expect(cosine(typo, right)).toBeGreaterThan(0.45);
    expect(cosine(typo, right)).toBeGreaterThan(cosine(typo, other) + 0.3);
  });
});

describe("cosine", () => {
  it("is 1 for the same direction, -1 for the opposite, 0 for orthogonal", () => {
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [-3, 0])).toBeCloseTo(-1, 12);
    expect(cosine([1, 0], [0, 5])).toBe(0);
  });

  it("refuses vectors of different lengths with a reason", () => {
    expect(() => cosine([1, 2], [1, 2, 3])).toThrow(/differ in length \(2 and 3\)/);
  });
});

describe("embeddingsFromConfig", () => {
  it("is local without a key, OpenAI with one (model from OPENAI_EMBEDDINGS_MODEL)", () => {
    expect(embeddingsFromConfig(loadConfig({})).modelId).toBe(`local-hash-v1-${LOCAL_EMBEDDING_DIMS}`);
    expect(embeddingsFromConfig(loadConfig({ OPENAI_API_KEY: "sk-test" })).modelId).toBe("openai:text-embedding-3-small");
    expect(embeddingsFromConfig(loadConfig({ OPENAI_API_KEY: "sk-test", OPENAI_EMBEDDINGS_MODEL: "nomic-embed-text" })).modelId).toBe(
      "openai:nomic-embed-text",
    );
  });

  describe("with an OpenAI-compatible server", () => {
    let server: Server;
    const requests: { path: string; body: { model: string; input: string[] } }[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let raw = "";
        req.on("data", (chunk) => (raw += chunk));
        req.on("end", () => {
          const body = JSON.parse(raw) as { model: string; input: string | string[]; encoding_format?: string };
          const inputs = typeof body.input === "string" ? [body.input] : body.input;
          requests.push({ path: req.url ?? "", body: { model: body.model, input: inputs } });
          // The openai SDK asks for base64 (little-endian float32) unless told otherwise.
          const encode = (v: number[]) => (body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v);
          const data = inputs.map((text, index) => ({ object: "embedding", index, embedding: encode([text.length, 1, 0]) }));
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ object: "list", data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
        });
      });
      await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
    });
    afterAll(() => new Promise<void>((done) => server.close(() => done())));

    it("sends the texts to OPENAI_BASE_URL with the configured model", async () => {
      const { port } = server.address() as AddressInfo;
      const embeddings = embeddingsFromConfig(
        loadConfig({ OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_EMBEDDINGS_MODEL: "local-embed" }),
      );
      expect(await embeddings.embedDocuments(["ab", "abcd"])).toEqual([
        [2, 1, 0],
        [4, 1, 0],
      ]);
      expect(await embeddings.embedQuery("abc")).toEqual([3, 1, 0]);
      expect(requests.map((r) => r.path)).toEqual(["/v1/embeddings", "/v1/embeddings"]);
      expect(requests.map((r) => r.body)).toEqual([
        { model: "local-embed", input: ["ab", "abcd"] },
        { model: "local-embed", input: ["abc"] },
      ]);
    });
  });
});
