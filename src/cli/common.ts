/**
 * What every command shares: the IO seam, usage errors, option parsing with
 * did-you-mean, reading specs into diagnostics, and printing them.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { TARGETS, findTarget, type Target } from "../../targets/index.js";
import { analyze, type Analysis } from "../compile.js";
import type { LowerOptions } from "../lower.js";
import { formatDiagnostic, safeJson, sortDiagnostics, suggestion, type Diagnostic } from "../diagnostics.js";
import { MAX_SPEC_BYTES } from "../limits.js";
import { diskHost, type ReadError } from "../spec/layout.js";

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly cwd: string;
  /** Whether standard error is a terminal: only then is a progress line drawn (progress.ts). */
  readonly isTTY?: boolean;
  /** A clock in milliseconds, for the progress line (default: performance.now). */
  readonly now?: () => number;
  /** The environment (default: process.env): where `apply` finds the kubeconfig (KUBECONFIG, HOME). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A mistake in the command line itself: printed with a hint, exit 2. */
export class UsageError extends Error {
  /** `message` may quote what the user typed, so it is printed as safe text; `hint` is the compiler's own lines, printed as they are. */
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** One subcommand: its help text and what it does. */
export interface Command {
  readonly name: string;
  /** Its usage line in the main help. */
  readonly summary: string;
  readonly help: string;
  /** The exit status; a command that talks to a server (`apply`) returns it as a promise. */
  run(args: readonly string[], io: Io): number | Promise<number>;
}

/** Prints the command's help when asked, and says whether it did. */
export function printedHelp(values: Parsed["values"], command: Command, io: Io): boolean {
  if (values.help === true) io.stdout(command.help);
  return values.help === true;
}

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function parse(args: readonly string[], options: ParseArgsConfig["options"]): Parsed {
  try {
    return parseArgs({ args: [...args], options: { help: { type: "boolean", short: "h" }, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    const message = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
    if (unknown) {
      const names = Object.keys(options ?? {}).map((o) => `--${o}`);
      throw new UsageError(`unknown option ${unknown[1]}.${suggestion(unknown[1]!, [...names, "--help"])}`);
    }
    throw new UsageError(message.replace(/\.$/, "") + ".");
  }
}

/**
 * Reads and analyses each spec; unreadable files become KFM005 diagnostics. Job files
 * a workflow names (repository layout) must stay inside `root`: the project's folder
 * (that of its kfm.config.yaml), or the current folder without a project. `progress`
 * is told before each spec.
 */
export function analyzeAll(
  files: readonly string[],
  io: Io,
  root: string = io.cwd,
  options?: LowerOptions,
  progress?: (done: number, total: number) => void,
): { analyses: Analysis[]; diagnostics: Diagnostic[] } {
  const analyses: Analysis[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [i, file] of files.entries()) {
    progress?.(i, files.length);
    const shown = displayPath(file, io.cwd);
    const text = readSpec(resolve(io.cwd, file));
    if (typeof text !== "string") {
      diagnostics.push({ file: shown, line: 1, column: 1, severity: "error", code: text.code ?? "KFM005", message: text.error });
      continue;
    }
    const a = analyze(shown, text, { path: resolve(io.cwd, file), host: diskHost(root, (p) => displayPath(p, io.cwd), readSpec) }, options);
    analyses.push(a);
    diagnostics.push(...a.diagnostics);
  }
  return { analyses, diagnostics };
}

export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, resolve(cwd, file));
  return rel === "" ? "." : rel.split(sep).join("/");
}

/**
 * Reads a spec (or job or config) file as text, or says why not. The type and size are
 * checked before anything is read (src/limits.ts): a folder, FIFO, device or socket is
 * refused without blocking (FIFOs are opened non-blocking and checked again on the open
 * descriptor, so one swapped in after the first check cannot block either), and so is
 * a file larger than MAX_SPEC_BYTES, one holding NUL bytes (binary) or one that is not UTF-8.
 */
export function readSpec(path: string): string | ReadError {
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: code === "ENOENT" ? "No such file." : `The file cannot be read (${code}).` };
  }
  const kind = (s: typeof stat) =>
    s.isFile()
      ? null
      : { error: s.isDirectory() ? "This is a folder; give spec files." : "This is not a regular file (a FIFO, device or socket); give spec files." };
  const tooBig = (size: number) =>
    size > MAX_SPEC_BYTES
      ? {
          error: `The file is ${size} bytes or more, larger than the ${MAX_SPEC_BYTES} (${MAX_SPEC_BYTES / 1024 / 1024} MiB) a spec may be; split it (job files, contract 12.2).`,
          code: "KFM008" as const,
        }
      : null;
  const early = kind(stat) ?? tooBig(stat.size);
  if (early !== null) return early;
  let bytes: Buffer;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return { error: `The file cannot be read (${(e as NodeJS.ErrnoException).code}).` };
  }
  try {
    const s = fstatSync(fd);
    const late = kind(s) ?? tooBig(s.size);
    if (late !== null) return late;
    // Sized from fstat with a byte to spare, so a file that grew meanwhile is noticed and
    // read on, up to one byte past the bound, which is refused.
    let buffer = Buffer.allocUnsafe(s.size + 1);
    let n = 0;
    for (;;) {
      if (n === buffer.length) {
        if (buffer.length > MAX_SPEC_BYTES) break;
        const larger = Buffer.allocUnsafe(Math.min(2 * buffer.length, MAX_SPEC_BYTES + 1));
        buffer.copy(larger, 0, 0, n);
        buffer = larger;
      }
      const r = readSync(fd, buffer, n, buffer.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > MAX_SPEC_BYTES) return tooBig(n)!;
    bytes = buffer.subarray(0, n);
  } catch (e) {
    return { error: `The file cannot be read (${(e as NodeJS.ErrnoException).code}).` };
  } finally {
    closeSync(fd);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) return { error: `The file holds a NUL byte (at byte ${nul}): it is binary, not a YAML spec.` };
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { error: "The file is not UTF-8 text." };
  }
}

