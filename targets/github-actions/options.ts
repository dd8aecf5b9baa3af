/**
 * The deployment options of this backend (`targets.github-actions.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. README.md
 * beside this file ("Options") says what each one changes in the output; the same spec
 * lifts to the same meaning under any of them (tested).
 */
import { problem, type Problem } from "../../src/diagnostics.js";
import { defaultOptions, option, type OptionDecls, type OptionValues } from "../../src/options.js";

/** A pinned GitHub-hosted image: Docker, coreutils `timeout`, python3 with zoneinfo and the system tz database. */
export const DEFAULT_RUNS_ON = "ubuntu-24.04";

/** A GitHub secret name (docs "Using secrets", naming rules: letters, digits, `_`; not starting with a digit or `GITHUB_`). */
const SECRET_NAME = /^(?!GITHUB_)(?!github_)[A-Za-z_][A-Za-z0-9_]*$/;

export const OPTIONS = {
  runsOn: option.strings({
    description:
      "The `runs-on` labels of every job (a runner must carry all of them). GitHub-hosted runners cannot reach a private network such as a cluster's `*.svc.cluster.local`: give self-hosted runner labels for jobs that must. Default `ubuntu-24.04`.",
    default: [DEFAULT_RUNS_ON],
    pattern: /^[^\s,]+$/,
    patternText: "a runner label (no spaces or commas)",
    maxItems: 16,
  }),
  registry: option.string({
    description:
      "A container registry to log in to (`docker login --password-stdin`) before an attempt pulls its image, for private images: a host such as `ghcr.io` or `registry.example.com:5000`. Needs `registryUsername` and `registryPasswordSecret`. Default: none (anonymous pulls).",
    pattern: /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/,
    patternText: "a registry host, optionally with a port",
  }),
  registryUsername: option.string({
    description: "The user name of the registry login.",
    pattern: /^[^\s]+$/,
    patternText: "a user name without spaces",
    maxLength: 256,
  }),
  registryPasswordSecret: option.string({
    description: "The GitHub secret holding the registry password or token; every job passes it to the shared kfm-job.yml.",
    pattern: SECRET_NAME,
    patternText: "a GitHub secret name (letters, digits and `_`, not starting with a digit or `GITHUB_`)",
  }),
} satisfies OptionDecls;

export type GithubActionsOptions = OptionValues<typeof OPTIONS>;

/** Every option at its default. */
export const DEFAULT_OPTIONS = defaultOptions(OPTIONS) as GithubActionsOptions;

/** `runs-on` as written: one label as a string, several as a list. */
export function runsOnValue(options: GithubActionsOptions): string | string[] {
  return options.runsOn.length === 1 ? options.runsOn[0]! : [...options.runsOn];
}

const REGISTRY = ["registry", "registryUsername", "registryPasswordSecret"] as const;

/**
 * The options against each other (the target's `checkOptions`, run once where the config
 * or `--option` gives them): the registry login needs all three of its options (KFM260).
 */
export function checkOptions(options: GithubActionsOptions): Problem[] {
  const missing = REGISTRY.filter((o) => options[o] === undefined);
  if (missing.length === 0 || missing.length === REGISTRY.length) return [];
  const given = REGISTRY.filter((o) => options[o] !== undefined);
  const names = (list: readonly string[]) => list.map((o) => `\`${o}\``).join(" and ");
  return [
    problem(
      "KFM260",
      `The GitHub Actions options \`registry\`, \`registryUsername\` and \`registryPasswordSecret\` go together (each job logs in to the registry as that user with that secret before it pulls), but only ${names(given)} ${given.length === 1 ? "is" : "are"} given: add ${names(missing)}, or remove ${given.length === 1 ? "it" : "them"} for anonymous pulls.`,
      [],
    ),
  ];
}

/** Whether the registry login is configured (all three options given; `checkOptions` refuses a partial one). */
export function registryLogin(options: GithubActionsOptions): { server: string; username: string; passwordSecret: string } | null {
  const { registry, registryUsername, registryPasswordSecret } = options;
  return registry !== undefined && registryUsername !== undefined && registryPasswordSecret !== undefined
    ? { server: registry, username: registryUsername, passwordSecret: registryPasswordSecret }
    : null;
}
