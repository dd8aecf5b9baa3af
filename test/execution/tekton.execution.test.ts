/**
 * Tekton in motion (issue 14): every scenario of every execution case is compiled for
 * Tekton and run through Tekton Pipelines' own PipelineRun and TaskRun reconcilers with fake
 * clients and a fake clock (conformance/go/tekton-exec, built by conformance/setup.sh as
 * `tekton-exec`; conformance/execution/tekton/README.md says what is Tekton's there and
 * where it differs from a cluster). The compiler's helper scripts run for real with `sh`;
 * the user's container is a stub that follows the scenario. The trace the engine shows
 * must be the reference interpreter's (src/interpret.ts), field by field.
 *
 * Sabotage (issue 14, item 4): the same engine must tell a broken output apart: without
 * the `finally` task that fails the run, a failed job's run ends green; with one retry too
 * many, the job gets one attempt too many.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseYamlStream, toYamlStream } from "../../src/yaml.js";
import { CACHE, setup } from "../conformance/runners.js";
import type { Observed } from "../../src/execution.js";
import { cases, executeCase, runHarness, type ExecutionItem, type RunInput } from "./harness.js";

const TARGET = "tekton";
const TEKTON_EXEC = join(CACHE, "bin", "tekton-exec");

beforeAll(() => {
  setup();
}, 1_800_000);

/**
 * The output folder's files (the workflow's Pipeline, CronJob and accounts, and any file the
 * folder shares, such as StepActions) and the manual run of the runs folder.
 */
function files(input: RunInput): { output: string[]; run: string } {
  const output = input.compiled.files.filter((f) => f.includes(`/${TARGET}/`) && f.endsWith(".yaml"));
  const run = input.compiled.files.find((f) => f.includes(`/${TARGET}-runs/`) && f.endsWith(".run.yaml"));
  if (output.length === 0 || run === undefined) throw new Error(`no Tekton output and run file among ${input.compiled.files.join(", ")}`);
  return { output, run };
}

/** Drives one scenario through the reconcilers; `mutate` breaks the output file first, `mutateRun` the run file (sabotage). */
function engine(mutate?: (docs: unknown[]) => void, mutateRun?: (docs: unknown[]) => void): (input: RunInput) => Promise<void> {
  return async (input) => {
    const { output, run } = files(input);
    if (mutateRun !== undefined) {
      const docs = parseYamlStream(readFileSync(run, "utf8"));
      mutateRun(docs);
      writeFileSync(run, toYamlStream(docs));
    }
    if (mutate !== undefined) {
      const file = output.find((f) => readFileSync(f, "utf8").includes("\nkind: Pipeline\n"));
      if (file === undefined) throw new Error(`no Pipeline among ${output.join(", ")}`);
      const docs = parseYamlStream(readFileSync(file, "utf8"));
      mutate(docs);
      writeFileSync(file, toYamlStream(docs));
    }
    await runHarness(TEKTON_EXEC, ["-test.run", "^TestExecute$"], {
      timeoutSeconds: 300,
      env: { KFM_TEKTON_FILE: output.join(delimiter), KFM_TEKTON_RUN: run, KFM_TEKTON_SCENARIO: input.scenarioPath, KFM_TEKTON_OBSERVED: input.observedPath },
    });
  };
}

/**
 * The engine's clock is fake, so its times are exact: every attempt must start and end
 * when the reference's virtual clock says (src/interpret.ts `interpretTimed`; attempts
 * take no time there and in the stub). Lines in the style of `compareTraces`.
 */
