/**
 * What the Dagster backend does not build yet, or what Dagster cannot express. Each
 * refusal is KFM301 naming the feature, the reason (with its source in Dagster's code,
 * README.md "Refused") and what to do instead. Everything not refused here is emitted
 * with the same meaning.
 */
import { problem, type Problem } from "../../src/diagnostics.js";
import type { Workflow } from "../../src/ir.js";
import { alwaysRuns, dagsterName, jobFunction } from "./emit.js";

export function check(ir: Workflow): Problem[] {
  const problems: Problem[] = [];
  const refuse = (what: string, why: string, instead: string, at: Problem["at"]): void => {
    problems.push(problem("KFM301", `dagster cannot express ${what}: ${why} ${instead}`, at));
  };
  const byName = new Map(ir.jobs.map((j) => [j.name, j]));
  const s = ir.schedule;
  if (s !== null && s.kind === "event") {
    refuse(
      `event trigger \`${s.trigger}\``,
      "Dagster receives no events: a sensor is polled by the daemon (dagster/_core/definitions/sensor_definition.py, dagster/_daemon/sensor.py), so it would have to list the bucket itself, with the code location holding S3 credentials, and date each run by the object's LastModified instead of the event's eventTime, which the spec means.",
      "Use a cron schedule, or have the event source start one run per new object tagged `kfm-compile.dev/logical-date` = the record's eventTime (`dagster job launch --tags`, as `kfm-compile backfill --target dagster` writes it, or GraphQL `launchRun`).",
      s.at,
    );
  }
  // Other workflows (ir.upstream) are waited for by `kfm_wait_<workflow>` ops (README.md
  // "Cross-workflow dependencies"); no job can take that name (KFM211 reserves `kfm_`).
  // Failure notifications are sent by the run failure sensor (README.md "Failure notifications").
  for (const job of ir.jobs) {
    if (dagsterName(job.name) === jobFunction(ir.name)) {
      refuse(
        `a job named \`${job.name}\` in workflow \`${ir.name}\``,
        `its op would be named as the workflow's Dagster job \`${jobFunction(ir.name)}\`, and a code location holds one definition per name (dagster/_core/definitions/repository_definition/repository_data.py \`_check_node_defs\`).`,
        "Rename the job.",
        job.at,
      );
    }
    if (job.runWhen === "all_done") {
      // README.md "on_upstream_failure: continue": the op runs once each upstream op yielded
      // `ended`, which an upstream op abandoned after an earlier failure never does.
      for (const d of job.dependsOn.filter((d) => !alwaysRuns(byName.get(d)!, byName))) {
        refuse(
          `on_upstream_failure: continue on job \`${job.name}\` after \`${d}\``,
          `\`${d}\` does not run when a job before it fails, and Dagster then abandons every op downstream of its op (dagster/_core/execution/plan/active.py \`_all_upstream_outputs_failed_or_abandoned\`), so \`${job.name}\` could not run after it.`,
          `Give \`${d}\` on_upstream_failure: continue too if it may run after such a failure, or remove on_upstream_failure from \`${job.name}\`.`,
          job.at,
        );
      }
      for (const d of job.dependsOn.filter((d) => byName.get(d)!.approval !== null)) {
        refuse(
          `on_upstream_failure: continue on job \`${job.name}\` after the approval gate \`${d}\``,
          `kfm-compile gives a gate's op no \`ended\` output (the one a continue job takes), so Dagster would abandon \`${job.name}\` after a rejected gate (dagster/_core/execution/plan/active.py \`_all_upstream_outputs_failed_or_abandoned\`).`,
          `Remove on_upstream_failure from \`${job.name}\`, or make it depend on the jobs before the gate.`,
          job.at,
        );
      }
    }
  }
  return problems;
}
