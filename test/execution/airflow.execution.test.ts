/**
 * Execution on Airflow's own engine (conformance/execution/airflow/README.md): every
 * scenario of every case of EXECUTION_CASES, compiled for Airflow as `kfm-compile` writes
 * it, run by `dag.test()` of the pinned Airflow with the pod replaced by a stub that
 * follows the scenario (conformance/execution/airflow/run.py), and compared with the
 * reference interpreter. The scenarios share a few Python processes (each imports Airflow
 * and copies its metadata database once; KFM_EXECUTION_AIRFLOW_PROCESSES, 2 by default).
 *
 * The sabotage cases mutate the generated DAG the way Airflow's traps work (a job that
 * must stop after an upstream failure given `trigger_rule="all_done"`; one retry too
 * many; a gate with Airflow's default `fail_on_reject=False`; Airflow's own
 * `dagrun_timeout` in place of the file's run-timeout hook) and the comparison must
 * report the difference.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setup } from "../conformance/runners.js";
import { compareTraces, traceOf } from "./compare.js";
import { cases, compileSpec, writeScenario, type ExecutionItem } from "./harness.js";
import { observedOf, runAirflowCases, type AirflowCase } from "./python-engines.js";

const TARGET = "airflow";

/**
 * Where Airflow's engine does what the reference does not, each line exactly as the
 * comparison prints it (after the label). EXPIRING: a listed line that no longer shows
 * fails the test, so a fix removes its entry. conformance/execution/airflow/README.md
 * ("What the engine showed") says why each is so.
 */
const KNOWN_DIFFERENCES: Record<string, readonly string[]> = {};

interface Planned {
  readonly item: ExecutionItem;
  readonly key: string;
  readonly observedPath: string;
  /** The KFM301 lines when Airflow refuses the spec. */
  readonly refused: string | null;
}

interface Sabotage {
  readonly name: string;
  readonly spec: string;
  readonly scenario: string;
  /** Turns the generated DAG file into the broken one (must change it). */
  readonly mutate: (dag: string) => string;
  /** Field paths (after the label) the comparison must report. */
  readonly reports: readonly RegExp[];
}

/** The text of the `KubernetesPodOperator(...)` call of one task, for a mutation that must touch that task only. */
function withTask(dag: string, taskId: string, change: (call: string) => string): string {
  const start = dag.indexOf(`    KubernetesPodOperator(\n        task_id="${taskId}",`);
  if (start < 0) throw new Error(`no KubernetesPodOperator for ${taskId}`);
  const end = dag.indexOf("\n    )\n", start);
  const call = dag.slice(start, end);
  const changed = change(call);
  if (changed === call) throw new Error(`the sabotage of ${taskId} changed nothing`);
  return dag.slice(0, start) + changed + dag.slice(end);
}

const SABOTAGE: readonly Sabotage[] = [
  {
    // Airflow's trap: `all_done` runs a task whatever its upstream did, so `join` runs after `left` failed for good.
    name: 'trigger_rule="all_done" on a job that must stop after an upstream failure',
    spec: "test/execution/specs/diamond.yaml",
    scenario: "branch-fails",
    mutate: (dag) => withTask(dag, "join", (call) => call.replace('trigger_rule="all_success"', 'trigger_rule="all_done"')),
    reports: [/^jobs\.join\.state: expected "not-run", runner did "succeeded"$/, /^jobs\.join\.attempts\.length: expected 0, runner did 1$/],
  },
  {
    // Trap 13: with Airflow's default `fail_on_reject=False` a rejected gate succeeds and only skips its downstream.
    name: "fail_on_reject=False on a gate",
    spec: "test/execution/specs/gate.yaml",
    scenario: "rejected",
    mutate: (dag) => {
      const changed = dag.replace("fail_on_reject=True,", "fail_on_reject=False,");
      if (changed === dag) throw new Error("the sabotage of the gate changed nothing");
      return changed;
    },
    reports: [/^run: expected "failed", runner did "succeeded"$/, /^jobs\.approve\.state: expected "failed", runner did "succeeded"$/],
  },
  {
    // Airflow's own run timeout: the scheduler sets every unfinished task `skipped` when
    // `dagrun_timeout` passes (scheduler_job_runner.py `_schedule_dag_run`), the running one
    // included, which is why the file bounds each try with `pre_execute=kfm_run_deadline` instead.
    name: "dagrun_timeout in place of the kfm_run_deadline hook",
    spec: "test/execution/specs/run-timeout.yaml",
    scenario: "run-timeout-stops-attempt",
    mutate: (dag) => {
      // A DAG id of its own: the harness process's scheduler keeps the serialized DAG of an earlier
      // case with the same id (without dagrun_timeout), and its `_schedule_dag_run` reads that one.
      const changed = dag
        .replace("dagrun_timeout=None,", "dagrun_timeout=KFM_RUN_TIMEOUT,")
        .replace(/\n {8}pre_execute=kfm_run_deadline,/g, "")
        .replace('dag_id="exec_run_timeout",', 'dag_id="exec_run_timeout_sabotaged",');
      if (changed === dag || changed.includes("pre_execute=")) throw new Error("the sabotage of the run timeout changed nothing");
      return changed;
    },
    reports: [/^jobs\.crunch\.state: expected "failed", runner did "not-run"$/],
  },
  {
    name: "one retry too many",
    spec: "test/execution/specs/chain.yaml",
    scenario: "retry-exhausted",
    mutate: (dag) => withTask(dag, "transform", (call) => call.replace(/retries=(\d+),/, (_, n: string) => `retries=${Number(n) + 1},`)),
    reports: [/^jobs\.transform\.attempts\.length: expected 3, runner did 4$/],
  },
];

