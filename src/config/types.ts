/**
 * The project configuration, `kfm.config.yaml`: which specs make up the project and
 * where each target's files go. `schemas/config.schema.json` is generated from this
 * file (`npm run docs`); edit the comments here, never the schema.
 *
 * ```yaml
 * specs:
 *   - workflows/*\/workflow.yaml
 *   - path: workflows/payments/*.yaml
 *     targets: [argo]
 * targets:
 *   github-actions:
 *     out: .github/workflows
 *   argo:
 *     out: deploy/argo
 * ```
 */

/** A `kfm.config.yaml` file: the project's specs and targets. */
export interface ProjectConfig {
  /**
   * The spec files of the project: globs relative to the folder of this file (`*`,
   * `**`, `?`, `{a,b}`, and `!` in front to exclude from every entry), each compiled for
   * every target; or `{path, targets}` entries, whose specs are compiled for the listed
   * targets only. Each glob must match at least one file; a spec matched by several
   * entries is compiled for all of their targets. List workflow files (and stand-alone
   * `job:` specs); a job file that a workflow of the project names (`job: jobs/x.yaml`)
   * is read through that workflow and is not compiled on its own even when a glob
   * matches it, so a glob over a whole folder tree (every `.yaml` file under
   * `workflows/`) means the workflows in it.
   * @minItems 1
   */
  specs: (string | SpecEntry)[];
  /**
   * The targets to compile for, by name (`airflow`, `argo`, `tekton`,
   * `github-actions`), each with its output folder.
   * @minProperties 1
   */
  targets: { [target: string]: TargetConfig };
}

/** Specs compiled for some of the project's targets only. */
export interface SpecEntry {
  /** A glob relative to the folder of this file, as in the plain list (`!` globs of the list exclude here too). */
  path: string;
  /**
   * The targets these specs are compiled for, each one of `targets` below; the others
   * skip them (no output, no refusal).
   * @minItems 1
   */
  targets: string[];
}

/** Where one target's files go, and its options. */
export interface TargetConfig {
  /**
   * The output folder, relative to the folder of this file and inside it. Files are
   * written directly into it as `<workflow>.<ext>`; for example `.github/workflows`
   * for GitHub Actions.
   * @minLength 1
   */
  out: string;
  /**
   * The folder for files that start runs by hand (`kubectl create -f`: a manual run, a
   * backfill), relative to the folder of this file and inside it; neither inside `out`
   * nor holding it, so a GitOps tool syncing `out` never creates a run. Default: `out`
   * followed by `-runs` (`deploy/tekton` -> `deploy/tekton-runs`).
   * @minLength 1
   */
  runs?: string;
  /**
   * How this target's files are deployed (namespace, accounts, images, runner labels, ...),
   * never what they mean: each target's options are listed in README.md, "Deploying".
   */
  options?: TargetOptions;
}

/** A target's deployment options, by name (README.md, "Deploying", lists each target's). */
export interface TargetOptions {
  [option: string]: unknown;
}
