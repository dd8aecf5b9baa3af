/**
 * Backfill runs (`kfm-compile backfill`): one `Workflow` per logical date, named by
 * `backfillRunName` (never `generateName`), so creating the same runs again fails on
 * the existing names instead of running a date twice. See README.md, "Backfill".
 */
import { logicalDateText } from "../../src/backfill.js";
import type { Workflow } from "../../src/ir.js";
import {
  ARGO_LOGICAL_DATE_PARAMETER,
  ARGO_SPEC_NAME_ANNOTATION,
  BACKFILL_LOGICAL_DATE_ANNOTATION,
  BACKFILL_RUN_TOKEN_LABEL,
  backfillRunName,
  kubeName,
} from "../../src/names.js";
import { runToken } from "../../src/runtime.js";
import { toYamlStream } from "../../src/yaml.js";
import type { BackfillRuns, PlannedRun, RunsOptions } from "../types.js";
import { API_VERSION, workflowSpec } from "./emit.js";
import { DEFAULT_OPTIONS, type ArgoOptions } from "./options.js";

/**
 * An unscheduled workflow is a WorkflowTemplate: each run references it
 * (`workflowTemplateRef`). A scheduled one is a CronWorkflow, which a Workflow cannot
 * reference, and `argo submit --from cronwf/...` takes the submission time as the
 * logical date; so each run holds the workflow's spec inline, in its manual-run form
 * (the `logical-date` parameter, as the WorkflowTemplate has), with the schedule's period
 * for prev/next.
 */
function workflowObject(ir: Workflow, run: PlannedRun, options: ArgoOptions): Record<string, unknown> {
  const argument = { parameters: [{ name: ARGO_LOGICAL_DATE_PARAMETER, value: run.logicalDate }] };
  const spec =
    ir.schedule?.kind === "cron"
      ? { ...workflowSpec(ir, "parameter", ir.schedule.periodSeconds, options), arguments: argument }
      : { workflowTemplateRef: { name: kubeName(ir.name) }, arguments: argument };
  return {
    apiVersion: API_VERSION,
    kind: "Workflow",
    metadata: {
      name: run.name,
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      labels: { [BACKFILL_RUN_TOKEN_LABEL]: run.runToken },
      annotations: {
        [ARGO_SPEC_NAME_ANNOTATION]: ir.name,
        [BACKFILL_LOGICAL_DATE_ANNOTATION]: run.logicalDate,
        [BACKFILL_RUN_TOKEN_LABEL]: run.runToken,
      },
    },
    spec,
  };
}

const AGAIN = "Each Workflow has a fixed name: creating this file again fails on the existing names instead of running a date twice.";

export function runs(ir: Workflow, logicalDates: readonly number[], runsOptions?: RunsOptions): BackfillRuns {
  const options = { ...DEFAULT_OPTIONS, ...(runsOptions?.options ?? {}) } as ArgoOptions;
  const planned = logicalDates.map((ms) => ({ logicalDate: logicalDateText(ms), runToken: runToken(ir.runTokenSeed, ms), name: backfillRunName(ir.name, ms) }));
  return {
    runs: planned,
    files: [{ suffix: ".yaml", text: planned.length === 0 ? "" : toYamlStream(planned.map((r) => workflowObject(ir, r, options))) }],
    again: AGAIN,
  };
}
