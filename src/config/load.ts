/**
 * Reading `kfm.config.yaml`: YAML with positions (as for specs), the shape checked
 * against schemas/config.schema.json, target names and folders checked, and the
 * spec globs expanded. Problems are diagnostics located in the config file.
 */
import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { TARGETS, findTarget, type Target } from "../../targets/index.js";
import { hasErrors, problem, sortDiagnostics, suggestion, type Diagnostic, type Problem } from "../diagnostics.js";
import { loadSpec } from "../spec/load.js";
import { checkConfigShape } from "../spec/schema.js";
import type { TargetOptions } from "../compile.js";
import { optionsDigest, resolveOptions } from "../options.js";
import type { ProjectConfig, SpecEntry } from "./types.js";

export const CONFIG_FILE = "kfm.config.yaml";

export interface Project {
  /** The config file, absolute. */
  readonly file: string;
  /** Its folder: the project root. Globs, output folders and headers are relative to it. */
  readonly root: string;
  /** The spec files the globs match, absolute, sorted, each once. */
  readonly specs: string[];
  /**
   * The specs an entry with `targets` limits, with the names of the targets they are
   * compiled for (a spec also matched by a plain glob is compiled for every target).
   */
  readonly only: ReadonlyMap<string, readonly string[]>;
  /**
   * Each target with its output folder and runs folder, relative to the root,
   * `/`-separated (`.` for the root itself), and its checked options.
   */
  readonly targets: { readonly target: Target; readonly out: string; readonly runs: string; readonly options: TargetOptions }[];
}

/**
 * The config file to use: `explicit` (relative to cwd), or the nearest
 * `kfm.config.yaml` in cwd or a folder above it, as git finds `.git` and Prettier its
 * config. The search stops at the root of the repository (a folder holding `.git`):
 * a config above the repository is not the repository's.
 */
export function findConfig(cwd: string, explicit?: string): string | null {
  if (explicit !== undefined) return resolve(cwd, explicit);
  for (let dir = resolve(cwd); ;) {
    const here = join(dir, CONFIG_FILE);
    if (existsSync(here)) return here;
    const up = dirname(dir);
    if (up === dir || existsSync(join(dir, ".git"))) return null;
    dir = up;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith(".." + sep));
}

const posix = (p: string) => p.split(sep).join("/");

