/**
 * What every engine's execution test shares (conformance/execution/README.md, "The
 * harness contract"): compile a scenario spec for a target as `kfm-compile --target <t>`
 * writes it, put `scenario.json` beside it, run the engine's harness with a time bound,
 * read and check the `observed.json` it writes, and compare its trace with the reference
 * interpreter's. An engine's test file is then a loop over `cases()` calling
 * `executeCase` with its own `run` step.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { main } from "../../src/cli/index.js";
import { analyze } from "../../src/compile.js";
import type { AttemptEnd, JobState, Observed, Scenario, Trace } from "../../src/execution.js";
import type { Workflow } from "../../src/ir.js";
import { interpretTimed, type Timeline } from "../../src/interpret.js";
import { compareTraces, traceOf, type CompareOptions } from "./compare.js";
import { EXECUTION_CASES } from "./scenarios.js";

/** The files of one spec compiled for one target. */
export interface CompiledSpec {
  /** The output folder (`--out`): `<dir>/<target>/...`, `<dir>/<target>-runs/...`. */
  readonly dir: string;
  /** Every file written, absolute, sorted (folder files such as GitHub's shared reusable workflows included). */
  readonly files: readonly string[];
}

/** Why the target refuses the spec (its KFM301 lines), or null. */
export type Refusal = string | null;

/** Reads and lowers a scenario spec (repository-relative path); a spec that does not lower is a bug of the suite. */
export function specIr(spec: string): Workflow {
  const path = join(PACKAGE_ROOT, spec);
  const a = analyze(spec, readFileSync(path, "utf8"));
  if (a.ir === null)
    throw new Error(`${spec} does not compile:\n${a.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.code}: ${d.message}`).join("\n")}`);
  return a.ir;
}

/**
 * Compiles one spec (repository-relative) for one target with the CLI's own code into a
 * new temporary folder (or `into`), exactly as `kfm-compile <spec> --target <t> --out
 * <dir> [--option NAME=VALUE]...` writes it. A target's refusal (KFM301 only) is returned
 * as `refused`; any other problem throws.
 */
export function compileSpec(
  spec: string,
  target: string,
  opts: { readonly options?: readonly string[]; readonly into?: string } = {},
): { compiled: CompiledSpec; refused: null } | { compiled: null; refused: string } {
  const dir = opts.into ?? mkdtempSync(join(tmpdir(), `kfm-exec-${target}-`));
  mkdirSync(dir, { recursive: true });
  const err: string[] = [];
  const argv = [spec, "--target", target, "--out", dir, "--quiet", ...(opts.options ?? []).flatMap((o) => ["--option", o])];
  const code = main(argv, { stdout: () => {}, stderr: (s) => err.push(s), cwd: PACKAGE_ROOT });
  if (typeof code !== "number") throw new Error("compiling returned a promise: only apply does");
  const stderr = err.join("");
  if (code !== 0) {
    const errors = stderr.split("\n").filter((l) => / error KFM\d+:/.test(l));
    if (errors.length > 0 && errors.every((l) => / error KFM301:/.test(l))) return { compiled: null, refused: errors.join("\n") };
    throw new Error(`kfm-compile ${argv.join(" ")} exited ${code}:\n${stderr}`);
  }
  return { compiled: { dir, files: listFiles(dir) }, refused: null };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Writes `scenario.json` (a `Scenario`) into `dir`; returns its path. */
export function writeScenario(dir: string, scenario: Scenario): string {
  const path = join(dir, "scenario.json");
  writeFileSync(path, JSON.stringify(scenario, null, 2) + "\n");
  return path;
}

/**
 * Runs a harness command with a time bound: resolves with its output when it exits 0,
 * rejects with its exit status and the end of its output otherwise, or once
 * `timeoutSeconds` passed (the command and every process it started in its process
 * group are killed).
 */
export function runHarness(
  command: string,
  args: readonly string[],
  opts: { readonly cwd?: string; readonly env?: Readonly<Record<string, string | undefined>>; readonly timeoutSeconds: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, opts.timeoutSeconds * 1000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${command} did not start: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const tail = (s: string) => s.slice(-4000);
      if (timedOut)
        reject(new Error(`${command} ${args.join(" ")} ran longer than ${opts.timeoutSeconds} s and was stopped:\n${tail(stderr)}\n${tail(stdout)}`));
      else if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited ${code ?? signal}:\n${tail(stderr)}\n${tail(stdout)}`));
      else resolve({ stdout, stderr });
    });
  });
}

const JOB_STATES: readonly JobState[] = ["succeeded", "failed", "not-run"];
const ENDS: readonly AttemptEnd[] = ["succeeded", "failed", "timed-out", "did-not-start"];

/** Reads `observed.json` and checks its shape (src/execution.ts `Observed`), naming every problem. */
export function readObserved(path: string): Observed {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: not readable JSON (${(e as Error).message})`);
  }
  const problems = observedProblems(data);
  if (problems.length > 0) throw new Error(`${path} is not an Observed (src/execution.ts):\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return data as Observed;
}