const runDir = mkdtempSync(join(tmpdir(), "kfm-exec-airflow-"));
afterAll(() => rmSync(runDir, { recursive: true, force: true }));
const planned: Planned[] = [];
const sabotaged: { sabotage: Sabotage; item: ExecutionItem; observedPath: string }[] = [];
let harnessLog = "";
const harnessErrors: string[] = [];
/** How many harness processes run the cases at once (each imports Airflow and copies the database once). */
const PROCESSES = Number(process.env.KFM_EXECUTION_AIRFLOW_PROCESSES ?? "2");

beforeAll(async () => {
  setup();
  const batch: AirflowCase[] = [];
  const plan = (item: ExecutionItem, key: string, mutate?: (dag: string) => string): { observedPath: string; refused: string | null } => {
    const into = join(runDir, key.replace(/[^A-Za-z0-9._-]+/g, "_"));
    const r = compileSpec(item.spec, TARGET, { into });
    if (r.compiled === null) return { observedPath: "", refused: r.refused };
    const dags = r.compiled.files.filter((f) => f.endsWith(".py") && f.includes(`/${TARGET}/`));
    if (dags.length !== 1) throw new Error(`${item.spec}: expected one DAG file, got ${dags.join(", ")}`);
    const dag = dags[0]!;
    if (mutate !== undefined) writeFileSync(dag, mutate(readFileSync(dag, "utf8")));
    const scenario = writeScenario(r.compiled.dir, item.scenario);
    const observedPath = join(r.compiled.dir, "observed.json");
    // About how long the case takes: its waits and timeouts (the virtual pod-start wait takes none), and a second a try.
    batch.push({ dag, scenario, out: observedPath, weight: Math.min(item.timeline.runEndedAt, 60) + item.timeline.attempts.length });
    return { observedPath, refused: null };
  };
  for (const item of cases()) {
    const key = `${item.spec.replace(/^.*\//, "")} / ${item.scenario.name}`;
    planned.push({ item, key, ...plan(item, key) });
  }
  for (const sabotage of SABOTAGE) {
    const item = [...cases([sabotage.spec])].find((c) => c.scenario.name === sabotage.scenario);
    if (item === undefined) throw new Error(`sabotage ${sabotage.name}: no scenario ${sabotage.spec} / ${sabotage.scenario}`);
    const { observedPath } = plan(item, `sabotage ${sabotage.name}`, sabotage.mutate);
    sabotaged.push({ sabotage, item, observedPath });
  }
  // Most of a case's time is waiting (real waits and timeouts), so PROCESSES harness
  // processes share the cases, longest first to the least loaded one.
  const result = await runAirflowCases(batch, { processes: PROCESSES, dir: runDir });
  harnessErrors.push(...result.errors);
  harnessLog = result.log;
  // The harness's own lines: its start and each case's time.
  console.log(
    harnessLog
      .split("\n")
      .filter((l) => l.startsWith("execution/airflow/run.py: "))
      .join("\n"),
  );
}, 1_800_000);

describe("airflow: every scenario runs on Airflow's own engine as the reference says", () => {
  it("ran every case through the harness", () => {
    expect(planned.length).toBeGreaterThanOrEqual(15);
    expect(harnessErrors).toEqual([]);
  });

  for (const item of cases()) {
    const key = `${item.spec.replace(/^.*\//, "")} / ${item.scenario.name}`;
    it(key, () => {
      const p = planned.find((x) => x.key === key)!;
      if (p.refused !== null) {
        // A refusal is reported, not failed: cases.test.ts holds which targets refuse which spec.
        console.log(`${item.label(TARGET)}: refused\n${p.refused}`);
        return;
      }
      const observed = observedOf(p.observedPath);
      expect(observed.engine).toMatch(/^airflow 3\.3\.2 /);
      const differences = compareTraces(item.label(TARGET), item.expected, traceOf(observed));
      const prefix = `${item.label(TARGET)} / `;
      const known = KNOWN_DIFFERENCES[key] ?? [];
      const unexpected = differences.filter((d) => !known.includes(d.slice(prefix.length)));
      expect(unexpected, unexpected.join("\n")).toEqual([]);
      const gone = known.filter((k) => !differences.includes(prefix + k));
      expect(gone, `KNOWN_DIFFERENCES lists what Airflow no longer does; remove:\n${gone.join("\n")}`).toEqual([]);
    });
  }
});

describe("airflow: max_active_runs 1, a second run due while the first runs", () => {
  it("waits queued while the first runs and starts once it ended (the scheduler's own _start_queued_dagruns)", () => {
    const runs = planned.filter((p) => p.key.startsWith("concurrency.yaml / "));
    expect(runs.length).toBeGreaterThan(0);
    for (const p of runs) {
      const doc = JSON.parse(readFileSync(p.observedPath, "utf8")) as { airflow?: { secondRun?: unknown } };
      expect(doc.airflow?.secondRun, p.key).toEqual({ whileFirstRuns: "queued", afterFirstEnded: "running" });
    }
  });
});

describe("airflow: the comparison catches a DAG broken the way Airflow's traps work", () => {
  for (const sabotage of SABOTAGE) {
    it(sabotage.name, () => {
      const s = sabotaged.find((x) => x.sabotage === sabotage)!;
      const differences = compareTraces(s.item.label(TARGET), s.item.expected, traceOf(observedOf(s.observedPath)));
      const fields = differences.map((d) => d.slice(s.item.label(TARGET).length + 3));
      for (const r of sabotage.reports) expect(fields, differences.join("\n")).toContainEqual(expect.stringMatching(r));
    });
  }
});