export function lookupTarget(name: string): Target {
  const t = findTarget(name);
  if (!t) throw new UsageError(`unknown target '${name}'.${suggestion(name, [...TARGETS.map((x) => x.name), "all"])}`);
  return t;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Says what a run did to each file, one line each, on standard error (standard output
 * carries only what was asked for: compiled text, JSON, reports), then a summary:
 *   written    deploy/argo/daily.yaml
 *   unchanged  deploy/tekton/daily.yaml      (same bytes: not rewritten, its mtime kept)
 *   removed    deploy/argo/old.yaml (...)
 *   kfm-compile: 2 files: 1 written, 1 unchanged; 1 orphan removed.
 * `shown` names a path relative to the output base as the user sees it. With `quiet`
 * nothing is printed; refusals are printed by the caller either way.
 */
export function reportFiles(
  io: Io,
  shown: (path: string) => string,
  files: { readonly written: readonly string[]; readonly unchanged: readonly string[]; readonly removed?: readonly string[] },
  options: { quiet: boolean; summary: boolean },
): void {
  if (options.quiet) return;
  const lines = [
    ...files.written.map((p) => `written    ${shown(p)}`),
    ...files.unchanged.map((p) => `unchanged  ${shown(p)}`),
    ...(files.removed ?? []).map((p) => `removed    ${shown(p)} (generated, and no compiled spec writes it any more)`),
  ];
  io.stderr(lines.map((l) => l + "\n").join(""));
  if (!options.summary) return;
  const total = files.written.length + files.unchanged.length;
  const removed = files.removed === undefined ? "" : `; ${plural(files.removed.length, "orphan")} removed`;
  io.stderr(`kfm-compile: ${plural(total, "file")}: ${files.written.length} written, ${files.unchanged.length} unchanged${removed}.\n`);
}

/** Prints diagnostics sorted by file, line and column (README, "Exit status"), however the commands gathered them. */
export function report(unsorted: readonly Diagnostic[], format: "text" | "json", io: Io): void {
  const diagnostics = sortDiagnostics([...unsorted]);
  if (format === "json") {
    // Raw strings, JSON-escaped: a reader gets the spec's text back exactly.
    io.stdout(safeJson(JSON.stringify({ diagnostics }, null, 2)) + "\n");
    return;
  }
  for (const d of diagnostics) io.stderr(formatDiagnostic(d) + "\n");
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  if (errors > 0) io.stderr(`${errors} error${errors === 1 ? "" : "s"}.\n`);
}
