/**
 * The library API: spec text in, diagnostics and IR out; IR and a target in,
 * diagnostics or output text out. The CLI is a thin shell over these.
 */
import { hasErrors, problem, sortDiagnostics, suggestion, type Diagnostic } from "./diagnostics.js";
import { sealOutput } from "./header.js";
import type { SpecPath, Workflow } from "./ir.js";
import { templateChars, specTemplates } from "./expansion.js";
import { MAX_JOBS, MAX_OUTPUT_BYTES } from "./limits.js";
import { judgeDaylightSaving, lower, type LowerOptions } from "./lower.js";
import { outputBaseName } from "./names.js";
import { resolveJobFiles, type SpecHost } from "./spec/layout.js";
import { loadSpec, type LoadedSpec } from "./spec/load.js";
import { checkShape } from "./spec/schema.js";
import { defaultOptions } from "./options.js";
import { checkText } from "./text.js";
import type { Target } from "../targets/types.js";

export interface Analysis {
  readonly ir: Workflow | null;
  readonly diagnostics: Diagnostic[];
  /** The spec; with job files, its digest covers them and it locates problems in them. */
  readonly spec: LoadedSpec;
  /** Display paths of the job files the spec references (repository layout). */
  readonly jobFiles?: readonly string[];
}

/** A spec read with its job files: what `analyze` validates, and what `check` digests. */
export interface SpecRead {
  readonly spec: LoadedSpec;
  /** The document with job files put in place; null when reading failed (see `diagnostics`). */
  readonly data: Record<string, unknown> | null;
  readonly diagnostics: Diagnostic[];
  readonly jobFiles?: readonly string[];
}

/**
 * Reads one spec and the job files it names, without validating it: the spec's digest
 * then covers every file read. `where` (the file's absolute path and a host to read
 * through) lets a workflow name job files (`job: jobs/extract.yaml`); without it such
 * references are refused.
 */
export function readLayout(file: string, text: string, where?: { path: string; host: SpecHost }): SpecRead {
  const spec = loadSpec(file, text);
  if (spec.diagnostics.length > 0) return { spec, data: null, diagnostics: [...spec.diagnostics] };
  const data = spec.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { spec, data: null, diagnostics: [spec.locate(problem("KFM004", "A spec is a mapping with one top-level key, `workflow:` or `job:`.", []))] };
  }
  const keys = Object.keys(data);
  const kinds = keys.filter((k) => k === "workflow" || k === "job");
  if (kinds.length !== 1) {
    const ds =
      kinds.length === 2
        ? [spec.locate(problem("KFM004", "A spec holds either `workflow:` or `job:`, not both; put jobs inside the workflow's `jobs` list.", ["job"], true))]
        : keys.length > 0
          ? keys.map((k) =>
              spec.locate(
                problem(
                  "KFM101",
                  `Unknown top-level key \`${k}\`: a spec starts with \`workflow:\` or \`job:\`.${suggestion(k, ["workflow", "job"])}`,
                  [k],
                  true,
                ),
              ),
            )
          : [spec.locate(problem("KFM004", "A spec is a mapping with one top-level key, `workflow:` or `job:`.", []))];
    return { spec, data: null, diagnostics: sortDiagnostics(ds) };
  }
  const wf = (data as Record<string, unknown>).workflow;
  const jobCount = wf !== null && typeof wf === "object" && Array.isArray((wf as Record<string, unknown>).jobs) ? (wf as { jobs: unknown[] }).jobs.length : 0;
  if (jobCount > MAX_JOBS) {
    // Before job files are read or anything is validated: each step below is at least linear in the jobs.
    const message = `This workflow has ${jobCount} jobs, more than the ${MAX_JOBS} a workflow may have (src/limits.ts); split it into workflows that depend on each other (\`dependencies\`).`;
    return { spec, data: null, diagnostics: [spec.locate(problem("KFM008", message, ["workflow", "jobs"], true))] };
  }
  const resolved = resolveJobFiles(spec, data as Record<string, unknown>, where);
  if (hasErrors(resolved.diagnostics)) {
    // Without the job the workflow cannot be lowered; its own shape is still checked.
    const shape = checkShape(data as Record<string, unknown>).map(resolved.spec.locate);
    return { spec: resolved.spec, data: null, diagnostics: sortDiagnostics([...resolved.diagnostics, ...shape]), jobFiles: resolved.files };
  }
  return { spec: resolved.spec, data: resolved.data, diagnostics: resolved.diagnostics, jobFiles: resolved.files };
}

/** Reads, validates and lowers one spec. `file` names it in diagnostics and headers; `where` as for `readLayout`. */
export function analyze(file: string, text: string, where?: { path: string; host: SpecHost }, options?: LowerOptions): Analysis {
  const read = readLayout(file, text, where);
  const { spec, data: record } = read;
  if (record === null) return { ir: null, diagnostics: read.diagnostics, spec, ...(read.jobFiles ? { jobFiles: read.jobFiles } : {}) };
  const shape = checkShape(record);
  const lowered = lower(record, { path: file, digest: spec.digest }, spec.scalarSource, options);
  const diagnostics = sortDiagnostics([...read.diagnostics, ...[...shape, ...checkText(record), ...lowered.problems].map(spec.locate)]);
  return { ir: hasErrors(diagnostics) ? null : lowered.ir, diagnostics, spec, jobFiles: read.jobFiles };
}

