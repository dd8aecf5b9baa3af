/**
 * The backend contract. A backend is one folder under `targets/` with the same file
 * roles in each (`index.ts` the descriptor, `features.ts` how each feature is
 * realised, `check.ts` what the runner cannot express, `emit.ts` IR to text,
 * `lift.ts` text back to meaning, `README.md` every mapping decision), listed once
 * in `targets/index.ts`.
 */
import type { Problem } from "../src/diagnostics.js";
import type { FeatureTable } from "../src/features.js";
import type { Workflow } from "../src/ir.js";
import type { Summary } from "../src/summary.js";

export interface Target {
  /** The `--target` value and the output sub-folder. */
  readonly name: string;
  /** What the output is, for `kfm-compile targets`. */
  readonly title: string;
  /** Output file extension without the dot. */
  readonly extension: string;
  /** How each feature is realised: the data `explain` and the support matrix print. */
  readonly features: FeatureTable;
  /**
   * Features of the IR this runner cannot express faithfully (code KFM301, the
   * message naming target and feature), located by spec path. Emit is called only
   * when this returns no error.
   */
  check(ir: Workflow): Problem[];
  /** The output file's bytes: a pure function of the IR. */
  emit(ir: Workflow): string;
  /** Reads output produced by `emit` back into its meaning. */
  lift(text: string): Summary;
}
