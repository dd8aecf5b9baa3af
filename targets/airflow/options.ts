/**
 * The deployment options of this backend (`targets.airflow.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. README.md
 * beside this file says what each one changes in the output.
 */
import type { OptionDecls, OptionValues } from "../../src/options.js";

export const OPTIONS = {} satisfies OptionDecls;

export type AirflowOptions = OptionValues<typeof OPTIONS>;
