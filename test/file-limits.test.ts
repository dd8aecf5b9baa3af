// Runners' limits on the size of what they are given (KFM302): GitHub does not start
// a workflow file over 500 KB; Kubernetes resources (Argo, Tekton) live in etcd and
// large ones are refused when applied. The check runs on the emitted bytes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { kfmSpec, mixedWorkflow } from "../bench/specs.js";
import { PACKAGE_ROOT } from "../src/assets.js";
import { analyze, compileFor, type Analysis } from "../src/compile.js";
import { formatDiagnostic } from "../src/diagnostics.js";
import { sealOutput } from "../src/header.js";
import { TARGETS } from "../targets/index.js";

describe("output size limits (KFM302)", () => {
  let big: Analysis;
  beforeAll(() => {
    big = analyze("big.yaml", kfmSpec(mixedWorkflow("big", 1000, true)));
  }, 60_000);

  it("declares each runner's documented limit: GitHub refuses, Kubernetes warns, Airflow has none", () => {
    const limits = Object.fromEntries(TARGETS.map((t) => [t.name, t.fileLimit ? [t.fileLimit.bytes, t.fileLimit.severity] : null]));
    expect(limits).toEqual({
      airflow: null,
      argo: [1_000_000, "warning"],
      tekton: [1_000_000, "warning"],
      "github-actions": [500_000, "error"],
      dagster: null,
    });
  });

  it("given a 1,000-job workflow, then each target reports exactly when its file is over its limit, and GitHub writes nothing", () => {
    const analysis = big;
    expect(analysis.diagnostics).toEqual([]);
    let refused = 0;
    for (const target of TARGETS) {
      const bytes = Buffer.byteLength(sealOutput(`big.${target.extension}`, target.emit(analysis.ir!)));
      const r = compileFor(analysis, target);
      const over = r.diagnostics.filter((d) => d.code === "KFM302");
      const limit = target.fileLimit;
      expect(over.length, target.name).toBe(limit !== undefined && bytes > limit.bytes ? 1 : 0);
      if (over.length === 0) continue;
      expect(over[0]!.severity).toBe(limit!.severity);
      expect(r.output === null, target.name).toBe(limit!.severity === "error");
      if (r.output === null) refused++;
    }
    // The GitHub file of 1,000 jobs is well over 500 KB: the refusal is exercised.
    expect(refused).toBe(1);
  }, 60_000);

  it("says where, how big, which rule, and what to do", () => {
    const analysis = big;
    const gha = TARGETS.find((t) => t.name === "github-actions")!;
    const [d] = compileFor(analysis, gha).diagnostics;
    expect(formatDiagnostic(d!)).toMatch(
      /^big\.yaml:1:1: error KFM302: The github-actions file for this workflow is [\d,]+ KB, more than the 500 KB github-actions takes: GitHub does not start runs of a workflow file larger than 500 KB \(docs\.github\.com\/en\/actions\/reference\/limits, Workflow file size\)\. Split the workflow into workflows that depend on each other \(`dependencies`\)\.$/,
    );
  }, 60_000);

  it("given a workflow certain to be over GitHub's limit, then it is refused without emitting, saying at least how large", () => {
    const huge = analyze("huge.yaml", kfmSpec(mixedWorkflow("huge", 2000, true)));
    const gha = TARGETS.find((t) => t.name === "github-actions")!;
    const r = compileFor(huge, gha);
    expect(r.output).toBeNull();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/^huge\.yaml:1:1: error KFM302: The github-actions file for this workflow is at least [\d,]+ KB, more than the 500 KB/),
    ]);
  }, 60_000);

  it("bounds a file's size from below, never above what emit writes (else a file that fits would be refused)", () => {
    // Many of the smallest jobs there are: the bound must hold per job, not only thanks to the fixed part.
    const minimal = ["workflow:", "  name: m", "  jobs:", ...Array.from({ length: 400 }, (_, i) => `    - job: {name: j${i}, image: "i"}`), ""].join("\n");
    const texts = [
      minimal,
      kfmSpec(mixedWorkflow("small", 20, true)),
      ...readdirSync(join(PACKAGE_ROOT, "specs"))
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => readFileSync(join(PACKAGE_ROOT, "specs", f), "utf8")),
    ];
    let checked = 0;
    for (const text of texts) {
      const a = analyze("spec.yaml", text);
      if (a.ir === null) continue;
      for (const target of TARGETS) {
        if (target.minimumBytes === undefined || target.check(a.ir).some((p) => p.severity === "error")) continue;
        expect(target.minimumBytes(a.ir), `${a.ir.name} ${target.name}`).toBeLessThanOrEqual(Buffer.byteLength(target.emit(a.ir)));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it("given a small workflow, then no target reports its size", () => {
    const analysis = analyze("small.yaml", kfmSpec(mixedWorkflow("small", 20, true)));
    for (const target of TARGETS) expect(compileFor(analysis, target).diagnostics).toEqual([]);
  });
});
