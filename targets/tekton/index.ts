/** Tekton Pipelines v1 backend: see README.md beside this file for every mapping decision. */
import { leastTemplateBytes } from "../../src/expansion.js";
import { kubeName } from "../../src/names.js";
import { ROBFIG_CRON, ROBFIG_CRON_GUARDED, type DaylightSaving } from "../../src/cron.js";
import { kustomizeBase, type ImageField } from "../kubernetes.js";
import type { Target } from "../types.js";
import { OPTIONS, withDefaults, type TektonOptions } from "./options.js";
import { prerequisites } from "./prerequisites.js";
import { check } from "./check.js";
import { emit, manualRun, resultRef, STEP_ACTIONS_FILE, stepActionsFile } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

/**
 * Where this target's objects hold images that Kustomize's images transformer does not
 * reach by itself (targets/kubernetes.ts `kustomizeBase`): the steps of each task's and finally task's embedded `taskSpec`,
 * and the shared StepActions' image; the CronJob's container is a pod template's, which Kustomize reaches.
 * test/targets/kustomize.test.ts fails when emit.ts writes an image elsewhere.
 */
const KUSTOMIZE_IMAGE_FIELDS: readonly ImageField[] = [
  { group: "tekton.dev", kind: "Pipeline", path: "spec/tasks[]/taskSpec/steps[]/image" },
  { group: "tekton.dev", kind: "Pipeline", path: "spec/finally[]/taskSpec/steps[]/image" },
  { group: "tekton.dev", kind: "StepAction", path: "spec/image" },
];

/**
 * robfig/cron guarded as Argo's CronWorkflow is (`ROBFIG_CRON_GUARDED`), when the run
 * creator's guard can read the zone's clock: from the zone's POSIX TZ rule (src/tzrule.ts),
 * the kubectl image having no tz database. A zone whose changes follow no such rule keeps
 * robfig/cron's own firing, which the meaning refuses (KFM220) for a cron not firing every hour.
 */
const CRONJOB_GUARDED: DaylightSaving = {
  gap: (c) =>
    c.everyHour || !c.hourShift || c.posixTzProblem === null
      ? ROBFIG_CRON_GUARDED.gap(c)
      : `${ROBFIG_CRON.gap(c)}, and its run creator's guard cannot read the zone's clock without a tz database (the zone's changes follow no POSIX TZ rule: ${c.posixTzProblem})`,
  fold: (c) =>
    c.everyHour || c.posixTzProblem === null
      ? ROBFIG_CRON_GUARDED.fold(c)
      : `${ROBFIG_CRON.fold(c)}, and its run creator's guard cannot read the zone's clock without a tz database (the zone's changes follow no POSIX TZ rule: ${c.posixTzProblem})`,
};

export const tekton: Target<TektonOptions> = {
  name: "tekton",
  title: "Tekton Pipelines v1 Pipeline, PipelineRun and (for schedules) a Kubernetes CronJob",
  extension: "yaml",
  // metadata.name of every object it writes (emit.ts)
  objectName: kubeName,
  // The CronJob controller schedules with robfig/cron v3 in CronJob.spec.timeZone (README,
  // Schedules): the meaning for a cron firing every hour; for another, the hour after a gap
  // slot added to the schedule and the run creator's guard (emit.ts `creatorScript`).
  daylightSaving: CRONJOB_GUARDED,
  options: OPTIONS,
  features,
  fileLimit: {
    bytes: 1_000_000,
    severity: "warning",
    rule: "Tekton's Pipeline and PipelineRun are Kubernetes resources stored in etcd, whose default request limit is 1.5 MiB (etcd --max-request-bytes), and a file this large holds one near it; applying it can fail with `etcdserver: request is too large` unless the cluster's etcd allows more",
  },
  // Each value at least as its text and result references (src/expansion.ts); `attempt` and the run token are the compiler's own.
  minimumBytes: (ir) => leastTemplateBytes(ir, (v) => (v === "attempt" || v === "run_token" ? 0 : Buffer.byteLength(resultRef(v)))),
  check: (ir, options) => check(ir, withDefaults(options)),
  emit: (ir, options) => emit(ir, withDefaults(options)),
  lift,
  // The manual run: the runs folder, never the synced one (`kubectl apply` refuses generateName).
  run: (ir, options) => manualRun(ir, withDefaults(options)),
  prerequisites,
  runs,
  // The helper steps' StepActions, once per folder (README, "Shared helper steps"), and the Kustomize base listing them.
  folderFiles: (entries, options, header) =>
    entries.length === 0
      ? []
      : [
          { name: STEP_ACTIONS_FILE, text: stepActionsFile(withDefaults(options), header) },
          ...kustomizeBase(KUSTOMIZE_IMAGE_FIELDS, entries, options, header, [STEP_ACTIONS_FILE]),
        ],
};
