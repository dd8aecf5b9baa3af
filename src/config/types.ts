/**
 * The project configuration, `kfm.config.yaml`: which specs make up the project and
 * where each target's files go. `schemas/config.schema.json` is generated from this
 * file (`npm run docs`); edit the comments here, never the schema.
 *
 * ```yaml
 * specs:
 *   - workflows/*\/workflow.yaml
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
   * `**`, `?`, `{a,b}`, and `!` in front to exclude). Each glob must match at least
   * one file. List workflow files (and stand-alone `job:` specs); a job file that a
   * workflow references (`jobs/*.yaml`) is read through that workflow and needs no
   * entry, and if a glob matches it anyway it also compiles on its own, as a
   * one-job workflow run by hand.
   * @minItems 1
   */
  specs: string[];
  /**
   * The targets to compile for, by name (`airflow`, `argo`, `tekton`,
   * `github-actions`), each with its output folder.
   * @minProperties 1
   */
  targets: { [target: string]: TargetConfig };
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
  /** Per-target options. No target has any yet, so this mapping must be empty when present. */
  options?: TargetOptions;
}

/** Reserved for per-target options: none exist yet. */
export interface TargetOptions {}
