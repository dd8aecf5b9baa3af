/**
 * The library API: spec text in, diagnostics and IR out; IR and a target in,
 * diagnostics or output text out. The CLI is a thin shell over these.
 */
import { hasErrors, problem, sortDiagnostics, suggestion, type Diagnostic } from "./diagnostics.js";
import type { Workflow } from "./ir.js";
import { MAX_JOBS } from "./limits.js";
import { lower } from "./lower.js";
import { outputBaseName } from "./names.js";
import { resolveJobFiles, type SpecHost } from "./spec/layout.js";
import { loadSpec, type LoadedSpec } from "./spec/load.js";
import { checkShape } from "./spec/schema.js";
import type { Target } from "../targets/types.js";

export interface Analysis {
  readonly ir: Workflow | null;
  readonly diagnostics: Diagnostic[];
  /** The spec; with job files, its digest covers them and it locates problems in them. */
  readonly spec: LoadedSpec;
  /** Display paths of the job files the spec references (repository layout). */
  readonly jobFiles?: readonly string[];
}

/**
 * Reads, validates and lowers one spec. `file` names it in diagnostics and headers.
 * `where` (the file's absolute path and a host to read through) lets a workflow name
 * job files (`job: jobs/extract.yaml`); without it such references are refused.
 */
export function analyze(file: string, text: string, where?: { path: string; host: SpecHost }): Analysis {
  let spec = loadSpec(file, text);
  if (spec.diagnostics.length > 0) return { ir: null, diagnostics: [...spec.diagnostics], spec };
  const data = spec.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { ir: null, diagnostics: [spec.locate(problem("KFM004", "A spec is a mapping with one top-level key, `workflow:` or `job:`.", []))], spec };
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
    return { ir: null, diagnostics: sortDiagnostics(ds), spec };
  }
  const wf = (data as Record<string, unknown>).workflow;
  const jobCount = wf !== null && typeof wf === "object" && Array.isArray((wf as Record<string, unknown>).jobs) ? (wf as { jobs: unknown[] }).jobs.length : 0;
  if (jobCount > MAX_JOBS) {
    // Before job files are read or anything is validated: each step below is at least linear in the jobs.
    const message = `This workflow has ${jobCount} jobs, more than the ${MAX_JOBS} a workflow may have (src/limits.ts); split it into workflows that depend on each other (\`dependencies\`).`;
    return { ir: null, diagnostics: [spec.locate(problem("KFM008", message, ["workflow", "jobs"], true))], spec };
  }
  const resolved = resolveJobFiles(spec, data as Record<string, unknown>, where);
  spec = resolved.spec;
  if (hasErrors(resolved.diagnostics)) {
    // Without the job the workflow cannot be lowered; its own shape is still checked.
    const shape = checkShape(data as Record<string, unknown>).map(spec.locate);
    return { ir: null, diagnostics: sortDiagnostics([...resolved.diagnostics, ...shape]), spec, jobFiles: resolved.files };
  }
  const record = resolved.data;
  const shape = checkShape(record);
  const lowered = lower(record, { path: file, digest: spec.digest }, spec.scalarSource);
  const diagnostics = sortDiagnostics([...resolved.diagnostics, ...[...shape, ...lowered.problems].map(spec.locate)]);
  return { ir: hasErrors(diagnostics) ? null : lowered.ir, diagnostics, spec, jobFiles: resolved.files };
}

export interface Output {
  readonly target: string;
  /** Relative to the output folder: `<target>/<workflow>.<ext>`. */
  readonly path: string;
  readonly text: string;
}

/** Compiles a valid IR for one target: the target's refusals as diagnostics, or the output file. */
export function compileFor(analysis: Analysis, target: Target): { output: Output | null; diagnostics: Diagnostic[] } {
  const ir = analysis.ir;
  if (ir === null) throw new Error("compileFor needs a valid analysis");
  const diagnostics = sortDiagnostics(target.check(ir).map(analysis.spec.locate));
  if (hasErrors(diagnostics)) return { output: null, diagnostics };
  const text = target.emit(ir);
  return { output: { target: target.name, path: `${target.name}/${outputBaseName(ir.name)}.${target.extension}`, text }, diagnostics };
}
