/**
 * What the Kubernetes backends (argo, tekton) share: the labels every object carries, the
 * Pod Security `restricted` contexts of the pods the compiler adds, the account objects a
 * runner needs, and the deployment options every Kubernetes output takes. Not a backend:
 * no `Target` here, and the core (src/) does not import it.
 */
import { option } from "../src/options.js";

/**
 * Labels on every object a Kubernetes backend writes: who manages it, and which workflow
 * (its object name) it belongs to. `kfm-compile apply --prune` finds a workflow's objects
 * by them (app.kubernetes.io/managed-by is the recommended label,
 * kubernetes.io/docs/concepts/overview/working-with-objects/common-labels).
 */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "kfm-compile";
export const WORKFLOW_LABEL = "kfm-compile.dev/workflow";

export function objectLabels(objectName: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [WORKFLOW_LABEL]: objectName };
}

/**
 * The numeric user the compiler's helper containers run as: `restricted` needs
 * runAsNonRoot, and the kubelet can only verify that for a numeric user
 * (kubernetes pkg/kubelet/kuberuntime/security_context_others.go `verifyRunAsNonRoot`
 * refuses a non-numeric image user). 65532 is the `nonroot` user of distroless images.
 */
export const HELPER_UID = 65532;

/**
 * A container that passes Pod Security `restricted` (kubernetes.io/docs/concepts/security/
 * pod-security-standards, "Restricted"; k8s.io/pod-security-admission policy
 * check_allowPrivilegeEscalation, check_capabilities_restricted, check_runAsNonRoot,
 * check_seccompProfile_restricted).
 */
export const RESTRICTED_CONTAINER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  runAsNonRoot: true,
  runAsUser: HELPER_UID,
  seccompProfile: { type: "RuntimeDefault" },
} as const;

/** A DNS-1123 label: a namespace's or a ServiceAccount's name. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS-1123 subdomain: a Secret's name. */
export const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The deployment options every Kubernetes backend takes; each backend adds its own. */
export const KUBERNETES_OPTIONS = {
  namespace: option.string({
    description:
      "The namespace written into every object (`metadata.namespace`, and the RoleBinding's subjects). Default: none written, so `kubectl apply -n` or the GitOps tool's destination decides.",
    pattern: DNS1123_LABEL,
    patternText: "a Kubernetes namespace name (lower-case letters, digits and `-`, at most 63)",
  }),
  serviceAccount: option.string({
    description:
      "An existing ServiceAccount the workflow's pods run as, with the permissions the target README lists. Default: none, so the output carries its own ServiceAccount, Role and RoleBinding.",
    pattern: DNS1123_LABEL,
    patternText: "a ServiceAccount name (lower-case letters, digits and `-`, at most 63)",
  }),
  imagePullSecrets: option.strings({
    description: "Secrets (type kubernetes.io/dockerconfigjson) the pods pull their images with, from a private registry. Default: none.",
    pattern: DNS1123_SUBDOMAIN,
    patternText: "a Secret name (a DNS-1123 subdomain)",
  }),
  podSecurityContext: option.mapping({
    description:
      "The pod `securityContext` of the user's job pods (runAsUser, fsGroup, ...), as Kubernetes' PodSecurityContext. Default: none, so the image's user; a `restricted` namespace then needs one.",
  }),
  kustomization: option.boolean({
    description:
      "Write a `kustomization.yaml` into the output folder listing its files, with the image field specs an overlay's `images:` needs (README, GitOps: Kustomize base and overlays). Default: false.",
    default: false,
  }),
};
