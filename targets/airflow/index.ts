/** Airflow 3 DAG files with one KubernetesPodOperator task per job. */
import { leastTemplateBytes } from "../../src/expansion.js";
import { ROBFIG_CRON, SKIPS } from "../../src/cron.js";
import type { Target } from "../types.js";
import { OPTIONS } from "./options.js";
import { check } from "./check.js";
import { emit, escapedLength, jinjaVariable } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const airflow: Target = {
  name: "airflow",
  title: "Apache Airflow 3 DAG (KubernetesPodOperator)",
  extension: "py",
  // airflow-core timetables/_cron.py: a schedule that is not "fixed" (_is_schedule_fixed:
  // its next two slots differ in hour or minute) is stepped in UTC, so a cron firing every
  // hour skips the gap hour and runs the repeated hour twice; a fixed-time cron fires a gap
  // slot an hour late and a fold slot once, at its later instant (README, Schedules, checked
  // with the real timetable). Other crons are not verified: taken as fixed-time ones.
  daylightSaving: {
    gap: (everyHour) => (everyHour ? SKIPS : "fires it an hour late"),
    fold: (everyHour) => (everyHour ? ROBFIG_CRON.fold(true) : "fires it once, at its second occurrence"),
  },
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
  lift,
  runs,
};
