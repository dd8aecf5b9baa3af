/**
 * What the Dagster backend does not build yet, or what Dagster cannot express. Each
 * refusal is KFM301 naming the feature, the reason (with its source in Dagster's code,
 * README.md "Refused") and what to do instead. Everything not refused here is emitted
 * with the same meaning.
 */
import { problem, type Problem } from "../../src/diagnostics.js";
import type { Workflow } from "../../src/ir.js";
import { dagsterName, jobFunction } from "./emit.js";

export function check(ir: Workflow): Problem[] {
  const problems: Problem[] = [];
  const refuse = (what: string, why: string, instead: string, at: Problem["at"]): void => {
    problems.push(problem("KFM301", `dagster cannot express ${what}: ${why} ${instead}`, at));
  };
  const s = ir.schedule;
  if (s !== null && s.kind === "event") {
    refuse(
      `event trigger \`${s.trigger}\``,
      "kfm-compile does not yet map it to a Dagster sensor with the same meaning.",
      "Use a cron schedule, or start the job from the event source through Dagster's GraphQL API.",
      s.at,
    );
  }
  if (s !== null && s.kind === "cron" && s.catchup) {
    refuse(
      "catchup: true",
      "a Dagster schedule without partitions launches only the latest missed tick (dagster/_scheduler/scheduler.py), and kfm-compile does not yet write the time-window partitions that would catch up.",
      "Use catchup: false and run the missed dates with `kfm-compile backfill`.",
      [...s.at, "catchup"],
    );
  }
  if (ir.maxActiveRuns !== null) {
    refuse(
      `max_active_runs of ${ir.maxActiveRuns}`,
      "Dagster limits runs per tag with the QueuedRunCoordinator's tag_concurrency_limits, an instance setting (dagster.yaml), and kfm-compile does not yet write the tag and the setting it needs.",
      "Remove max_active_runs, or limit the runs in the instance's run coordinator yourself.",
      [...ir.at, "max_active_runs"],
    );
  }
  for (const u of ir.upstream) {
    refuse(
      `a dependency on workflow \`${u.workflow}\``,
      "kfm-compile does not yet write a Dagster sensor or op that waits for the other job's run of the same logical date.",
      "Remove the dependency, or start this workflow from the other one's success.",
      u.at,
    );
  }
  for (const job of ir.jobs) {
    if (dagsterName(job.name) === jobFunction(ir.name)) {
      refuse(
        `a job named \`${job.name}\` in workflow \`${ir.name}\``,
        `its op would be named as the workflow's Dagster job \`${jobFunction(ir.name)}\`, and a code location holds one definition per name (dagster/_core/definitions/repository_definition/repository_data.py \`_check_node_defs\`).`,
        "Rename the job.",
        job.at,
      );
    }
    if (job.approval !== null) {
      refuse(
        `the approval gate \`${job.name}\``,
        "Dagster has no op that waits for a person's decision, and kfm-compile does not yet emulate one.",
        "Remove the gate, or split the workflow where it stood.",
        job.at,
      );
    }
    if (job.runWhen === "all_done") {
      refuse(
        `on_upstream_failure: continue on job \`${job.name}\``,
        "an op whose upstream op failed never runs in Dagster (dagster/_core/execution/plan/active.py abandons it), and kfm-compile does not yet emulate running it.",
        "Remove on_upstream_failure, or make the upstream job succeed on the failures it may ignore.",
        job.at,
      );
    }
  }
  return problems;
}
