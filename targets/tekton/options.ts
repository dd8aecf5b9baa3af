/**
 * The deployment options of this backend (`targets.tekton.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. README.md
 * beside this file says what each one changes in the output.
 */
import { defaultOptions, option, type OptionDecls, type OptionValues } from "../../src/options.js";
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";
import { DNS1123_LABEL, KUBERNETES_OPTIONS, uiUrlOption } from "../kubernetes.js";

/**
 * Image of the helper steps (`kfm-context`, `kfm-wait`, ...): any image with a POSIX `sh`,
 * `printf` and `sleep` (fractional seconds) works; this one is pinned so runs do not change
 * under us. The option `shellImage` names a mirror or a digest for air-gapped clusters.
 */
export const SHELL_IMAGE = "docker.io/library/busybox:1.37.0";

/**
 * Image of the CronJob's run creator: the official kubectl image, which ships bash, jq and
 * coreutils (kubernetes/kubernetes build/server-image/kubectl/Dockerfile). Pinned by tag.
 */
export const KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.34.1";

const image = (what: string, fallback: string) =>
  option.string({
    description: `The image ${what} (a mirror, or a digest \`name@sha256:...\`). Default: \`${fallback}\`.`,
    default: fallback,
    pattern: /^\S+$/,
    patternText: "an image reference without spaces",
  });

export const OPTIONS = {
  namespace: KUBERNETES_OPTIONS.namespace,
  kustomization: KUBERNETES_OPTIONS.kustomization,
  serviceAccount: option.string({
    description:
      "An existing ServiceAccount the scheduled-run creator (the CronJob's pod) runs as; it needs `create` on `pipelineruns.tekton.dev` and `get` on `jobs.batch`, and with `max_active_runs` the run starter's rights too (README, Accounts). Default: none, so the file carries its own ServiceAccount, Role and RoleBinding.",
    pattern: DNS1123_LABEL,
    patternText: "a ServiceAccount name (lower-case letters, digits and `-`, at most 63)",
  }),
  starterServiceAccount: option.string({
    description:
      "With `max_active_runs`: an existing ServiceAccount the run starter (the `kfm-start-runs` finally task and the runs folder's starter Job) runs as; it needs `get`, `list` and `patch` on `pipelineruns.tekton.dev`, `create` on `leases.coordination.k8s.io` and `get` and `update` on the workflow's Lease `<workflow>-run-queue` (README, Concurrency). Default: none, so the file carries its own ServiceAccount, Role and RoleBinding.",
    pattern: DNS1123_LABEL,
    patternText: "a ServiceAccount name (lower-case letters, digits and `-`, at most 63)",
  }),
  taskServiceAccount: option.string({
    description:
      "The ServiceAccount every TaskRun pod of a run runs as (`PipelineRun.spec.taskRunTemplate.serviceAccountName`); the pods need no API rights of their own. Default: none, so Tekton's `default-service-account` (config-defaults, `default`).",
    pattern: DNS1123_LABEL,
    patternText: "a ServiceAccount name (lower-case letters, digits and `-`, at most 63)",
  }),
  imagePullSecrets: KUBERNETES_OPTIONS.imagePullSecrets,
  podSecurityContext: KUBERNETES_OPTIONS.podSecurityContext,
  jobSecurityContext: option.mapping({
    description:
      "The container `securityContext` of each job's own step (allowPrivilegeEscalation, capabilities, runAsNonRoot, ...), as Kubernetes' SecurityContext: with `podSecurityContext`, what a `restricted` namespace needs of the user's containers. Default: none.",
  }),
  shellImage: image(
    "of the helper steps (`kfm-context`, `kfm-wait`, `kfm-status`, `kfm-failed-<n>`, `kfm-run-status`): any image with a POSIX `sh`, `printf`, `sleep` with fractions, `cat`, `sha256sum` and `cut`",
    SHELL_IMAGE,
  ),
  kubectlImage: image("of the CronJob's run creator and the run starter: `bash`, `jq`, `date` and `kubectl`", KUBECTL_IMAGE),
  curlImage: image("of the failure notifications: `sh`, `sed` and `curl` with SMTP", NOTIFY_CURL_IMAGE),
  approvers: option.strings({
    description:
      "Who may approve or reject the approval gates of a run (user names and `group:<name>` entries), passed as the run's `approvers` param by the scheduled runs and the manual run file. Default: none, which a scheduled workflow with a gate refuses (KFM255): the gate controller would reject every scheduled run at once.",
    pattern: /^\S+$/,
    patternText: "a user name or group:<name>, without spaces",
  }),
  dashboardUrl: uiUrlOption(
    "The Tekton Dashboard's base URL (such as `https://tekton.example.com`): a failure notification links to the run at `<dashboardUrl>/#/namespaces/<namespace>/pipelineruns/<name>`. Default: none, so the notification names the PipelineRun by namespace and name.",
  ),
} satisfies OptionDecls;

export type TektonOptions = OptionValues<typeof OPTIONS>;

/**
 * Every option at its default: what a spec compiled with no config gets. emit, run, check
 * and the runs read the options themselves (no second object derived from them): an option
 * not given is `undefined` (no namespace written, the generated creator account, Tekton's
 * default task account, no pod or job securityContext, no Dashboard link), and an image
 * option not given is its default. The pod securityContext (`podSecurityContext`) applies to
 * the TaskRun pods (`taskRunTemplate.podTemplate.securityContext`), and so to the job steps;
 * the helper steps carry their own restricted container context either way.
 */
export const DEFAULT_OPTIONS = defaultOptions(OPTIONS) as TektonOptions;

/** The options a target entry point is given (possibly partial, or none), with every default filled in. */
export function withDefaults(o: Partial<TektonOptions> | undefined): TektonOptions {
  return { ...DEFAULT_OPTIONS, ...Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) } as TektonOptions;
}
