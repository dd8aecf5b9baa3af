/**
 * What the Kubernetes backends (Argo, Tekton) and Airflow's pods share. Every pod the
 * compiler adds (helpers, gates, notifications, schedulers) passes Pod Security
 * `restricted` (README "Meanings at a real cluster's edges").
 */
import type { V1SecurityContext } from "@kubernetes/client-node";

/**
 * The uid the compiler's helper containers run as: numeric, so the kubelet can check
 * `runAsNonRoot` without reading the image (an image whose USER is a name, such as the curl
 * image's `curl_user`, fails with CreateContainerConfigError otherwise). 65532 is the
 * conventional "nonroot" uid of distroless images; the helpers need no home or files.
 */
export const HELPER_UID = 65532;

/**
 * The container securityContext of every helper container the compiler adds: the
 * settings Pod Security `restricted` requires of a container
 * (kubernetes.io/docs/concepts/security/pod-security-standards: privilege escalation,
 * capabilities, running as non-root, seccomp), set on the container so that it holds
 * whatever the pod sets.
 */
export const RESTRICTED_CONTAINER_SECURITY_CONTEXT: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  runAsNonRoot: true,
  runAsUser: HELPER_UID,
  seccompProfile: { type: "RuntimeDefault" },
};
