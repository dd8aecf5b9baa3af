/**
 * What Airflow 3 (KubernetesPodOperator) cannot express faithfully. Everything not
 * refused here is emitted with the same meaning; README.md says how and why.
 */
import { problem, type Problem } from "../../src/diagnostics.js";
import { retryWaits, type Workflow } from "../../src/ir.js";
import { MAX_ACTIVE_RUNS, MAX_SECONDS, SENSOR_NO_LIMIT_SECONDS } from "./emit.js";

export function check(ir: Workflow): Problem[] {
  const problems: Problem[] = [];
  if (ir.schedule !== null && ir.schedule.kind === "event") {
    // An asset-driven DAG is not this meaning (README "Event triggers"): the scheduler creates
    // its run with logical_date=None (airflow-core jobs/scheduler_job_runner.py
    // `_create_dag_runs_asset_triggered`), so `ds`/`ts` are absent from the context
    // (task-sdk execution_time/task_runner.py `get_template_context`), and events that queue
    // meanwhile start no run of their own (models/asset.py: AssetDagRunQueue keyed by asset and DAG).
    problems.push(
      problem(
        "KFM301",
        `airflow cannot express an event trigger (\`${ir.schedule.trigger}\`): a DAG run started by an Airflow asset event has no logical date, and an event that arrives while the DAG is already queued starts no run of its own, where the spec means one run per new object dated by its event. Use a cron schedule, or drop the schedule and have the event source start one run per new object through Airflow's REST API (POST /api/v2/dags/<dag_id>/dagRuns with \`logical_date\` = the S3 record's eventTime in whole seconds UTC).`,
        ir.schedule.at,
      ),
    );
  }
  if (ir.maxActiveRuns !== null && ir.maxActiveRuns >= MAX_ACTIVE_RUNS) {
    problems.push(
      problem(
        "KFM301",
        `airflow cannot express max_active_runs of ${ir.maxActiveRuns}: Airflow keeps it in a 32-bit column and kfm-compile writes ${MAX_ACTIVE_RUNS} for "no limit". Use a smaller limit, or none.`,
        [...ir.at, "max_active_runs"],
      ),
    );
  }
  const tooLong = (what: string, seconds: number, at: Problem["at"]): void => {
    problems.push(
      problem(
        "KFM301",
        `airflow cannot express ${what} of ${seconds} seconds: Airflow keeps retry times and timeouts as Python datetimes, which end in the year 9999, so kfm-compile accepts at most ${MAX_SECONDS} seconds (about 3,168 years). Use a shorter duration or a lower max_delay.`,
        at,
      ),
    );
  };
  if (ir.timeoutSeconds !== null && ir.timeoutSeconds > MAX_SECONDS) tooLong("a workflow timeout", ir.timeoutSeconds, ir.at);
  for (const u of ir.upstream) {
    if (u.timeoutSeconds !== null && u.timeoutSeconds >= SENSOR_NO_LIMIT_SECONDS) {
      problems.push(
        problem(
          "KFM301",
          `airflow cannot express a dependency timeout of ${u.timeoutSeconds} seconds: kfm-compile writes an ExternalTaskSensor timeout of ${SENSOR_NO_LIMIT_SECONDS} seconds for "no limit" (None would mean the deployment's 7-day default). Use a shorter timeout, or none.`,
          u.at,
        ),
      );
    }
  }
  for (const job of ir.jobs) {
    if (job.timeoutSeconds !== null && job.timeoutSeconds > MAX_SECONDS) tooLong("a job timeout", job.timeoutSeconds, job.at);
    if (job.approval !== null && job.approval.timeoutSeconds !== null && job.approval.timeoutSeconds > MAX_SECONDS)
      tooLong("an approval timeout", job.approval.timeoutSeconds, job.at);
    const longest = Math.max(0, ...retryWaits(job.retry));
    if (longest > MAX_SECONDS) tooLong("a retry wait", longest, job.at);
  }
  return problems;
}
