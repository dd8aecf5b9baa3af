/**
 * What Tekton Pipelines v1 (with a Kubernetes CronJob for schedules) cannot express
 * faithfully. Each refusal is explained, with its upstream source, in README.md.
 */
import { catchupCommand } from "../../src/backfill.js";
import { problem, type Problem } from "../../src/diagnostics.js";
import { retryWaits, type Job, type Template, type Workflow } from "../../src/ir.js";
import { emulatesFailure, LITERAL_PARAM_REF, TEKTON_VARIABLE, waitText } from "./emit.js";
import { DEFAULT_OPTIONS, type TektonOptions } from "./options.js";

/**
 * References in literal job text that a Tekton pass after the TaskRun's params pass, or the
 * entrypoint, would still replace once `$(params.kfm-dollar)` has put their `$` back
 * (README, Literal text): the TaskRun's own `$(context.task.…)`/`$(context.taskRun.…)`
 * (`ApplyContexts`), `$(results.…)`, `$(step.…)`/`$(steps.…)` paths and step results,
 * `$(workspaces.…)`, `$(credentials.…)`, `$(artifacts.…)` (`pkg/reconciler/taskrun/taskrun.go`
 * `applyParamsContextsResultsAndWorkspaces`; `pkg/entrypoint/entrypointer.go`
 * `applyStepResultSubstitutions`).
 */
