/**
 * Compiling a set of specs for a set of targets in memory, with each target's output
 * folder: the common ground of `kfm-compile` (which writes) and `kfm-compile check`
 * (which compares). Output paths are relative to one base folder.
 */
import { relative, sep } from "node:path";
import type { Target } from "../targets/types.js";
import { analyze, compileFor, type Analysis, type Output } from "./compile.js";
import { type Diagnostic } from "./diagnostics.js";
import { diskHost, type ReadError } from "./spec/layout.js";

export interface Selection {
  /** Output paths are relative to this folder (absolute). */
  readonly base: string;
  /** The project root: job file references stay inside it. */
  readonly root: string;
  /** Spec files, absolute. */
  readonly specs: readonly string[];
  /** Each target and its output folder, relative to `base`, `/`-separated. */
  readonly targets: readonly { readonly target: Target; readonly folder: string }[];
  /** How a file is named in diagnostics and headers. */
  readonly display: (path: string) => string;
  readonly readFile: (path: string) => string | ReadError;
  /** Told before each spec is read and before each is compiled (the CLI's progress line). */
  readonly progress?: (step: "reading" | "compiling", done: number, total: number) => void;
}

export interface Compiled {
  /** Paths relative to `base`: `<folder>/<workflow>.<ext>`. */
  readonly outputs: Output[];
  /** Display paths of the specs that compiled, as headers name them. */
  readonly specs: string[];
  readonly diagnostics: Diagnostic[];
}

export function relativeDisplay(from: string): (path: string) => string {
  return (path) => relative(from, path).split(sep).join("/") || ".";
}

/**
 * Reads and analyses every selected spec (job files resolved inside the root): the
 * analyses of the readable ones, and every diagnostic, unreadable files included.
 */
export function analyzeSelection(sel: Selection): { analyses: Analysis[]; diagnostics: Diagnostic[] } {
  const host = diskHost(sel.root, sel.display, sel.readFile);
  const analyses: Analysis[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [i, path] of sel.specs.entries()) {
    sel.progress?.("reading", i, sel.specs.length);
    const shown = sel.display(path);
    const text = sel.readFile(path);
    if (typeof text !== "string") {
      diagnostics.push({ file: shown, line: 1, column: 1, severity: "error", code: text.code ?? "KFM005", message: text.error });
      continue;
    }
    const a = analyze(shown, text, { path, host });
    diagnostics.push(...a.diagnostics);
    analyses.push(a);
  }
  return { analyses, diagnostics };
}

/**
 * Reads, analyses and compiles every spec for every target; nothing is written.
 * `taken` are output paths (relative to `base`) already claimed by specs outside the
 * selection, with the spec claiming each: a spec writing one of them is refused as two
 * selected specs writing the same path are.
 */
export function compileSelection(sel: Selection, taken: readonly { readonly path: string; readonly from: string }[] = []): Compiled {
  const { analyses, diagnostics } = analyzeSelection(sel);
  const outputs: Output[] = [];
  const specs: string[] = [];
  const writer = new Map<string, string>(taken.map((t) => [t.path, t.from]));
  for (const [i, a] of analyses.entries()) {
    sel.progress?.("compiling", i, analyses.length);
    const shown = a.spec.file;
    if (a.ir === null) continue;
    specs.push(shown);
    for (const { target, folder } of sel.targets) {
      const r = compileFor(a, target);
      diagnostics.push(...r.diagnostics);
      if (r.output === null) continue;
      const name = r.output.path.slice(target.name.length + 1);
      const rel = folder === "." ? name : `${folder}/${name}`;
      const other = writer.get(rel);
      if (other !== undefined) {
        diagnostics.push({
          file: a.spec.file,
          line: 1,
          column: 1,
          severity: "error",
          code: "KFM208",
          message: `This spec's workflow \`${a.ir.name}\` would write ${rel}, as ${other} does; workflow names must be unique across the specs compiled together (and targets sharing a folder need different file extensions).`,
        });
        continue;
      }
      writer.set(rel, a.spec.file);
      outputs.push({ ...r.output, path: rel });
    }
  }
  return { outputs, specs, diagnostics };
}
