/** Argo Workflows backend (3.7 and v4): see README.md beside this file for every mapping decision. */
import { kubeName } from "../../src/names.js";
import { ROBFIG_CRON } from "../../src/cron.js";
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
  // metadata.name of every object it writes (emit.ts)
  objectName: kubeName,
  // docs/cron-workflows.md, "Daylight Saving": robfig/cron in the CronWorkflow's timezone.
  daylightSaving: ROBFIG_CRON,
  features,
  fileLimit: {
    bytes: 1_000_000,
    severity: "warning",
    rule: "Argo stores workflows as Kubernetes resources in etcd, which must be under 1 MB (argo-workflows docs/offloading-large-workflows.md); applying a larger one can fail with `etcdserver: request is too large` unless the cluster's etcd allows more",
  },
  check,
  emit,
  lift,
  runs,
};
