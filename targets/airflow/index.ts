/** Airflow 3 DAG files with one KubernetesPodOperator task per job. */
import { leastTemplateBytes } from "../../src/expansion.js";
import { MEANING } from "../../src/cron.js";
import type { Target } from "../types.js";
import type { AirflowOptions } from "./options.js";
import { OPTIONS } from "./options.js";
import { check } from "./check.js";
import { escapedLength } from "../python.js";
import { emit, jinjaVariable } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { prerequisites } from "./prerequisites.js";
import { runs } from "./runs.js";

export const airflow: Target<AirflowOptions> = {
  name: "airflow",
  title: "Apache Airflow 3 DAG (KubernetesPodOperator)",
  extension: "py",
  // The meaning of a daylight-saving slot is CronTriggerTimetable's own (airflow-core
  // timetables/_cron.py `_get_next`): a cron covering every hour (`_covers_every_hour`) steps
  // on elapsed time (skips the gap, both fold occurrences); another reads the slot with
  // `make_aware` (shared/timezones/timezone.py: `fold=1`, pendulum's `convert`), so a gap
  // slot fires an hour late and a fold slot once, at its second occurrence. Checked with the
  // real timetable over 2024-2030 (test/conformance/dst.conformance.test.ts).
  daylightSaving: MEANING,
  options: OPTIONS,
  features,
  // Each value at least as its text and Jinja variables (src/expansion.ts); `attempt` and the run token are the compiler's own.
  minimumBytes: (ir) => {
    const periodSeconds = ir.schedule?.kind === "cron" ? ir.schedule.periodSeconds : null;
    return leastTemplateBytes(
      ir,
      (v) =>
        v === "attempt" || v === "run_token" || (periodSeconds === null && (v === "prev_execution_date" || v === "next_execution_date"))
          ? 0
          : Buffer.byteLength(jinjaVariable(v, periodSeconds)),
      // Every text is written as a Python string literal, non-ASCII escaped (`pyStr`).
      (text) => escapedLength(text, '"'),
    );
  },
  check,
  emit,
  prerequisites,
  lift,
  runs,
};
