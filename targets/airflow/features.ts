import type { FeatureTable } from "../../src/features.js";

/** How Airflow realises each feature; the README has the detail and the upstream sources. */
export const features: FeatureTable = {
  dependencies: { support: "native", how: '`>>` edges with `trigger_rule="all_success"` written on every task.' },
  "failure.stop-downstream": { support: "native", how: "`all_success` leaves downstream `upstream_failed`; `fail_fast=False` lets independent tasks finish." },
  "failure.continue": {
    support: "emulated",
    how: '`trigger_rule="all_done"`; a `KfmFailRun` task with `trigger_rule="one_failed"` downstream of every task fails the run, since Airflow takes run state from leaf tasks.',
  },
  "gate.prerequisite": { support: "native", how: "The prerequisite's edges are plain `>>` edges with `all_success`." },
  "gate.approval": {
    support: "native",
    how: "`ApprovalOperator` (Airflow 3.1+ human-in-the-loop) with `fail_on_reject=True` and `defaults=None`, so a rejection or no decision by `response_timeout` fails the gate instead of skipping downstream or approving.",
  },
  "dependency.workflow": {
    support: "native",
    how: '`ExternalTaskSensor` on the other DAG\'s run of the same logical date (`allowed_states=["success"]`, `failed_states=["failed"]`, `mode="reschedule"`, `timeout`), upstream of every first job.',
  },
  "notify.failure": {
    support: "emulated",
    how: 'A curl pod per notification running the shared script (the failed jobs from the run\'s task states, the link from `[api] base_url`, `execution_timeout` 660 s) with `trigger_rule="none_skipped"` after every task and a `one_failed` marker: it runs once, at the end, only in a failed run; the `KfmFailRun` watcher keeps the run failed. With a workflow `timeout` it waits for a `kfm-run-done` marker (`all_done`) instead of every task, since a job the timeout keeps from starting is skipped.',
  },
  "retry.attempts": { support: "native", how: "`retries` = max_attempts - 1." },
  "retry.constant-wait": { support: "native", how: "`retry_delay` with `retry_exponential_backoff=0`, which adds no jitter." },
  "retry.exponential": {
    support: "emulated",
    how: "A `RetryPolicy` (Airflow 3.3) in the DAG file returns each exact wait; Airflow's own backoff adds a jitter that cannot be turned off.",
  },
  "retry.max-delay": { support: "emulated", how: "The capped waits are listed in the `RetryPolicy`." },
  "timeout.attempt": { support: "native", how: "`execution_timeout`, per try." },
  "timeout.run": {
    support: "emulated",
    how: "`KFM_RUN_TIMEOUT` and a `pre_execute=kfm_run_deadline` hook on every job, gate and sensor: before each try it cuts `execution_timeout` (a gate's `response_timeout`) to the time left, skips a job's first try after the deadline and fails any later try; `KfmRetryWaits` ends retry waits at the deadline. Not `dagrun_timeout`, which skips the stopped job instead of failing it and runs no notification.",
  },
  "timeout.none": {
    support: "native",
    how: "`None` written out; pod scheduling and start-up are bounded apart from the attempt, by the one pod-start bound of every target (`schedule_timeout_seconds`, `startup_timeout_seconds`).",
  },
  "schedule.cron": { support: "native", how: "`CronTriggerTimetable(cron, timezone=...)` with interval 0, so the logical date is the fire time." },
  "schedule.window": {
    support: "emulated",
    how: "`end_date`, and with `catchup: true` `start_date`, as pendulum datetimes in the schedule's zone. With `catchup: false` the DAG has no `start_date` (a past one would run the latest past slot as soon as the DAG is deployed) and a first `ShortCircuitOperator` task, `kfm-window`, skips every task of a scheduled run before the start; the run ends successful.",
  },
  "schedule.catchup": { support: "native", how: "`catchup=True`." },
  "schedule.daylight-saving": {
    support: "native",
    how: "CronTriggerTimetable does it itself: a cron covering every hour steps on elapsed time, another reads its slot with `fold=1` (airflow-core `timetables/_cron.py` `_get_next`).",
  },
  "schedule.event": {
    support: "refused",
    how: 'A run started by an asset event has no logical date (the scheduler creates it with `logical_date=None`) and events queued meanwhile start no run of their own; start one run per new object through the REST API with `logical_date` = the event\'s time (README "Event triggers").',
  },
  "runtime.logical-date": { support: "native", how: "`{{ ds }}` and `{{ ts }}` from Airflow's context (UTC)." },
  "runtime.prev-next": { support: "emulated", how: "`logical_date` minus or plus the schedule's period, formatted like `ts`." },
  "env.standard": {
    support: "emulated",
    how: "`env_vars` of the pod; KFM_ATTEMPT is `ti.try_number - ti.max_tries + task.retries`, KFM_RUN_TOKEN a sha256 macro defined in the DAG file.",
  },
  "env.secret": { support: "native", how: "`k8s.V1EnvVar` with `value_from.secret_key_ref`, which Airflow does not template." },
  "concurrency.queue": {
    support: "differs",
    how: "`max_active_runs=N` (runs queue, in order). With `catchup: false` the DAG is written `catchup=True` with no start date (its first run is the next slot after deployment), since with catchup off Airflow skips to the latest slot once the limit frees; so slots missed while the DAG is paused or the scheduler is down also run afterwards, where a DAG without a limit runs only the latest.",
  },
  "text.literal": {
    support: "emulated",
    how: "Text that Jinja would read is written as a Jinja string literal; `$` is doubled against Kubernetes' `$(VAR)` expansion.",
  },
  resources: { support: "native", how: "`container_resources` with requests equal to limits." },
  "command.entrypoint": { support: "native", how: "`cmds=None`: the pod runs the image entrypoint." },
};
