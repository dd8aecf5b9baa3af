/**
 * The GitHub Actions execution harness hands act each call of a shared reusable workflow
 * inlined (conformance/execution/github/README.md, "act runs no job after a failed
 * caller"). This checks, without act, that the inlining carries every golden workflow's
 * calls as GitHub documents a call (inputs, defaults, secrets, outputs), and refuses a
 * shared workflow it cannot carry instead of running something else.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { CONTEXT_OUTPUTS, JOB_INPUTS, MAX_TIMEOUT_MINUTES } from "../../targets/github-actions/emit.js";
// @ts-expect-error: a plain .mjs module of the conformance folder, without types
import { inline } from "../../conformance/execution/github/harness.mjs";

type Doc = { on: Record<string, unknown>; jobs: Record<string, Record<string, unknown>> };
const inlineDoc = inline as (workflow: Doc, called: Record<string, Doc>) => Doc;

const GOLDEN = join(PACKAGE_ROOT, "golden", "github-actions");
const read = (f: string): Doc => parse(readFileSync(join(GOLDEN, f), "utf8")) as Doc;
const SHARED = Object.fromEntries(["kfm-context.yml", "kfm-job.yml", "kfm-approval.yml"].map((f) => [f, read(f)]));
const WORKFLOWS = readdirSync(GOLDEN).filter((f) => f.endsWith(".yml") && !f.startsWith("kfm-"));

describe("inlining the shared workflows for act", () => {
  it.each(WORKFLOWS)("carries every call of %s as GitHub documents a call", (file) => {
    const doc = read(file);
    const out = inlineDoc(doc, SHARED);
    expect(Object.keys(out.jobs)).toEqual(Object.keys(doc.jobs));
    for (const [id, job] of Object.entries(doc.jobs)) {
      const got = out.jobs[id]!;
      expect(got.uses).toBeUndefined();
      expect(got.needs).toEqual(job.needs);
      expect(got.if).toEqual(job.if);
      // No input of a shared workflow nor slot secret is left to evaluate: each became its
      // value. What is left of `inputs` is the caller's own (workflow_dispatch's logical_date).
      const text = JSON.stringify(got);
      expect(text).not.toMatch(/secrets\.SECRET_/);
      const own = Object.keys((doc.on.workflow_dispatch as { inputs: Record<string, unknown> }).inputs);
      for (const m of text.matchAll(/\$\{\{ inputs\.([A-Za-z0-9_-]+) \}\}/g)) expect(own).toContain(m[1]);
      if (job.uses === "./.github/workflows/kfm-job.yml") {
        const w = job.with as Record<string, unknown>;
        const env = (got.steps as { env: Record<string, unknown> }[])[0]!.env;
        for (const input of JOB_INPUTS) {
          if (input.variable === undefined) continue;
          expect(env[`KFMI_${input.variable}`], `${id}: ${input.name}`).toEqual(w[input.name] ?? input.default);
        }
        expect(got["timeout-minutes"]).toEqual(w["timeout-minutes"] ?? MAX_TIMEOUT_MINUTES);
        const secrets = (job.secrets ?? {}) as Record<string, string>;
        for (let n = 0; n < 16; n++) expect(env[`KFMS_${n}`]).toEqual(secrets[`SECRET_${n}`] ?? "");
      }
      if (id === "kfm-context") {
        const outputs = got.outputs as Record<string, string>;
        for (const o of CONTEXT_OUTPUTS) expect(outputs[o]).toBe(`\${{ steps.kfm-context.outputs.${o} }}`);
      }
      if (job.uses === "./.github/workflows/kfm-approval.yml") {
        expect(got.environment).toBe((job.with as Record<string, unknown>).environment);
      }
    }
  });

  it("refuses a shared workflow it cannot carry", () => {
    const doc = read(WORKFLOWS.find((f) => read(f).jobs["kfm-context"] !== undefined)!);
    const twoJobs = structuredClone(SHARED);
    twoJobs["kfm-context.yml"]!.jobs.other = { "runs-on": "x", steps: [] };
    expect(() => inlineDoc(doc, twoJobs)).toThrow(/kfm-context.yml has 2 jobs/);
    const inside = structuredClone(SHARED);
    const step = (inside["kfm-context.yml"]!.jobs["logical-date"]!.steps as { env: Record<string, string> }[])[0]!;
    step.env.KFMI_CRON = "cron: ${{ inputs.cron }}";
    expect(() => inlineDoc(doc, inside)).toThrow(/inside a longer value/);
  });
});
