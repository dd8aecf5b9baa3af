/** Argo Workflows backend (3.7 and v4): see README.md beside this file for every mapping decision. */
import type { Target } from "../types.js";
import { check } from "./check.js";
import { emit } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const argo: Target = {
  name: "argo",
  title: "Argo Workflows CronWorkflow (scheduled) or WorkflowTemplate (run by hand), argoproj.io/v1alpha1",
  extension: "yaml",
  features,
  check,
  emit,
  lift,
  runs,
};