export interface Output {
  readonly target: string;
  /** Relative to the output folder: `<target>/<workflow>.<ext>` (a run file: `<target>-runs/<workflow>.run.<ext>`). */
  readonly path: string;
  readonly text: string;
  /**
   * What the file is: the workflow's file (`output`, the default), the file that starts a
   * run by hand (`run`, in the runs folder), or a file of the whole output folder (`folder`).
   */
  readonly role?: "output" | "run" | "folder";
}

/** Options of one target, checked (src/options.ts): the values `emit` gets and the digest its header carries. */
export interface TargetOptions {
  readonly values: Record<string, unknown>;
  /** What was given (config and command line), without defaults. */
  readonly given: Record<string, unknown>;
  /** The header's `options:` value (src/options.ts `optionsDigest`). */
  readonly digest: string;
}

/**
 * Compiles a valid IR for one target: the target's refusals as diagnostics, or the output
 * file (and the file that starts a run by hand, when the target writes one).
 */
export function compileFor(analysis: Analysis, target: Target, options?: TargetOptions): { output: Output | null; run?: Output; diagnostics: Diagnostic[] } {
  const ir = analysis.ir;
  if (ir === null) throw new Error("compileFor needs a valid analysis");
  const values = options?.values ?? defaultOptions(target.options);
  const digest = options?.digest ?? "none";
  // A daylight-saving slot this target cannot fire as meant (KFM220), unless the project already judged it for its targets.
  const dst = analysis.diagnostics.some((d) => d.code === "KFM220") ? null : judgeDaylightSaving(ir, [target]);
  const diagnostics = sortDiagnostics([...target.check(ir, values), ...(dst === null ? [] : [dst])].map(analysis.spec.locate));
  if (hasErrors(diagnostics)) return { output: null, diagnostics };
  const limit = target.fileLimit;
  const tooLarge = (bytes: number, atLeast: boolean): Diagnostic => {
    const size = (n: number) => `${(n / 1000).toLocaleString("en-US", { maximumFractionDigits: 0 })} KB`;
    const message = `The ${target.name} file for this workflow is ${atLeast ? "at least " : ""}${size(bytes)}, more than the ${size(limit!.bytes)} ${target.name} takes: ${limit!.rule}. Split the workflow into workflows that depend on each other (\`dependencies\`).`;
    // About the whole file, so it points at the spec's start: locating a key would mean
    // parsing the (large) spec again with positions.
    return { file: analysis.spec.file, line: 1, column: 1, severity: limit!.severity, code: "KFM302", message };
  };
  // Before the file is built (src/limits.ts, "Output bounds"): the target's lower bound on
  // its size, which counts every value as the target writes it.
  const least = target.minimumBytes?.(ir) ?? 0;
  if (least > MAX_OUTPUT_BYTES) return { output: null, diagnostics: [...diagnostics, outputTooLarge(analysis, target, least, true)] };
  if (limit?.severity === "error" && least > limit.bytes) return { output: null, diagnostics: [...diagnostics, tooLarge(least, true)] };
  const name = `${outputBaseName(ir.name)}.${target.extension}`;
  const text = sealOutput(name, target.emit(ir, values), digest);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_OUTPUT_BYTES) return { output: null, diagnostics: [...diagnostics, outputTooLarge(analysis, target, bytes, false)] };
  if (limit !== undefined && bytes > limit.bytes) {
    diagnostics.push(tooLarge(bytes, false));
    if (limit.severity === "error") return { output: null, diagnostics };
  }
  const output: Output = { target: target.name, path: `${target.name}/${name}`, text };
  if (target.run === undefined) return { output, diagnostics };
  const runName = `${outputBaseName(ir.name)}.run.${target.extension}`;
  const run: Output = { target: target.name, path: `${target.name}-runs/${runName}`, text: sealOutput(runName, target.run(ir, values), digest), role: "run" };
  return { output, run, diagnostics };
}

/**
 * KFM009 for a file over MAX_OUTPUT_BYTES, at the job whose values are the largest (the
 * likeliest place to shorten), or at the spec's start when no job has any.
 */
function outputTooLarge(analysis: Analysis, target: Target, bytes: number, atLeast: boolean): Diagnostic {
  const ir = analysis.ir!;
  let largest: { at: SpecPath; chars: number } | null = null;
  for (const job of ir.jobs) {
    let chars = 0;
    for (const t of specTemplates({ ...ir, jobs: [job] })) chars += templateChars(t);
    if (chars > 0 && (largest === null || chars > largest.chars)) largest = { at: job.at, chars };
  }
  const n = (x: number) => x.toLocaleString("en-US");
  const part = largest === null ? "" : ` The values of this job are the largest part of it (${n(largest.chars)} characters).`;
  const message = `The ${target.name} file for this workflow would be ${atLeast ? "at least " : ""}${n(bytes)} bytes, more than the ${n(MAX_OUTPUT_BYTES)} (${MAX_OUTPUT_BYTES / 1024 / 1024} MiB) any output file may be (src/limits.ts).${part} Keep large data in files or object storage and pass jobs its location, or split the workflow into workflows that depend on each other (\`dependencies\`).`;
  return analysis.spec.locate(problem("KFM009", message, largest?.at ?? [], largest !== null));
}