/** Parses and checks a config; `file` is how it is named in diagnostics. */
export function parseConfig(
  file: string,
  text: string,
  path: string,
  glob: (patterns: string[], root: string) => string[] = globFiles,
): { project: Project | null; diagnostics: Diagnostic[] } {
  const loaded = loadSpec(file, text);
  if (loaded.diagnostics.length > 0) {
    const empty = loaded.diagnostics.some((d) => d.code === "KFM004");
    const diagnostics = empty
      ? [{ ...loaded.diagnostics[0]!, message: "The file is empty: a kfm.config.yaml names the project's `specs` and `targets`." }]
      : [...loaded.diagnostics];
    return { project: null, diagnostics };
  }
  const shape = checkConfigShape(loaded.data);
  // Unknown keys (a typo such as `option:`) leave the rest of the file checkable: when the
  // file without them has the right shape, the rest is checked too, so every problem is
  // said at once rather than one run after another.
  const rest = shape.length > 0 && shape.every((p) => p.code === "KFM101" && p.atKey === true) ? withoutKeys(loaded.data, shape) : null;
  if (shape.length > 0 && (rest === null || checkConfigShape(rest).length > 0))
    return { project: null, diagnostics: sortDiagnostics(shape.map(loaded.locate)) };
  const config = (rest ?? loaded.data) as ProjectConfig;
  const root = dirname(path);
  const problems = [...shape];
  const targets: Project["targets"][number][] = [];
  for (const [name, t] of Object.entries(config.targets)) {
    const target = name === "all" ? undefined : findTarget(name);
    if (target === undefined) {
      problems.push(
        problem(
          "KFM101",
          `Unknown target \`${name}\` in \`targets\`.${
            suggestion(
              name,
              TARGETS.map((x) => x.name),
            ) || ` Targets: ${TARGETS.map((x) => x.name).join(", ")}.`
          }`,
          ["targets", name],
          true,
        ),
      );
      continue;
    }
    // Checked whatever the folders' problems: every problem of the file is said at once.
    const resolved = resolveOptions(name, target.options, t.options ?? {}, ["targets", name, "options"], target.checkOptions?.bind(target));
    problems.push(...resolved.problems);
    const folders: string[] = [];
    for (const [key, folder] of [
      ["out", t.out],
      ["runs", t.runs ?? `${t.out.replace(/[\\/]+$/, "")}-runs`],
    ] as const) {
      const at = t.runs === undefined && key === "runs" ? ["targets", name, "out"] : ["targets", name, key];
      const what = key === "out" ? "output folder" : "runs folder";
      const abs = resolve(root, folder);
      if (isAbsolute(folder) || !inside(root, abs)) {
        problems.push(
          problem("KFM006", `The ${what} \`${folder}\` is outside the project root (the folder of this file): name a folder inside it, relative to it.`, at),
        );
        break;
      }
      const nested = projectBetween(root, abs);
      if (nested !== null) {
        problems.push(
          problem(
            "KFM012",
            `The ${what} \`${folder}\` is inside another project (${posix(relative(root, nested))}): its \`--prune\` and \`check\` would take this project's files for its own orphans. Name a folder outside it, or list these specs in that config.`,
            at,
          ),
        );
        break;
      }
      folders.push(posix(relative(root, abs)) || ".");
    }
    if (folders.length < 2) continue;
    const [out, runs] = folders as [string, string];
    if (runs === out || inside(resolve(root, out), resolve(root, runs)) || inside(resolve(root, runs), resolve(root, out))) {
      problems.push(
        problem(
          "KFM015",
          `The runs folder \`${runs}\` ${runs === out ? "is" : inside(resolve(root, out), resolve(root, runs)) ? "is inside" : "holds"} the output folder \`${out}\`: files that start runs (\`kubectl create\`) must stay out of the folder a GitOps tool syncs, or every sync would start one. Name another folder.`,
          ["targets", name, t.runs === undefined ? "out" : "runs"],
        ),
      );
      continue;
    }
    if (resolved.options === null) continue;
    targets.push({ target, out, runs, options: { ...resolved.options, digest: optionsDigest(resolved.options.given) } });
  }
  const configured = new Set(targets.map((t) => t.target.name));
  const named = new Set(Object.keys(config.targets));
  const entries = config.specs.map((e): SpecEntry | { path: string; targets?: undefined } => (typeof e === "string" ? { path: e } : e));
  const negated = entries.filter((e) => e.targets === undefined && e.path.startsWith("!")).map((e) => e.path);
  const specs = new Set<string>();
  // Per spec, the targets of its entries; `null` once a plain glob (every target) matches it.
  const limits = new Map<string, Set<string> | null>();
  entries.forEach((entry, i) => {
    const pattern = entry.path;
    const at = entry.targets === undefined ? ["specs", i] : ["specs", i, "path"];
    if (entry.targets !== undefined) {
      entry.targets.forEach((name, j) => {
        if (configured.has(name) || (named.has(name) && findTarget(name) !== undefined)) return;
        problems.push(
          problem(
            "KFM010",
            `\`${name}\` is not one of this project's \`targets\` (${[...named].join(", ")}): a spec entry names targets configured below.${suggestion(name, [...named])}`,
            ["specs", i, "targets", j],
          ),
        );
      });
      if (pattern.startsWith("!")) {
        problems.push(problem("KFM104", "An entry with `targets` names specs to include; put `!` globs in the list as plain strings.", at));
        return;
      }
    }
    if (pattern.startsWith("!")) return;
    if (isAbsolute(pattern) || !inside(root, resolve(root, pattern))) {
      problems.push(
        problem("KFM006", `The glob \`${pattern}\` reaches outside the project root (the folder of this file): specs are named relative to it, inside it.`, at),
      );
      return;
    }
    const found = glob([pattern, ...negated], root);
    if (found.length === 0) {
      // Said apart: a glob whose files a `!` glob of the list takes away again is not a typo.
      const excluded = negated.length > 0 && glob([pattern], root).length > 0;
      problems.push(
        problem(
          "KFM007",
          excluded
            ? `The glob \`${pattern}\` matches only files that a \`!\` glob of the list excludes (\`!\` globs exclude from every entry); narrow the \`!\` glob so that it leaves them.`
            : `The glob \`${pattern}\` matches no file (it is read relative to the folder of this file).`,
          at,
        ),
      );
    }
    for (const f of found) {
      // A link inside the project may point anywhere: what is read is where it leads.
      if (!insideRoot(root, f)) {
        problems.push(
          problem("KFM006", `The glob \`${pattern}\` matches ${relative(root, f)}, which leads outside the project root through a symbolic link.`, at),
        );
        continue;
      }
      specs.add(f);
      const limit = limits.get(f);
      if (entry.targets === undefined) limits.set(f, null);
      else if (limit !== null) limits.set(f, new Set([...(limit ?? []), ...entry.targets]));
    }
  });
  const diagnostics = sortDiagnostics(problems.map(loaded.locate));
  if (hasErrors(diagnostics)) return { project: null, diagnostics };
  const only = new Map<string, string[]>();
  for (const [f, limit] of limits) if (limit !== null) only.set(f, [...limit].sort());
  return { project: { file: path, root, specs: [...specs].sort(), only, targets }, diagnostics };
}

