/**
 * What Tekton Pipelines v1 (with a Kubernetes CronJob for schedules) cannot express
 * faithfully. Each refusal is explained, with its upstream source, in README.md.
 */
import { problem, type Problem } from "../../src/diagnostics.js";
import { retryWaits, type Template, type Workflow } from "../../src/ir.js";
import { emulatesFailure, waitText } from "./emit.js";

/**
 * Variable roots Tekton substitutes as `$(root.…)` or `$(root[…])` in step fields, with no
 * escape (pkg/substitution/replacements.go is a plain string replacer; doubling `$` for
 * Kubernetes does not help, `$$(params.x)` still contains `$(params.x)`).
 */
export const TEKTON_VARIABLE_ROOTS = [
  "params",
  "context",
  "tasks",
  "results",
  "steps",
  "step",
  "workspaces",
  "credentials",
  "artifacts",
  "inputs",
  "outputs",
] as const;

const TEKTON_VARIABLE = new RegExp(`\\$\\((?:${TEKTON_VARIABLE_ROOTS.join("|")})[.[]`);

export function check(ir: Workflow): Problem[] {
  const problems: Problem[] = [];
  const s = ir.schedule;
  if (s?.kind === "event") {
    problems.push(
      problem(
        "KFM301",
        `tekton cannot express event trigger '${s.trigger}': Tekton Pipelines has no event source of its own (Tekton Triggers is a separate system this compiler does not target). Use a cron schedule, or start the PipelineRun from your event system.`,
        s.at,
      ),
    );
  }
  if (s?.kind === "cron" && s.catchup) {
    problems.push(
      problem(
        "KFM301",
        "tekton cannot express catchup: true: a Kubernetes CronJob starts at most the latest missed slot, never every slot missed since the start date. Set catchup: false and start missed dates as explicit manual runs (one PipelineRun per logical date).",
        s.at,
      ),
    );
  }
  if (ir.timeoutSeconds === 0) {
    problems.push(
      problem(
        "KFM301",
        "tekton cannot express a workflow timeout of 0 seconds: Tekton reads timeouts.pipeline 0s as no timeout. Give a positive timeout or none.",
        ir.at,
      ),
    );
  }
  if (ir.maxActiveRuns !== null) {
    problems.push(
      problem(
        "KFM301",
        `tekton cannot express max_active_runs: ${ir.maxActiveRuns}: Tekton Pipelines has no run concurrency control, and a CronJob's concurrencyPolicy Forbid drops a due run instead of queueing it. Remove max_active_runs, or compile for airflow or argo, which queue runs.`,
        ir.at,
      ),
    );
  }
  if (TEKTON_VARIABLE.test(ir.runTokenSeed)) {
    problems.push(
      problem("KFM301", "tekton cannot express the run-token seed of this workflow: it holds text Tekton would substitute. Rename the workflow.", ir.at),
    );
  }
  const emulated = emulatesFailure(ir);
  for (const job of ir.jobs) {
    if (emulated && job.retry.maxAttempts > 1 && job.timeoutSeconds !== null) {
      problems.push(
        problem(
          "KFM301",
          `tekton cannot express job '${job.name}' with both retries (max_attempts ${job.retry.maxAttempts}) and a timeout in a workflow with parallel branches or on_upstream_failure: continue: when its last attempt times out, Tekton fails the TaskRun for good (a step timeout cannot be continued), and a retried pipeline task cannot use onError: continue, so Tekton would stop every other branch and skip the jobs that continue after failures. Remove the job's timeout, set max_attempts: 1, or make the workflow a single chain of jobs.`,
          job.at,
        ),
      );
    }
    const literal = (what: string, text: string) => {
      if (TEKTON_VARIABLE.test(text)) {
        problems.push(
          problem(
            "KFM301",
            `tekton cannot express the literal text ${JSON.stringify(text)} in ${what} of job '${job.name}': Tekton replaces $(params.…), $(context.…), $(tasks.…) and similar references in step fields and has no escape for them. Rewrite the text so that no '$(' is directly followed by ${TEKTON_VARIABLE_ROOTS.join(", ")}.`,
            job.at,
          ),
        );
      }
    };
    const template = (what: string, t: Template) => t.forEach((seg) => "text" in seg && literal(what, seg.text));
    literal("image", job.image);
    job.command?.forEach((t, i) => template(`command[${i}]`, t));
    job.args?.forEach((t, i) => template(`args[${i}]`, t));
    job.env.forEach((e) => "value" in e && template(`env ${e.name}`, e.value));
    if (job.timeoutSeconds === 0) {
      problems.push(
        problem(
          "KFM301",
          `tekton cannot express a timeout of 0 seconds for job '${job.name}': Tekton reads a step timeout of 0s as no timeout. Give a positive timeout or none.`,
          job.at,
        ),
      );
    }
    const bad = retryWaits(job.retry).find((w) => !Number.isFinite(w) || !/^\d+(\.\d+)?$/.test(waitText(w)));
    if (bad !== undefined) {
      problems.push(
        problem(
          "KFM301",
          `tekton cannot express the retry wait of ${bad} seconds of job '${job.name}': the emulated wait is a 'sleep' argument and must be a plain decimal number of seconds. Lower max_attempts or backoff_multiplier, or set max_delay.`,
          job.at,
        ),
      );
    }
  }
  return problems;
}
