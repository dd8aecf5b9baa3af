import type { FeatureTable } from "../../src/features.js";

/** How Tekton realises each feature; the README has the detail and the upstream sources. */
export const features: FeatureTable = {
  dependencies: { support: "native", how: "`runAfter` on the pipeline task." },
  "failure.stop-downstream": {
    support: "conditional",
    how: "Native when the jobs are layered (every job neither upstream nor downstream of another waits only for jobs upstream of it: a chain, a diamond) and none continues after failures: Tekton's stop creates no new task, and the tasks it did not create are all downstream of the failed job. Otherwise emulated: `onError: continue` (or a `kfm-status` step), an `ok` result, `when` on each parent's `ok`, a `kfm-failed-<n>` task that shows a retried job's failure as a Failed TaskRun, and a `finally` task that fails the run. Under the emulation a retried job with a timeout is refused beside a job that waits for one not upstream of it or is retried, or before one that continues after failures (a last attempt that times out fails the TaskRun for good and stops the run).",
  },
  "failure.continue": {
    support: "emulated",
    how: "The task runs after its parents with no `when` on their `ok` results; the failure emulation keeps failed parents from stopping the run, and `finally` tasks fail it.",
  },
  "gate.prerequisite": { support: "native", how: "The prerequisite edges are plain `runAfter` dependencies." },
  "gate.approval": {
    support: "conditional",
    how: "The manual-approval-gate custom task (`taskRef` kind `ApprovalTask`, approvers from the run's `approvers` param, one approval, `timeout` = the gate's timeout); a reject or timeout fails the CustomRun, which stops the run. Refused without a timeout, or when a job is neither upstream nor downstream of the gate, or continues after it.",
  },
  "dependency.workflow": {
    support: "emulated",
    how: "A first task per upstream, `kfm-wait-<upstream>` (kubectl image, after kfm-context, before every root job), polls every 60 s with `kubectl get pipelinerun <upstream>-<unix minutes of the logical date>` (the name the run creator gives the CronJob's run of that slot, and backfill runs) until its `Succeeded` condition is True (succeeds) or False (fails, and the run stops before any job), or the dependency's timeout passes (fails); a run not created yet is waited for. It runs as the generated `<workflow>-run-waiter` account (`taskRunSpecs`), allowed only to get PipelineRuns.",
  },
  "notify.failure": {
    support: "emulated",
    how: "A `finally` task per notification with `when` `$(tasks.status)` in `Failed`, running the shared script with curl (the failed jobs from `$(tasks.<task>.status)`, the PipelineRun by namespace and name, `timeout: 11m`) and the secret as env. With a workflow timeout the run has `timeouts.tasks` (Tekton still runs `finally` when it fires).",
  },
  "retry.attempts": { support: "native", how: "`retries` = max_attempts - 1 on the pipeline task." },
  "retry.constant-wait": { support: "emulated", how: "A first step sleeps the wait for `$(context.task.retry-count)`; Tekton has no retry delay." },
  "retry.exponential": { support: "emulated", how: "The same wait step, reading the list of waits." },
  "retry.max-delay": { support: "emulated", how: "The capped waits are in the wait step's list." },
  "timeout.attempt": { support: "native", how: "`timeout` on the job's step, which starts after the wait step." },
  "timeout.run": {
    support: "native",
    how: "`timeouts.pipeline` of the PipelineRun; with failure notifications `timeouts.tasks` (then `finally: 11m` and `pipeline` their sum), after which Tekton still runs the notifications.",
  },
  "timeout.none": { support: "native", how: "`0s` written on every job task and on the pipeline, so the 60-minute defaults never apply." },
  "schedule.cron": { support: "emulated", how: "A Kubernetes `CronJob` (with `timeZone`) creates the PipelineRun for each slot." },
  "schedule.window": { support: "emulated", how: "The CronJob's creator script creates no run for a slot outside the window." },
  "schedule.catchup": {
    support: "refused",
    how: "A CronJob starts at most the latest missed slot; the refusal prints the `kfm-compile backfill` command (start day to yesterday) that plans a PipelineRun per missed slot.",
  },
  "schedule.daylight-saving": {
    support: "emulated",
    how: "The CronJob's robfig/cron fires a cron covering every hour so; for another, the schedule adds the hour after a gap slot and the run creator's guard keeps the meaning's instants, reading the zone's clock from its POSIX TZ rule with glibc's `date` (the kubectl image has no tz database). Refused (KFM220): a zone whose changes from 2024 to 2050 follow no single POSIX rule, and, as on Argo, a gap not one hour long or a gap slot at 23:xx.",
  },
  "schedule.event": {
    support: "emulated",
    how: "Tekton Triggers: an EventListener the object store posts S3 event records to; its CEL interceptor passes new objects under the source and writes the record's eventTime, which a TriggerBinding and TriggerTemplate make the PipelineRun's `logical-date`.",
  },
  "runtime.logical-date": { support: "emulated", how: "A first task, `kfm-context`, computes the values from the `logical-date` parameter as results." },
  "runtime.prev-next": { support: "emulated", how: "`kfm-context` shifts the logical date by the schedule's period." },
  "env.standard": {
    support: "emulated",
    how: "Step `env`; `KFM_ATTEMPT` is the `attempt` step result of `kfm-wait` (retry count + 1), `KFM_RUN_TOKEN` a `kfm-context` result computed with `sha256sum`.",
  },
  "env.secret": { support: "native", how: "Step env `valueFrom.secretKeyRef` with the secret's name and key." },
  "concurrency.queue": {
    support: "differs",
    how: "Every run is created `spec.status: PipelineRunPending`; a starter (holding a `coordination.k8s.io` Lease) starts the oldest pending runs while fewer than N are active, run by the creator's Job, by a `finally` task of every run and by a Job in the run files. A run cancelled with `Cancelled` (not `CancelledRunFinally`) or deleted runs no `finally`, so the queue then waits for the next run created; refused with an event trigger.",
  },
  "text.literal": {
    support: "conditional",
    how: "`$` is doubled; the `$` of a Tekton variable reference such as `$(params.x)` is `$(params.kfm-dollar)` (default `$$`), which Tekton's single-pass param substitution leaves unread. Refused: references Tekton replaces after that pass (`$(context.task…)`, `$(results.…)`, `$(steps.…)`, `$(step.…)`, `$(workspaces.…)`, `$(credentials.…)`, `$(artifacts.…)`), and any reference in an image, notification, gate description or workflow name.",
  },
  resources: { support: "native", how: "Step `computeResources` with requests equal to limits." },
  "command.entrypoint": { support: "native", how: "No `command`: the image entrypoint runs." },
};
