/**
 * The deployment options of this backend (`targets.tekton.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. README.md
 * beside this file says what each one changes in the output.
 */
import { option, type OptionDecls, type OptionValues } from "../../src/options.js";
import { KUBERNETES_OPTIONS } from "../kubernetes.js";

export const OPTIONS = {
  kustomization: KUBERNETES_OPTIONS.kustomization,
  dashboardUrl: option.string({
    description:
      "The Tekton Dashboard's base URL (such as `https://tekton.example.com`): a failure notification links to the run at `<dashboardUrl>/#/namespaces/<namespace>/pipelineruns/<name>`. Default: none, so the notification names the PipelineRun by namespace and name.",
    pattern: /^https?:\/\/[^\s"\'\\`$(){}]+$/,
    patternText: "an http or https URL without spaces, quotes, `$`, parentheses or braces",
  }),
} satisfies OptionDecls;

export type TektonOptions = OptionValues<typeof OPTIONS>;
