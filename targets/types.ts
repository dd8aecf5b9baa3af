/**
 * The backend contract. A backend is one folder under `targets/` with the same file
 * roles in each (`index.ts` the descriptor, `features.ts` how each feature is
 * realised, `check.ts` what the runner cannot express, `emit.ts` IR to text,
 * `lift.ts` text back to meaning, `runs.ts` backfill runs, `README.md` every mapping
 * decision), listed once
 * in `targets/index.ts`.
 */
import type { DaylightSaving } from "../src/cron.js";
import type { Problem, Severity } from "../src/diagnostics.js";
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
  /**
   * The name the runner stores the workflow under, when it is not its spec name (for
   * Kubernetes objects, `_` becomes `-`): two workflows of a project whose names map to
   * the same one would replace each other on the runner, so compiling them together is
   * refused (KFM208).
   */
  readonly objectName?: (workflow: string) => string;
  /**
   * What the runner does with a cron slot in a daylight-saving gap or fold (KFM220);
   * without it, every such slot is refused for this target.
   */
  readonly daylightSaving?: DaylightSaving;
  /** How each feature is realised: the data `explain` and the support matrix print. */
  readonly features: FeatureTable;
  /** The largest output file the runner takes, when it has a limit (KFM302). */
  readonly fileLimit?: FileLimit;
  /**
   * A lower bound on the size of the file `emit` would write, so that a file certain to
   * be over an `error` limit is refused without writing it first (test/file-limits.test.ts
   * checks the bound against real output).
   */
  minimumBytes?(ir: Workflow): number;
  /**
   * Features of the IR this runner cannot express faithfully (code KFM301, the
   * message naming target and feature), located by spec path. Emit is called only
   * when this returns no error.
   */
  check(ir: Workflow): Problem[];
  /** The output file's bytes: a pure function of the IR. */
  emit(ir: Workflow): string;
  /** Reads output produced by `emit` (followed by `run`'s file, when the target has one) back into its meaning. */
  lift(text: string): Summary;
  /**
   * A manual run of the workflow, for runners where starting one is creating an object: a
   * file for `kubectl create -f`, kept out of the output folder a GitOps tool syncs with
   * apply (an object to create has `generateName`, which apply refuses).
   */
  run?(ir: Workflow): string;
  /**
   * Backfill (`runs.ts`): one explicit run per logical date (UTC ms, ascending), each
   * carrying its logical date and run token, as the files an operator submits. A pure
   * function of the IR and the dates. Called only when `check` found no error.
   */
  runs?(ir: Workflow, logicalDates: readonly number[], options: RunsOptions): BackfillRuns;
}

/**
 * A runner's limit on the size of what it is given. Checked on the emitted bytes,
 * since only they are what the runner measures.
 */
export interface FileLimit {
  readonly bytes: number;
  /** `error` when the runner refuses or ignores a larger file; `warning` when the limit is a default operators may raise. */
  readonly severity: Severity;
  /** The runner's rule and where it is written down, as the end of a sentence. */
  readonly rule: string;
}

export interface RunsOptions {
  /** The Git ref a GitHub Actions dispatch runs on. */
  readonly ref: string;
}

/** One planned run of a backfill. */
export interface PlannedRun {
  /** The logical date as manual runs take it: `YYYY-MM-DDTHH:MM:SSZ` (UTC). */
  readonly logicalDate: string;
  /** `src/runtime.ts` `runToken` of the logical date. */
  readonly runToken: string;
  /** The run's name on the runner (object name, run id, dispatch line): deterministic. */
  readonly name: string;
}

/** What a backend writes for a backfill: its runs, and the files that hold them. */
export interface BackfillRuns {
  /** One per logical date, in the order given. */
  readonly runs: readonly PlannedRun[];
  /** Files by suffix after `<workflow>.backfill-<from>-<to>` (for example `.yaml`), each holding every run. */
  readonly files: readonly { readonly suffix: string; readonly text: string }[];
  /** One sentence for the files' header: what submitting them a second time does. */
  readonly again: string;
}
