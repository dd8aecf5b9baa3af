/**
 * The GitHub Actions output in motion (issue 14): every scenario of every execution spec
 * is compiled for github-actions, run by nektos/act on this host with the containers
 * replaced by a stub docker (conformance/execution/github/), and the trace act produced
 * is compared with the reference interpreter's. Where act is not GitHub, the harness
 * does what GitHub documents (conformance/execution/github/README.md); a field that act
 * cannot show is compared with GitHub's documented behaviour and listed in DOCUMENTED.
 *
 * Sabotage: the same comparison must report a difference when the generated file is
 * broken the way a GitHub workflow goes wrong: `if: always()` on a job that must not run
 * after an upstream failure, and one attempt too many.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import type { Observed, Scenario, Trace } from "../../src/execution.js";
import { interpret } from "../../src/interpret.js";
import type { Workflow } from "../../src/ir.js";
import { githubActions } from "../../targets/github-actions/index.js";
import { sharedFiles } from "../../targets/github-actions/emit.js";
import { CACHE, CONFORMANCE, setup } from "../conformance/runners.js";
import { nextFireTimes, parseCron } from "../../src/cron.js";
import { compareTraces, traceOf } from "./compare.js";
import { EXECUTION_CASES } from "./scenarios.js";

const HARNESS = join(CONFORMANCE, "execution", "github", "harness.mjs");
const ACT = join(CACHE, "bin", "act");

let dir = "";
beforeAll(() => {
  setup();
  dir = mkdtempSync(join(tmpdir(), "kfm-execution-github-"));
});
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

interface Compiled {
  readonly ir: Workflow;
  /** The folder as kfm-compile writes it: the workflow and the shared kfm-*.yml. */
  readonly folder: string;
  readonly file: string;
  readonly text: string;
}

const compiledOnce = new Map<string, Compiled | { refused: string }>();

/** Compiles a spec for github-actions into its own folder (once per key); `refused` when the target refuses it. */
function compile(spec: string, key: string): Compiled | { refused: string } {
  const known = compiledOnce.get(key);
  if (known !== undefined) return known;
  const c = compileNow(spec, key);
  compiledOnce.set(key, c);
  return c;
}

function compileNow(spec: string, key: string): Compiled | { refused: string } {
  const a = analyze(spec, readFileSync(join(PACKAGE_ROOT, spec), "utf8"));
  if (a.ir === null) throw new Error(`${spec} is invalid:\n${a.diagnostics.map((d) => d.message).join("\n")}`);
  const r = compileFor(a, githubActions);
  if (r.output === null) return { refused: r.diagnostics.map((d) => `${d.code}: ${d.message}`).join("; ") };
  const folder = join(dir, key);
  mkdirSync(folder, { recursive: true });
  for (const f of sharedFiles()) writeFileSync(join(folder, f.name), f.text);
  const file = r.output.path.replace(/^.*\//, "");
  writeFileSync(join(folder, file), r.output.text);
  return { ir: a.ir, folder, file, text: r.output.text };
}

/** Runs the harness on one folder and scenario; resolves with what act did. */
function run(c: Compiled, scenario: Scenario, key: string, event: "workflow_dispatch" | "schedule" = "workflow_dispatch"): Promise<Observed> {
  const scenarioFile = join(dir, `${key}.scenario.json`);
  const out = join(dir, `${key}.observed.json`);
  writeFileSync(scenarioFile, JSON.stringify(scenario));
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [HARNESS, "--act", ACT, "--folder", c.folder, "--workflow", c.file, "--scenario", scenarioFile, "--out", out, "--event", event],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`the harness exited ${code}:\n${err}`));
      else resolve(JSON.parse(readFileSync(out, "utf8")) as Observed);
    });
  });
}

/** Seconds a measured wait may differ from the spec's: the stub's start-up and the script's own steps between attempts. */
const WAIT_TOLERANCE_SECONDS = 1.5;

describe.each(EXECUTION_CASES.map((c) => [c.spec, c] as const))("%s on act", (spec, c) => {
  const key = spec.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
  test.concurrent.each(c.scenarios.map((s) => [s.name, s] as const))("%s", async (_name, scenario) => {
    const compiled = compile(spec, key);
    if ("refused" in compiled) {
      // A scenario the target refuses (KFM301) is reported as refused, not failed.
      expect(compiled.refused).toMatch(/KFM301/);
      console.log(`${spec} / ${scenario.name} / github-actions: refused (${compiled.refused})`);
      return;
    }
    const expected: Trace = interpret(compiled.ir, scenario);
    const observed = await run(compiled, scenario, `${key}-${scenario.name}`);
    const actual = traceOf(observed);
    expect(compareTraces(`${spec} / ${scenario.name} / github-actions`, expected, actual, { waitToleranceSeconds: WAIT_TOLERANCE_SECONDS })).toEqual([]);
  });
});

// --- Sabotage ------------------------------------------------------------------------------------

