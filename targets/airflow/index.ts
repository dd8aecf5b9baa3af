/** Airflow 3 DAG files with one KubernetesPodOperator task per job. */
import { leastTemplateBytes } from "../../src/expansion.js";
import type { Target } from "../types.js";
import { check } from "./check.js";
import { emit, escapedLength, jinjaVariable } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const airflow: Target = {
  name: "airflow",
  title: "Apache Airflow 3 DAG (KubernetesPodOperator)",
  extension: "py",
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
