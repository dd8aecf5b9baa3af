/**
 * The deployment options of this backend (`targets.argo.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. README.md
 * beside this file says what each one changes in the output.
 */
import { defaultOptions, option, type OptionDecls, type OptionValues } from "../../src/options.js";
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";
import { KUBERNETES_OPTIONS, uiUrlOption } from "../kubernetes.js";

/** An image reference: no blank, no `{{` (Argo would substitute it), at most 4096 characters. */
const IMAGE = /^(?!.*\{\{)[^\s]+$/;

export const OPTIONS = {
  ...KUBERNETES_OPTIONS,
  securityContext: option.mapping({
    description:
      "The container `securityContext` of every job (allowPrivilegeEscalation, capabilities, ...), as Kubernetes' SecurityContext, written once in `spec.templateDefaults.container`. Default: none; a `restricted` namespace needs it with `podSecurityContext`.",
  }),
  notifyImage: option.string({
    description: `The image that sends failure notifications: a mirror of it, or it by digest; it needs \`sh\`, \`sed\`, \`awk\` and \`curl\`. Default: ${NOTIFY_CURL_IMAGE}.`,
    default: NOTIFY_CURL_IMAGE,
    pattern: IMAGE,
    patternText: "an image reference without blanks or `{{`",
  }),
  nodeSelector: option.mapping({
    description: "Node labels every pod of a run must match (`spec.nodeSelector`, label to value). Default: none.",
  }),
  priorityClassName: option.string({
    description: "The PriorityClass of every pod of a run (`spec.podPriorityClassName`). Default: none.",
    pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    patternText: "a PriorityClass name (lower-case letters, digits, `-` and `.`)",
  }),
  podGC: option.oneOf({
    description:
      "When the controller deletes a run's finished pods (`spec.podGC.strategy`; their logs go with them unless archived). Default: `Never`, none written: pods stay until their run is deleted.",
    values: ["Never", "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"],
    default: "Never",
  }),
  ttlSecondsAfterFinished: option.integer({
    description: "Seconds after a run finishes when the controller deletes it (`spec.ttlStrategy.secondsAfterCompletion`). Default: none, runs stay.",
    minimum: 0,
    maximum: 2147483647,
  }),
  uiUrl: uiUrlOption(
    "The Argo UI's base URL (such as `https://argo.example.com`): a failure notification links to the run at `<uiUrl>/workflows/<namespace>/<name>`. Default: none, so the notification names the Workflow by namespace and name.",
  ),
} satisfies OptionDecls;

export type ArgoOptions = OptionValues<typeof OPTIONS>;

/** Every option at its default: what a spec compiled with no config gets. */
export const DEFAULT_OPTIONS = defaultOptions(OPTIONS) as ArgoOptions;
