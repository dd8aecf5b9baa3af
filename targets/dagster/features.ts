import type { FeatureTable } from "../../src/features.js";

/** How Dagster realises each feature; the README has the detail and the upstream sources. */
export const features: FeatureTable = {
  dependencies: { support: "native", how: "One op per job; an op waits for each job it depends on through an `In(Nothing)` input wired in the `@job` body." },
  "failure.stop-downstream": {
    support: "native",
    how: "Dagster abandons the ops downstream of a failed op and runs the independent ones; the run ends failed (`_core/execution/plan/active.py`).",
  },
  "failure.continue": {
    support: "conditional",
    how: "The upstream op yields an `ended` output before its last failure fails it, and the job's executor runs a step once the outputs it takes exist (`step_dependency_config: require_upstream_step_success: False`): the continue op takes `ended`, the others `result`, which a failed op never yields, so they are abandoned and the run fails. Refused after a job that may itself not run (Dagster abandons ops after an abandoned op).",
  },
  "gate.prerequisite": { support: "native", how: "The prerequisite's edges are plain `In(Nothing)` dependencies." },
  "gate.approval": {
    support: "emulated",
    how: "An op creates the ConfigMap `kfm-gate-<run id>-<gate>` in the jobs' namespace and reads its `kfm-compile.dev/decision` annotation every 5 s. Pending: `kubectl get configmaps -n <namespace> -l kfm-compile.dev/gate`; approve: `kubectl annotate configmap kfm-gate-<run id>-<gate> -n <namespace> kfm-compile.dev/decision=approve`; reject: the same with `=reject` (the run's log shows the command). A rejection, or no decision within the timeout, raises `Failure`. Dagster has no op waiting for a person and no API changing a running run.",
  },
  "dependency.workflow": {
    support: "emulated",
    how: "A first op `kfm_wait_<workflow>` per upstream workflow, which every root op waits for, polls `context.instance.get_runs(RunsFilter(job_name=..., tags={logical date}))` every 60 s: the newest run succeeded passes, failed or canceled fails it, the timeout fails it; both workflows in one Dagster instance.",
  },
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
  "timeout.attempt": {
    support: "differs",
    how: "`execute_k8s_job(timeout=...)` per attempt: it fails the attempt and deletes the Kubernetes Job. The timeout counts from the Job's creation, the pod's scheduling and image pull included (`dagster_k8s/ops/k8s_job_op.py`), where the other targets bound the pod's start apart (10 minutes): the same unless a pod is slow to start.",
  },
  "timeout.run": {
    support: "native",
    how: 'The `dagster/max_runtime` run tag: run monitoring (an instance setting) terminates the run past it and marks it failed. Without a timeout the tag is `"0"`, so no instance default applies.',
  },
  "timeout.none": {
    support: "differs",
    how: '`timeout=None` on each attempt and `dagster/max_runtime` `"0"` on the run. `execute_k8s_job` has no pod-start bound of its own, so an attempt whose pod never starts (a missing image or Secret) waits until someone terminates the run, where the other targets fail it after 10 minutes.',
  },
  "schedule.cron": {
    support: "native",
    how: "`@schedule(cron_schedule=..., execution_timezone=...)`; the run's logical date is the tick's `scheduled_execution_time`.",
  },
  "schedule.window": { support: "emulated", how: "The schedule function returns `SkipReason` for a tick before `start_date` or after `end_date`." },
  "schedule.catchup": {
    support: "emulated",
    how: "A sensor replaces the schedule: each evaluation requests every slot of the scheduler's own tick iterator from `start_date` (or its cursor) to now, oldest first, run key and logical-date tag = the slot. A schedule catches up at most `max_catchup_runs` ticks, none before it was turned on.",
  },
  "schedule.daylight-saving": {
    support: "emulated",
    how: "Dagster's cron iterator (`_utils/schedules.py`) agrees for a cron firing every hour, for a repeated hour and for a skipped slot on the hour; it fires another skipped slot at the end of the gap (02:30 at 03:00), so the schedule adds the hour after such a slot and the schedule function returns `SkipReason` for every tick that is not a slot at the meaning's instant (zoneinfo, PEP 495 `fold`). Refused (KFM220), as on Argo and Tekton: a gap not one hour long or a gap slot at 23:xx.",
  },
  "schedule.event": {
    support: "refused",
    how: "Dagster receives no events: sensors are polled (`_daemon/sensor.py`), so one would list the bucket with S3 credentials in the code location and date runs by LastModified, not the event's eventTime. The event source starts each run with the logical-date tag instead (`dagster job launch --tags`).",
  },
  "runtime.logical-date": {
    support: "emulated",
    how: "The `kfm-compile.dev/logical-date` run tag, set by the schedule (or an operator), else the run's creation time; `ds` and `ts` are rendered from it in UTC.",
  },
  "runtime.prev-next": { support: "emulated", how: "The logical date minus or plus the schedule's period (`KFM_PERIOD`)." },
  "env.standard": { support: "emulated", how: "`env` of the container; KFM_ATTEMPT is `context.retry_number + 1`, KFM_RUN_TOKEN a sha256 in the module." },
  "env.secret": { support: "native", how: "A Kubernetes `valueFrom.secretKeyRef` in `container_config.env`, resolved by the kubelet." },
  "concurrency.queue": {
    support: "conditional",
    how: "Every run of the job carries the run tag `kfm-compile.dev/max-active-runs` (the workflow's name, as a job tag); the instance's QueuedRunCoordinator keeps a run QUEUED while N runs with it are in progress, in order, with the `tag_concurrency_limits` entry `explain` prints as a prerequisite. Dagster has no run limit in a code location, and the DefaultRunCoordinator ignores the tag.",
  },
  "text.literal": { support: "emulated", how: "A format string has `{` and `}` doubled; `$` is doubled against Kubernetes' `$(VAR)` expansion." },
  resources: { support: "native", how: "`execute_k8s_job(resources=...)` with requests equal to limits." },
  "command.entrypoint": { support: "native", how: "`command=None`: the pod runs the image entrypoint." },
};
