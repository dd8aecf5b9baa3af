/**
 * Deployment options of the GitHub Actions backend (README.md beside this file, "Options").
 * They change where and how the jobs run, never what a workflow means: the same spec with
 * any options lifts to the same meaning.
 */

export interface GithubActionsOptions {
  /**
   * `runs-on` of every generated job: one label or several, all of which a runner must
   * carry. GitHub-hosted runners cannot reach a private network (a cluster's
   * `*.svc.cluster.local`); self-hosted runners are chosen by their labels.
   */
  readonly runsOn: readonly string[];
  /**
   * A registry to log in to before an attempt pulls its image (`docker login
   * --password-stdin`), for private images; null: pull anonymously.
   */
  readonly registry: string | null;
  /** The user name of the registry login. */
  readonly registryUsername: string | null;
  /** The GitHub secret that holds the registry password or token (passed to the shared workflow by name). */
  readonly registryPasswordSecret: string | null;
}

/** A pinned GitHub-hosted image: Docker, coreutils `timeout`, python3 with zoneinfo and the system tz database. */
export const DEFAULT_RUNS_ON = "ubuntu-24.04";

export const DEFAULT_OPTIONS: GithubActionsOptions = {
  runsOn: [DEFAULT_RUNS_ON],
  registry: null,
  registryUsername: null,
  registryPasswordSecret: null,
};

/** `runs-on` as written: one label as a string, several as a list. */
export function runsOnValue(options: GithubActionsOptions): string | string[] {
  return options.runsOn.length === 1 ? options.runsOn[0]! : [...options.runsOn];
}
