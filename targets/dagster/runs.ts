/**
 * Backfill runs (`kfm-compile backfill`): a shell file with one `dagster job launch -f <module> -j <job>` line per
 * logical date, each with the run tag holding its logical date (`--tags` takes a JSON object:
 * dagster/_cli/job.py `job_launch_command`). A fixed run key is not available to the CLI, so a
 * line run again starts a second run of the date; the run token stays the same.
 */
import { logicalDateText } from "../../src/backfill.js";
import type { Workflow } from "../../src/ir.js";
import { outputBaseName } from "../../src/names.js";
import { isoUtc, runToken } from "../../src/runtime.js";
import { shellWord } from "../../src/text.js";
import type { BackfillRuns } from "../types.js";
import { LOGICAL_DATE_TAG, dagsterName, jobFunction } from "./emit.js";

const AGAIN = "A line run again starts a second run of its date, with the same run token.";

export function runs(ir: Workflow, logicalDates: readonly number[]): BackfillRuns {
  const planned = logicalDates.map((ms) => ({
    logicalDate: logicalDateText(ms),
    runToken: runToken(ir.runTokenSeed, ms),
    name: `${dagsterName(ir.name)} ${isoUtc(ms)}`,
  }));
  const lines = logicalDates.map((ms, i) => {
    const r = planned[i]!;
    const tags = JSON.stringify({ [LOGICAL_DATE_TAG]: isoUtc(ms) });
    return `# logical date ${r.logicalDate}, run token ${r.runToken}\ndagster job launch -f ${shellWord(outputBaseName(ir.name) + ".py")} -j ${shellWord(jobFunction(ir.name))} --tags ${shellWord(tags)}\n`;
  });
  return { runs: planned, files: [{ suffix: ".sh", text: lines.join("") }], again: AGAIN };
}