/** Every way `data` is not an `Observed`; empty when it is one. */
export function observedProblems(data: unknown): string[] {
  const p: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  if (!isObj(data)) return ["the file holds no JSON object"];
  if (typeof data.engine !== "string" || data.engine === "") p.push("engine: a non-empty string (engine and version)");
  if (data.run !== "succeeded" && data.run !== "failed") p.push(`run: "succeeded" or "failed", not ${JSON.stringify(data.run)}`);
  if (!isObj(data.jobs)) p.push("jobs: an object of spec job name -> state");
  else
    for (const [k, v] of Object.entries(data.jobs))
      if (!JOB_STATES.includes(v as JobState)) p.push(`jobs.${k}: one of ${JOB_STATES.join(", ")}, not ${JSON.stringify(v)}`);
  if (!Array.isArray(data.attempts)) p.push("attempts: a list");
  else
    data.attempts.forEach((a: unknown, i: number) => {
      const at = `attempts[${i}]`;
      if (!isObj(a)) return void p.push(`${at}: an object`);
      if (typeof a.job !== "string") p.push(`${at}.job: the spec job name`);
      else if (isObj(data.jobs) && !Object.hasOwn(data.jobs, a.job)) p.push(`${at}.job: \`${a.job}\` is not in jobs`);
      if (!Number.isInteger(a.attempt) || (a.attempt as number) < 1) p.push(`${at}.attempt: an integer from 1`);
      if (!num(a.startedAt)) p.push(`${at}.startedAt: seconds from the run's start`);
      if (!num(a.endedAt)) p.push(`${at}.endedAt: seconds from the run's start`);
      if (num(a.startedAt) && num(a.endedAt) && (a.endedAt as number) < (a.startedAt as number)) p.push(`${at}: ends before it starts`);
      if (!ENDS.includes(a.end as AttemptEnd)) p.push(`${at}.end: one of ${ENDS.join(", ")}, not ${JSON.stringify(a.end)}`);
      if (!isObj(a.env) || !Object.values(a.env).every((v) => typeof v === "string")) p.push(`${at}.env: an object of strings`);
      if (a.command !== null && !strings(a.command)) p.push(`${at}.command: null or a list of strings`);
      if (!strings(a.args)) p.push(`${at}.args: a list of strings`);
    });
  if (!Array.isArray(data.notifications)) p.push("notifications: a list");
  else
    data.notifications.forEach((n: unknown, i: number) => {
      if (!isObj(n) || !Number.isInteger(n.index) || (n.index as number) < 0 || !strings(n.failedJobs)) {
        p.push(`notifications[${i}]: {index: the entry's index, failedJobs: spec job names}`);
      }
    });
  return p;
}

/** One scenario of one spec, with what the reference interpreter expects of it. */
export interface ExecutionItem {
  /** Repository-relative path of the spec. */
  readonly spec: string;
  readonly scenario: Scenario;
  readonly note?: string;
  readonly ir: Workflow;
  readonly expected: Trace;
  readonly timeline: Timeline;
  /** `spec / scenario / target`, the start of every report line. */
  readonly label: (target: string) => string;
}

/** Every scenario of every case of `EXECUTION_CASES` (or of `only`, spec paths), expected traces included. */
export function* cases(only?: readonly string[]): Generator<ExecutionItem> {
  for (const c of EXECUTION_CASES) {
    if (only !== undefined && !only.includes(c.spec)) continue;
    yield* caseItems(c.spec, specIr(c.spec), c.scenarios, c.note);
  }
}

/** The scenarios of one spec (its path as the CLI is given it, and its lowered IR), expected traces included. */
export function* caseItems(spec: string, ir: Workflow, scenarios: readonly Scenario[], note?: string): Generator<ExecutionItem> {
  for (const scenario of scenarios) {
    const { trace, timeline } = interpretTimed(ir, scenario);
    yield {
      spec,
      scenario,
      ...(note === undefined ? {} : { note }),
      ir,
      expected: trace,
      timeline,
      label: (target) => `${basename(spec)} / ${scenario.name} / ${target}`,
    };
  }
}

/**
 * The `Observed` a harness would write if its engine did exactly what the reference says,
 * at the timeline's times: the suite's own tests start from it, and an engine's test can
 * use it to check its plumbing before its engine runs.
 */
export function idealObserved(item: Pick<ExecutionItem, "expected" | "timeline">): Observed {
  return {
    engine: "reference",
    run: item.expected.run,
    jobs: Object.fromEntries(Object.entries(item.expected.jobs).map(([k, v]) => [k, v.state])),
    attempts: item.timeline.attempts.map((a) => {
      const t = item.expected.jobs[a.job]!.attempts[a.attempt - 1]!;
      return { ...a, env: t.env, command: t.command, args: t.args };
    }),
    notifications: item.expected.notifications,
  };
}

/** What an engine's `run` step is given: the compiled files, and where scenario.json is and observed.json must be written. */
export interface RunInput {
  readonly item: ExecutionItem;
  readonly compiled: CompiledSpec;
  readonly scenarioPath: string;
  readonly observedPath: string;
}

export type CaseResult =
  { readonly refused: string } | { readonly refused: null; readonly differences: readonly string[]; readonly observed: Observed; readonly actual: Trace };

/**
 * One scenario on one engine: compile (a refusal is returned, not failed), write
 * scenario.json, let `run` drive the engine to write observed.json, read it, and compare
 * its trace with the expected one. An empty `differences` means the runs are the same.
 */
export async function executeCase(
  item: ExecutionItem,
  target: string,
  run: (input: RunInput) => Promise<void>,
  opts: CompareOptions & { readonly options?: readonly string[] } = {},
): Promise<CaseResult> {
  const r = compileSpec(item.spec, target, { options: opts.options });
  if (r.compiled === null) return { refused: r.refused };
  const scenarioPath = writeScenario(r.compiled.dir, item.scenario);
  const observedPath = join(r.compiled.dir, "observed.json");
  await run({ item, compiled: r.compiled, scenarioPath, observedPath });
  const observed = readObserved(observedPath);
  const actual = traceOf(observed);
  return { refused: null, differences: compareTraces(item.label(target), item.expected, actual, opts), observed, actual };
}