const LATE_TEKTON_VARIABLE = /\$\((?:context\.task(?:Run)?\.|(?:results|steps|step|workspaces|credentials|artifacts)[.[])/;

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
  // Gates keep the stricter rule, no job beside the gate at all: the refinement of `hardFailureReach`
  // (a job beside it that started with it) is proven by execution scenarios for retried jobs only.
  const { beside: independent, continuing } = hardFailureReach(ir, graph, gate, false);
  if (gate.approval!.timeoutSeconds === null) {
    out.push(
      problem(
        "KFM301",
        `tekton cannot express approval gate '${gate.name}' without a timeout: the manual-approval-gate controller has no unbounded wait (a CustomRun without a timeout is rejected after 60 minutes, one with 0s at once). Give the gate a timeout (the longest a decision may take), or compile for airflow or argo, which wait without bound.`,
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

/**
 * What a hard failure of `job` (its TaskRun or CustomRun Failed with no `onError`, so the
 * PipelineRun is stopping: `pkg/reconciler/pipelinerun/resources/pipelinerunstate.go`
 * `IsStopping`) would wrongly stop or hide. Stopping creates no new task (`DAGExecutionQueue`;
 * the task is skipped as `StoppingSkip`, `pipelinerunresolution.go` `skip`), but nothing
 * cancels the TaskRuns already created: they run to the end, and a TaskRun retries by itself
 * (`pkg/reconciler/taskrun/taskrun.go` `finishReconcileUpdateEmitEvents` -> `retryTaskRun`,
 * which looks at the TaskRun alone). The reconciler creates every task whose parents are done
 * in one pass (`pkg/reconciler/pipelinerun/pipelinerun.go` `runNextSchedulableTask` over
 * `DAGExecutionQueue`), and `job` was created once its upstream jobs were all done. So of the
 * jobs neither upstream nor downstream of `job`:
 * - one whose parents are all upstream of `job` (a root: its only parent is kfm-context) was
 *   created no later than `job`, and ends as the meaning says;
 * - `independent`: one with a parent that is not may not have started, and never would;
 * - `hidden` (under the failure emulation only): a retried job ends its last failed attempt
 *   with its TaskRun Succeeded and `ok` = `false`, and the `kfm-failed-<n>` task that shows
 *   the failure is a DAG task, which a stopping run never creates: the failure would not show.
 * Downstream of `job`, every job is skipped by the stop as the meaning skips it, except
 * `continuing` (`all_done`). When all three are empty, stopping is the meaning.
 */
function hardFailureReach(ir: Workflow, graph: Graph, job: Job, emulated: boolean): { beside: Job[]; independent: Job[]; hidden: Job[]; continuing: Job[] } {
  const ancestors = reachable(graph.parents, job.name);
  const below = reachable(graph.children, job.name);
  const beside = ir.jobs.filter((j) => j.name !== job.name && !ancestors.has(j.name) && !below.has(j.name));
  return {
    beside,
    independent: beside.filter((j) => j.dependsOn.some((d) => !ancestors.has(d))),
    hidden: emulated ? beside.filter((j) => j.approval === null && j.retry.maxAttempts > 1 && !j.dependsOn.some((d) => !ancestors.has(d))) : [],
    continuing: ir.jobs.filter((j) => j.name !== job.name && below.has(j.name) && j.runWhen === "all_done"),
  };
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
  if (ir.maxActiveRuns !== null && ir.schedule?.kind === "event") {
    problems.push(
      problem(
        "KFM301",
        `tekton cannot express max_active_runs: ${ir.maxActiveRuns} with an event trigger yet: its runs queue as pending PipelineRuns that a starter starts (targets/tekton/README.md, Concurrency), and the EventListener's TriggerTemplate creates no starter for an event's run. Remove max_active_runs or the event trigger for this target, or compile for airflow or argo, which queue event runs.`,
        [...ir.at, "max_active_runs"],
      ),
    );
  }
  if (TEKTON_VARIABLE.test(ir.runTokenSeed)) {
    problems.push(
      problem("KFM301", "tekton cannot express the run-token seed of this workflow: it holds text Tekton would substitute. Rename the workflow.", ir.at),
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
  const graph = graphOf(ir.jobs);
  for (const gate of ir.jobs.filter((j) => j.approval !== null)) problems.push(...checkGate(ir, graph, gate));
  for (const job of ir.jobs) {
    // A timed-out last attempt fails the TaskRun for good (README, Failure behaviour): only
    // refused where that stops or hides a job the meaning lets run. Without the emulation every
    // failure is hard, and `emulatesFailure` has checked that stopping is the meaning.
    const reach = emulated && job.approval === null && job.retry.maxAttempts > 1 && job.timeoutSeconds !== null ? hardFailureReach(ir, graph, job, true) : null;
    if (reach !== null && (reach.independent.length > 0 || reach.hidden.length > 0 || reach.continuing.length > 0)) {
      const list = (js: readonly Job[]) => js.map((j) => `'${j.name}'`).join(", ");
      const why =
        reach.independent.length > 0
          ? `beside ${list(reach.independent)}, which wait${reach.independent.length === 1 ? "s" : ""} for a job not upstream of '${job.name}' and might never start`
          : reach.hidden.length > 0
            ? `beside the retried ${list(reach.hidden)}, whose last failure would not show once the run stopped (its kfm-failed task would not be created)`
            : `before ${list(reach.continuing)}, which continue${reach.continuing.length === 1 ? "s" : ""} after failures and would never run`;
      problems.push(
        problem(
          "KFM301",
          `tekton cannot express job '${job.name}' with both retries (max_attempts ${job.retry.maxAttempts}) and a timeout ${why}: when its last attempt times out, Tekton fails the TaskRun for good (a step timeout cannot be continued, and a retried pipeline task cannot use onError: continue), and the PipelineRun stops creating tasks. Remove the job's timeout, set max_attempts: 1, or shape the workflow in layers without on_upstream_failure: continue (every job neither upstream nor downstream of another waits only for jobs upstream of it, like a diamond's branches), where Tekton's own stop is the meaning.`,
          job.at,
        ),
      );
    }
    const literal = (what: string, text: string, pattern: RegExp) => {
      if (pattern.test(text)) {
        problems.push(
          problem(
            "KFM301",
            `tekton cannot express the literal text ${JSON.stringify(text)} in ${what} of job '${job.name}': ${
              pattern === TEKTON_VARIABLE
                ? "Tekton substitutes $(params.…)-like references in an image and has no escape for them. Use an image name without '$('."
                : "Tekton still replaces $(context.task.…), $(context.taskRun.…), $(results.…), $(step.…), $(steps.…), $(workspaces.…), $(credentials.…) and $(artifacts.…) references after the parameter pass that lets other literal references through, and has no escape for them. Rewrite the text so that no '$(' is directly followed by one of those names (other references such as $(params.…) are fine)."
            }`,
            job.at,
          ),
        );
      }
    };
    const template = (what: string, t: Template) =>
      t.forEach((seg) => {
        if (!("text" in seg)) return;
        literal(what, seg.text, LATE_TEKTON_VARIABLE);
        // A param reference must be one the TaskRun's validation can find declared (README, Literal text).
        if (/\$\(params[.[]/.test(seg.text.replace(LITERAL_PARAM_REF, ""))) {
          problems.push(
            problem(
              "KFM301",
              `tekton cannot express the literal text ${JSON.stringify(seg.text)} in ${what} of job '${job.name}': after substitution Tekton validates every $(params.…) reference left in a step against the task's params, and only the form $(params.<name>) with a name of letters, digits, '-' and '_' can be declared for it. Rewrite the reference in that form, or so that no '$(' is directly followed by 'params'.`,
              job.at,
            ),
          );
        }
      });
    literal("image", job.image, TEKTON_VARIABLE);
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
