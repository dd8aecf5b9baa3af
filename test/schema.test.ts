import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assetPath } from "../src/assets.js";
import { generateSpecSchema, SCHEMA_PATH } from "../src/spec/schema-gen.js";
import { specReference, withReference } from "../src/spec/reference.js";

describe("generated documentation of the spec format", () => {
  const schema = generateSpecSchema();
  it("schemas/workflow.schema.json is what the spec types generate (run npm run docs)", () => {
    expect(readFileSync(assetPath(SCHEMA_PATH), "utf8")).toBe(schema);
  });
  it("the README's spec reference is what the schema generates (run npm run docs)", () => {
    const readme = readFileSync(assetPath("README.md"), "utf8");
    expect(readme).toBe(withReference(readme, specReference(JSON.parse(schema))));
  });
}, 60_000);
