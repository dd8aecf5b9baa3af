/**
 * `kfm-compile check`: what compiling would change on disk, without writing. Each
 * expected file is current, stale (its spec or the compiler changed), edited by hand
 * (the header's digest and version are what we would write, the bytes are not),
 * missing, or in the way (a file kfm-compile did not generate); generated files no
 * compiled spec writes any more are orphans.
 *
 * A pre-commit hook runs this on every commit, so it does not compile what cannot have
 * changed: a spec is trusted when, for each of its targets, a file in the target's
 * folder names it, this compiler version and its current digest (spec and job files),
 * and still holds the output digest it was sealed with (so a hand edit, a rename or a
 * copy is noticed). Compiling is deterministic, so such a file is exactly what compiling
 * would write. Every other spec is compiled and compared byte for byte.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTwoFilesPatch } from "diff";
import { readLayout, type Output } from "./compile.js";
import { hasErrors } from "./diagnostics.js";
import { HEADER_BYTES, readHeader, sealHolds, type ParsedHeader } from "./header.js";
import { FOLDER_FROM, targetsFor, type Selection } from "./project.js";
import { digestOf } from "./spec/load.js";
import { diskHost } from "./spec/layout.js";
import { changedOptions } from "./options.js";
import { VERSION } from "./version.js";
import { findOrphans, outputFolderFiles, outsideOutput, type Orphan, type ScannedFolder } from "./write.js";

export type Difference = "hand-edit" | "spec-changed" | "options-changed" | "folder-changed" | "compiler-changed" | "not-generated";

export interface Stale {
  readonly path: string;
  readonly why: Difference;
  /** For `options-changed`: the options whose value changed, by name (null when the old header does not name them). */
  readonly options?: ReturnType<typeof changedOptions>;
  /** A unified diff from the file on disk to what would be generated. */
  readonly patch: string;
}

export interface CheckResult {
  readonly stale: Stale[];
  readonly missing: string[];
  readonly orphans: Orphan[];
  readonly current: string[];
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "EISDIR") return null;
    throw e;
  }
}

/** An output file found current without compiling its spec (see the top of this file). */
export interface Trusted {
  /** Relative to the selection's base, `/`-separated. */
  readonly path: string;
  /** The spec's display path. */
  readonly from: string;
  /** The target's name. */
  readonly target: string;
}

interface Generated {
  readonly path: string;
  readonly header: ParsedHeader;
  /** Whether the file is by this compiler version and its output digest holds. */
  readonly sealed: boolean;
}

/** The generated files directly in each folder, by folder, target and spec. */
function generatedFiles(base: string, folders: readonly string[]): Map<string, Generated[]> {
  const byKey = new Map<string, Generated[]>();
  for (const { folder, name, path } of outputFolderFiles(base, folders)) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(base, path));
    } catch {
      continue;
    }
    const header = readHeader(bytes.subarray(0, HEADER_BYTES).toString("utf8"));
    if (header === null) continue;
    const key = trustKey(folder, header.target, header.from);
    const g = { path, header, sealed: header.version === VERSION && sealHolds(name, bytes) };
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [g]);
    else list.push(g);
  }
  return byKey;
}

function trustKey(folder: string, target: string, from: string): string {
  return `${folder}\0${target}\0${from}`;
}

/**
 * Splits the selection's specs into those whose outputs are all current without
 * compiling (their files returned as trusted) and those that must be compiled.
 */
export function trustCurrent(sel: Selection): { trusted: Trusted[]; compile: string[] } {
  // Job files of the trusted workflows: such a file, matched by a project glob too, is
  // part of its workflow and not compiled on its own (analyzeSelection).
  const parts = new Set<string>();
  const generated = generatedFiles(
    sel.base,
    sel.targets.flatMap((t) => (t.target.run === undefined ? [t.folder] : [t.folder, t.runsFolder])),
  );
  const host = diskHost(sel.root, sel.display, sel.readFile);
  const trusted: Trusted[] = [];
  const compile: string[] = [];
  for (const path of sel.specs) {
    const shown = sel.display(path);
    // Each file the spec writes: one per target, and its run file where the target writes one.
    const targets = targetsFor(sel, path).flatMap((t) => (t.target.run === undefined ? [t] : [t, { ...t, folder: t.runsFolder }]));
    const candidates = targets.map(({ target, folder }) => generated.get(trustKey(folder, target.name, shown)) ?? []);
    const text = candidates.some((c) => c.length === 0) ? null : sel.readFile(path);
    if (typeof text !== "string") {
      compile.push(path);
      continue;
    }
    // Without job files the digest is the spec's own, and nothing needs parsing; with
    // them the digest covers every job file, read as compiling reads them.
    let digest = digestOf(text);
    let jobFiles: readonly string[] = [];
    if (!candidates.every((c) => c.some((g) => g.header.digest === digest))) {
      const read = readLayout(shown, text, { path, host });
      if (read.data === null || hasErrors(read.diagnostics) || read.diagnostics.length > 0) {
        compile.push(path);
        continue;
      }
      digest = read.spec.digest;
      jobFiles = read.jobFiles ?? [];
    }
    const picks = candidates.map((c, i) =>
      c.find((g) => g.sealed && g.header.digest === digest && g.header.options === (targets[i]!.options?.digest ?? "none")),
    );
    if (picks.every((g) => g !== undefined)) {
      trusted.push(...picks.map((g, i) => ({ path: g!.path, from: shown, target: targets[i]!.target.name })));
      for (const f of jobFiles) parts.add(f);
    } else compile.push(path);
  }
  return { trusted, compile: parts.size === 0 ? compile : compile.filter((p) => !parts.has(sel.display(p))) };
}

