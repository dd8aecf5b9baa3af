/**
 * The backend contract. A backend is one folder under `targets/` with the same file
 * roles in each (`index.ts` the descriptor, `options.ts` its deployment options and
 * how they go together, `features.ts` how each feature is realised, `check.ts` what
 * the runner cannot express, `emit.ts` IR to text, `lift.ts` text back to meaning,
 * `runs.ts` backfill runs, `prerequisites.ts` what a spec needs on the runner,
 * `README.md` every mapping decision), listed once in `targets/index.ts`.
 */
import type { DaylightSaving } from "../src/cron.js";
import type { Problem, Severity } from "../src/diagnostics.js";
import type { FeatureTable } from "../src/features.js";
import type { Workflow } from "../src/ir.js";
import type { OptionDecls } from "../src/options.js";
import type { Summary } from "../src/summary.js";

/**
 * A backend. `O` is its options object (`targets/<t>/options.ts`): every declared option
 * with defaults filled in. Every method taking options also works without them (the
 * defaults), which is what a spec compiled with no config gets.
 */
export interface Target<O extends object = any> {
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
  /**
   * The deployment options this backend takes (`targets.<name>.options` in kfm.config.yaml,
   * `--option name=value`): how a workflow is deployed, never what it means.
   */
  readonly options: OptionDecls;
  /**
   * Checks the options against each other (options that only work together, or that
   * exclude each other), once, when the config and the command line are read: every
   * option already has a valid value of its own, defaults filled in. Each problem's `at`
   * is a path inside the options mapping (`[]` for the mapping itself); the core places
   * it at `targets.<name>.options` in kfm.config.yaml, or reports it for `--option`.
   */
  checkOptions?(options: O): Problem[];
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
  check(ir: Workflow, options?: O): Problem[];
  /** The output file's bytes: a pure function of the IR and the options. */
  emit(ir: Workflow, options?: O): string;
  /**
   * A file that starts one run of the workflow now when given to the runner's create
   * (`kubectl create -f`): an object with a generated name, which `kubectl apply` (and so
   * every GitOps tool) refuses. It is written to the target's runs folder
   * (`<workflow>.run.<extension>`), never the output folder a GitOps tool syncs.
   */
  run?(ir: Workflow, options?: O): string;
  /**
   * Files written once per output folder, from the list of the folder's workflows (a
   * kustomization, a shared template or reusable workflow): a pure function of the list
   * and the options, so `check` can tell them current without compiling every spec.
   * Written only when the whole project (or every spec given) is compiled.
   */
  folderFiles?(entries: readonly FolderEntry[], options: O, header: readonly string[]): readonly FolderFile[];
  /**
   * What this spec needs on the runner before its files run there (Secrets and keys,
   * accounts, feature flags, versions, network reach): `explain --target` prints them.
   */
  prerequisites?(ir: Workflow, options?: O): readonly Prerequisite[];
  /** Reads output produced by `emit` (followed by `run`'s file, when the target has one) back into its meaning. */
  lift(text: string): Summary;
  /**
   * Backfill (`runs.ts`): one explicit run per logical date (UTC ms, ascending), each
   * carrying its logical date and run token, as the files an operator submits. A pure
   * function of the IR and the dates. Called only when `check` found no error.
   */
  runs?(ir: Workflow, logicalDates: readonly number[], options: RunsOptions): BackfillRuns;
}

/** One workflow compiled into an output folder, as `folderFiles` sees it. */
export interface FolderEntry {
  /** The spec name of the workflow. */
  readonly workflow: string;
  /** The output file's base name (`<workflow>.<extension>`). */
  readonly file: string;
}

/** A file written once per output folder. */
export interface FolderFile {
  /** Its base name in the folder. */
  readonly name: string;
  /**
   * Its text, starting with the header lines given to `folderFiles` in the file's
   * comment syntax (the output digest line is sealed by the core).
   */
  readonly text: string;
}

/** One thing a spec needs on the runner. */
export interface Prerequisite {
  /** What kind of thing: the group `explain` lists it under. */
  readonly kind: "runner" | "setting" | "account" | "secret" | "environment" | "image" | "network";
  /** One sentence: what must exist or hold, named as the operator would look for it. */
  readonly text: string;
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
  /** The target's deployment options (defaults when absent). */
  readonly options?: Record<string, unknown>;
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
