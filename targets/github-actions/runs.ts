/**
 * Backfill runs (`kfm-compile backfill`): per logical date, a `workflow_dispatch` with the
 * input `logical_date`, as a `gh workflow run` line (`.sh`) and as the JSON body of
 * `POST /repos/{owner}/{repo}/actions/workflows/<file>/dispatches` (`.dispatches.json`).
 * GitHub cannot refuse a second dispatch of the same date (runs have no name of their
 * own): the run token makes a repeated date the same run to the jobs, and the ledger is
 * the record of what was dispatched. See README.md, "Backfill".
 */
import { backfillMarkLine } from "../../src/header.js";
import { logicalDateText } from "../../src/backfill.js";
import type { Workflow } from "../../src/ir.js";
import { outputBaseName } from "../../src/names.js";
import { runToken } from "../../src/runtime.js";
import type { BackfillRuns, RunsOptions } from "../types.js";
import { MAX_PENDING_RUNS } from "./check.js";
import { LOGICAL_DATE_INPUT, TARGET_NAME } from "./emit.js";

function sh(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const AGAIN =
  "GitHub cannot refuse a second dispatch of a date: dispatch each line once (a repeated date gets the same run token), and record it in the ledger.";

export function runs(ir: Workflow, logicalDates: readonly number[], options: RunsOptions): BackfillRuns {
  const file = `${outputBaseName(ir.name)}.yml`;
  const planned = logicalDates.map((ms) => {
    const logicalDate = logicalDateText(ms);
    return { logicalDate, runToken: runToken(ir.runTokenSeed, ms), name: `gh workflow run ${file} -f ${LOGICAL_DATE_INPUT}=${logicalDate}` };
  });
  // max_active_runs: the dispatched runs queue in the workflow's concurrency group, which holds
  // MAX_PENDING_RUNS pending runs; GitHub cancels a run dispatched when it is full (README, "Concurrency").
  const queue =
    ir.maxActiveRuns !== null && planned.length > MAX_PENDING_RUNS + 1
      ? [
          `# This workflow's runs queue (max_active_runs: 1) and GitHub keeps at most ${MAX_PENDING_RUNS} of them waiting,\n# cancelling the next: dispatch at most ${MAX_PENDING_RUNS + 1} lines at a time, the next ones once those runs ended.\n`,
        ]
      : [];
  const lines = planned.map(
    (r) =>
      `# logical date ${r.logicalDate}, run token ${r.runToken}\ngh workflow run ${sh(file)} --ref ${sh(options.ref)} -f ${LOGICAL_DATE_INPUT}=${r.logicalDate}\n`,
  );
  const dispatches = {
    planned: backfillMarkLine(ir, TARGET_NAME),
    endpoint: `POST /repos/{owner}/{repo}/actions/workflows/${file}/dispatches`,
    runs: planned.map((r) => ({
      logical_date: r.logicalDate,
      run_token: r.runToken,
      body: { ref: options.ref, inputs: { [LOGICAL_DATE_INPUT]: r.logicalDate } },
    })),
  };
  return {
    runs: planned,
    again: AGAIN,
    files: [
      { suffix: ".sh", text: [...queue, ...lines].join("") },
      { suffix: ".dispatches.json", text: JSON.stringify(dispatches, null, 2) + "\n" },
    ],
  };
}