/** The generated workflow with one job's document changed. */
function sabotaged(c: Compiled, key: string, change: (jobs: Record<string, Record<string, unknown>>) => void): Compiled {
  const doc = parse(c.text) as { jobs: Record<string, Record<string, unknown>> };
  change(doc.jobs);
  const folder = join(dir, key);
  mkdirSync(folder, { recursive: true });
  for (const f of sharedFiles()) writeFileSync(join(folder, f.name), f.text);
  const text = JSON.stringify(doc, null, 2);
  writeFileSync(join(folder, c.file), text);
  return { ...c, folder, text };
}

/** The first case and scenario whose reference trace satisfies `pick`, with the job it names. */
function find(pick: (ir: Workflow, t: Trace) => string | null): { spec: string; scenario: Scenario; job: string; compiled: Compiled } {
  for (const c of EXECUTION_CASES) {
    const key = `sabotage-${c.spec.replace(/^.*\//, "").replace(/\.ya?ml$/, "")}`;
    for (const s of c.scenarios) {
      const compiled = compile(c.spec, key);
      if ("refused" in compiled) break;
      const job = pick(compiled.ir, interpret(compiled.ir, s));
      if (job !== null) return { spec: c.spec, scenario: s, job, compiled };
    }
  }
  throw new Error("no execution scenario fits this sabotage");
}

describe("sabotage: the comparison reports a broken GitHub workflow", () => {
  test("`if: always()` on a job that must not run after an upstream failure", async () => {
    // A job that did not run because a need failed, and that is not `continue`.
    const f = find((ir, t) => {
      for (const j of ir.jobs) {
        if (j.approval !== null || j.runWhen === "all_done" || t.jobs[j.name]?.state !== "not-run") continue;
        if (j.dependsOn.some((d) => t.jobs[d]?.state === "failed")) return j.name;
      }
      return null;
    });
    const broken = sabotaged(f.compiled, "sabotage-always", (jobs) => {
      jobs[f.job]!.if = "always()";
    });
    const observed = await run(broken, f.scenario, "sabotage-always");
    const report = compareTraces(`${f.spec} / ${f.scenario.name} / github-actions (sabotaged)`, interpret(f.compiled.ir, f.scenario), traceOf(observed), {
      waitToleranceSeconds: WAIT_TOLERANCE_SECONDS,
    });
    expect(observed.jobs[f.job]).not.toBe("not-run");
    expect(report.some((l) => l.includes(f.job))).toBe(true);
  });

  test("one attempt too many", async () => {
    // A job whose every attempt fails: one more attempt than the spec allows succeeds (the stub's default).
    const f = find((ir, t) => {
      for (const j of ir.jobs) {
        const jt = t.jobs[j.name];
        if (j.approval === null && jt?.state === "failed" && jt.attempts.length === j.retry.maxAttempts && jt.attempts.at(-1)?.end === "failed") return j.name;
      }
      return null;
    });
    const broken = sabotaged(f.compiled, "sabotage-attempts", (jobs) => {
      const w = jobs[f.job]!.with as Record<string, unknown>;
      const attempts = Number(w.attempts ?? 1);
      w.attempts = attempts + 1;
      // One wait per retry (RUN_SCRIPT checks it): repeat the last, or 1 s.
      const waits = String(w.waits ?? "")
        .split(" ")
        .filter((x) => x !== "");
      w.waits = [...waits, waits.at(-1) ?? "1"].join(" ");
    });
    const observed = await run(broken, f.scenario, "sabotage-attempts");
    const report = compareTraces(`${f.spec} / ${f.scenario.name} / github-actions (sabotaged)`, interpret(f.compiled.ir, f.scenario), traceOf(observed), {
      waitToleranceSeconds: WAIT_TOLERANCE_SECONDS,
    });
    expect(observed.attempts.filter((x) => x.job === f.job)).toHaveLength(f.compiled.ir.jobs.find((j) => j.name === f.job)!.retry.maxAttempts + 1);
    expect(report.some((l) => l.includes(f.job))).toBe(true);
  });
});

describe("the schedule event on act", () => {
  test("kfm-context takes the latest slot before the clock as the logical date", async () => {
    // The execution cases start runs by hand with the scenario's date; this one starts a
    // run as GitHub's scheduler does (event `schedule`, the cron in the payload).
    const spec = "specs/contract-7.1-cron.yaml";
    const c = compile(spec, "schedule-cron");
    if ("refused" in c) throw new Error(`${spec} is refused: ${c.refused}`);
    const s = c.ir.schedule;
    if (s === null || s.kind !== "cron") throw new Error(`${spec} has no cron schedule`);
    const cron = parseCron(s.cron);
    if (typeof cron === "string") throw new Error(cron);
    const latest = (ms: number) =>
      nextFireTimes(cron, s.timezone, ms - 3 * 86_400_000, 200)
        .filter((t) => t <= ms)
        .at(-1)!;
    const before = Date.now();
    const observed = await run(c, { name: "scheduled", description: "", logicalDate: "2000-01-01T00:00:00+00:00" }, "schedule-cron", "schedule");
    const after = Date.now();
    const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "+00:00");
    expect(observed.run).toBe("succeeded");
    const dates = observed.attempts.map((a) => a.env.KFM_LOGICAL_DATE);
    expect(dates.length).toBeGreaterThan(0);
    // A slot may pass while the run starts: either side of it is right.
    for (const d of dates) expect([stamp(latest(before)), stamp(latest(after))]).toContain(d);
  });
});
