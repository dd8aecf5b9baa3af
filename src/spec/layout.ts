/**
 * The contract's repository layout (section 12.2): a workflow's `jobs[i].job` may be
 * the path of a file holding one `job:` document, relative to the workflow file. The
 * file is read through a host (disk in the CLI, a map in tests), shape-checked as a
 * job document, and its problems are reported in it. A reference never leaves the
 * project root: not absolute, no `..` out of it, no symbolic link pointing out.
 */
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { problem, type Diagnostic, type Problem } from "../diagnostics.js";
import type { SpecPath } from "../ir.js";
import { MAX_WORKFLOW_BYTES } from "../limits.js";
import { loadSpec, type LoadedSpec } from "./load.js";
import { checkShape } from "./schema.js";

/** Why a file cannot be read: a sentence, and KFM008 when a bound of src/limits.ts refused it (else KFM005). */
export interface ReadError {
  readonly error: string;
  readonly code?: "KFM005" | "KFM008";
}

/** Where spec files come from. Paths are absolute. */
export interface SpecHost {
  /** The project root: the folder of `kfm.config.yaml`, or the current folder. */
  readonly root: string;
  /** The text of a file, or a sentence saying why it cannot be read. */
  readFile(path: string): string | ReadError;
  /** The path with symbolic links resolved, or null when it does not exist. */
  realPath(path: string): string | null;
  /** How a file is named in diagnostics and headers. */
  display(path: string): string;
}

/** A host reading the disk. */
export function diskHost(root: string, display: (path: string) => string, readFile: (path: string) => string | ReadError): SpecHost {
  return {
    root,
    readFile,
    realPath: (p) => {
      try {
        return realpathSync.native(p);
      } catch {
        return null;
      }
    },
    display,
  };
}

/** A job file substituted into the workflow. */
interface JobFile {
  readonly index: number;
  readonly ref: string;
  readonly spec: LoadedSpec;
}

export interface Resolved {
  /** The workflow data with every job file's job in place. */
  readonly data: Record<string, unknown>;
  /** Locates problems, those inside a referenced job in its job file. */
  readonly spec: LoadedSpec;
  /** Problems of the references and job files, already located. */
  readonly diagnostics: Diagnostic[];
  /** Display paths of the job files read. */
  readonly files: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith(".." + sep));
}

/**
 * Replaces job-file references in `data` (a `workflow:` document). `path` is the
 * workflow file's absolute path; without a host, references are refused.
 */
export function resolveJobFiles(spec: LoadedSpec, data: Record<string, unknown>, where?: { path: string; host: SpecHost }): Resolved {
  const wf = data.workflow;
  const jobs = isRecord(wf) && Array.isArray(wf.jobs) ? wf.jobs : [];
  const refs = jobs.flatMap((item, index) => (isRecord(item) && typeof item.job === "string" ? [{ index, ref: item.job }] : []));
  if (refs.length === 0) return { data, spec, diagnostics: [], files: [] };

  const diagnostics: Diagnostic[] = [];
  const files: JobFile[] = [];
  let bytes = spec.text.length;
  const at = (i: number): SpecPath => ["workflow", "jobs", i, "job"];
  // The root with its links resolved, looked up once for every reference.
  const realRoot = where === undefined ? null : (where.host.realPath(where.host.root) ?? where.host.root);
  for (const { index, ref } of refs) {
    const fail = (message: string, code: Problem["code"] = "KFM006") => diagnostics.push(spec.locate(problem(code, message, at(index))));
    if (where === undefined) {
      fail(`The job file \`${ref}\` cannot be read: a workflow naming job files must be compiled from its file.`, "KFM005");
      continue;
    }
    const { host } = where;
    if (ref.trim() === "") {
      fail("A job file path is empty: name the file holding the `job:` document, relative to this workflow file (for example `jobs/extract.yaml`).", "KFM104");
      continue;
    }
    if (isAbsolute(ref) || /^[A-Za-z]:[\\/]/.test(ref) || ref.startsWith("\\")) {
      fail(`\`${ref}\` is an absolute path: name the job file relative to this workflow file (for example \`jobs/extract.yaml\`), inside the project root.`);
      continue;
    }
    const path = resolve(dirname(where.path), ref);
    if (!inside(host.root, path)) {
      fail(`\`${ref}\` leads outside the project root (${host.display(host.root)}): job files must be inside it.`);
      continue;
    }
    const real = host.realPath(path);
    if (real !== null && !inside(realRoot!, real)) {
      fail(`\`${ref}\` is a symbolic link (or passes through one) to ${real}, outside the project root: job files must be inside it.`);
      continue;
    }
    const text = host.readFile(path);
    if (typeof text !== "string") {
      fail(`The job file \`${ref}\` (${host.display(path)}) cannot be read: ${text.error}`, text.code ?? "KFM005");
      continue;
    }
    bytes += text.length;
    if (bytes > MAX_WORKFLOW_BYTES) {
      fail(
        `With the job file \`${ref}\` this workflow's files hold more than the ${MAX_WORKFLOW_BYTES / 1024 / 1024} MiB a workflow may (src/limits.ts); split it.`,
        "KFM008",
      );
      break;
    }
    const job = loadSpec(host.display(path), text);
    if (job.diagnostics.length > 0) {
      diagnostics.push(...job.diagnostics);
      continue;
    }
    if (!isRecord(job.data) || !("job" in job.data)) {
      const what = isRecord(job.data) && "workflow" in job.data ? "holds a workflow" : "holds no `job:` document";
      diagnostics.push(
        job.locate(problem("KFM004", `This file is named as a job file by ${spec.file} but ${what}: a job file holds one \`job:\` document.`, [])),
      );
      continue;
    }
    const shape = checkShape(job.data);
    if (shape.length > 0) {
      diagnostics.push(...shape.map(job.locate));
      if (shape.some((p) => p.severity === "error")) continue;
    }
    files.push({ index, ref, spec: job });
  }

  const byIndex = new Map(files.map((f) => [f.index, f]));
  const newJobs = jobs.map((item, i) => {
    const f = byIndex.get(i);
    return f ? { ...(item as Record<string, unknown>), job: (f.spec.data as Record<string, unknown>).job } : item;
  });
  const newData = { ...data, workflow: { ...(wf as Record<string, unknown>), jobs: newJobs } };
  const fileOf = (path: SpecPath): { file: JobFile; rest: SpecPath } | null => {
    if (path[0] !== "workflow" || path[1] !== "jobs" || typeof path[2] !== "number" || path[3] !== "job") return null;
    const file = byIndex.get(path[2]);
    return file ? { file, rest: ["job", ...path.slice(4)] } : null;
  };
  const digest =
    "sha256:" +
    createHash("sha256")
      .update([spec.digest, ...files.map((f) => `${f.ref} ${f.spec.digest}`)].join("\n"))
      .digest("hex");
  const combined: LoadedSpec = {
    ...spec,
    digest,
    locate: (p) => {
      const f = fileOf(p.at);
      return f ? f.file.spec.locate({ ...p, at: f.rest }) : spec.locate(p);
    },
    scalarSource: (path) => {
      const f = fileOf(path);
      return f ? f.file.spec.scalarSource(f.rest) : spec.scalarSource(path);
    },
  };
  return { data: newData, spec: combined, diagnostics, files: files.map((f) => f.spec.file) };
}
