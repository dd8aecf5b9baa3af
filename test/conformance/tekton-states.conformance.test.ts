/**
 * A job that failed for good shows failed, and the rest of the failure meaning holds
 * (README "Meanings at a real cluster's edges"; targets/tekton/README.md "Failure
 * behaviour"): every spec's Tekton output is run through Tekton Pipelines' own PipelineRun
 * state code (conformance/go/tekton-states: DAGExecutionQueue, Skip, GetFinalTasks,
 * GetPipelineConditionStatus) once with every job succeeding and once per job with that job
 * failing after its last attempt. Then, as Tekton computed it:
 *
 * - the failed job shows failed: its TaskRun, or the `kfm-failed-<n>` task that stands for
 *   it, ends Failed (what the dashboard, `tkn` and the TaskRun metrics show);
 * - every job the spec says runs after that failure runs and succeeds, every other is skipped;
 * - the run ends Failed; with every job succeeding it ends Succeeded and no TaskRun failed.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Job, Workflow } from "../../src/ir.js";
import { kubeName } from "../../src/names.js";
import { parseYamlStream } from "../../src/yaml.js";
import type { TektonPipeline } from "../../targets/tekton/emit.js";
import { readFileSync } from "node:fs";
import { compileAll, setup, tools, type ToolReport } from "./runners.js";

interface Scenario {
  readonly name: string;
  readonly tasks: Record<string, string>;
  readonly run: { readonly status: string; readonly reason: string; readonly message: string };
}

const outputs = compileAll().outputs.filter((o) => o.target === "tekton" && o.drift === undefined);
let report: ToolReport;

beforeAll(() => {
  setup();
  report = tools.tektonStates(outputs.map((o) => o.file));
}, 1_800_000);

/** What the spec means when `failing` fails for good (null: every job succeeds): each job runs, is skipped, or is the failed one. */
function meaning(ir: Workflow, failing: string | null): Map<string, "ran" | "skipped" | "failed"> {
  const out = new Map<string, "ran" | "skipped" | "failed">();
  const byName = new Map(ir.jobs.map((j) => [j.name, j]));
  const of = (j: Job): "ran" | "skipped" | "failed" => {
    const known = out.get(j.name);
    if (known !== undefined) return known;
    const parents = j.dependsOn.map((d) => of(byName.get(d)!));
    const r = j.name === failing ? "failed" : j.runWhen === "all_succeeded" && parents.some((p) => p !== "ran") ? "skipped" : "ran";
    out.set(j.name, r);
    return r;
  };
  ir.jobs.forEach(of);
  return out;
}

describe("Tekton's own run state: a job that failed for good shows failed, the rest of the failure meaning unchanged", () => {
  it.each(outputs.map((o) => [o.spec, o] as const))("%s", (_spec, o) => {
    const v = report.files.find((f) => f.file === o.file);
    expect(v?.errors ?? ["no report"]).toEqual([]);
    const scenarios = v!.parsed as Scenario[];
    const pipeline = (parseYamlStream(readFileSync(o.file, "utf8")) as { kind?: string }[]).find((d) => d.kind === "Pipeline") as unknown as TektonPipeline;
    const markers = pipeline.spec.tasks.filter((t) => t.name.startsWith("kfm-failed-"));
    const jobs = o.ir.jobs.filter((j) => j.approval === null);
    expect(scenarios.map((s) => s.name)).toEqual(["all succeed", ...jobs.map((j) => `${kubeName(j.name)} fails`)]);
    for (const s of scenarios) {
      const failing = s.name === "all succeed" ? null : (jobs.find((j) => `${kubeName(j.name)} fails` === s.name)?.name ?? null);
      const want = meaning(o.ir, failing);
      const got = new Map(
        o.ir.jobs.map((j) => {
          const state = s.tasks[kubeName(j.name)] ?? "absent";
          if (j.name !== failing) return [j.name, state === "Succeeded" ? "ran" : state.startsWith("Skipped") ? "skipped" : state] as const;
          // The failed job shows failed: its own TaskRun, or the kfm-failed task that runs after it alone.
          const shown = state === "Failed" || markers.some((m) => m.runAfter?.join() === kubeName(j.name) && s.tasks[m.name] === "Failed");
          return [j.name, shown ? "failed" : `shown ${state}`] as const;
        }),
      );
      expect(Object.fromEntries(got), `${o.spec}: ${s.name}`).toEqual(Object.fromEntries(want));
      if (failing === null) {
        expect(s.run.status, `${o.spec}: ${s.name}: ${s.run.message}`).toBe("True");
        expect(Object.entries(s.tasks).filter(([, st]) => st === "Failed")).toEqual([]);
      } else {
        expect([s.run.status, s.run.reason], `${o.spec}: ${s.name}: ${s.run.message}`).toEqual(["False", "Failed"]);
      }
    }
  });

  it("the meaning it compares with is the spec's: a failure skips the downstream, a continuing job runs, independent jobs run", () => {
    const job = (name: string, dependsOn: string[] = [], runWhen: Job["runWhen"] = "all_succeeded") =>
      ({ name, dependsOn, runWhen, approval: null }) as unknown as Job;
    const ir = { jobs: [job("a"), job("b", ["a"]), job("c", ["b"], "all_done"), job("d")] } as unknown as Workflow;
    expect(Object.fromEntries(meaning(ir, "a"))).toEqual({ a: "failed", b: "skipped", c: "ran", d: "ran" });
  });
});
