/**
 * Backfill runs (`kfm-compile backfill`): one `PipelineRun` per logical date, built as the
 * manual PipelineRun is (pipelineRef, `logical-date`, `approvers` when there are gates,
 * `timeouts` as `runTimeouts` writes them), but with a fixed name, `backfillRunName`: the name the CronJob
 * gives the scheduled run of the same slot, so a date that already ran (on schedule or by
 * an earlier backfill) is not created twice. See README.md, "Backfill".
 */
import { logicalDateText } from "../../src/backfill.js";
import type { Workflow } from "../../src/ir.js";
import { BACKFILL_LOGICAL_DATE_ANNOTATION, BACKFILL_RUN_TOKEN_LABEL, backfillRunName, LOGICAL_DATE_PARAM } from "../../src/names.js";
import { runToken } from "../../src/runtime.js";
import { toYamlStream } from "../../src/yaml.js";
import type { BackfillRuns, PlannedRun, RunsOptions } from "../types.js";
import { buildPipelineRun, starterJob } from "./emit.js";
import { withDefaults, type TektonOptions } from "./options.js";

/** One backfill run, deployed as the manual run is: the namespace, approvers and TaskRun template of the options. */
function pipelineRun(ir: Workflow, run: PlannedRun, o: TektonOptions): unknown {
  const r = buildPipelineRun(
    ir,
    {
      name: run.name,
      ...(o.namespace === undefined ? {} : { namespace: o.namespace }),
      labels: { [BACKFILL_RUN_TOKEN_LABEL]: run.runToken },
      annotations: { [BACKFILL_LOGICAL_DATE_ANNOTATION]: run.logicalDate, [BACKFILL_RUN_TOKEN_LABEL]: run.runToken },
    },
    o,
  );
  return { ...r, spec: { ...r.spec, params: r.spec.params.map((p) => (p.name === LOGICAL_DATE_PARAM ? { ...p, value: run.logicalDate } : p)) } };
}

const AGAIN = "Each PipelineRun has a fixed name (the scheduled run's name for the slot): creating it again fails instead of running a date twice.";

export function runs(ir: Workflow, logicalDates: readonly number[], options?: RunsOptions): BackfillRuns {
  const o = withDefaults(options?.options as Partial<TektonOptions> | undefined);
  const planned = logicalDates.map((ms) => ({ logicalDate: logicalDateText(ms), runToken: runToken(ir.runTokenSeed, ms), name: backfillRunName(ir.name, ms) }));
  return {
    runs: planned,
    // With max_active_runs the runs are created pending, and a starter Job after them starts the oldest while the queue has room (README, Concurrency).
    files: [
      {
        suffix: ".yaml",
        text:
          planned.length === 0 ? "" : toYamlStream([...planned.map((r) => pipelineRun(ir, r, o)), ...(ir.maxActiveRuns === null ? [] : [starterJob(ir, o)])]),
      },
    ],
    again: AGAIN,
  };
}
