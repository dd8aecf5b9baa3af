/** Argo Workflows backend (3.7 and v4): see README.md beside this file for every mapping decision. */
import { leastTemplateBytes } from "../../src/expansion.js";
import { kubeName } from "../../src/names.js";
import { ROBFIG_CRON_GUARDED } from "../../src/cron.js";
import { kustomizeBase, type ImageField } from "../kubernetes.js";
import type { Target } from "../types.js";
import { OPTIONS, type ArgoOptions } from "./options.js";
import { prerequisites } from "./prerequisites.js";
import { check } from "./check.js";
import { emit, runtimeTag } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

/**
 * Where this target's objects hold images that Kustomize's images transformer does not
 * reach by itself (targets/kubernetes.ts `kustomizeBase`): each template's `container` (a WorkflowTemplate's `spec.templates`, a CronWorkflow's
 * `spec.workflowSpec.templates`).
 * test/targets/kustomize.test.ts fails when emit.ts writes an image elsewhere.
 */
const KUSTOMIZE_IMAGE_FIELDS: readonly ImageField[] = [
  { group: "argoproj.io", kind: "WorkflowTemplate", path: "spec/templates[]/container/image" },
  { group: "argoproj.io", kind: "CronWorkflow", path: "spec/workflowSpec/templates[]/container/image" },
];

export const argo: Target<ArgoOptions> = {
  name: "argo",
  title: "Argo Workflows CronWorkflow (scheduled) or WorkflowTemplate (run by hand), argoproj.io/v1alpha1",
  extension: "yaml",
  // metadata.name of every object it writes (emit.ts)
  objectName: kubeName,
  // docs/cron-workflows.md, "Daylight Saving": robfig/cron in the CronWorkflow's timezone; the
  // schedule and `when` guard of `dstGuard` (emit.ts `cronWhen`) fire the meaning's instants.
  daylightSaving: ROBFIG_CRON_GUARDED,
  options: OPTIONS,
  features,
  fileLimit: {
    bytes: 1_000_000,
    severity: "warning",
    rule: "Argo stores workflows as Kubernetes resources in etcd, which must be under 1 MB (argo-workflows docs/offloading-large-workflows.md); applying a larger one can fail with `etcdserver: request is too large` unless the cluster's etcd allows more",
  },
  // Each value at least as its text and expression tags (src/expansion.ts), the shorter
  // scheduled-date form of the tag; `attempt` and the run token are the compiler's own.
  minimumBytes: (ir) => {
    const periodSeconds = ir.schedule?.kind === "cron" ? ir.schedule.periodSeconds : null;
    return leastTemplateBytes(ir, (v) =>
      v === "attempt" || v === "run_token" || (periodSeconds === null && (v === "prev_execution_date" || v === "next_execution_date"))
        ? 0
        : Buffer.byteLength(runtimeTag(v, { source: "scheduled", periodSeconds, runTokenSeed: "" }, false)),
    );
  },
  check,
  emit,
  prerequisites,
  lift,
  runs,
  folderFiles: (entries, options, header) => kustomizeBase(KUSTOMIZE_IMAGE_FIELDS, entries, options, header),
};
