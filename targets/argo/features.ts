import type { FeatureTable } from "../../src/features.js";

/** How Argo Workflows realises each feature; the README has the detail and the upstream sources. */
export const features: FeatureTable = {
  dependencies: { support: "native", how: "DAG task `depends: a.Succeeded && ...` (a bare name would also accept Skipped)." },
  "failure.stop-downstream": { support: "native", how: "`failFast: false` written out; downstream tasks are Omitted and the run ends Failed." },
  "failure.continue": {
    support: "emulated",
    how: "`depends` accepts every finished state of each dependency; a pod-less `kfm-run-status` task that needs every job's success keeps the run Failed (an Omitted leaf takes its failed parent's phase).",
  },
  "gate.prerequisite": { support: "native", how: "Plain `depends` edges (the core adds them)." },
  "gate.approval": {
    support: "emulated",
    how: "A `suspend` template: approve with `argo resume --node-field-selector`, reject with `argo stop --node-field-selector` (the gate fails); a timeout is `suspend.duration` with a supplied output that has no default, so running out errors the gate instead of resuming it.",
  },
  "dependency.workflow": {
    support: "emulated",
    how: "A first `resource` task per upstream workflow (`action: get` of its run of the same logical date: `<cron workflow>-<unix seconds>` for a scheduled run, the backfill run's name for a manual one), `successCondition` Succeeded, `failureCondition` Failed or Error, retried every 60 s only while that run does not exist, bounded by the timeout (`activeDeadlineSeconds`, `backoff.maxDuration`); every first job depends on its success.",
  },
  "notify.failure": {
    support: "emulated",
    how: "An `onExit` DAG with one curl container per notification running the shared script (the failed jobs from `workflow.failures`, the run by namespace and name, `activeDeadlineSeconds` 660), `when: {{workflow.status}} != Succeeded`; credentials from `secretKeyRef`.",
  },
  "retry.attempts": { support: "native", how: "`retryStrategy.limit` = max_attempts - 1, `retryPolicy: Always` so errors are retried too." },
  "retry.constant-wait": { support: "native", how: "`retryStrategy.backoff.duration` with no factor (Argo's constant backoff)." },
  "retry.exponential": {
    support: "conditional",
    how: "`backoff.factor`; the controller reads it as an integer, so a multiplier that is not a whole number is refused.",
  },
  "retry.max-delay": { support: "native", how: "`backoff.cap` (Argo 3.7 and later)." },
  "timeout.attempt": { support: "native", how: "`activeDeadlineSeconds` on the job's template, per attempt." },
  "timeout.run": { support: "native", how: "`spec.activeDeadlineSeconds` of the workflow." },
  "timeout.none": { support: "native", how: "Argo has no default deadline; nothing is written." },
  "schedule.cron": { support: "native", how: "`CronWorkflow` with `schedules` and `timezone` always written, `startingDeadlineSeconds: 0`." },
  "schedule.window": { support: "emulated", how: "A CronWorkflow `when` expression compares the slot with both bounds in the schedule's zone." },
  "schedule.catchup": {
    support: "refused",
    how: "A CronWorkflow starts at most one missed slot; the refusal prints the `kfm-compile backfill` command (start day to yesterday) that plans a Workflow per missed slot.",
  },
  "schedule.daylight-saving": {
    support: "emulated",
    how: "robfig/cron fires a cron covering every hour so; for another, a second schedule at the hour after a gap slot and the `when` guard keep the meaning's instants (a fold's first occurrence and the added hour on other days start no run).",
  },
  "schedule.event": {
    support: "emulated",
    how: "Argo Events: a webhook EventSource the object store posts S3 event records to, and a Sensor that creates a Workflow from the WorkflowTemplate with `logical-date` = the record's eventTime.",
  },
  "runtime.logical-date": {
    support: "emulated",
    how: "Expression tags format `workflow.scheduledTime` (scheduled) or the `logical-date` parameter (manual) in UTC.",
  },
  "runtime.prev-next": { support: "emulated", how: "The same expressions shifted by the schedule's period." },
  "env.standard": {
    support: "emulated",
    how: "Container `env`, the values every job shares once in `spec.templateDefaults` (merged into each template by name); KFM_ATTEMPT is Argo's `retries` + 1 and KFM_RUN_TOKEN `sprig.sha256sum` of the seed and the logical date, in expression tags.",
  },
  "env.secret": { support: "native", how: "Container env `valueFrom.secretKeyRef` (Secret in the run's namespace)." },
  "concurrency.queue": {
    support: "native",
    how: "Workflow-level `synchronization`: a mutex for 1, a semaphore with its ConfigMap (in the same file) for more; waiting runs stay Pending in creation order.",
  },
  "text.literal": {
    support: "conditional",
    how: "`$` is doubled; a literal `{{...}}` is left for Argo to pass through, and refused where Argo would rewrite it (it names an Argo variable, or is unclosed).",
  },
  resources: { support: "native", how: "Container `resources` with requests equal to limits." },
  "command.entrypoint": { support: "native", how: "No `command`: the image entrypoint runs." },
};