/**
 * Compares `outputs` (paths relative to `base`) with the disk; `folders` are scanned for
 * orphans, among the generated files `claims` says are this selection's. `trusted`
 * files are current already (`trustCurrent`).
 */
export function checkOutputs(
  base: string,
  outputs: readonly Output[],
  folders: readonly ScannedFolder[],
  trusted: readonly Trusted[] = [],
  claims?: (from: string) => boolean,
): CheckResult {
  const stale: Stale[] = [];
  const missing: string[] = [];
  const current: string[] = trusted.map((t) => t.path);
  for (const o of outputs) {
    // A link at an output path may lead anywhere: it is never read (nor printed in a diff).
    if (outsideOutput(base, o.path) !== null) {
      stale.push({ path: o.path, why: "not-generated", patch: `${o.path} leads outside the output folder through a symbolic link; it was not read.\n` });
      continue;
    }
    const existing = readOrNull(join(base, o.path));
    if (existing === null) {
      missing.push(o.path);
      continue;
    }
    if (existing === o.text) {
      current.push(o.path);
      continue;
    }
    const why = difference(existing, o.text);
    stale.push({
      path: o.path,
      why,
      ...(why === "options-changed" ? { options: changedOptions(readHeader(existing)!.options ?? "", readHeader(o.text)!.options ?? "") } : {}),
      patch: createTwoFilesPatch(`a/${o.path}`, `b/${o.path}`, existing, o.text, "on disk", "from the specs"),
    });
  }
  const orphans = findOrphans(base, folders, new Set([...outputs.map((o) => o.path), ...current]), claims);
  return { stale, missing, orphans, current };
}

/** Why a file on disk differs from what would be generated, read from both headers. */
export function difference(onDisk: string, generated: string): Difference {
  const old = readHeader(onDisk);
  if (old === null) return "not-generated";
  const now = readHeader(generated);
  if (now === null) throw new Error("generated output without a header");
  if (old.from === FOLDER_FROM && now.from === FOLDER_FROM && old.target === now.target)
    return old.version !== now.version ? "compiler-changed" : old.options !== now.options ? "options-changed" : "folder-changed";
  if (old.digest !== now.digest || old.from !== now.from || old.target !== now.target) return "spec-changed";
  if (old.version !== now.version) return "compiler-changed";
  if (old.options !== now.options) return "options-changed";
  return "hand-edit";
}

export const WHY: Record<Difference, string> = {
  "hand-edit":
    "edited by hand: its header names the current spec digest and compiler version, but its text is not what they generate. Change the spec instead and run kfm-compile",
  "spec-changed": "stale: its spec changed since it was generated. Run kfm-compile",
  "options-changed": "stale: the target's options (kfm.config.yaml or --option) changed since it was generated. Run kfm-compile",
  "folder-changed": "stale: it is made from the list of workflows in its folder, and that list changed (or it was edited by hand). Run kfm-compile",
  "compiler-changed": "stale: generated by another kfm-compile version. Run kfm-compile",
  "not-generated": "in the way: this file was not generated by kfm-compile, so kfm-compile will not replace it without --force",
};

/** What `check` says of a stale file: `WHY`, naming the options that changed when it can. */
export function staleReason(s: Stale): string {
  if (s.why !== "options-changed" || s.options == null || s.options.length === 0) return WHY[s.why];
  const said = { changed: "changed", added: "is now given", removed: "is no longer given" } as const;
  const list = s.options.map((o) => `\`${o.name}\` ${said[o.change]}`);
  return `stale: the target's options (kfm.config.yaml or --option) changed since it was generated: ${list.join(", ")}. Run kfm-compile`;
}
