/**
 * What `kfm-compile apply` needs to know of the targets whose files are Kubernetes objects:
 * the labels every object a workflow owns carries, and the kinds each target writes, which
 * `--prune` searches for objects a workflow owned and no longer writes.
 */
import { MANAGED_BY, MANAGED_BY_LABEL, TARGET_LABEL, WORKFLOW_LABEL } from "./kubernetes.js";

/**
 * The labels every object a workflow owns carries (targets/kubernetes.ts): `managed-by=kfm-compile`,
 * the workflow's object name, and the target that wrote it.
 */
export const WORKFLOW_LABELS = {
  managedBy: [MANAGED_BY_LABEL, MANAGED_BY],
  workflow: WORKFLOW_LABEL,
  target: TARGET_LABEL,
} as const;

const RBAC = [
  { apiVersion: "v1", kind: "ServiceAccount" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" },
] as const;

/**
 * Per target, the kinds its files hold: a kind it may write must be listed, or a renamed
 * object of it is never pruned. Never a kind of run (Argo's Workflow, Tekton's PipelineRun,
 * a Job or a Pod): runs started from these objects may carry their labels, and pruning
 * must not delete a run or its history.
 */
export const APPLY_TARGETS: Readonly<Record<string, { readonly kinds: readonly { readonly apiVersion: string; readonly kind: string }[] }>> = {
  argo: {
    kinds: [
      { apiVersion: "argoproj.io/v1alpha1", kind: "WorkflowTemplate" },
      { apiVersion: "argoproj.io/v1alpha1", kind: "CronWorkflow" },
      // Argo Events' objects of an event trigger (a kind the server does not serve is skipped).
      { apiVersion: "argoproj.io/v1alpha1", kind: "EventSource" },
      { apiVersion: "argoproj.io/v1alpha1", kind: "Sensor" },
      { apiVersion: "v1", kind: "ConfigMap" },
      ...RBAC,
    ],
  },
  tekton: {
    kinds: [
      { apiVersion: "tekton.dev/v1", kind: "Pipeline" },
      { apiVersion: "tekton.dev/v1", kind: "Task" },
      // The folder's shared StepActions carry no workflow label: no workflow's --prune selects them.
      { apiVersion: "tekton.dev/v1beta1", kind: "StepAction" },
      { apiVersion: "batch/v1", kind: "CronJob" },
      // Tekton Triggers' objects of an event trigger.
      { apiVersion: "triggers.tekton.dev/v1beta1", kind: "TriggerBinding" },
      { apiVersion: "triggers.tekton.dev/v1beta1", kind: "TriggerTemplate" },
      { apiVersion: "triggers.tekton.dev/v1beta1", kind: "EventListener" },
      { apiVersion: "v1", kind: "ConfigMap" },
      ...RBAC,
    ],
  },
};
