/**
 * The deployment options of this backend (`targets.dagster.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. Both are
 * written once, as the arguments of the module's `KfmLauncher` resource (README.md,
 * "Deploying").
 */
import type { OptionDecls, OptionValues } from "../../src/options.js";
import { option } from "../../src/options.js";
import { DNS1123_LABEL } from "../kubernetes.js";

export const OPTIONS = {
  namespace: option.string({
    description:
      "The namespace every job's Kubernetes Job runs in (execute_k8s_job `namespace`). Default: none written, so the K8sRunLauncher's `job_namespace` when the instance has one, else the namespace of the pod the run executes in, else `default`.",
    pattern: DNS1123_LABEL,
    patternText: "a Kubernetes namespace name (lower-case letters, digits and `-`, at most 63)",
  }),
  serviceAccount: option.string({
    description:
      "An existing ServiceAccount the job pods run as (execute_k8s_job `service_account_name`). Default: none written, so the namespace's `default`.",
    pattern: DNS1123_LABEL,
    patternText: "a ServiceAccount name (lower-case letters, digits and `-`, at most 63)",
  }),
} satisfies OptionDecls;

export type DagsterOptions = OptionValues<typeof OPTIONS>;

/** Every option at its default: what a spec compiled with no config gets. */
export const DEFAULT_OPTIONS: DagsterOptions = Object.fromEntries(Object.entries(OPTIONS).map(([k, d]) => [k, d.default])) as DagsterOptions;
