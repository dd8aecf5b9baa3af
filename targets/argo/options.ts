/**
 * How an Argo file is deployed (targets.argo.options in kfm.config.yaml, or --option):
 * never what it means. Each option is described in README.md ("Options").
 */
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";

export interface ArgoOptions {
  /** metadata.namespace of every object, and of the RoleBinding's subject; none: the namespace `kubectl apply` is given. */
  readonly namespace: string | null;
  /** An existing ServiceAccount every pod of the runs uses; then no ServiceAccount, Role or RoleBinding is written. */
  readonly serviceAccount: string | null;
  /** Secrets (kubernetes.io/dockerconfigjson) every pod pulls its images with. */
  readonly imagePullSecrets: readonly string[];
  /** The pod securityContext of every job's pod (spec.securityContext); helper pods keep their own restricted one. */
  readonly podSecurityContext: Readonly<Record<string, unknown>> | null;
  /** The securityContext of every job's container (spec.templateDefaults.container.securityContext). */
  readonly securityContext: Readonly<Record<string, unknown>> | null;
  /** The image that sends failure notifications (a mirror, or the same image by digest); it must have sh, sed, awk and curl. */
  readonly notifyImage: string;
  /** Node labels every pod must match (spec.nodeSelector). */
  readonly nodeSelector: Readonly<Record<string, string>> | null;
  /** The PriorityClass of every pod (spec.podPriorityClassName). */
  readonly priorityClassName: string | null;
  /** When the controller deletes finished pods (spec.podGC.strategy); none: pods stay until their run is deleted. */
  readonly podGC: "OnPodCompletion" | "OnPodSuccess" | "OnWorkflowCompletion" | "OnWorkflowSuccess" | null;
  /** Seconds after a run finishes when the controller deletes it (spec.ttlStrategy.secondsAfterCompletion); none: runs stay. */
  readonly ttlSecondsAfterFinished: number | null;
}

export const DEFAULT_OPTIONS: ArgoOptions = {
  namespace: null,
  serviceAccount: null,
  imagePullSecrets: [],
  podSecurityContext: null,
  securityContext: null,
  notifyImage: NOTIFY_CURL_IMAGE,
  nodeSelector: null,
  priorityClassName: null,
  podGC: null,
  ttlSecondsAfterFinished: null,
};
