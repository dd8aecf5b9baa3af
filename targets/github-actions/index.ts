/** The GitHub Actions backend: one workflow file per spec (README.md beside this file). */
import { leastTemplateBytes } from "../../src/expansion.js";
import { UNDOCUMENTED } from "../../src/cron.js";
import type { Target } from "../types.js";
import { OPTIONS } from "./options.js";
import { check } from "./check.js";
import { emit, variableExpression } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const githubActions: Target = {
  name: "github-actions",
  title: "GitHub Actions workflow (YAML), each job a `docker run` on a hosted runner",
  extension: "yml",
  // github/docs on.schedule: "scheduled workflows in skipped hours advance to the next valid
  // time"; nothing is said of the repeated hour.
  daylightSaving: { gap: () => "runs it at the next valid time", fold: () => UNDOCUMENTED },
  options: OPTIONS,
  features,
  // 500 KB is not given in bytes; the smaller reading (500,000) keeps every file GitHub would run.
  fileLimit: {
    bytes: 500_000,
    severity: "error",
    rule: "GitHub does not start runs of a workflow file larger than 500 KB (docs.github.com/en/actions/reference/limits, Workflow file size)",
  },
  // Every job is at least its needs, condition, runner, timeout and the 5 standard
  // variables as step inputs: about 1 KB; 300 bytes keeps a wide margin.
  // Each value at least as its text and output expressions (src/expansion.ts).
  minimumBytes: (ir) =>
    ir.jobs.length * 300 + leastTemplateBytes(ir, (v) => (v === "attempt" || v === "run_token" ? 0 : Buffer.byteLength(variableExpression(v)))),
  check,
  emit,
  lift,
  runs,
};
