/**
 * What a command works on. Inside a project (a `kfm.config.yaml` in the current folder
 * or a folder above it, up to the repository root, or `--config FILE`), the project's
 * specs, targets and folders: all of them, or the specs named on the command line and
 * the targets `--target` names. Spec files with `--out DIR` (or with no project) are
 * compiled as given, into DIR/<target>/ (or to standard output).
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { TARGETS } from "../../targets/index.js";
import { findConfig, parseConfig, type Project } from "../config/load.js";
import type { Diagnostic } from "../diagnostics.js";
import type { LowerOptions } from "../lower.js";
import { relativeDisplay, type SelectedTarget, type Selection } from "../project.js";
import { optionsDigest, parseOptionText, resolveOptions } from "../options.js";
import { suggestion } from "../diagnostics.js";
import { displayPath, lookupTarget, readSpec, UsageError, type Io, type Parsed } from "./common.js";

/** The options every project-wide command takes. */
export const PROJECT_OPTIONS = {
  target: { type: "string", short: "t", multiple: true },
  out: { type: "string", short: "o" },
  config: { type: "string", short: "c" },
  option: { type: "string", multiple: true },
} as const;

export type Selected =
  | { readonly mode: "config"; readonly selection: Selection; readonly diagnostics: Diagnostic[] }
  | { readonly mode: "args"; readonly selection: Selection; readonly out: string | undefined; readonly diagnostics: Diagnostic[] }
  | { readonly mode: "invalid"; readonly diagnostics: Diagnostic[] };

export function targetsOf(values: Parsed["values"]) {
  const names = (values.target as string[]).flatMap((t) => t.split(",")).map((t) => t.trim());
  return [...new Set(names.includes("all") ? [...TARGETS] : names.map(lookupTarget))];
}

/** The project config, read and checked: the project, or the diagnostics saying why not. */
export function readProject(config: string, io: Io): { project: Project | null; diagnostics: Diagnostic[] } {
  const shown = displayPath(config, io.cwd);
  const text = readSpec(config);
  if (typeof text !== "string")
    return { project: null, diagnostics: [{ file: shown, line: 1, column: 1, severity: "error", code: text.code ?? "KFM005", message: text.error }] };
  return parseConfig(shown, text, config);
}

/**
 * The selection of a command: spec files with --out DIR, or without a project, as
 * given (--target required); otherwise the project, or the part of it that spec files
 * and --target name (a spec the project does not list is KFM011).
 */
export function select(values: Parsed["values"], positionals: readonly string[], io: Io): Selected {
  const config = findConfig(io.cwd, values.config as string | undefined);
  if (positionals.length > 0 && (values.out !== undefined || config === null)) {
    if (values.target === undefined) throw new UsageError(`--target is required (${TARGETS.map((t) => t.name).join(", ")}, or all).`);
    const out = values.out as string | undefined;
    return {
      mode: "args",
      out,
      diagnostics: [],
      selection: {
        base: resolve(io.cwd, out ?? "."),
        // Job files stay inside the project: the config's folder, or the current one without a config.
        root: config === null ? io.cwd : dirname(config),
        specs: positionals.map((p) => resolve(io.cwd, p)),
        targets: withOptions(
          targetsOf(values).map((target) => ({ target, folder: target.name, runsFolder: `${target.name}-runs` })),
          values,
        ),
        whole: true,
        display: (p) => displayPath(p, io.cwd),
        readFile: readSpec,
        // A folder shared by separate runs: another run's specs (still there) keep their files.
        claims: (from) => positionals.some((p) => displayPath(p, io.cwd) === from) || !existsSync(resolve(io.cwd, from)),
      },
    };
  }
  if (config === null) {
    throw new UsageError(
      "no spec files given, and no kfm.config.yaml in this folder or a folder above it in the repository (give specs and --target, or --config FILE).",
    );
  }
  if (values.out !== undefined) throw new UsageError("--out is for spec files given on the command line; the config names each target's folder.");
  const { project, diagnostics } = readProject(config, io);
  if (project === null) return { mode: "invalid", diagnostics };
  const shownConfig = displayPath(config, io.cwd);
  const display = relativeDisplay(project.root);

  let targets = project.targets;
  if (values.target !== undefined) {
    const wanted = new Set(targetsOf(values).map((t) => t.name));
    const all = (values.target as string[]).some((t) => t.split(",").some((n) => n.trim() === "all"));
    const missing = all ? [] : [...wanted].filter((name) => !project.targets.some((t) => t.target.name === name));
    if (missing.length > 0) {
      throw new UsageError(
        `--target ${missing.join(",")}: ${shownConfig} has no output folder for it (its targets: ${project.targets.map((t) => t.target.name).join(", ")}); compile for another target with spec files and --out DIR.`,
      );
    }
    targets = targets.filter((t) => wanted.has(t.target.name));
  }

  let specs = project.specs;
  const own = new Set(project.specs);
  if (positionals.length > 0) {
    const given = [...new Set(positionals.map((p) => resolve(io.cwd, p)))];
    for (const path of given) {
      if (own.has(path)) continue;
      diagnostics.push({
        file: displayPath(path, io.cwd),
        line: 1,
        column: 1,
        severity: "error",
        code: "KFM011",
        message: `This file is not one of the specs of the project of ${shownConfig} (its \`specs\` globs do not match it): add it there, or take it apart from the project with --target and --out DIR (the folder compiling it would write to; validate and check only read it).`,
      });
    }
    specs = given.filter((p) => own.has(p)).sort();
    for (const path of specs) {
      const only = project.only.get(path);
      if (only !== undefined && !targets.some((t) => only.includes(t.target.name))) {
        throw new UsageError(
          `${displayPath(path, io.cwd)} is compiled for ${only.join(", ")} only (${shownConfig}), so --target ${targets.map((t) => t.target.name).join(",")} selects nothing of it.`,
        );
      }
    }
  }
  const selectedShown = new Set(specs.map(display));
  return {
    mode: "config",
    diagnostics,
    selection: {
      base: project.root,
      root: project.root,
      specs,
      ...(positionals.length > 0 ? { rest: project.specs.filter((p) => !specs.includes(p)) } : {}),
      only: project.only,
      targets: withOptions(
        targets.map((t) => ({ target: t.target, folder: t.out, runsFolder: t.runs, options: t.options })),
        values,
      ),
      whole: positionals.length === 0,
      // Headers name specs relative to the project root, so they do not depend on where kfm-compile runs.
      display,
      readFile: readSpec,
      // The project's files are those of its specs, and of specs that are gone (deleted,
      // renamed). A file naming a spec that exists but is not the project's belongs to
      // another config writing into the same folder: it is left alone. With part of the
      // project selected, only the selected specs' files are in question.
      claims: positionals.length > 0 ? (from) => selectedShown.has(from) : (from) => selectedShown.has(from) || !existsSync(resolve(project.root, from)),
    },
  };
}

