/** The GitHub Actions backend: one workflow file per spec, and the shared reusable workflows of its folder (README.md beside this file). */
import { leastTemplateBytes } from "../../src/expansion.js";
import { MEANING } from "../../src/cron.js";
import type { Target } from "../types.js";
import { checkOptions, OPTIONS, type GithubActionsOptions } from "./options.js";
import { check } from "./check.js";
import { emit, sharedFiles, variableExpression } from "./emit.js";
import { prerequisites } from "./prerequisites.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const githubActions: Target<GithubActionsOptions> = {
  name: "github-actions",
  title: "GitHub Actions workflow (YAML) calling shared reusable workflows, each job a `docker run` on the runner",
  extension: "yml",
  // github/docs on.schedule: "scheduled workflows in skipped hours advance to the next valid
  // time"; nothing is said of the repeated hour. A schedule with a slot in a change is written in
  // Etc/UTC, which has neither: the cron itself for a cron firing every hour whose meaning UTC
  // fires alike (emit.ts `githubScheduleZone`), else one cron per offset of the zone, guarded by
  // kfm-context (emit.ts `githubUtcSchedule`, CONTEXT_SCRIPT `utc_entry_slot`).
  daylightSaving: MEANING,
  options: OPTIONS,
  checkOptions,
  features,
  // 500 KB is not given in bytes; the smaller reading (500,000) keeps every file GitHub would run.
  fileLimit: {
    bytes: 500_000,
    severity: "error",
    rule: "GitHub does not start runs of a workflow file larger than 500 KB (docs.github.com/en/actions/reference/limits, Workflow file size)",
  },
  // Every job is at least its name, needs, condition, `uses:` and the 5 standard
  // variables as JSON: about 450 bytes; 300 bytes keeps a margin.
  // Each value at least as its text and output expressions (src/expansion.ts).
  minimumBytes: (ir) =>
    ir.jobs.length * 300 + leastTemplateBytes(ir, (v) => (v === "attempt" || v === "run_token" ? 0 : Buffer.byteLength(variableExpression(v)))),
  check,
  emit,
  // kfm-context.yml, kfm-job.yml and kfm-approval.yml, which every workflow of the folder calls (README, "Shared reusable workflows").
  folderFiles: (entries, options, header) => (entries.length === 0 ? [] : sharedFiles(options, header)),
  prerequisites,
  lift,
  runs,
};
