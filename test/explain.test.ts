/**
 * The feature tables that `explain` and docs/support-matrix.md print must say what
 * the compiler does: a feature marked refused is refused for every spec that uses
 * it, and a refusal always comes from a feature marked refused or conditional.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../targets/index.js";
import { assetPath } from "../src/assets.js";
import { analyze } from "../src/compile.js";
import { hasErrors } from "../src/diagnostics.js";
import { supportMatrix } from "../src/explain.js";
import { FEATURE_IDS, usedFeatures } from "../src/features.js";
import { readSpec, specFiles } from "./matrix.js";

const cases = specFiles().flatMap((spec) => {
  const a = analyze(spec, readSpec(spec));
  return TARGETS.map((t) => [spec, t.name, a, t] as const);
});

describe("feature tables agree with what check does", () => {
  it.each(cases)("%s on %s", (_spec, _name, a, t) => {
    const used = usedFeatures(a.ir!);
    const refused = hasErrors(t.check(a.ir!).map(a.spec.locate));
    const alwaysRefused = used.filter((f) => t.features[f].support === "refused");
    const mayRefuse = used.filter((f) => t.features[f].support === "refused" || t.features[f].support === "conditional");
    if (alwaysRefused.length > 0) expect(refused, `${alwaysRefused.join(", ")} is marked refused`).toBe(true);
    if (refused) expect(mayRefuse, "the target refuses, so a used feature must be marked refused or conditional").not.toEqual([]);
  });

  it("every target describes every feature", () => {
    for (const t of TARGETS) expect(Object.keys(t.features).sort()).toEqual([...FEATURE_IDS].sort());
  });

  it("docs/support-matrix.md is what the tables generate (run npm run docs)", () => {
    expect(readFileSync(assetPath("docs/support-matrix.md"), "utf8")).toBe(supportMatrix(TARGETS));
  });
});
