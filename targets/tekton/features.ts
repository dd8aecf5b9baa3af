import type { FeatureTable } from "../../src/features.js";

/** How Tekton realises each feature; the README has the detail and the upstream sources. */
export const features: FeatureTable = {
  dependencies: { support: "native", how: "`runAfter` on the pipeline task." },
  "failure.stop-downstream": {
    support: "differs",
    how: "Tekton skips every task not yet started after a failure, independent branches included; downstream is skipped and the run fails as elsewhere (tracked).",
  },
  "retry.attempts": { support: "native", how: "`retries` = max_attempts - 1 on the pipeline task." },
  "retry.constant-wait": { support: "emulated", how: "A first step sleeps the wait for `$(context.task.retry-count)`; Tekton has no retry delay." },
  "retry.exponential": { support: "emulated", how: "The same wait step, reading the list of waits." },
  "retry.max-delay": { support: "emulated", how: "The capped waits are in the wait step's list." },
  "timeout.attempt": { support: "native", how: "`timeout` on the job's step, which starts after the wait step." },
  "timeout.run": { support: "native", how: "`timeouts.pipeline` of the PipelineRun." },
  "timeout.none": { support: "native", how: "`0s` written on every task and on the pipeline, so the 60-minute defaults never apply." },
  "schedule.cron": { support: "emulated", how: "A Kubernetes `CronJob` (with `timeZone`) creates the PipelineRun for each slot." },
  "schedule.window": { support: "emulated", how: "The CronJob's creator script creates no run for a slot outside the window." },
  "schedule.catchup": { support: "refused", how: "A CronJob starts at most the latest missed slot; use kfm-compile backfill runs instead." },
  "schedule.event": { support: "refused", how: "Tekton Pipelines has no event source (Tekton Triggers is out of scope)." },
  "runtime.logical-date": { support: "emulated", how: "A first task, `kfm-context`, computes the values from the `logical-date` parameter as results." },
  "runtime.prev-next": { support: "emulated", how: "`kfm-context` shifts the logical date by the schedule's period." },
  "env.standard": { support: "native", how: "Step `env`." },
  "text.literal": {
    support: "conditional",
    how: "`$` is doubled; text holding a Tekton variable reference such as `$(params.x)` is refused, as Tekton has no escape.",
  },
  resources: { support: "native", how: "Step `computeResources` with requests equal to limits." },
  "command.entrypoint": { support: "native", how: "No `command`: the image entrypoint runs." },
};
