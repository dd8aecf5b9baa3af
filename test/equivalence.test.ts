/**
 * The cross-target proof: each backend reads its own output back into the neutral
 * summary, and it must equal the spec's meaning, for every spec. The drift tests
 * show the proof can fail: a changed meaning emitted by a backend is seen by its
 * lift, so one target drifting from the others would break the first test.
 */
import { describe, expect, it } from "vitest";
import { TARGETS } from "../targets/index.js";
import { analyze, compileFor } from "../src/compile.js";
import { hasErrors } from "../src/diagnostics.js";
import type { Job, Workflow } from "../src/ir.js";
import { summarize } from "../src/summary.js";
import { mergeText } from "../src/template.js";
import { lifted, readSpec, specFiles } from "./matrix.js";

const compiled = specFiles().map((spec) => {
  const a = analyze(spec, readSpec(spec));
  if (a.ir === null) throw new Error(`${spec} is invalid`);
  return { spec, analysis: a, ir: a.ir };
});

const pairs = compiled.flatMap(({ spec, analysis, ir }) =>
  // Refused: the target's check, or a daylight-saving slot it cannot fire as meant (KFM220, judged in compileFor).
  TARGETS.map((target) => ({ spec, target, analysis, ir, refused: hasErrors(compileFor(analysis, target).diagnostics) })),
);

describe("every target means what the spec means", () => {
  it.each(pairs.filter((p) => !p.refused).map((p) => [p.spec, p.target.name, p] as const))("%s on %s", (_spec, _name, p) => {
    const out = compileFor(p.analysis, p.target).output!;
    expect(lifted(p.target, p.ir, out.text)).toEqual(summarize(p.ir));
  });

  it("compiles most specs on every target (refusals are the exception)", () => {
    const refused = pairs.filter((p) => p.refused).map((p) => `${p.spec} on ${p.target.name}`);
    expect(refused.length).toBeLessThan(pairs.length / 4);
  });
});

type Mutation = { name: string; applies: (ir: Workflow) => boolean; apply: (ir: Workflow) => Workflow };

const mapJob = (ir: Workflow, index: number, f: (j: Job) => Job): Workflow => ({ ...ir, jobs: ir.jobs.map((j, i) => (i === index ? f(j) : j)) });
const lastJob = (ir: Workflow) => ir.jobs.length - 1;

const MUTATIONS: Mutation[] = [
  {
    name: "one more attempt",
    applies: () => true,
    apply: (ir) => mapJob(ir, 0, (j) => ({ ...j, retry: { ...j.retry, maxAttempts: j.retry.maxAttempts + 1 } })),
  },
  {
    name: "a longer retry delay",
    applies: (ir) => ir.jobs[0]!.retry.maxAttempts > 1,
    apply: (ir) => mapJob(ir, 0, (j) => ({ ...j, retry: { ...j.retry, delaySeconds: j.retry.delaySeconds + 60 } })),
  },
  { name: "another attempt timeout", applies: () => true, apply: (ir) => mapJob(ir, 0, (j) => ({ ...j, timeoutSeconds: (j.timeoutSeconds ?? 0) + 120 })) },
  {
    name: "a lost dependency",
    applies: (ir) => ir.jobs[lastJob(ir)]!.dependsOn.length > 0,
    // The core never gives a job without dependencies `all_done`; neither does the mutation.
    apply: (ir) => mapJob(ir, lastJob(ir), (j) => ({ ...j, dependsOn: j.dependsOn.slice(1), runWhen: j.dependsOn.length > 1 ? j.runWhen : "all_succeeded" })),
  },
  { name: "another image", applies: () => true, apply: (ir) => mapJob(ir, 0, (j) => ({ ...j, image: j.image + "-drift" })) },
  {
    name: "another env value",
    applies: () => true,
    apply: (ir) =>
      mapJob(ir, 0, (j) => ({
        ...j,
        env: j.env.map((e) => (e.name === "KFM_JOB" && "value" in e ? { ...e, value: mergeText([...e.value, { text: "!" }]) } : e)),
      })),
  },
  {
    name: "another time zone",
    applies: (ir) => ir.schedule?.kind === "cron",
    apply: (ir) => ({ ...ir, schedule: ir.schedule && ir.schedule.kind === "cron" ? { ...ir.schedule, timezone: "Asia/Tokyo" } : ir.schedule }),
  },
  { name: "another run timeout", applies: () => true, apply: (ir) => ({ ...ir, timeoutSeconds: (ir.timeoutSeconds ?? 0) + 600 }) },
  { name: "another run-token seed", applies: () => true, apply: (ir) => ({ ...ir, runTokenSeed: ir.runTokenSeed + "x" }) },
  {
    name: "a job that no longer continues after a failure",
    applies: (ir) => ir.jobs.some((j) => j.runWhen === "all_done"),
    apply: (ir) => ({ ...ir, jobs: ir.jobs.map((j) => ({ ...j, runWhen: "all_succeeded" as const })) }),
  },
  { name: "a concurrency limit", applies: (ir) => ir.maxActiveRuns === null, apply: (ir) => ({ ...ir, maxActiveRuns: 1 }) },
];

describe("a backend that drifts is caught by its own lift", () => {
  const cases = pairs
    .filter((p) => !p.refused)
    .flatMap((p) => MUTATIONS.filter((m) => m.applies(p.ir)).map((m) => [p.target.name, m.name, p.spec, p, m] as const));
  it.each(cases)("%s: %s (%s)", (_t, _m, _s, p, m) => {
    const drifted = m.apply(p.ir);
    if (hasErrors(p.target.check(drifted).map(p.analysis.spec.locate))) return;
    const read = lifted(p.target, drifted, p.target.emit(drifted));
    expect(read).toEqual(summarize(drifted));
    expect(read).not.toEqual(summarize(p.ir));
  });
});
