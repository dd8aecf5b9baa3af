import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { TARGETS } from "../../targets/index.js";
import { cases, compileSpec } from "./harness.js";
import { EXECUTION_CASES } from "./scenarios.js";

// The execution suite's cases themselves: every spec lowers, every scenario has a trace
// (none runs for ever), and each spec compiles on the targets it is meant for, so an
// engine that skips a case does so because its target refuses it, as written here.

/** The targets that refuse each spec (KFM301); every other target must compile it. */
const REFUSED_BY: Record<string, readonly string[]> = {
  "gate.yaml": ["github-actions"],
  "gate-untimed.yaml": ["tekton"],
  "concurrency.yaml": ["tekton", "github-actions"],
};

describe("execution cases", () => {
  it("list every spec of test/execution/specs once, with scenario names unique per spec", () => {
    const specs = readdirSync(join(PACKAGE_ROOT, "test/execution/specs")).map((f) => `test/execution/specs/${f}`);
    expect(EXECUTION_CASES.map((c) => c.spec).sort()).toEqual(specs.sort());
    for (const c of EXECUTION_CASES) expect(new Set(c.scenarios.map((s) => s.name)).size).toBe(c.scenarios.length);
  });

  it("have an expected trace for every scenario, at least 15 of them", () => {
    const all = [...cases()];
    expect(all.length).toBeGreaterThanOrEqual(15);
    for (const item of all) expect(["succeeded", "failed"]).toContain(item.expected.run);
  });

  for (const c of EXECUTION_CASES) {
    const name = c.spec.replace(/^.*\//, "");
    it(`${name} compiles on every target but ${(REFUSED_BY[name] ?? ["none"]).join(", ")}`, () => {
      for (const t of TARGETS) {
        const r = compileSpec(c.spec, t.name);
        const refused = (REFUSED_BY[name] ?? []).includes(t.name);
        expect(r.refused === null ? "compiled" : "refused", `${name} on ${t.name}: ${r.refused ?? ""}`).toBe(refused ? "refused" : "compiled");
        if (r.compiled !== null) expect(r.compiled.files.some((f) => f.includes(`/${t.name}/`))).toBe(true);
      }
    });
  }
});
