import type { FeatureTable } from "../../src/features.js";

/** How GitHub Actions realises each feature; the README has the detail and the upstream sources. */
export const features: FeatureTable = {
  dependencies: { support: "native", how: "`needs`, with `if: success()` written out." },
  "failure.stop-downstream": { support: "native", how: "Jobs whose needs failed are skipped; other jobs finish; the run ends failed." },
  "failure.continue": {
    support: "native",
    how: "`if: !cancelled() && ...` runs the job once its needs finished, whatever their result (not after a cancel); a failed job still fails the run.",
  },
  "gate.prerequisite": { support: "native", how: "The gate's edges are plain `needs`." },
  "gate.approval": {
    support: "conditional",
    how: "A job on the environment `<workflow>.<gate>`, whose required reviewers (a repository setting, a precondition) approve or reject it; the job fails unless the run's review history shows an approval. A gate timeout, or a workflow timeout, is refused; with none GitHub still fails the gate after 30 days.",
  },
  "dependency.workflow": {
    support: "refused",
    how: "A workflow can be started by another's completion but cannot wait for the other's run of the same logical date: `run-name` sees only the github, inputs and vars contexts, so a scheduled run carries no logical date; compile for Airflow or Argo.",
  },
  "notify.failure": {
    support: "emulated",
    how: "One job per notification needing every job, `if: failure()`, running the shared script with curl (the failed jobs from `toJSON(needs)`, the run's page as the link, `timeout-minutes: 11`); the URL comes from `secrets.<SECRET>_<KEY>`.",
  },
  "retry.attempts": {
    support: "emulated",
    how: "GitHub has no retry: the shared kfm-job.yml runs the container in a loop of max_attempts; a pull or secret failure (within 600 s) is an attempt.",
  },
  "retry.constant-wait": { support: "emulated", how: "The loop sleeps the wait between attempts." },
  "retry.exponential": { support: "emulated", how: "The loop sleeps each listed wait." },
  "retry.max-delay": { support: "emulated", how: "The capped waits are in the loop's list." },
  "timeout.attempt": {
    support: "emulated",
    how: "Each attempt runs under `timeout` and its container is removed; `timeout-minutes` bounds all attempts and waits.",
  },
  "timeout.run": {
    support: "emulated",
    how: "`kfm-context` sets a deadline that every attempt and wait is cut to; GitHub has no run timeout. A `continue` job whose direct need the deadline ended is skipped by its `if:` (that need's `deadline` output).",
  },
  "timeout.none": {
    support: "differs",
    how: "`timeout-minutes` is written as 7200 (the platform's longest); GitHub-hosted runners still stop any job after 6 hours.",
  },
  "schedule.cron": { support: "native", how: "`on.schedule` with `cron` and `timezone` (`Etc/UTC` for UTC); `kfm-context` finds the slot the run is for." },
  "schedule.window": { support: "emulated", how: "`kfm-context` skips every job of a run whose slot is outside the window (the run ends green)." },
  "schedule.catchup": {
    support: "refused",
    how: "GitHub never runs missed slots; the refusal prints the `kfm-compile backfill` command (start day to yesterday) that plans a dispatch per missed slot.",
  },
  "schedule.daylight-saving": {
    support: "emulated",
    how: "GitHub moves a missing slot to the next valid time and does not document a repeated one (github/docs, on.schedule), so a schedule with a slot in a change is written in Etc/UTC: a cron firing every hour as itself (elapsed hours), any other as one cron per UTC offset of the zone, and kfm-context runs only the runs whose instant is a slot's under the meaning (a gap slot an hour late, a fold slot at its second occurrence); the other entry's run is skipped (Berlin's daily 02:30: one skipped run a day).",
  },
  "schedule.event": {
    support: "emulated",
    how: "`on.repository_dispatch` of a type named for the workflow: a relay posts the object store's S3 event notification as the dispatch's `client_payload`, and `kfm-context` runs the jobs only for a new object's record in the bucket under the prefix, with the record's eventTime (whole seconds, UTC) as logical date; any other record skips the run.",
  },
  "runtime.logical-date": { support: "emulated", how: "`kfm-context` computes the values (from the slot, or the `logical_date` input) as job outputs." },
  "runtime.prev-next": { support: "emulated", how: "`kfm-context` shifts the logical date by the schedule's period." },
  "env.standard": {
    support: "emulated",
    how: "`docker run --env`; the run script sets KFM_ATTEMPT per attempt and `kfm-context` computes KFM_RUN_TOKEN (sha256).",
  },
  "env.secret": {
    support: "conditional",
    how: "The job passes `secrets.<SECRET>_<KEY>` to the shared kfm-job.yml in a secret slot (at most 16 a job), which hands it to docker by name; a missing one fails the attempt; refused when two references share a GitHub name or the variable name steers docker.",
  },
  "concurrency.queue": {
    support: "conditional",
    how: "`max_active_runs: 1`: the workflow's concurrency group with `queue: max`, and `kfm-context` dates a scheduled run from its `created_at` (REST, `actions: read`), so a run that waited keeps its slot. The queue holds 100 pending runs: GitHub cancels the next (KFM233 warns when one run may outlast 100 slots). N > 1 is refused: a group runs one run at a time.",
  },
  "text.literal": {
    support: "emulated",
    how: "Values reach a fixed script as `with:` data of a shared workflow (never `run:`); `${{` is written as GitHub's string literal.",
  },
  resources: { support: "conditional", how: "`docker run --cpus/--memory` limits; memory below Docker's 6 MiB minimum is refused." },
  "command.entrypoint": { support: "emulated", how: "`docker run` on the host without `--entrypoint` (a `container:` job would ignore the entrypoint)." },
};
