/**
 * What a command compiles: the specs, targets and output folders given on the command
 * line, or, with none given, those of the project config (`kfm.config.yaml` in the
 * current folder, or `--config FILE`).
 */
import { dirname, resolve } from "node:path";
import { TARGETS } from "../../targets/index.js";
import { findConfig, parseConfig } from "../config/load.js";
import type { Diagnostic } from "../diagnostics.js";
import { relativeDisplay, type Selection } from "../project.js";
import { displayPath, lookupTarget, readSpec, UsageError, type Io, type Parsed } from "./common.js";

/** The options every project-wide command takes. */
export const PROJECT_OPTIONS = {
  target: { type: "string", short: "t", multiple: true },
  out: { type: "string", short: "o" },
  config: { type: "string", short: "c" },
} as const;

export type Selected =
  | { readonly mode: "config"; readonly selection: Selection; readonly diagnostics: Diagnostic[] }
  | { readonly mode: "args"; readonly selection: Selection; readonly out: string | undefined; readonly diagnostics: Diagnostic[] }
  | { readonly mode: "invalid"; readonly diagnostics: Diagnostic[] };

export function targetsOf(values: Parsed["values"]) {
  const names = (values.target as string[]).flatMap((t) => t.split(",")).map((t) => t.trim());
  return [...new Set(names.includes("all") ? [...TARGETS] : names.map(lookupTarget))];
}

export function select(values: Parsed["values"], positionals: readonly string[], io: Io): Selected {
  if (positionals.length > 0) {
    if (values.target === undefined) throw new UsageError(`--target is required (${TARGETS.map((t) => t.name).join(", ")}, or all).`);
    const config = values.config === undefined ? null : findConfig(io.cwd, values.config as string);
    const out = values.out as string | undefined;
    return {
      mode: "args",
      out,
      diagnostics: [],
      selection: {
        base: resolve(io.cwd, out ?? "."),
        root: config === null ? io.cwd : dirname(config),
        specs: positionals.map((p) => resolve(io.cwd, p)),
        targets: targetsOf(values).map((target) => ({ target, folder: target.name })),
        display: (p) => displayPath(p, io.cwd),
        readFile: readSpec,
      },
    };
  }
  const config = findConfig(io.cwd, values.config as string | undefined);
  if (config === null) throw new UsageError("no spec files given, and no kfm.config.yaml in this folder (give specs and --target, or --config FILE).");
  if (values.target !== undefined || values.out !== undefined) {
    throw new UsageError("--target and --out come from the config file when no spec is given; give specs to use them.");
  }
  const shown = displayPath(config, io.cwd);
  const text = readSpec(config);
  if (typeof text !== "string")
    return { mode: "invalid", diagnostics: [{ file: shown, line: 1, column: 1, severity: "error", code: text.code ?? "KFM005", message: text.error }] };
  const { project, diagnostics } = parseConfig(shown, text, config);
  if (project === null) return { mode: "invalid", diagnostics };
  return {
    mode: "config",
    diagnostics,
    selection: {
      base: project.root,
      root: project.root,
      specs: project.specs,
      targets: project.targets.map((t) => ({ target: t.target, folder: t.out })),
      // Headers name specs relative to the project root, so they do not depend on where kfm-compile runs.
      display: relativeDisplay(project.root),
      readFile: readSpec,
    },
  };
}
