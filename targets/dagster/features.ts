import type { FeatureTable } from "../../src/features.js";

/** How Dagster realises each feature; the README has the detail and the upstream sources. */
export const features: FeatureTable = {
  dependencies: { support: "native", how: "One op per job; an op waits for each job it depends on through an `In(Nothing)` input wired in the `@job` body." },
  "failure.stop-downstream": {
    support: "native",
    how: "Dagster abandons the ops downstream of a failed op and runs the independent ones; the run ends failed (`_core/execution/plan/active.py`).",
  },
  "failure.continue": {
    support: "refused",
    how: "Dagster never runs an op whose upstream op failed; no emulation yet. Make the upstream job succeed on the failures it may ignore.",
  },
  "gate.prerequisite": { support: "native", how: "The prerequisite's edges are plain `In(Nothing)` dependencies." },
  "gate.approval": { support: "refused", how: "Dagster has no op waiting for a person's decision; no emulation yet. Split the workflow where the gate stood." },
  "dependency.workflow": { support: "refused", how: "No sensor waiting for the other job's run of the same logical date yet." },
  "notify.failure": {
    support: "emulated",
    how: "A `@run_failure_sensor` on the workflow's job starts `kfm_notify_job` once per failed run (its timeout included), tagged with the failed jobs; its ops run the shared notification script in the curl image through `KfmLauncher` (credentials by `secretKeyRef`, 660 s bound).",
  },
  "retry.attempts": {
    support: "emulated",
    how: "The op raises `RetryRequested(max_retries=max_attempts - 1)` after a failed attempt, bypassing `RetryPolicy`.",
  },
  "retry.constant-wait": { support: "emulated", how: "`RetryRequested(seconds_to_wait=...)` with the wait listed in the op; no jitter." },
  "retry.exponential": {
    support: "emulated",
    how: "Each exact wait is listed in the op and given to `RetryRequested`: `RetryPolicy`'s `Backoff.EXPONENTIAL` waits `(2^k - 1) * delay`, with no multiplier.",
  },
  "retry.max-delay": { support: "emulated", how: "The capped waits are listed in the op; `RetryPolicy` has no cap." },
  "timeout.attempt": { support: "native", how: "`execute_k8s_job(timeout=...)` per attempt: it fails the attempt and deletes the Kubernetes Job." },
  "timeout.run": {
    support: "native",
    how: 'The `dagster/max_runtime` run tag: run monitoring (an instance setting) terminates the run past it and marks it failed. Without a timeout the tag is `"0"`, so no instance default applies.',
  },
  "timeout.none": { support: "native", how: '`timeout=None` on each attempt and `dagster/max_runtime` `"0"` on the run.' },
  "schedule.cron": {
    support: "native",
    how: "`@schedule(cron_schedule=..., execution_timezone=...)`; the run's logical date is the tick's `scheduled_execution_time`.",
  },
  "schedule.window": { support: "emulated", how: "The schedule function returns `SkipReason` for a tick before `start_date` or after `end_date`." },
  "schedule.catchup": {
    support: "refused",
    how: "A schedule without partitions launches only the latest missed tick; no partitions written yet. Use `kfm-compile backfill`.",
  },
  "schedule.daylight-saving": {
    support: "conditional",
    how: "Dagster's cron iterator (`_utils/schedules.py`) agrees for a cron firing every hour, for a repeated hour and for a skipped slot on the hour; it fires another skipped slot at the end of the gap (02:30 at 03:00), not an hour late, so such a slot is refused (KFM220).",
  },
  "schedule.event": { support: "refused", how: "No sensor with the same meaning yet; start the job through Dagster's GraphQL API." },
  "runtime.logical-date": {
    support: "emulated",
    how: "The `kfm-compile.dev/logical-date` run tag, set by the schedule (or an operator), else the run's creation time; `ds` and `ts` are rendered from it in UTC.",
  },
  "runtime.prev-next": { support: "emulated", how: "The logical date minus or plus the schedule's period (`KFM_PERIOD`)." },
  "env.standard": { support: "emulated", how: "`env` of the container; KFM_ATTEMPT is `context.retry_number + 1`, KFM_RUN_TOKEN a sha256 in the module." },
  "env.secret": { support: "native", how: "A Kubernetes `valueFrom.secretKeyRef` in `container_config.env`, resolved by the kubelet." },
  "concurrency.queue": {
    support: "refused",
    how: "The QueuedRunCoordinator's tag concurrency limits are an instance setting; not written yet.",
  },
  "text.literal": { support: "emulated", how: "A format string has `{` and `}` doubled; `$` is doubled against Kubernetes' `$(VAR)` expansion." },
  resources: { support: "native", how: "`execute_k8s_job(resources=...)` with requests equal to limits." },
  "command.entrypoint": { support: "native", how: "`command=None`: the pod runs the image entrypoint." },
};