function timelineDifferences(item: ExecutionItem, observed: Observed): string[] {
  const out: string[] = [];
  const close = (a: number, b: number) => Math.abs(a - b) <= 0.01;
  for (const want of item.timeline.attempts) {
    const got = observed.attempts.find((a) => a.job === want.job && a.attempt === want.attempt);
    const at = `${item.label(TARGET)} / timeline.${want.job}[${want.attempt}]`;
    if (got === undefined) continue; // the attempt count is compareTraces' finding
    if (!close(want.startedAt, got.startedAt)) out.push(`${at}.startedAt: expected ${want.startedAt}, runner did ${got.startedAt}`);
    if (!close(want.endedAt, got.endedAt)) out.push(`${at}.endedAt: expected ${want.endedAt}, runner did ${got.endedAt}`);
  }
  return out;
}

/**
 * Differences the engine shows that are Tekton's, documented in targets/tekton/README.md
 * (an expiring list: a test fails when one no longer shows, so a fix removes it here).
 */
const KNOWN_DIFFERENCES: Readonly<Record<string, { readonly lines: readonly string[]; readonly why: string }>> = {
  "no-start.yaml / pod-never-starts / tekton": {
    lines: [
      "no-start.yaml / pod-never-starts / tekton / timeline.pull[1].endedAt: expected 10, runner did 600",
      "no-start.yaml / pod-never-starts / tekton / timeline.pull[2].startedAt: expected 12, runner did 602",
      "no-start.yaml / pod-never-starts / tekton / timeline.pull[2].endedAt: expected 12, runner did 602",
    ],
    why:
      "the job's timeout is a step timeout, which starts only once the step's container runs (targets/tekton/README.md, " +
      "Known differences, per-attempt timeout clock); a pod whose image cannot be pulled fails at " +
      "default-imagepullbackoff-timeout (10m, the README's prerequisite; Pod-start bound)",
  },
};

describe("Tekton's reconcilers run every scenario as the reference interpreter says", () => {
  for (const item of cases()) {
    it(`${item.label(TARGET)}: ${item.scenario.description}`, async (ctx) => {
      const result = await executeCase(item, TARGET, engine());
      if (result.refused !== null) {
        ctx.annotate(`refused by the Tekton target (KFM301): ${result.refused}`);
        ctx.skip();
        return;
      }
      const found = [...result.differences, ...timelineDifferences(item, result.observed)];
      const known = KNOWN_DIFFERENCES[item.label(TARGET)];
      if (known !== undefined) ctx.annotate(`known difference: ${known.why}`);
      expect(found).toEqual(known?.lines ?? []);
    });
  }
});

interface EnvVar {
  name: string;
  value?: string;
}

interface PipelineDoc {
  kind: string;
  spec: {
    tasks: { name: string; retries?: number; taskSpec?: { steps: { name: string; env?: EnvVar[]; params?: EnvVar[] }[] } }[];
    finally?: { name: string }[];
  };
}

function pipelineOf(docs: unknown[]): PipelineDoc {
  const p = docs.find((d) => (d as PipelineDoc).kind === "Pipeline") as PipelineDoc | undefined;
  if (p === undefined) throw new Error("no Pipeline in the output");
  return p;
}

function item(spec: string, scenario: string): ExecutionItem {
  const found = [...cases([spec])].find((i) => i.scenario.name === scenario);
  if (found === undefined) throw new Error(`no scenario ${scenario} of ${spec}`);
  return found;
}

