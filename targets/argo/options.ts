/**
 * The deployment options of this backend (`targets.argo.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. README.md
 * beside this file says what each one changes in the output.
 */
import { option, type OptionDecls, type OptionValues } from "../../src/options.js";

export const OPTIONS = {
  uiUrl: option.string({
    description:
      "The Argo UI's base URL (such as `https://argo.example.com`): a failure notification links to the run at `<uiUrl>/workflows/<namespace>/<name>`. Default: none, so the notification names the Workflow by namespace and name.",
    pattern: /^https?:\/\/[^\s"\'\\`$(){}]+$/,
    patternText: "an http or https URL without spaces, quotes, `$`, parentheses or braces",
  }),
} satisfies OptionDecls;

export type ArgoOptions = OptionValues<typeof OPTIONS>;
