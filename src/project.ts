/**
 * Compiling a set of specs for a set of targets in memory, with each target's output
 * folder: the common ground of `kfm-compile` (which writes) and `kfm-compile check`
 * (which compares). Output paths are relative to one base folder.
 */
import { relative, sep } from "node:path";
import type { Target } from "../targets/types.js";
import { analyze, compileFor, readLayout, type Analysis, type Output, type TargetOptions } from "./compile.js";
import { headerLinesFor, sealOutput } from "./header.js";
import { defaultOptions } from "./options.js";
import { sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { judgeDaylightSaving } from "./lower.js";
import { diskHost, type ReadError } from "./spec/layout.js";
import type { ScannedFolder } from "./write.js";

export interface Selection {
  /** Output paths are relative to this folder (absolute). */
  readonly base: string;
  /** The project root: job file references stay inside it. */
  readonly root: string;
  /** Spec files, absolute. */
  readonly specs: readonly string[];
  /**
   * Each target with its output folder and runs folder (files that start runs by hand),
   * relative to `base`, `/`-separated, and its options (defaults when absent).
   */
  readonly targets: readonly SelectedTarget[];
  /**
   * Whether the selection is every spec of its folders (a whole project, or the specs
   * given with --out): only then are a target's folder files (`Target.folderFiles`),
   * which list the folder's workflows, written and compared.
   */
  readonly whole?: boolean;
  /**
   * Specs (absolute) compiled for some of `targets` only, with those targets' names
   * (`specs:` entries with `targets` in kfm.config.yaml); the others skip them.
   */
  readonly only?: ReadonlyMap<string, readonly string[]>;
  /**
   * The project's other specs (absolute), when only part of it is selected: read only
   * to tell whether a selected `job:` spec is a job file of one of them.
   */
  readonly rest?: readonly string[];
  /**
   * Whether a generated file whose header names the spec `from` (a display path) is
   * this selection's to report as an orphan and prune; by default every generated file
   * in the output folders is. Another config's files, or the rest of a project when
   * part of it is selected, are left alone.
   */
  readonly claims?: (from: string) => boolean;
  /** How a file is named in diagnostics and headers. */
  readonly display: (path: string) => string;
  readonly readFile: (path: string) => string | ReadError;
  /** Told before each spec is read and before each is compiled (the CLI's progress line). */
  readonly progress?: (step: "reading" | "compiling", done: number, total: number) => void;
}

export interface SelectedTarget {
  readonly target: Target;
  readonly folder: string;
  readonly runsFolder: string;
  readonly options?: TargetOptions;
}

export interface Compiled {
  /** Paths relative to `base`: `<folder>/<workflow>.<ext>`. */
  readonly outputs: Output[];
  /** Display paths of the specs that compiled, as headers name them. */
  readonly specs: string[];
  readonly diagnostics: Diagnostic[];
  /** The analysis each output was compiled from, by output path: what locates a problem found later (`apply`) in its spec. */
  readonly sources: ReadonlyMap<string, Analysis>;
}

/**
 * The folders scanned for orphans (`check`, `--prune`): every folder the selection writes
 * generated files into (output folders and runs folders), and, for a target whose runs
 * folder is not the default `<out>-runs`, that default folder for the target's own files:
 * the run files left there when `runs:` was set after compiling without it. A runs folder
 * changed from one named folder to another is not known here (the headers do not name
 * it), so the files of the old one stay until removed by hand (README, "Runs folder").
 */
export function selectionFolders(sel: Selection): ScannedFolder[] {
  const written = new Set(sel.targets.flatMap((t) => [t.folder, t.runsFolder]));
  const before = sel.targets
    .filter((t) => t.target.run !== undefined && t.folder !== "." && !written.has(`${t.folder}-runs`))
    .map((t) => ({ folder: `${t.folder}-runs`, target: t.target.name }));
  return [...written, ...before];
}

/** The targets (with folders) a spec of the selection is compiled for. */
export function targetsFor(sel: Selection, path: string): Selection["targets"] {
  const only = sel.only?.get(path);
  return only === undefined ? sel.targets : sel.targets.filter((t) => only.includes(t.target.name));
}

export function relativeDisplay(from: string): (path: string) => string {
  return (path) => relative(from, path).split(sep).join("/") || ".";
}

/**
 * Reads and analyses every selected spec (job files resolved inside the root): the
 * analyses of the readable ones, and every diagnostic, unreadable files included.
 * A selected `job:` spec that a selected workflow names as a job file (a glob such as
 * `workflows/**` + `/*.yaml` matches both) is that workflow's part, not a workflow of
 * its own: it is dropped, and its problems are reported once, through the workflow.
 */
export function analyzeSelection(sel: Selection): { analyses: (Analysis & { readonly path: string })[]; diagnostics: Diagnostic[] } {
  const host = diskHost(sel.root, sel.display, sel.readFile);
  const analyses: (Analysis & { readonly path: string })[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [i, path] of sel.specs.entries()) {
    sel.progress?.("reading", i, sel.specs.length);
    const shown = sel.display(path);
    const text = sel.readFile(path);
    if (typeof text !== "string") {
      diagnostics.push({ file: shown, line: 1, column: 1, severity: "error", code: text.code ?? "KFM005", message: text.error });
      continue;
    }
    // Whether the targets agree on its daylight-saving slots depends on which it is
    // compiled for (KFM220): judged here, keeping the IR so their own refusals are reported too.
    const a = analyze(shown, text, { path, host }, { targets: [] });
    const dst =
      a.ir === null
        ? null
        : judgeDaylightSaving(
            a.ir,
            targetsFor(sel, path).map((t) => t.target),
          );
    analyses.push({ ...a, diagnostics: dst === null ? a.diagnostics : sortDiagnostics([...a.diagnostics, a.spec.locate(dst)]), path });
  }
  const parts = new Set(analyses.flatMap((a) => a.jobFiles ?? []));
  let kept = parts.size === 0 ? analyses : analyses.filter((a) => !parts.has(a.spec.file) || !isJobDocument(a));
  // A `job:` spec selected alone may be a job file of a workflow left out of the selection:
  // compiled on its own it would write files the whole project does not. Only then are the
  // rest of the project's specs read, to find the workflow it belongs to.
  if (sel.rest !== undefined && kept.some(isJobDocument)) {
    const owner = new Map<string, string>();
    for (const path of sel.rest) {
      const text = sel.readFile(path);
      if (typeof text !== "string" || !/\bjob:[ \t]+[^\s{#]/.test(text)) continue;
      const read = readLayout(sel.display(path), text, { path, host });
      for (const f of read.jobFiles ?? []) if (!owner.has(f)) owner.set(f, read.spec.file);
    }
    kept = kept.filter((a) => {
      const workflow = isJobDocument(a) ? owner.get(a.spec.file) : undefined;
      if (workflow === undefined) return true;
      diagnostics.push({
        file: a.spec.file,
        line: 1,
        column: 1,
        severity: "error",
        code: "KFM011",
        message: `This is a job file of ${workflow}, compiled as part of it, not on its own: give that workflow instead.`,
      });
      return false;
    });
  }
  const seen = new Set<string>();
  for (const a of kept)
    for (const d of a.diagnostics) {
      // A job file's problem is located in it whichever workflow names it: say it once.
      const key = `${d.file}\0${d.line}\0${d.column}\0${d.code}\0${d.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      diagnostics.push(d);
    }
  return { analyses: kept, diagnostics };
}

function isJobDocument(a: Analysis): boolean {
  const data = a.spec.data;
  return data !== null && typeof data === "object" && !Array.isArray(data) && "job" in data && !("workflow" in data);
}

/**
 * Reads, analyses and compiles every spec for every target; nothing is written.
 * `taken` are output paths (relative to `base`) already claimed by specs outside the
 * selection, with the spec claiming each: a spec writing one of them is refused as two
 * selected specs writing the same path are.
 */
export function compileSelection(sel: Selection, taken: readonly { readonly path: string; readonly from: string; readonly target?: string }[] = []): Compiled {
  const { analyses, diagnostics } = analyzeSelection(sel);
  const outputs: Output[] = [];
  const specs: string[] = [];
  const sources = new Map<string, Analysis>();
  const writer = new Map<string, string>(taken.map((t) => [t.path, t.from]));
  // Per target, the runner's name for each workflow (Target.objectName), with its spec and spec name.
  const objects = new Map<string, Map<string, { from: string; workflow: string }>>();
  const claim = (target: Target, workflow: string, from: string): string | null => {
    if (target.objectName === undefined) return null;
    const name = target.objectName(workflow);
    let names = objects.get(target.name);
    if (names === undefined) objects.set(target.name, (names = new Map()));
    const other = names.get(name);
    if (other === undefined) names.set(name, { from, workflow });
    return other !== undefined && other.workflow !== workflow
      ? `This spec's workflow \`${workflow}\` and the workflow \`${other.workflow}\` of ${other.from} are both named \`${name}\` on ${target.name} (Kubernetes names have no \`_\`), so each would replace the other there; rename one of them.`
      : null;
  };
  for (const t of taken) {
    const target = sel.targets.find((x) => x.target.name === t.target)?.target;
    const base = t.path.slice(t.path.lastIndexOf("/") + 1);
    if (target !== undefined && base.endsWith(`.${target.extension}`)) claim(target, base.slice(0, -target.extension.length - 1), t.from);
  }
  for (const [i, a] of analyses.entries()) {
    sel.progress?.("compiling", i, analyses.length);
    const shown = a.spec.file;
    if (a.ir === null) continue;
    specs.push(shown);
    for (const { target, folder, runsFolder, options } of targetsFor(sel, a.path)) {
      const r = compileFor(a, target, options);
      diagnostics.push(...r.diagnostics);
      if (r.output === null) continue;
      const name = r.output.path.slice(target.name.length + 1);
      const rel = folder === "." ? name : `${folder}/${name}`;
      const other = writer.get(rel);
      const collision =
        other !== undefined
          ? `This spec's workflow \`${a.ir.name}\` would write ${rel}, as ${other} does; workflow names must be unique across the specs compiled together (and targets sharing a folder need different file extensions).`
          : claim(target, a.ir.name, shown);
      if (collision !== null) {
        diagnostics.push({ file: a.spec.file, line: 1, column: 1, severity: "error", code: "KFM208", message: collision });
        continue;
      }
      writer.set(rel, a.spec.file);
      outputs.push({ ...r.output, path: rel });
      sources.set(rel, a);
      if (r.run !== undefined) {
        const runRel = `${runsFolder === "." ? "" : `${runsFolder}/`}${r.run.path.slice(r.run.path.indexOf("/") + 1)}`;
        writer.set(runRel, a.spec.file);
        outputs.push({ ...r.run, path: runRel });
        sources.set(runRel, a);
      }
    }
  }
  if (sel.whole === true) outputs.push(...folderOutputs(sel, outputs, taken));
  return { outputs, specs, diagnostics, sources };
}

/**
 * The folder files of each target (`Target.folderFiles`), from the workflows written into
 * its folder: those compiled now and those `taken` (trusted current without compiling).
 */
export function folderOutputs(
  sel: Selection,
  outputs: readonly Output[],
  taken: readonly { readonly path: string; readonly target?: string }[] = [],
): Output[] {
  const files: Output[] = [];
  for (const { target, folder, options } of sel.targets) {
    if (target.folderFiles === undefined) continue;
    const prefix = folder === "." ? "" : `${folder}/`;
    const names = [
      ...outputs.filter((o) => o.target === target.name && (o.role ?? "output") === "output").map((o) => o.path),
      ...taken.filter((t) => t.target === target.name).map((t) => t.path),
    ]
      .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/") && p.endsWith(`.${target.extension}`))
      .map((p) => p.slice(prefix.length))
      .sort();
    const entries = [...new Set(names)].map((file) => ({ file, workflow: file.slice(0, -target.extension.length - 1) }));
    const digest = options?.digest ?? "none";
    for (const f of target.folderFiles(entries, options?.values ?? defaultOptions(target.options), headerLinesFor(target.name, FOLDER_FROM))) {
      files.push({ target: target.name, path: `${prefix}${f.name}`, text: sealOutput(f.name, f.text, digest), role: "folder" });
    }
  }
  return files;
}

/** What a folder file's header names as its source: no one spec, the folder's workflows. */
export const FOLDER_FROM = "(the workflows of this folder)";
