/** Airflow 3 DAG files with one KubernetesPodOperator task per job. */
import type { Target } from "../types.js";
import { check } from "./check.js";
import { emit } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const airflow: Target = {
  name: "airflow",
  title: "Apache Airflow 3 DAG (KubernetesPodOperator)",
  extension: "py",
  features,
  check,
  emit,
  lift,
  runs,
};
