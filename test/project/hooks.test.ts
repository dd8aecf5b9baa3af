import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { assetPath } from "../../src/assets.js";

describe("repository integration files", () => {
  it("given .pre-commit-hooks.yaml, then it has a check hook and a compile hook the pre-commit framework can run", () => {
    const hooks = YAML.parse(readFileSync(assetPath(".pre-commit-hooks.yaml"), "utf8")) as Record<string, unknown>[];
    expect(hooks.map((h) => [h.id, h.entry, h.language, h.pass_filenames])).toEqual([
      ["kfm-compile-check", "kfm-compile check", "node", false],
      ["kfm-compile", "kfm-compile", "node", false],
    ]);
    for (const h of hooks) {
      const files = new RegExp(String(h.files));
      expect(["kfm.config.yaml", "workflows/daily/workflow.yaml", "jobs/a.yml", "airflow/x.py"].every((f) => files.test(f))).toBe(true);
      expect(files.test("src/index.ts")).toBe(false);
    }
  });

  it("given the plain git hook, then it is executable and runs kfm-compile check on a copy of the index (test/project/git-hook.test.ts runs it)", () => {
    const path = assetPath("scripts/pre-commit");
    expect(statSync(path).mode & 0o111).not.toBe(0);
    const script = readFileSync(path, "utf8");
    expect(script).toMatch(/git checkout-index --all --prefix=/);
    expect(script).toMatch(/^kfm_compile check /m);
  });

  it("given the sample CI workflow, then it runs npx kfm-compile check --full after npm ci", () => {
    const wf = YAML.parse(readFileSync(assetPath("docs/ci/kfm-check.yml"), "utf8")) as { jobs: { check: { steps: { run?: string }[] } } };
    expect(wf.jobs.check.steps.flatMap((s) => (s.run ? [s.run] : []))).toEqual(["npm ci", "npx kfm-compile check --full"]);
  });
});

describe("generated documentation of the project config", () => {
  it("schemas/config.schema.json and the README's config reference are what src/config/types.ts generates (run npm run docs)", async () => {
    const { generateConfigSchema, withTargetOptions, CONFIG_SCHEMA_PATH } = await import("../../src/spec/schema-gen.js");
    const { configReference, optionsReference, withConfigReference, withOptionsReference } = await import("../../src/spec/reference.js");
    const { TARGETS } = await import("../../targets/index.js");
    const schema = generateConfigSchema();
    expect(readFileSync(assetPath(CONFIG_SCHEMA_PATH), "utf8")).toBe(withTargetOptions(schema, TARGETS));
    const readme = readFileSync(assetPath("README.md"), "utf8");
    expect(readme).toBe(withConfigReference(readme, configReference(JSON.parse(schema))));
    expect(readme).toBe(withOptionsReference(readme, optionsReference(TARGETS)));
  }, 60_000);
});
