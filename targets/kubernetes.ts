/**
 * What the Kubernetes backends (argo, tekton) share: the labels every object carries, the
 * Pod Security `restricted` contexts of the pods the compiler adds, the account objects a
 * runner needs, and the deployment options every Kubernetes output takes. Not a backend:
 * no `Target` here, and the core (src/) does not import it.
 */
import type { V1PolicyRule, V1Role, V1RoleBinding, V1ServiceAccount } from "@kubernetes/client-node";
import { hashComment } from "../src/header.js";
import { option } from "../src/options.js";
import { toYaml } from "../src/yaml.js";
import type { FolderEntry, FolderFile } from "./types.js";

/**
 * Labels on every object a Kubernetes backend writes: who manages it, and which workflow
 * (its object name) it belongs to. `kfm-compile apply --prune` finds a workflow's objects
 * by them (app.kubernetes.io/managed-by is the recommended label,
 * kubernetes.io/docs/concepts/overview/working-with-objects/common-labels).
 */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "kfm-compile";
export const WORKFLOW_LABEL = "kfm-compile.dev/workflow";
/**
 * The target that wrote the object: the same workflow deployed by two targets into one
 * namespace (Argo and Tekton both write ServiceAccounts, Roles and RoleBindings) keeps
 * two sets of objects, and `--prune` for one target must not take the other's.
 */
export const TARGET_LABEL = "kfm-compile.dev/target";

export function objectLabels(objectName: string, target: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [WORKFLOW_LABEL]: objectName, [TARGET_LABEL]: target };
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

/**
 * The account a runner's pods (Argo's executor) or the compiler's own pod (Tekton's run
 * creator) run as: a ServiceAccount, a Role granting exactly `rules`, and the RoleBinding
 * between them, all named `name`, in `namespace` when the option gives one. The binding's
 * subject has a namespace only then: without one the API server reads it as the binding's
 * own namespace (appliesToUser in k8s.io/kubernetes pkg/registry/rbac/validation/rule.go;
 * defaulted in pkg/apis/rbac/v1/defaults.go), wherever the file is applied.
 */
export function accountObjects(
  name: string,
  namespace: string | null,
  labels: Readonly<Record<string, string>>,
  rules: readonly {
    readonly apiGroups: readonly string[];
    readonly resources: readonly string[];
    readonly resourceNames?: readonly string[];
    readonly verbs: readonly string[];
  }[],
): [V1ServiceAccount, V1Role, V1RoleBinding] {
  const metadata = () => ({ name, ...(namespace === null ? {} : { namespace }), labels: { ...labels } });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata() },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: metadata(),
      rules: rules.map((r): V1PolicyRule => ({
        apiGroups: [...r.apiGroups],
        resources: [...r.resources],
        ...(r.resourceNames === undefined ? {} : { resourceNames: [...r.resourceNames] }),
        verbs: [...r.verbs],
      })),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: metadata(),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, ...(namespace === null ? {} : { namespace }) }],
    },
  ];
}

/** The pattern of a UI's base URL option: http(s), and nothing a shell, YAML or a runner's own `$(...)` would read. */
export const UI_URL_PATTERN = /^https?:\/\/[^\s"'\\`$(){}]+$/;

/** A runner UI's base URL (Argo's `uiUrl`, Tekton's `dashboardUrl`), which a failure notification links the run from. */
export function uiUrlOption(description: string) {
  return option.string({
    description,
    pattern: UI_URL_PATTERN,
    patternText: "an http or https URL without spaces, quotes, `$`, parentheses or braces",
  });
}

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
      "Make the output folder a Kustomize base: a `kustomization.yaml` listing its files, and a `kustomizeconfig.yaml` with the image fields an overlay's `images:` must reach in Argo templates and Tekton steps (README, GitOps: Kustomize base and overlays). Default: false.",
    default: false,
  }),
};