describe("given a broken Tekton output, when the engine runs it, then the comparison reports the difference", () => {
  it("without the finally task kfm-run-status, a failed job's run ends succeeded (continue.yaml / continue-after-failure)", async () => {
    const it0 = item("test/execution/specs/continue.yaml", "continue-after-failure");
    const result = await executeCase(
      it0,
      TARGET,
      engine((docs) => {
        const p = pipelineOf(docs);
        const before = p.spec.finally?.length ?? 0;
        p.spec.finally = (p.spec.finally ?? []).filter((t) => t.name !== "kfm-run-status");
        expect(p.spec.finally.length).toBe(before - 1);
        if (p.spec.finally.length === 0) delete p.spec.finally;
      }),
    );
    if (result.refused !== null) throw new Error(`refused: ${result.refused}`);
    expect(result.observed.run).toBe("succeeded");
    expect(result.differences).toContain(`${it0.label(TARGET)} / run: expected "failed", runner did "succeeded"`);
  });

  it("with timeouts.pipeline alone, a run its timeout stops sends no notification (run-timeout-notify.yaml / run-timeout-notified)", async () => {
    const it0 = item("test/execution/specs/run-timeout-notify.yaml", "run-timeout-notified");
    const result = await executeCase(
      it0,
      TARGET,
      engine(undefined, (docs) => {
        // The construction undone: the workflow timeout as timeouts.pipeline, which skips
        // every finally task when it fires (PipelineTimedOutSkip).
        const run = docs.find((d) => (d as { kind?: string }).kind === "PipelineRun") as { spec: { timeouts: Record<string, string> } } | undefined;
        const tasks = run?.spec.timeouts.tasks;
        if (run === undefined || tasks === undefined) throw new Error("no PipelineRun with timeouts.tasks");
        run.spec.timeouts = { pipeline: tasks };
      }),
    );
    if (result.refused !== null) throw new Error(`refused: ${result.refused}`);
    expect(result.observed.notifications).toEqual([]);
    expect(result.differences.some((d) => d.startsWith(`${it0.label(TARGET)} / notifications`))).toBe(true);
  });

  it("without the run file's starter Job, Tekton's reconciler never starts the pending run (concurrency.yaml / second-run-due)", async () => {
    const it0 = item("test/execution/specs/concurrency.yaml", "second-run-due");
    // The queue (targets/tekton/README.md, Concurrency) with nothing to start the run: it stays PipelineRunPending.
    const broken = executeCase(
      it0,
      TARGET,
      engine(undefined, (docs) => {
        const job = docs.findIndex((d) => (d as { kind?: string }).kind === "Job");
        if (job < 0) throw new Error("no starter Job in the run file");
        docs.splice(job, 1);
      }),
    );
    await expect(broken).rejects.toThrow(/the run never ends: .*PipelineRunPending/);
  });

  it("with one retry too many, a job that fails for good gets one attempt too many (backoff.yaml / fails-for-good)", async () => {
    const it0 = item("test/execution/specs/backoff.yaml", "fails-for-good");
    const result = await executeCase(
      it0,
      TARGET,
      engine((docs) => {
        // The trap "attempts vs retries" as an emitter would fall into it: retries =
        // max_attempts everywhere it is written (the task's retries, the status step's
        // count, one more wait in the wait step's list), so the output is consistent.
        const task = pipelineOf(docs).spec.tasks.find((t) => t.name === "flaky");
        if (task?.retries === undefined || task.taskSpec === undefined) throw new Error("no retried task flaky");
        task.retries += 1;
        // A value of a step: an env value of an inline step, or a param of a step that runs a
        // shared StepAction by `ref`.
        const env = (step: string, name: string, param: string): EnvVar | undefined => {
          const s = task.taskSpec!.steps.find((x) => x.name === step);
          return (
            (s?.env ?? []).find((v) => v.name === name && v.value !== undefined) ?? (s?.params ?? []).find((v) => v.name === param && v.value !== undefined)
          );
        };
        const waits = env("kfm-wait", "KFM_RETRY_WAITS", "waits");
        if (waits === undefined) throw new Error("no kfm-wait step in flaky");
        waits.value = `${waits.value!} ${waits.value!.split(" ").at(-1)!}`;
        // The status step exists under the failure emulation only.
        const retries = env("kfm-status", "KFM_RETRIES", "retries");
        if (retries !== undefined) retries.value = String(Number(retries.value) + 1);
      }),
    );
    if (result.refused !== null) throw new Error(`refused: ${result.refused}`);
    expect(result.actual.jobs.flaky?.attempts.length).toBe(it0.expected.jobs.flaky!.attempts.length + 1);
    expect(result.differences.some((d) => d.startsWith(`${it0.label(TARGET)} / jobs.flaky.attempts`))).toBe(true);
  });
});
