/** Tekton Pipelines v1 backend: see README.md beside this file for every mapping decision. */
import type { Target } from "../types.js";
import { check } from "./check.js";
import { emit } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const tekton: Target = {
  name: "tekton",
  title: "Tekton Pipelines v1 Pipeline, PipelineRun and (for schedules) a Kubernetes CronJob",
  extension: "yaml",
  features,
  check,
  emit,
  lift,
  runs,
};