/*
 * GitOps packaging (option `kustomization`): a Kustomize base in each output folder, so
 * that an overlay elsewhere in the repository (another namespace, mirrored or pinned
 * images) is what Argo CD, Flux or `kubectl apply -k` deploys. Two folder files:
 *
 * - `kustomization.yaml`: every file kfm-compile writes into the folder (`resources:`), and
 *   `configurations:` naming the second file;
 * - `kustomizeconfig.yaml`: the fields of the target's kinds that hold an image, for the
 *   images transformer. Kustomize by itself reaches only an `image` in an item of a
 *   `containers` or `initContainers` list (kustomize api/filters/imagetag/legacy.go) and the
 *   pod template paths of api/internal/konfig/builtinpluginconsts/images.go; an Argo
 *   template's `container` and a Tekton step are neither, so without this file an overlay's
 *   `images:` would leave them as they are. A base's `configurations:` reach the overlays
 *   built on it: Kustomize merges each accumulated base's transformer config into the
 *   overlay's (api/internal/target/kusttarget.go, `MergeAccumulator`).
 *
 * `resources:` lists the folder's own files by name (not a glob: Kustomize takes none), so a
 * file another tool puts there is not deployed by accident, and a workflow removed from the
 * project leaves the list with it.
 */

/** The kustomization's name: one of the three Kustomize looks for (kustomize api/konfig/general.go `RecognizedKustomizationFileNames`). */
export const KUSTOMIZATION_FILE = "kustomization.yaml";
/** The transformer configuration the kustomization names in `configurations:`. */
export const KUSTOMIZE_CONFIG_FILE = "kustomizeconfig.yaml";

/**
 * A field holding an image, as a Kustomize field spec (kustomize api/types/fieldspec.go): a
 * `/`-separated path from the object's root, `[]` marking a list whose every item is
 * visited (api/filters/fieldspec/fieldspec.go), for objects of one group and kind. `create`
 * is left false: a field the output does not have is never added.
 */
export interface ImageField {
  readonly group: string;
  readonly kind: string;
  readonly path: string;
}

/**
 * The Kustomize base of one output folder when the `kustomization` option is on (else
 * nothing): `imageFields` where the target's kinds hold images that Kustomize does not
 * reach by itself; the resources are the workflows' files (`entries`) and the target's
 * other folder files (`otherFiles`, a shared template); `header` the generated-file
 * header's lines.
 */
export function kustomizeBase(
  imageFields: readonly ImageField[],
  entries: readonly FolderEntry[],
  options: { readonly kustomization?: boolean },
  header: readonly string[],
  otherFiles: readonly string[] = [],
): FolderFile[] {
  if (options.kustomization !== true) return [];
  const resources = [...new Set([...entries.map((e) => e.file), ...otherFiles])].filter((f) => f !== KUSTOMIZATION_FILE && f !== KUSTOMIZE_CONFIG_FILE).sort();
  const kustomization = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources, configurations: [KUSTOMIZE_CONFIG_FILE] };
  const config = { images: imageFields.map((f) => ({ path: f.path, group: f.group, kind: f.kind })) };
  return [
    {
      name: KUSTOMIZATION_FILE,
      text:
        hashComment([
          ...header,
          "A Kustomize base: every file kfm-compile writes into this folder. Deploy an overlay that",
          'lists this folder in its `resources:` (README, Deploying, "GitOps: Kustomize base and',
          'overlays"), or the folder itself with `kubectl apply -k`.',
        ]) + toYaml(kustomization),
    },
    {
      name: KUSTOMIZE_CONFIG_FILE,
      text:
        hashComment([
          ...header,
          "Where these kinds hold images, for an overlay's `images:`: Kustomize by itself rewrites",
          "only an `image` in a `containers` or `initContainers` list (kustomize",
          "api/filters/imagetag/legacy.go) and in pod templates",
          "(api/internal/konfig/builtinpluginconsts/images.go).",
        ]) + toYaml(config),
    },
  ];
}

/**
 * The pod and container security context of every pod kfm-compile adds (the notification pods),
 * which passes Pod Security `restricted` (kubernetes/pod-security-admission `policy/check_*.go`)
 * whatever the deployment's options: written on an Airflow task, it wins over `default_args`. The
 * container's is the one every target's helper containers have (targets/kubernetes.ts); the
 * pod's repeats its user and seccomp profile, so that no pod-level `podSecurityContext` option
 * reaches these pods. The user is numeric because the kubelet cannot check `runAsNonRoot`
 * against a user name (the curl image's `curl_user`); curl needs no home.
 */
export const RESTRICTED_POD_SECURITY_CONTEXT = { runAsNonRoot: true, runAsUser: HELPER_UID, seccompProfile: { type: "RuntimeDefault" } } as const;
