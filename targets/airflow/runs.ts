/**
 * Backfill runs (`kfm-compile backfill`): a shell file with one
 * `airflow dags trigger <dag_id> --run-id <id> --logical-date <ts>` line per logical date
 * (Airflow 3 CLI, `airflow-core/src/airflow/cli/cli_config.py`: `trigger` takes `dag_id`,
 * `-r/--run-id`, `-c/--conf`, `-l/--logical-date`). Not `airflow backfill create`: that
 * hands the whole range to the scheduler, which creates the runs itself (a loop the
 * operator does not see run by run). The run id is fixed per date (`airflowBackfillRunId`),
 * so running a line again fails on the existing run instead of running the date twice; the
 * lines are independent (no `set -e`), so one existing run does not stop the others.
 */
import { logicalDateText } from "../../src/backfill.js";
import type { Workflow } from "../../src/ir.js";
import { airflowBackfillRunId, airflowId } from "../../src/names.js";
import { isoUtc, runToken } from "../../src/runtime.js";
import type { BackfillRuns } from "../types.js";

/** Single-quoted for POSIX sh (dag ids and dates hold no quote, but quote anyway). */
function sh(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const AGAIN = "Each DAG run has a fixed run id: a line run again fails on the existing run instead of running the date twice.";

export function runs(ir: Workflow, logicalDates: readonly number[]): BackfillRuns {
  const planned = logicalDates.map((ms) => ({
    logicalDate: logicalDateText(ms),
    runToken: runToken(ir.runTokenSeed, ms),
    name: airflowBackfillRunId(isoUtc(ms)),
  }));
  const lines = logicalDates.map((ms, i) => {
    const r = planned[i]!;
    return `# logical date ${r.logicalDate}, run token ${r.runToken}\nairflow dags trigger ${sh(airflowId(ir.name))} --run-id ${sh(r.name)} --logical-date ${sh(isoUtc(ms))}\n`;
  });
  return { runs: planned, files: [{ suffix: ".sh", text: lines.join("") }], again: AGAIN };
}
