import { readdirSync, readFileSync } from "node:fs";
import AjvModule, { type ValidateFunction } from "ajv";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { generateValidators, VALIDATORS_PATH } from "../scripts/gen-validators.js";
import { assetPath } from "../src/assets.js";
import { CONFIG_SCHEMA_PATH, generateSpecSchema, SCHEMA_PATH } from "../src/spec/schema-gen.js";
import { specReference, withReference } from "../src/spec/reference.js";
import * as generated from "../src/spec/validators.generated.js";
import { propertyParams } from "./hostile/arbitraries.js";

const Ajv = AjvModule as unknown as typeof AjvModule.default;

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

describe("validators compiled ahead of time (src/spec/validators.generated.ts)", () => {
  const specSchema = readFileSync(assetPath(SCHEMA_PATH), "utf8");
  // The validators check the config's shape with every target's options open (src/options.ts
  // checks those): the committed schema less the per-target options it spells out for editors.
  const configSchema = openOptions(readFileSync(assetPath(CONFIG_SCHEMA_PATH), "utf8"));

  it("are what ajv generates from the committed schemas (run npm run docs)", () => {
    expect(readFileSync(assetPath(VALIDATORS_PATH), "utf8")).toBe(generateValidators(specSchema, configSchema));
  });

  // The reference: the schemas compiled at run time with the options the diagnostics rely on.
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
  const spec = JSON.parse(specSchema) as { $id: string; definitions: Record<string, unknown> };
  const config = JSON.parse(configSchema) as { $id: string };
  ajv.addSchema(spec).addSchema(config);
  const names = [...Object.keys(spec.definitions), "ProjectConfig"];
  const reference = (name: string) => ajv.getSchema(name === "ProjectConfig" ? config.$id : `${spec.$id}#/definitions/${name}`)!;
  const compiled = generated as unknown as Record<string, ValidateFunction>;

  function sameVerdict(name: string, data: unknown): void {
    const want = reference(name);
    const got = compiled[name]!;
    expect(got(data), name).toBe(want(data));
    expect(got.errors ?? null, name).toEqual(want.errors ?? null);
  }

  const documents: unknown[] = [
    ...readdirSync(assetPath("specs")).map((f) => YAML.parse(readFileSync(assetPath(`specs/${f}`), "utf8")) as unknown),
    { specs: ["workflows/*.yaml", "!jobs/**"], targets: { argo: { out: "deploy/argo" }, airflow: { out: "dags" } } },
  ];

  it("export every definition of the spec schema, and the config schema", () => {
    expect(Object.keys(compiled).sort()).toEqual([...names].sort());
  });

  it("count characters as ajv does: a 52-character name of emoji (104 UTF-16 units) is within maxLength", () => {
    const doc = { workflow: { name: `a${"😀".repeat(51)}`, jobs: [{ job: { name: "a", image: "x:1" } }] } };
    sameVerdict("WorkflowDocument", doc);
    const tooLong = { workflow: { ...doc.workflow, name: `a${"😀".repeat(52)}` } };
    sameVerdict("WorkflowDocument", tooLong);
    expect(compiled.WorkflowDocument!(tooLong)).toBe(false);
  });

  it("give the same verdict and errors as the schemas compiled at run time, on specs with values replaced anywhere", () => {
    const paths = (value: unknown, at: (string | number)[] = []): (string | number)[][] =>
      value !== null && typeof value === "object"
        ? [at, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, Array.isArray(value) ? Number(k) : k]))]
        : [at];
    const replaced = (doc: unknown, at: readonly (string | number)[], value: unknown): unknown => {
      if (at.length === 0) return value;
      const copy = structuredClone(doc) as Record<string | number, unknown>;
      let node = copy;
      for (const step of at.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
      if (value === undefined) delete node[at[at.length - 1]!];
      else node[at[at.length - 1]!] = value;
      return copy;
    };
    const replacement = fc.oneof(
      fc.jsonValue({ maxDepth: 3, stringUnit: "grapheme" }),
      fc.constantFrom(undefined, "", "1h30m", "90x", "UTC", "@daily", "x".repeat(64), `a${"😀".repeat(30)}`, "😀".repeat(60), -1, 0, 1.5, 10001),
    );
    const edits = fc.array(fc.tuple(fc.nat(), replacement), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.constantFrom(...documents), edits, fc.constantFrom(...names), fc.nat(), (doc, changes, name, pick) => {
        let data = doc;
        for (const [i, value] of changes) {
          const all = paths(data);
          data = replaced(data, all[i % all.length]!, value);
        }
        const kind = "workflow" in (doc as object) ? "WorkflowDocument" : "job" in (doc as object) ? "JobDocument" : "ProjectConfig";
        sameVerdict(kind, data);
        // Any definition checked on a part of the document, as the checks of unions in src/spec/schema.ts do.
        const inner = paths(data);
        const at = inner[pick % inner.length]!;
        sameVerdict(
          name,
          at.reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], data),
        );
      }),
      propertyParams(300),
    );
  });
});

/** The published config schema without `targets.properties` (each target's options spelled out). */
function openOptions(published: string): string {
  const schema = JSON.parse(published) as { properties: { targets: { properties?: unknown } } };
  expect(schema.properties.targets.properties).toBeDefined();
  delete schema.properties.targets.properties;
  return JSON.stringify(schema, null, 2) + "\n";
}