/**
 * For the commands that read one spec (`explain`, `graph`, `diff`): the project found
 * as `select` finds it (--config FILE, or kfm.config.yaml here or above), whose folder
 * is the root job files stay inside; without one, the current folder is the root.
 */
export function projectOf(values: Parsed["values"], io: Io): { root: string; project: Project | null; diagnostics: Diagnostic[] } {
  const config = findConfig(io.cwd, values.config as string | undefined);
  if (config === null) return { root: io.cwd, project: null, diagnostics: [] };
  return { root: dirname(config), ...readProject(config, io) };
}

/**
 * How a spec file is lowered by a command reading it alone: for the targets its project
 * compiles it for, when it is one of the project's specs (its daylight-saving slots are
 * judged for them, KFM220); otherwise for every target.
 */
export function loweringFor(project: Project | null, file: string, io: Io): LowerOptions {
  const path = resolve(io.cwd, file);
  if (project === null || !project.specs.includes(path)) return {};
  const only = project.only.get(path);
  return { targets: project.targets.map((t) => t.target).filter((t) => only?.includes(t.name) ?? true) };
}

/**
 * `--option name=value` (or `target.name=value` for one target of several), on top of
 * the config's options: each option goes to every selected target that declares it.
 * Names and values are checked as the config's are; a problem is a usage error naming
 * the option as written.
 */
export function withOptions(targets: SelectedTarget[], values: Parsed["values"]): SelectedTarget[] {
  const given = (values.option as string[] | undefined) ?? [];
  if (given.length === 0) return targets;
  const byTarget = new Map<string, Record<string, unknown>>();
  for (const text of given) {
    const eq = text.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option ${text}: write it as name=value (for one target: target.name=value).`);
    const key = text.slice(0, eq);
    const dot = key.indexOf(".");
    const only = dot > 0 && targets.some((t) => t.target.name === key.slice(0, dot)) ? key.slice(0, dot) : null;
    if (dot > 0 && only === null && !targets.some((t) => Object.hasOwn(t.target.options, key))) {
      const names = targets.map((t) => t.target.name);
      throw new UsageError(`--option ${key}: \`${key.slice(0, dot)}\` is not a selected target (${names.join(", ")}).${suggestion(key.slice(0, dot), names)}`);
    }
    const name = only === null ? key : key.slice(dot + 1);
    const takers = targets.filter((t) => (only === null || t.target.name === only) && Object.hasOwn(t.target.options, name));
    if (takers.length === 0) {
      const names = [...new Set(targets.filter((t) => only === null || t.target.name === only).flatMap((t) => Object.keys(t.target.options)))];
      const hint = suggestion(name, names) || (names.length > 0 ? ` Options: ${names.join(", ")}.` : " The selected targets have no options.");
      if (only !== null) {
        // Named for one target, but it is another's option: say whose (`argo.runsOn` is GitHub's).
        const owners = targets.filter((t) => Object.hasOwn(t.target.options, name)).map((t) => t.target.name);
        const elsewhere = owners.length > 0 ? ` It is an option of ${owners.join(", ")}: write \`${owners[0]}.${name}=...\`.` : hint;
        throw new UsageError(`--option ${key}: ${only} has no option \`${name}\`.${elsewhere}`);
      }
      throw new UsageError(`--option ${key}: no selected target (${targets.map((t) => t.target.name).join(", ")}) has an option \`${name}\`.${hint}`);
    }
    for (const t of takers) {
      const parsed = parseOptionText(t.target.options[name], text.slice(eq + 1));
      if ("error" in parsed) throw new UsageError(`--option ${key}: the ${t.target.name} option \`${name}\` ${parsed.error}.`);
      const mine = byTarget.get(t.target.name) ?? {};
      mine[name] = parsed.value;
      byTarget.set(t.target.name, mine);
    }
  }
  return targets.map((t) => {
    const mine = byTarget.get(t.target.name);
    if (mine === undefined) return t;
    const all = { ...(t.options?.given ?? {}), ...mine };
    const r = resolveOptions(t.target.name, t.target.options, all, [], t.target.checkOptions?.bind(t.target));
    if (r.options === null) throw new UsageError(r.problems.map((p) => `--option: ${p.message}`).join("\n"));
    return { ...t, options: { ...r.options, digest: optionsDigest(r.options.given) } };
  });
}