/** A copy of `data` without the keys the problems are at (each `at` ends with the key). */
function withoutKeys(data: unknown, problems: readonly Problem[]): unknown {
  const copy = structuredClone(data) as Record<string, unknown>;
  for (const p of problems) {
    let holder: unknown = copy;
    for (const step of p.at.slice(0, -1))
      holder = holder !== null && typeof holder === "object" ? (holder as Record<string | number, unknown>)[step] : undefined;
    if (holder !== null && typeof holder === "object") delete (holder as Record<string | number, unknown>)[p.at[p.at.length - 1]!];
  }
  return copy;
}

/** Files (not folders) matching the globs under root, absolute. tinyglobby: `!` excludes. */
export function globFiles(patterns: string[], root: string): string[] {
  // Required here, not imported: tinyglobby loads picomatch as it starts, and only a
  // project config needs globs, not the start of every command.
  const { globSync } = createRequire(import.meta.url)("tinyglobby") as typeof import("tinyglobby");
  return globSync(patterns, { cwd: root, absolute: true, onlyFiles: true, expandDirectories: false, ignore: ["**/node_modules/**", "**/.git/**"] }).map((p) =>
    resolve(p),
  );
}

/**
 * The nearest folder between `root` (excluded) and `out` (included) that holds a
 * project config of its own, or null: a project nested in this one.
 */
function projectBetween(root: string, out: string): string | null {
  const rel = relative(root, out);
  if (rel === "") return null;
  let dir = root;
  let found: string | null = null;
  for (const part of rel.split(sep)) {
    dir = join(dir, part);
    if (found === null && existsSync(join(dir, CONFIG_FILE))) found = join(dir, CONFIG_FILE);
  }
  return found;
}

/** Whether `file`, links resolved, is inside `root`, links resolved. */
function insideRoot(root: string, file: string): boolean {
  let real: string;
  let realRoot: string;
  try {
    real = realpathSync.native(file);
    realRoot = realpathSync.native(root);
  } catch {
    return false;
  }
  const rel = relative(realRoot, real);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}
