/**
 * What Tekton Pipelines v1 (with a Kubernetes CronJob for schedules) cannot express
 * faithfully. Each refusal is explained, with its upstream source, in README.md.
 */
import { catchupCommand } from "../../src/backfill.js";
import { problem, type Problem } from "../../src/diagnostics.js";
import { retryWaits, type Job, type Template, type Workflow } from "../../src/ir.js";
import { emulatesFailure, waitText } from "./emit.js";
import { DEFAULT_OPTIONS, type TektonOptions } from "./options.js";

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

/** Characters the notification scripts refuse (JSON strings and mail headers cannot hold them raw). */
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * An approval gate (README "Approval gates"): the manual-approval-gate controller writes no
 * result, so a failed gate cannot be made soft like a job; its failure stops the run. That is
 * the meaning only when every other job is upstream of the gate (finished before it starts)
 * or downstream of it (must not run), and none downstream continues after failures.
 */
function checkGate(ir: Workflow, graph: Graph, gate: Job): Problem[] {
  const out: Problem[] = [];
  const ancestors = reachable(graph.parents, gate.name);
  const below = reachable(graph.children, gate.name);
  const descendants = ir.jobs.filter((j) => j.name !== gate.name && below.has(j.name));
  const independent = ir.jobs.filter((j) => j.name !== gate.name && !ancestors.has(j.name) && !below.has(j.name));
  if (gate.approval!.timeoutSeconds === null) {
    out.push(
      problem(
        "KFM301",
        `tekton cannot express approval gate '${gate.name}' without a timeout: the manual-approval-gate controller has no unbounded wait (a CustomRun without a timeout is rejected after 60 minutes, one with 0s at once). Give the gate a timeout.`,
        gate.at,
      ),
    );
  }
  if (independent.length > 0) {
    out.push(
      problem(
        "KFM301",
        `tekton cannot express approval gate '${gate.name}' beside ${independent.map((j) => `'${j.name}'`).join(", ")}, which ${independent.length === 1 ? "is" : "are"} neither upstream nor downstream of it: a rejected gate fails its CustomRun, the manual-approval-gate writes no result the failure emulation could test, and a failed pipeline task stops the whole run, so those jobs might never start. Make every job depend on the gate or be upstream of it, or compile for another target.`,
        gate.at,
      ),
    );
  }
  const continuing = descendants.filter((j) => j.runWhen === "all_done");
  if (continuing.length > 0) {
    out.push(
      problem(
        "KFM301",
        `tekton cannot express ${continuing.map((j) => `'${j.name}'`).join(", ")} continuing after approval gate '${gate.name}': a rejected gate stops the whole run, so a job downstream of it never runs, even with on_upstream_failure: continue. Remove on_upstream_failure: continue there, or compile for another target.`,
        continuing[0]!.at,
      ),
    );
  }
  const d = gate.description ?? "";
  if (TEKTON_VARIABLE.test(d)) {
    out.push(
      problem("KFM301", `tekton cannot express the description of approval gate '${gate.name}': it holds text Tekton would substitute. Rewrite it.`, gate.at),
    );
  }
  return out;
}

/** The job graph both ways: each job's direct dependencies, and the jobs that depend directly on it. */
interface Graph {
  readonly parents: ReadonlyMap<string, readonly string[]>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

function graphOf(jobs: readonly Job[]): Graph {
  const parents = new Map<string, readonly string[]>();
  const children = new Map<string, string[]>();
  for (const j of jobs) {
    parents.set(j.name, j.dependsOn);
    for (const d of j.dependsOn) {
      const list = children.get(d);
      if (list === undefined) children.set(d, [j.name]);
      else list.push(j.name);
    }
  }
  return { parents, children };
}

/** The jobs reachable from `name` along `edges`, `name` itself excluded unless on a cycle. */
function reachable(edges: ReadonlyMap<string, readonly string[]>, name: string): Set<string> {
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length > 0) {
    for (const next of edges.get(stack.pop()!) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(next);
    }
  }
  return seen;
}

export function check(ir: Workflow, o: TektonOptions = DEFAULT_OPTIONS): Problem[] {
  const problems: Problem[] = [];
  const s = ir.schedule;
  // A scheduled run's gate takes its approvers from the deployment: with none, the
  // manual-approval-gate controller fails the CustomRun at once (README "Approval gates"),
  // so every scheduled run would be rejected at the gate, which no one decided.
  if (s?.kind === "cron" && o.approvers.length === 0) {
    for (const gate of ir.jobs.filter((j) => j.approval !== null)) {
      problems.push(
        problem(
          "KFM255",
          `tekton: approval gate '${gate.name}' of a scheduled workflow has nobody to approve it: a scheduled PipelineRun passes the approvers option to the gate, and with none the manual-approval-gate controller rejects the gate at once, so every scheduled run would fail there. Set the option approvers (targets.tekton.options in kfm.config.yaml, or --option approvers=<user>,group:<name>).`,
          gate.at,
        ),
      );
    }
  }

  if (s?.kind === "cron" && s.catchup) {
    problems.push(
      problem(
        "KFM301",
        `tekton cannot express catchup: true: a Kubernetes CronJob starts at most the latest missed slot (mostRecentScheduleTime, pkg/controller/cronjob/utils.go), never every slot missed since the start date. Set catchup: false and plan the missed PipelineRuns with \`${catchupCommand(ir, "tekton")}\`, then \`kubectl create -f\` the file it writes under tekton-runs/.`,
        s.at,
      ),
    );
  }
  if (ir.timeoutSeconds === 0) {
    problems.push(
      problem(
        "KFM301",
        "tekton cannot express a workflow timeout of 0 seconds: Tekton reads timeouts.pipeline 0s as no timeout. Give a positive timeout or none.",
        [...ir.at, "timeout"],
      ),
    );
  }
  if (ir.maxActiveRuns !== null) {
    problems.push(
      problem(
        "KFM301",
        `tekton cannot express max_active_runs: ${ir.maxActiveRuns} yet: Tekton Pipelines has no run concurrency control, and a CronJob's concurrencyPolicy Forbid drops a due run instead of queueing it (a queue of pending PipelineRuns is designed in targets/tekton/README.md, Concurrency, but not built). Remove max_active_runs for this target, or compile for airflow or argo, which queue runs.`,
        [...ir.at, "max_active_runs"],
      ),
    );
  }
  if (TEKTON_VARIABLE.test(ir.runTokenSeed)) {
    problems.push(
      problem("KFM301", "tekton cannot express the run-token seed of this workflow: it holds text Tekton would substitute. Rename the workflow.", ir.at),
    );
  }
  for (const u of ir.upstream) {
    problems.push(
      problem(
        "KFM301",
        `tekton cannot express the dependency on workflow '${u.workflow}' yet: a Tekton PipelineRun has no built-in wait for another Pipeline's run of the same logical date (a polling first task is designed in targets/tekton/README.md, Cross-workflow dependencies, but not built). Remove the dependency and start this workflow's run for a date once the upstream run for that date has succeeded, or compile for airflow or argo, which wait.`,
        u.at,
      ),
    );
  }
  ir.notifications.forEach((n) => {
    const texts = n.kind === "slack" ? [n.channel] : [n.from, ...n.recipients];
    n.message.forEach((seg) => "text" in seg && texts.push(seg.text));
    const bad = texts.find((t) => CONTROL.test(t) || TEKTON_VARIABLE.test(t));
    if (bad !== undefined) {
      problems.push(
        problem(
          "KFM301",
          `tekton cannot express the ${n.kind} notification text ${JSON.stringify(bad)}: the fixed notification script takes no control characters (line breaks, tabs) in the message, channel, sender or recipients, and Tekton substitutes $(params.…)-like references with no escape. Remove them.`,
          n.at,
        ),
      );
    }
  });
  const emulated = emulatesFailure(ir);
  const gates = ir.jobs.filter((j) => j.approval !== null);
  if (gates.length > 0) {
    const graph = graphOf(ir.jobs);
    for (const gate of gates) problems.push(...checkGate(ir, graph, gate));
  }
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
