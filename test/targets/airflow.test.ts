/**
 * The Airflow backend's mapping decisions, one test each (targets/airflow/README.md).
 * Each test builds an IR with `irFixture`, emits, and looks at the Python Airflow
 * would execute, or lifts it back.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { airflow } from "../../targets/airflow/index.js";
import { JINJA_ATTEMPT, JINJA_RUN_TOKEN, emit, jinjaSource } from "../../targets/airflow/emit.js";
import { pyStr } from "../../targets/python.js";
import { readTemplate } from "../../targets/airflow/lift.js";
import { DEFAULT_OPTIONS, type AirflowOptions } from "../../targets/airflow/options.js";
import { calledNames, flat, layout, pyCall, pyList, valueAt } from "../../targets/python.js";
import { assetPath } from "../../src/assets.js";
import { POD_START_SECONDS } from "../../src/limits.js";
import type { CronSchedule, Job, Retry, RuntimeVariable, Segment, StandardVariable, Template, Workflow } from "../../src/ir.js";
import { summarize } from "../../src/summary.js";

// ---------------------------------------------------------------- fixtures

const text = (t: string): Segment => ({ text: t });
const variable = (v: RuntimeVariable | StandardVariable): Segment => ({ variable: v });
const lit = (t: string): Template => [text(t)];

type JobInput = Partial<Omit<Job, "name">> & { name: string };

function jobFixture(workflow: string, j: JobInput): Job {
  return {
    at: ["workflow", "jobs", 0, "job"],
    description: null,
    image: "busybox:1.36",
    command: null,
    args: null,
    env: [
      { name: "KFM_WORKFLOW", value: lit(workflow) },
      { name: "KFM_JOB", value: lit(j.name) },
      { name: "KFM_LOGICAL_DATE", value: [variable("ts")] },
      { name: "KFM_ATTEMPT", value: [{ variable: "attempt" }] },
      { name: "KFM_RUN_TOKEN", value: [{ variable: "run_token" }] },
    ],
    resources: { cpu: null, memory: null },
    retry: { maxAttempts: 1, delaySeconds: 0, multiplier: 1, maxDelaySeconds: null },
    timeoutSeconds: null,
    dependsOn: [],
    runWhen: "all_succeeded",
    prerequisite: false,
    approval: null,
    ...j,
  };
}

const HOURLY: CronSchedule = {
  kind: "cron",
  at: ["workflow", "schedule"],
  cron: "0 * * * *",
  timezone: "Europe/Berlin",
  start: "2024-03-01T00:00:00",
  end: "2026-12-31T23:59:59",
  catchup: false,
  periodSeconds: 3600,
  fromInterval: true,
};

/** A valid workflow; `jobs` defaults to one job `main`. */
function irFixture(over: Partial<Omit<Workflow, "jobs">> & { jobs?: JobInput[] } = {}): Workflow {
  const name = over.name ?? "wf";
  const { jobs, ...rest } = over;
  return {
    at: ["workflow"],
    name,
    description: null,
    schedule: null,
    timeoutSeconds: null,
    maxActiveRuns: null,
    runTokenSeed: `kfm-run-token/v1\n${name}\n0000\n`,
    upstream: [],
    notifications: [],
    source: { path: "specs/wf.yaml", digest: "sha256:0000" },
    ...rest,
    jobs: (jobs ?? [{ name: "main" }]).map((j) => jobFixture(name, j)),
  };
}

const retry = (r: Partial<Retry>): Retry => ({ maxAttempts: 1, delaySeconds: 0, multiplier: 1, maxDelaySeconds: null, ...r });

/**
 * `src` with each bracketed group that the layout split over lines (opened at the end of a line
 * indented `minIndent` or more) joined back onto that line: the one-line form of its values, so
 * that a test reads what a keyword holds whatever the line length made of it.
 */
function joined(src: string, minIndent: number): string {
  const lines = src.split("\n");
  const indentOf = (l: string): number => l.length - l.trimStart().length;
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const close =
      /[([{]$/.test(line) && indentOf(line) >= minIndent
        ? lines.findIndex((l, j) => j > i && indentOf(l) === indentOf(line) && /^[)\]}]/.test(l.trimStart()))
        : -1;
    if (close === -1) {
      out.push(line);
      continue;
    }
    const inner = joined(lines.slice(i + 1, close).join("\n"), 0)
      .split("\n")
      .map((l) => l.trim())
      .join(" ");
    out.push(line + inner.replace(/,$/, "") + lines[close]!.trimStart());
    i = close;
  }
  return out.join("\n");
}

/** The source of the operator call that defines one task: `    Operator(` up to its `)`. */
function rawStatement(py: string, task: string): string {
  const at = py.indexOf(`(\n        task_id=${pyStr(task)},\n`);
  expect(at).toBeGreaterThanOrEqual(0);
  const start = py.lastIndexOf("\n", at) + 1;
  return py.slice(start, py.indexOf("\n    )\n", at));
}

/** rawStatement with each keyword's value on its own line. */
function statement(py: string, task: string): string {
  return joined(rawStatement(py, task), 8);
}

/** The `(upstream, downstream)` pairs of the file's edge loop, in order. */
function edges(py: string): [string, string][] {
  const loop = joined(py, 4)
    .split("\n")
    .find((l) => l.startsWith("    for upstream, downstream in ["));
  if (loop === undefined) return [];
  return [...loop.matchAll(/\("([^"]*)", "([^"]*)"\)/g)].map((m) => [m[1]!, m[2]!]);
}

/** `py` without the edge `upstream >> downstream`, in the loop's one-line or one-pair-per-line form. */
function withoutEdge(py: string, upstream: string, downstream: string): string {
  const pair = `(${pyStr(upstream)}, ${pyStr(downstream)})`;
  const line = `        ${pair},\n`;
  if (py.includes(line)) return py.replace(line, "");
  expect(py).toContain(pair);
  // The only edge: the file would have no loop at all.
  const only = py.indexOf(`    for upstream, downstream in [${pair}]:\n`);
  if (only !== -1) return py.slice(0, py.lastIndexOf("\n\n", only)) + "\n";
  return py.replace(`${pair}, `, "").replace(`, ${pair}]`, "]");
}

/** The source of the KubernetesPodOperator(...) call of one task. */
function taskBlock(py: string, task: string): string {
  const block = statement(py, task);
  expect(block.startsWith("    KubernetesPodOperator(\n")).toBe(true);
  return block;
}

function dagBlock(py: string): string {
  return joined(py.slice(py.indexOf("with DAG("), py.indexOf(") as dag:")), 4);
}

const emitted = (ir: Workflow): string => airflow.emit(ir);

/** `py` without the failure watcher: its class and the two imports only it uses, its task, its edges. */
function withoutWatcher(py: string): string {
  const sdk = "from airflow.sdk import DAG, BaseOperator\n";
  expect(py).toContain(sdk);
  let out = py
    .replace(/class KfmFailRun\(BaseOperator\):\n(?:(?: {4}.*)?\n)*?\n\n/, "")
    .replace(/\n    KfmFailRun\(\n(?: {8}.*\n)* {4}\)\n/, "\n")
    .replace("from airflow.sdk.exceptions import AirflowFailException\n", "")
    .replace(sdk, "from airflow.sdk import DAG\n");
  for (const [u, d] of edges(py)) if (d === "kfm-fail-run") out = withoutEdge(out, u, d);
  expect(out).not.toContain("KfmFailRun");
  return out;
}

// ---------------------------------------------------------------- descriptor and file shape

describe("the airflow target", () => {
  it("is registered as airflow with extension py", () => {
    expect(airflow.name).toBe("airflow");
    expect(airflow.extension).toBe("py");
  });

  it("starts with the generated header, then the Airflow 3 imports it uses, sorted as ruff's isort rules want", () => {
    const py = emitted(irFixture());
    expect(py.startsWith("# Generated by kfm-compile")).toBe(true);
    const imports = [
      "import hashlib",
      "from datetime import timedelta",
      "",
      "import jinja2",
      "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator",
      "from airflow.sdk import DAG",
      "from kubernetes.client import Configuration",
      "from kubernetes.client import models as k8s",
    ];
    expect(py).toContain(`DO NOT EDIT: change the spec and run kfm-compile again.\n\n${imports.join("\n")}\n\n# The configuration`);
  });

  it("given what every optional feature needs, when emitted, then each import is written once and a long from-import is one name per line", () => {
    const py = emitted(
      irFixture({
        schedule: HOURLY,
        jobs: [
          { name: "a", retry: retry({ maxAttempts: 3, delaySeconds: 10, multiplier: 2 }) },
          { name: "b", dependsOn: ["a"], runWhen: "all_done" },
        ],
      }),
    );
    expect(py).toContain("import pendulum\n");
    expect(py).toContain("from airflow.sdk import (\n    DAG,\n    BaseOperator,\n    CronTriggerTimetable,\n    RetryDecision,\n    RetryPolicy,\n)\n");
    expect(py).toContain("from airflow.sdk.exceptions import AirflowFailException\n");
    expect(py).toContain("\nclass KfmRetryWaits(RetryPolicy):\n");
    expect(py).toContain("\nclass KfmFailRun(BaseOperator):\n");
  });

  it("given no schedule, no differing waits and no all_done job, when emitted, then pendulum, the retry policy and the watcher are neither imported nor defined", () => {
    const py = emitted(irFixture());
    for (const absent of [
      "pendulum",
      "RetryPolicy",
      "RetryDecision",
      "CronTriggerTimetable",
      "BaseOperator",
      "AirflowFailException",
      "KfmRetryWaits",
      "KfmFailRun",
    ]) {
      expect(py).not.toContain(absent);
    }
  });

  it("builds every Kubernetes model with the file's one copy of the default configuration", () => {
    const py = emitted(
      irFixture({
        jobs: [
          { name: "a", resources: { cpu: "1", memory: "1Gi" }, env: [{ name: "S", secretRef: { secret: "s", key: "k" } }] },
          { name: "b", dependsOn: ["a"] },
        ],
      }),
    );
    expect(py.match(/^KFM_K8S_CONFIG = Configuration\.get_default_copy\(\)$/gm)).toHaveLength(1);
    const models = py.match(/k8s\.V1\w+\(/g) ?? [];
    // a: its one env var, a secret (3 models), and resources; b: the fixture's 5 standard env vars.
    expect(models).toHaveLength(3 + 1 + 5);
    expect(joined(py, 8).match(/, local_vars_configuration=KFM_K8S_CONFIG\)/g)).toHaveLength(models.length);
  });

  it("is deterministic: the same IR gives the same bytes", () => {
    const ir = irFixture({ jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"] }] });
    expect(emitted(ir)).toBe(emitted(structuredClone(ir)));
  });

  it("keeps logic out of the template: no #if, else or unless in dag.py.hbs", () => {
    const hbs = readFileSync(assetPath("targets/airflow/dag.py.hbs"), "utf8");
    expect(hbs).not.toMatch(/\{\{[#^]if|\{\{else|\{\{[#^]unless|\{\{#with/);
  });

  it("writes only printable ASCII, whatever the spec strings hold", () => {
    const py = emitted(
      irFixture({ description: "caf\u00e9 \u{1F680}", jobs: [{ name: "main", args: [lit("\u0000\u2028\uD800 \u65e5")], description: "\u00e9" }] }),
    );
    expect(py).toMatch(/^[\x20-\x7e\n]*$/);
  });
});

// ---------------------------------------------------------------- Python string literals

describe("Python string literals", () => {
  it("escape backslash and double quote", () => expect(pyStr("a\\b\"c'")).toBe('"a\\\\b\\"c\'"'));
  it("are single-quoted when the text holds more double quotes than single ones, as ruff format would write them", () => {
    expect(pyStr('say "hi"')).toBe(`'say "hi"'`);
    expect(pyStr(`it's "x"`)).toBe(`'it\\'s "x"'`);
    expect(pyStr(`"it's"`)).toBe(`'"it\\'s"'`);
    expect(pyStr(`'a' "b"`)).toBe(`"'a' \\"b\\""`);
  });
  it("escape newline, carriage return and tab by name", () => expect(pyStr("\n\r\t")).toBe('"\\n\\r\\t"'));
  it("escape other control characters as \\xNN", () => expect(pyStr("\u0000\u007f")).toBe('"\\x00\\x7f"'));
  it("write a non-BMP character as one \\U escape, not a surrogate pair", () => expect(pyStr("\u{1F680}")).toBe('"\\U0001f680"'));
  it("write a lone surrogate as its \\u escape", () => expect(pyStr("\uD800x")).toBe('"\\ud800x"'));
  it("leave { and } alone (never an f-string)", () => expect(pyStr("{x}")).toBe('"{x}"'));
});

// ---------------------------------------------------------------- DAG level

describe("the DAG", () => {
  it("uses the spec name as dag_id", () => {
    expect(dagBlock(emitted(irFixture({ name: "daily_sales" })))).toContain('dag_id="daily_sales",');
  });

  it("writes the workflow description as the DAG description, escaped", () => {
    expect(dagBlock(emitted(irFixture({ description: 'say "hi"\n' })))).toContain(`description='say "hi"\\n',`);
  });

  it("writes description=None when the workflow has none", () => {
    expect(dagBlock(emitted(irFixture()))).toContain("description=None,");
  });

  it("maps a cron schedule to an explicit CronTriggerTimetable in its zone with interval 0", () => {
    expect(dagBlock(emitted(irFixture({ schedule: HOURLY })))).toContain(
      'schedule=CronTriggerTimetable("0 * * * *", timezone="Europe/Berlin", interval=timedelta(seconds=0), run_immediately=timedelta(seconds=0)),',
    );
  });

  it("with catchup, writes start and end as the DAG's pendulum datetimes in the schedule's zone, and no window guard", () => {
    const py = emitted(irFixture({ schedule: { ...HOURLY, catchup: true } }));
    const dag = dagBlock(py);
    expect(dag).toContain('start_date=pendulum.datetime(2024, 3, 1, 0, 0, 0, tz="Europe/Berlin"),');
    expect(dag).toContain('end_date=pendulum.datetime(2026, 12, 31, 23, 59, 59, tz="Europe/Berlin"),');
    expect(py).not.toContain("kfm-window");
    expect(py).not.toContain("kfm_in_window");
  });

  it("without catchup, writes no start_date and a kfm-window guard holding the start, upstream of every first task (README, First run after deployment)", () => {
    const py = emitted(
      irFixture({
        schedule: HOURLY,
        upstream: [{ at: ["workflow", "dependencies", 0], workflow: "other", timeoutSeconds: null }],
        jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"] }, { name: "c" }],
      }),
    );
    const dag = dagBlock(py);
    expect(dag).toContain("start_date=None,");
    expect(dag).toContain('end_date=pendulum.datetime(2026, 12, 31, 23, 59, 59, tz="Europe/Berlin"),');
    expect(py).toContain("from airflow.providers.standard.operators.python import ShortCircuitOperator\n");
    expect(py).toContain('    return dag_run.run_type != "scheduled" or dag_run.logical_date >= start\n');
    const guard = py.slice(py.indexOf("    ShortCircuitOperator("));
    expect(guard.slice(0, guard.indexOf("\n    )\n"))).toBe(
      [
        "    ShortCircuitOperator(",
        '        task_id="kfm-window",',
        "        python_callable=kfm_in_window,",
        '        op_kwargs={"start": pendulum.datetime(2024, 3, 1, 0, 0, 0, tz="Europe/Berlin")},',
        "        ignore_downstream_trigger_rules=True,",
        "        retries=0,",
        "        do_xcom_push=False,",
      ].join("\n"),
    );
    for (const t of ["kfm-upstream-other", "a", "c"]) expect(py).toContain(`("kfm-window", "${t}")`);
    expect(py).not.toContain('("kfm-window", "b")');
  });

  it("without catchup and without a start, writes no window guard", () => {
    expect(emitted(irFixture({ schedule: { ...HOURLY, start: null } }))).not.toContain("kfm-window");
  });

  it("writes an open window as start_date=None / end_date=None", () => {
    const dag = dagBlock(emitted(irFixture({ schedule: { ...HOURLY, start: null, end: null } })));
    expect(dag).toContain("start_date=None,");
    expect(dag).toContain("end_date=None,");
  });

  it("writes catchup out, true or false", () => {
    expect(dagBlock(emitted(irFixture({ schedule: { ...HOURLY, catchup: true } })))).toContain("catchup=True,");
    expect(dagBlock(emitted(irFixture({ schedule: HOURLY })))).toContain("catchup=False,");
  });

  it("writes an unscheduled workflow as schedule=None with no window and catchup=False", () => {
    const dag = dagBlock(emitted(irFixture()));
    expect(dag).toContain("schedule=None,");
    expect(dag).toContain("start_date=None,");
    expect(dag).toContain("catchup=False,");
  });

  it("writes the run timeout as KFM_RUN_TIMEOUT with a kfm_run_deadline hook on every job, gate and sensor, never as dagrun_timeout", () => {
    const timed = irFixture({
      timeoutSeconds: 21600,
      upstream: [{ at: ["workflow", "dependencies", 0], workflow: "upstream_pipeline", timeoutSeconds: null }],
      jobs: [{ name: "a" }, { name: "gate", dependsOn: ["a"], approval: { timeoutSeconds: null } }, { name: "b", dependsOn: ["gate"] }],
    });
    const py = emitted(timed);
    expect(dagBlock(py)).toContain("dagrun_timeout=None,");
    expect(py).toContain("\nKFM_RUN_TIMEOUT = timedelta(seconds=21600)\n");
    expect(py).toContain("\ndef kfm_run_deadline(context):\n");
    for (const task of ["a", "gate", "b", "kfm-upstream-upstream_pipeline"]) expect(statement(py, task)).toMatch(/\s+pre_execute=kfm_run_deadline,$/);
    expect(airflow.lift(py).timeoutSeconds).toBe(21600);
    const untimed = emitted(irFixture());
    expect(dagBlock(untimed)).toContain("dagrun_timeout=None,");
    expect(untimed).not.toContain("kfm_run_deadline");
    expect(untimed).not.toContain("KFM_RUN_TIMEOUT");
  });

  it("given a run timeout, every job that retries takes the deadline form of KfmRetryWaits, equal waits too", () => {
    const py = emitted(
      irFixture({ timeoutSeconds: 600, jobs: [{ name: "a", retry: { maxAttempts: 3, delaySeconds: 12, multiplier: 1, maxDelaySeconds: null } }] }),
    );
    expect(statement(py, "a")).toContain("retry_policy=KfmRetryWaits(waits=[12, 12]),");
    expect(py).toContain("left = kfm_time_left(context)");
    expect(py).toContain('return RetryDecision.fail("the run\'s timeout has passed")');
    expect(airflow.lift(py).jobs.a!.waitsSeconds).toEqual([12, 12]);
    // Without the policy a wait would run past the deadline: lift refuses it.
    expect(() => airflow.lift(py.replace("retry_policy=KfmRetryWaits(waits=[12, 12]),", "retry_policy=None,"))).toThrow(/KfmRetryWaits/);
    // Without a run timeout equal waits stay native.
    expect(
      statement(emitted(irFixture({ jobs: [{ name: "a", retry: { maxAttempts: 3, delaySeconds: 12, multiplier: 1, maxDelaySeconds: null } }] })), "a"),
    ).toContain("retry_policy=None,");
  });

  it("given a run timeout, lift refuses Airflow's own dagrun_timeout and a job without the hook", () => {
    const py = emitted(irFixture({ timeoutSeconds: 600 }));
    expect(() => airflow.lift(py.replace("dagrun_timeout=None,", "dagrun_timeout=KFM_RUN_TIMEOUT,"))).toThrow(/dagrun_timeout/);
    expect(() => airflow.lift(py.replace("        pre_execute=kfm_run_deadline,\n", ""))).toThrow(/pre_execute=kfm_run_deadline/);
    expect(() => airflow.lift(py.replace("KFM_RUN_TIMEOUT = timedelta(seconds=600)", "KFM_RUN_TIMEOUT = timedelta(seconds=60)"))).not.toThrow();
    expect(airflow.lift(py.replace("KFM_RUN_TIMEOUT = timedelta(seconds=600)", "KFM_RUN_TIMEOUT = timedelta(seconds=60)")).timeoutSeconds).toBe(60);
  });

  it("does not lean on deployment defaults for runs: max_active_runs, auto-pause, fail_fast, pause on creation", () => {
    const dag = dagBlock(emitted(irFixture()));
    expect(dag).toContain("max_active_runs=2147483647,");
    expect(dag).toContain("max_consecutive_failed_dag_runs=0,");
    expect(dag).toContain("fail_fast=False,");
    expect(dag).toContain("is_paused_upon_creation=False,");
  });

  it("renders templates as strings with StrictUndefined, so a manual run without a logical date fails closed", () => {
    const dag = dagBlock(emitted(irFixture()));
    expect(dag).toContain("render_template_as_native_obj=False,");
    expect(dag).toContain("template_undefined=jinja2.StrictUndefined,");
  });
});

// ---------------------------------------------------------------- tasks

describe("a job becomes a KubernetesPodOperator task", () => {
  it("with the spec name as task_id and the Kubernetes name as pod name", () => {
    const t = taskBlock(emitted(irFixture({ jobs: [{ name: "load_sales" }] })), "load_sales");
    expect(t).toContain('task_id="load_sales",');
    expect(t).toContain('name="load-sales",');
  });

  it("with the job description as the task doc, escaped", () => {
    const t = taskBlock(emitted(irFixture({ jobs: [{ name: "main", description: 'a {{ b }} "c"' }] })), "main");
    expect(t).toContain(`doc='a {{ b }} "c"',`);
  });

  it("keeps the image entrypoint when command is null (cmds=None)", () => {
    expect(taskBlock(emitted(irFixture()), "main")).toContain("cmds=None,");
  });

  it("writes command and args as cmds and arguments", () => {
    const t = taskBlock(emitted(irFixture({ jobs: [{ name: "main", command: [lit("python"), lit("run.py")], args: [lit("--x")] }] })), "main");
    expect(t).toContain('cmds=["python", "run.py"],');
    expect(t).toContain('arguments=["--x"],');
  });

  it("writes env in spec order, standard variables last", () => {
    const t = taskBlock(
      emitted(
        irFixture({
          jobs: [
            {
              name: "main",
              env: [
                { name: "B", value: lit("1") },
                { name: "A", value: lit("2") },
              ],
            },
          ],
        }),
      ),
      "main",
    );
    expect(t).toContain(
      'env_vars=[k8s.V1EnvVar(name="B", value="1", local_vars_configuration=KFM_K8S_CONFIG), k8s.V1EnvVar(name="A", value="2", local_vars_configuration=KFM_K8S_CONFIG)]',
    );
  });

  it("gives resources as both requests and limits", () => {
    const t = taskBlock(emitted(irFixture({ jobs: [{ name: "main", resources: { cpu: "500m", memory: "2Gi" } }] })), "main");
    expect(t).toContain(
      'container_resources=k8s.V1ResourceRequirements(requests={"cpu": "500m", "memory": "2Gi"}, limits={"cpu": "500m", "memory": "2Gi"}, local_vars_configuration=KFM_K8S_CONFIG),',
    );
  });

  it("writes container_resources=None without resources", () => {
    expect(taskBlock(emitted(irFixture()), "main")).toContain("container_resources=None,");
  });

  it("writes the attempt timeout as execution_timeout, None for no limit", () => {
    expect(taskBlock(emitted(irFixture({ jobs: [{ name: "main", timeoutSeconds: 1800 }] })), "main")).toContain("execution_timeout=timedelta(seconds=1800),");
    expect(taskBlock(emitted(irFixture()), "main")).toContain("execution_timeout=None,");
  });

  it("bounds pod scheduling and start-up by the one pod-start bound of every target", () => {
    for (const t of [taskBlock(emitted(irFixture()), "main"), taskBlock(emitted(irFixture({ jobs: [{ name: "main", timeoutSeconds: 1800 }] })), "main")]) {
      expect(t).toContain(`schedule_timeout_seconds=${POD_START_SECONDS},`);
      expect(t).toContain(`startup_timeout_seconds=${POD_START_SECONDS},`);
    }
  });

  it("writes trigger_rule all_success and no XCom sidecar explicitly", () => {
    const t = taskBlock(emitted(irFixture()), "main");
    expect(t).toContain('trigger_rule="all_success",');
    expect(t).toContain("do_xcom_push=False,");
  });

  it("writes each dependency as a >> edge, in spec order", () => {
    const py = emitted(irFixture({ jobs: [{ name: "a" }, { name: "b" }, { name: "c", dependsOn: ["b", "a"] }] }));
    expect(edges(py)).toEqual([
      ["b", "c"],
      ["a", "c"],
    ]);
  });
});

// ---------------------------------------------------------------- retries

describe("retries", () => {
  const block = (r: Partial<Retry>): string => taskBlock(emitted(irFixture({ jobs: [{ name: "main", retry: retry(r) }] })), "main");

  it("max_attempts 3 emits retries=2", () => expect(block({ maxAttempts: 3 })).toContain("retries=2,"));

  it("max_attempts 1 is written as no retry: retries=0, retry_delay 0, no policy", () => {
    const t = block({ maxAttempts: 1, delaySeconds: 300 });
    expect(t).toContain("retries=0,");
    expect(t).toContain("retry_delay=timedelta(seconds=0),");
    expect(t).toContain("retry_policy=None,");
  });

  it("a delay of 0 is written out (Airflow's default is 300 s)", () => expect(block({ maxAttempts: 2 })).toContain("retry_delay=timedelta(seconds=0),"));

  it("constant waits are native: retry_delay and retry_exponential_backoff=0 (constant), no policy", () => {
    const t = block({ maxAttempts: 4, delaySeconds: 300 });
    expect(t).toContain("retry_delay=timedelta(seconds=300),");
    expect(t).toContain("retry_exponential_backoff=0,");
    expect(t).toContain("max_retry_delay=None,");
    expect(t).toContain("retry_policy=None,");
  });

  it("growing waits go to KfmRetryWaits with the exact waits, capped by max_delay", () => {
    const t = block({ maxAttempts: 4, delaySeconds: 60, multiplier: 3, maxDelaySeconds: 300 });
    expect(t).toContain("retry_policy=KfmRetryWaits(waits=[60, 180, 300]),");
    expect(t).toContain("retry_delay=timedelta(seconds=60),");
    expect(t).toContain("retry_exponential_backoff=0,");
  });

  it("never uses Airflow's jittered exponential backoff", () => {
    expect(block({ maxAttempts: 5, delaySeconds: 10, multiplier: 2 })).not.toMatch(/retry_exponential_backoff=(?!0,)/);
  });

  it("a fractional multiplier gives fractional waits", () => {
    expect(block({ maxAttempts: 3, delaySeconds: 10, multiplier: 1.5 })).toContain("KfmRetryWaits(waits=[10, 15]),");
  });

  it("backoff capped from the first wait is constant, so native", () => {
    const t = block({ maxAttempts: 4, delaySeconds: 100, multiplier: 2, maxDelaySeconds: 50 });
    expect(t).toContain("retry_delay=timedelta(seconds=50),");
    expect(t).toContain("retry_policy=None,");
  });

  it("the policy class counts attempts from the first try of this task run (cleared tasks restart at 1)", () => {
    expect(emitted(irFixture({ jobs: [{ name: "main", retry: retry({ maxAttempts: 3, delaySeconds: 10, multiplier: 2 }) }] }))).toContain(
      "attempt = try_number - (max_tries - len(self.waits))",
    );
  });
});

// ---------------------------------------------------------------- templated strings

const k8s = (t: Template, periodSeconds: number | null = null): string => jinjaSource(t, { doubleDollars: true, periodSeconds });

describe("runtime values render as Airflow Jinja", () => {
  it("ds -> {{ ds }}", () => expect(k8s([variable("ds")])).toBe("{{ ds }}"));
  it("ts -> {{ ts }}", () => expect(k8s([variable("ts")])).toBe("{{ ts }}"));
  it("execution_date -> the ts filter on logical_date (same value, told apart by lift)", () =>
    expect(k8s([variable("execution_date")])).toBe("{{ logical_date | ts }}"));
  it("prev_execution_date -> logical_date minus the period, formatted like ts", () =>
    expect(k8s([variable("prev_execution_date")], 3600)).toBe("{{ (logical_date - macros.timedelta(seconds=3600)) | ts }}"));
  it("next_execution_date -> logical_date plus the period, formatted like ts", () =>
    expect(k8s([variable("next_execution_date")], 86400)).toBe("{{ (logical_date + macros.timedelta(seconds=86400)) | ts }}"));
  it("text and variables are concatenated in order", () => expect(k8s([text("--day="), variable("ds"), text("/x")])).toBe("--day={{ ds }}/x"));
  it("KFM_LOGICAL_DATE is {{ ts }}", () =>
    expect(taskBlock(emitted(irFixture()), "main")).toContain(
      'k8s.V1EnvVar(name="KFM_LOGICAL_DATE", value="{{ ts }}", local_vars_configuration=KFM_K8S_CONFIG),',
    ));
});

describe("literal text reaches the container byte for byte", () => {
  it("a literal {{ is written the Jinja way, as a string expression", () => expect(k8s(lit("{{ x }}"))).toBe("{{ '{{ x }}' }}"));
  it("a literal {% and {# too", () => {
    expect(k8s(lit("{% raw %}"))).toBe("{{ '{% raw %}' }}");
    expect(k8s(lit("{# c #}"))).toBe("{{ '{# c #}' }}");
  });
  it("a lone { before a variable cannot join it into a tag", () => expect(k8s([text("{"), variable("ds")])).toBe("{{ '{' }}{{ ds }}"));
  it("a quote and a backslash inside the Jinja string are escaped", () => expect(k8s(lit("{'\\"))).toBe("{{ '{\\'\\\\' }}"));
  it("a $ in args is doubled (Kubernetes turns $$ into $)", () => expect(k8s(lit("$(HOME) $$"))).toBe("$$(HOME) $$$$"));
  it("a $ in env values and cmds is doubled too", () => {
    const t = taskBlock(emitted(irFixture({ jobs: [{ name: "main", command: [lit("$0")], env: [{ name: "P", value: lit("$(PATH)") }] }] })), "main");
    expect(t).toContain('cmds=["$$0"],');
    expect(t).toContain('k8s.V1EnvVar(name="P", value="$$(PATH)", local_vars_configuration=KFM_K8S_CONFIG)');
  });
  it("a $ in the image is not doubled (Kubernetes does not expand the image)", () => {
    expect(taskBlock(emitted(irFixture({ jobs: [{ name: "main", image: "reg/x$y:1" }] })), "main")).toContain('image="reg/x$y:1",');
  });
  it("a carriage return is kept (Jinja would turn template data \\r into \\n)", () => expect(k8s(lit("a\r\nb"))).toBe("{{ 'a\\r\\nb' }}"));
  it("a trailing newline is kept (Jinja drops one from template data)", () => expect(k8s(lit("line\n"))).toBe("{{ 'line\\n' }}"));
  it("an inner newline stays template data", () => expect(k8s(lit("a\nb"))).toBe("a\nb"));
  it("a literal ending in .json is not a raw string ending in .json (template-file guard)", () => {
    expect(k8s(lit("conf.json"))).toBe("{{ 'conf.json' }}");
    expect(k8s(lit("x.yaml"))).toBe("{{ 'x.yaml' }}");
    expect(k8s([variable("ds"), text(".yml")])).toBe("{{ ds }}{{ '.yml' }}");
  });
  it("a .json that is not at the end stays plain", () => expect(k8s(lit("conf.json --x"))).toBe("conf.json --x"));
  it("plain text stays plain", () => expect(k8s(lit("--source sales"))).toBe("--source sales"));
  it("an empty template is the empty string", () => expect(k8s([])).toBe(""));
});

// ---------------------------------------------------------------- check

describe("check", () => {
  it("refuses an event trigger with KFM301 at the schedule", () => {
    const ps = airflow.check(
      irFixture({ schedule: { kind: "event", at: ["workflow", "schedule"], trigger: "s3_file_arrival", source: "s3://b/p/", bucket: "b", prefix: "p/" } }),
    );
    expect(ps).toHaveLength(1);
    expect(ps[0]!.code).toBe("KFM301");
    expect(ps[0]!.at).toEqual(["workflow", "schedule"]);
    // The reason from Airflow's source (an asset-triggered run has no logical date; events queued
    // meanwhile start no run of their own) and what to do instead (README "Event triggers").
    expect(ps[0]!.message).toMatch(/^airflow cannot express an event trigger \(`s3_file_arrival`\): .*has no logical date/);
    expect(ps[0]!.message).toMatch(/starts no run of its own/);
    expect(ps[0]!.message).toContain("POST /api/v2/dags/<dag_id>/dagRuns with `logical_date`");
  });

  it("accepts exponential backoff (exact through the retry policy)", () => {
    expect(airflow.check(irFixture({ jobs: [{ name: "main", retry: retry({ maxAttempts: 5, delaySeconds: 10, multiplier: 2 }) }] }))).toEqual([]);
  });

  it("refuses a wait Python's datetime cannot hold", () => {
    const ps = airflow.check(irFixture({ jobs: [{ name: "main", retry: retry({ maxAttempts: 100, delaySeconds: 60, multiplier: 100 }) }] }));
    expect(ps.map((p) => p.code)).toEqual(["KFM301"]);
    expect(ps[0]!.at).toEqual(["workflow", "jobs", 0, "job"]);
  });

  it("accepts a cron workflow with every feature", () => {
    expect(airflow.check(irFixture({ schedule: HOURLY, timeoutSeconds: 3600, jobs: [{ name: "main", timeoutSeconds: 60 }] }))).toEqual([]);
  });
});

// ---------------------------------------------------------------- lift

describe("lift reads the Python back", () => {
  const rich = irFixture({
    name: "rich",
    description: "d",
    schedule: { ...HOURLY, catchup: true },
    timeoutSeconds: 7200,
    jobs: [
      {
        name: "extract",
        command: [lit("sh"), lit("-c")],
        args: [
          [text("--at="), variable("execution_date"), text(" {{ $(x) }}\n")],
          [variable("prev_execution_date"), text("|"), variable("next_execution_date")],
        ],
        resources: { cpu: "1", memory: null },
        retry: retry({ maxAttempts: 4, delaySeconds: 10, multiplier: 2, maxDelaySeconds: 25 }),
        timeoutSeconds: 60,
      },
      { name: "load", dependsOn: ["extract"], resources: { cpu: null, memory: "1Gi" }, retry: retry({ maxAttempts: 3, delaySeconds: 5 }) },
      { name: "b_side", command: [], args: [] },
    ],
  });

  it("emit -> lift gives the spec's meaning", () => expect(airflow.lift(emitted(rich))).toEqual(summarize(rich)));

  it("an unscheduled workflow lifts to schedule null", () => expect(airflow.lift(emitted(irFixture())).schedule).toBeNull());

  describe("the window guard (catchup false with a start)", () => {
    const guarded = irFixture({
      name: "guarded",
      schedule: HOURLY,
      upstream: [{ at: ["workflow", "dependencies", 0], workflow: "other", timeoutSeconds: 60 }],
      notifications: [SLACK],
      jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"], runWhen: "all_done" }],
    });
    const py = emitted(guarded);

    it("emit -> lift reads the start back from kfm-window", () => {
      expect(airflow.lift(py)).toEqual(summarize(guarded));
      expect(airflow.lift(py).schedule).toMatchObject({ start: "2024-03-01T00:00:00", catchup: false });
    });

    it("sees the guard's start edited", () => {
      const edited = py.replace("pendulum.datetime(2024, 3, 1, 0, 0, 0", "pendulum.datetime(2025, 3, 1, 0, 0, 0");
      expect(airflow.lift(edited).schedule).toMatchObject({ start: "2025-03-01T00:00:00" });
    });

    it("refuses a DAG start_date with catchup=False (the latest past slot would run at deployment)", () => {
      const dagStart = py.replace("    start_date=None,", '    start_date=pendulum.datetime(2024, 3, 1, 0, 0, 0, tz="Europe/Berlin"),');
      expect(() => airflow.lift(dagStart)).toThrow(/start_date with catchup=False/);
    });

    it("refuses a guard that no longer comes before a first task, or that lets downstream trigger rules run", () => {
      expect(() => airflow.lift(py.replace('("kfm-window", "a"),', ""))).toThrow(/not downstream of kfm-window/);
      expect(() => airflow.lift(py.replace("ignore_downstream_trigger_rules=True", "ignore_downstream_trigger_rules=False"))).toThrow(
        /ignore_downstream_trigger_rules/,
      );
      // The guard's function is pinned: an edited one is not read as the window.
      expect(() => airflow.lift(py.replace("dag_run.logical_date >= start", "dag_run.logical_date > start"))).toThrow(/airflow lift/);
    });

    it("refuses a guard with catchup=True", () => {
      expect(() => airflow.lift(py.replace("    catchup=False,", "    catchup=True,"))).toThrow(/kfm-window with catchup=True/);
    });
  });

  it("sees a retries value edited in the output", () => {
    // Without a run timeout `load`'s equal waits are native (with one, its policy lists them and lift counts both).
    const py = emitted({ ...rich, timeoutSeconds: null }).replace("retries=2,", "retries=1,");
    expect(airflow.lift(py).jobs["load"]!.attempts).toBe(2);
    expect(() => airflow.lift(emitted(rich).replace("retries=2,", "retries=1,"))).toThrow(/1 retries but 2 waits/);
  });

  it("sees a wait edited in the policy", () => {
    const py = emitted(rich).replace("KfmRetryWaits(waits=[10, 20, 25])", "KfmRetryWaits(waits=[10, 20, 40])");
    expect(airflow.lift(py).jobs["extract"]!.waitsSeconds).toEqual([10, 20, 40]);
  });

  it("sees an edge removed", () => {
    const py = withoutEdge(emitted(rich), "extract", "load");
    expect(airflow.lift(py).jobs["load"]!.after).toEqual([]);
  });

  it("refuses a file whose retry-policy class was changed", () => {
    expect(() => airflow.lift(emitted(rich).replace("self.waits[attempt - 1]", "self.waits[0]"))).toThrow(/KfmRetryWaits/);
  });

  it("refuses Airflow's jittered backoff (it is not a fixed list of waits)", () => {
    expect(() => airflow.lift(emitted(rich).replace("retry_exponential_backoff=0,", "retry_exponential_backoff=2.0,"))).toThrow(/retry_exponential_backoff/);
  });

  it("refuses a Kubernetes model built with another configuration, or without one", () => {
    const py = emitted(rich);
    const once = (from: string, to: string): string => py.replace(from, to);
    const config = "\n                local_vars_configuration=KFM_K8S_CONFIG,";
    expect(py).toContain(config);
    expect(() => airflow.lift(once(config, ""))).toThrow(/local_vars_configuration/);
    expect(() => airflow.lift(once(config, "\n                local_vars_configuration=OTHER,"))).toThrow(/KFM_K8S_CONFIG/);
    expect(() => airflow.lift(once("KFM_K8S_CONFIG = Configuration.get_default_copy()", "KFM_K8S_CONFIG = Configuration()"))).toThrow(/KFM_K8S_CONFIG/);
  });

  it("renders template data as Jinja would: a raw trailing newline is dropped, \\r\\n becomes \\n", () => {
    expect(readTemplate("a\r\nb\n", false)).toEqual([text("a\nb")]);
  });

  it("applies Kubernetes $$ -> $ to Kubernetes fields only", () => {
    expect(readTemplate("$$x", true)).toEqual([text("$x")]);
    expect(readTemplate("$$x", false)).toEqual([text("$$x")]);
  });

  it("refuses an undoubled $( that Kubernetes would expand", () => expect(() => readTemplate("$(HOME)", true)).toThrow(/expand/));

  it("round-trips any string, lone surrogates and control characters included", () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const str = fc
      .array(fc.oneof(unit, fc.constantFrom("{", "}", "{{", "{%", "{#", "$", "$(", "\r", "\n", "'", "\\", ".json")), { maxLength: 12 })
      .map((a) => a.join(""));
    const seg = fc.oneof(
      str.map(text),
      fc.constantFrom(...(["ds", "ts", "execution_date", "prev_execution_date", "next_execution_date", "attempt", "run_token"] as const)).map(variable),
    );
    const tmpl = fc.array(seg, { maxLength: 5 }).map(normalize);
    fc.assert(
      fc.property(tmpl, fc.string(), (t, image) => {
        const ir = irFixture({ schedule: HOURLY, jobs: [{ name: "main", image: image === "" ? "x" : image, args: [t], env: [{ name: "E", value: t }] }] });
        expect(airflow.lift(emitted(ir))).toEqual(summarize(ir));
      }),
      { numRuns: 300 },
    );
  });
});

/** IR templates merge adjacent text and hold no empty text. */
function normalize(segs: Segment[]): Template {
  const out: Segment[] = [];
  for (const s of segs) {
    if ("text" in s && s.text === "") continue;
    const last = out[out.length - 1];
    if ("text" in s && last !== undefined && "text" in last) out[out.length - 1] = text(last.text + s.text);
    else out.push(s);
  }
  return out;
}

// ---------------------------------------------------------------- issue 4

describe("secret references (contract 11.3)", () => {
  const withSecret = irFixture({ jobs: [{ name: "main", env: [{ name: "db_password", secretRef: { secret: "db-creds", key: "password.txt" } }] }] });

  it("given a secret ref, when emitted, then it is a V1EnvVar reading secret_key_ref, with no value", () => {
    expect(taskBlock(emitted(withSecret), "main")).toContain(
      'k8s.V1EnvVar(name="db_password", value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name="db-creds", key="password.txt", local_vars_configuration=KFM_K8S_CONFIG), local_vars_configuration=KFM_K8S_CONFIG), local_vars_configuration=KFM_K8S_CONFIG)',
    );
  });

  it("given a lower-case env name, when emitted, then the provider's Secret class (which upper-cases it) is not used", () => {
    expect(emitted(withSecret)).not.toMatch(/Secret\(/);
  });

  it("given a secret ref, when lifted, then the SecretRef comes back", () => {
    expect(airflow.lift(emitted(withSecret)).jobs["main"]!.env["db_password"]).toEqual({ secret: "db-creds", key: "password.txt" });
  });

  it("given an edited secret key in the output, when lifted, then lift sees it", () => {
    const py = emitted(withSecret).replace('key="password.txt"', 'key="other"');
    expect(airflow.lift(py).jobs["main"]!.env["db_password"]).toEqual({ secret: "db-creds", key: "other" });
  });
});

describe("KFM_ATTEMPT and KFM_RUN_TOKEN", () => {
  it("given the attempt variable, when emitted, then it is Airflow's first-try-of-this-run arithmetic", () => {
    expect(JINJA_ATTEMPT).toBe("{{ ti.try_number - ti.max_tries + task.retries }}");
    expect(taskBlock(emitted(irFixture()), "main")).toContain(
      `k8s.V1EnvVar(name="KFM_ATTEMPT", value="${JINJA_ATTEMPT}", local_vars_configuration=KFM_K8S_CONFIG)`,
    );
  });

  it("given the run-token variable, when emitted, then it calls the DAG file's kfm_run_token macro on ts", () => {
    const py = emitted(irFixture());
    expect(taskBlock(py, "main")).toContain(`k8s.V1EnvVar(name="KFM_RUN_TOKEN", value="${JINJA_RUN_TOKEN}", local_vars_configuration=KFM_K8S_CONFIG)`);
    expect(dagBlock(py)).toContain('    user_defined_macros={"kfm_run_token": kfm_run_token},\n');
    expect(py).toContain('    return hashlib.sha256((KFM_RUN_TOKEN_SEED + ts).encode("utf-8")).hexdigest()[:32]\n');
  });

  it("given a seed, when emitted, then it is one Python constant and lift reports it", () => {
    const ir = irFixture({ runTokenSeed: 'kfm-run-token/v1\nwf\n"ab\\\n' });
    const py = emitted(ir);
    expect(py).toContain(`\nKFM_RUN_TOKEN_SEED = 'kfm-run-token/v1\\nwf\\n"ab\\\\\\n'\n`);
    expect(airflow.lift(py).runTokenSeed).toBe(ir.runTokenSeed);
  });

  it("given an edited seed constant, when lifted, then the lifted seed differs", () => {
    const py = emitted(irFixture()).replace('KFM_RUN_TOKEN_SEED = "kfm-run-token/v1', 'KFM_RUN_TOKEN_SEED = "kfm-run-token/v2');
    expect(airflow.lift(py).runTokenSeed).toMatch(/^kfm-run-token\/v2/);
  });

  it("given a macro that hashes something else, when lifted, then lift refuses the file", () => {
    expect(() => airflow.lift(emitted(irFixture()).replace("(KFM_RUN_TOKEN_SEED + ts)", "(ts)"))).toThrow(/kfm_run_token/);
  });

  it("given the macro not registered, when lifted, then lift refuses the file", () => {
    expect(() => airflow.lift(emitted(irFixture()).replace('{"kfm_run_token": kfm_run_token}', "{}"))).toThrow(/user_defined_macros/);
  });

  it("reads both back as standard variables", () => {
    expect(readTemplate(`${JINJA_ATTEMPT}/${JINJA_RUN_TOKEN}`, true)).toEqual([variable("attempt"), text("/"), variable("run_token")]);
  });
});

describe("on_upstream_failure: continue (trap 4)", () => {
  const continuing = irFixture({
    jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"], runWhen: "all_done" }, { name: "c" }],
  });

  it("given runWhen all_done, when emitted, then the task has trigger_rule all_done", () => {
    expect(taskBlock(emitted(continuing), "b")).toContain('trigger_rule="all_done",');
    expect(taskBlock(emitted(continuing), "a")).toContain('trigger_rule="all_success",');
  });

  it("given an all_done job, when emitted, then a one_failed watcher that fails sits downstream of every task", () => {
    const py = emitted(continuing);
    expect(py).toContain('    KfmFailRun(\n        task_id="kfm-fail-run",\n        trigger_rule="one_failed",\n        retries=0,\n    )\n');
    expect(py).toContain('        raise AirflowFailException("a job of this run failed")\n');
    for (const t of ["a", "b", "c"]) expect(edges(py)).toContainEqual([t, "kfm-fail-run"]);
  });

  it("given no all_done job, when emitted, then there is no watcher (simple outputs stay simple)", () => {
    const py = emitted(irFixture({ jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"] }] }));
    expect(py).not.toContain("KfmFailRun");
    expect(py).not.toContain("kfm-fail-run");
  });

  it("given the watcher, when lifted, then every job's failure fails the run and runWhen is read from trigger_rule", () => {
    const s = airflow.lift(emitted(continuing));
    expect(s).toEqual(summarize(continuing));
    expect(s.jobs["b"]!.runWhen).toBe("all_done");
    expect(Object.values(s.jobs).every((j) => j.failureFailsRun)).toBe(true);
  });

  it("given the watcher removed from the output, when lifted, then lift sees that a's failure no longer fails the run", () => {
    const py = withoutWatcher(emitted(continuing));
    const s = airflow.lift(py);
    expect(s.jobs["a"]!.failureFailsRun).toBe(false);
    expect(s.jobs["b"]!.failureFailsRun).toBe(true);
    expect(s.jobs["c"]!.failureFailsRun).toBe(true);
  });

  it("given the watcher's trigger rule changed to all_done, when lifted, then lift refuses the file", () => {
    expect(() => airflow.lift(emitted(continuing).replace('        trigger_rule="one_failed",\n', '        trigger_rule="all_done",\n'))).toThrow(/one_failed/);
  });

  it("given a job without an always-run leaf, when lifted, then Airflow's leaf rule already fails the run", () => {
    const ir = irFixture({ jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"] }] });
    expect(Object.values(airflow.lift(emitted(ir)).jobs).every((j) => j.failureFailsRun)).toBe(true);
  });
});

describe("max_active_runs (trap 10)", () => {
  it("given max_active_runs 3, when emitted, then the DAG has max_active_runs=3 and lift reads 3", () => {
    const ir = irFixture({ maxActiveRuns: 3 });
    expect(dagBlock(emitted(ir))).toContain("    max_active_runs=3,\n");
    expect(airflow.lift(emitted(ir)).maxActiveRuns).toBe(3);
  });

  it("given no limit, when emitted, then the 32-bit maximum stands for it and lift reads null", () => {
    expect(dagBlock(emitted(irFixture()))).toContain("    max_active_runs=2147483647,\n");
    expect(airflow.lift(emitted(irFixture())).maxActiveRuns).toBeNull();
  });

  it("given a limit with a cron schedule and catchup false, when emitted, then catchup=True with no start (runs queue) and lift reads catchup false", () => {
    const ir = irFixture({ maxActiveRuns: 1, schedule: { ...HOURLY, start: "2024-01-01T00:00:00" } });
    expect(airflow.check(ir)).toEqual([]);
    const dag = dagBlock(emitted(ir));
    expect(dag).toContain("    start_date=None,\n");
    expect(dag).toContain("    catchup=True,\n");
    expect(dag).toContain('    default_args={"start_date": None},\n');
    expect(airflow.lift(emitted(ir))).toEqual(summarize(ir));
  });

  it("given catchup false without a limit, or catchup true with one, when emitted, then no start_date key in default_args", () => {
    expect(dagBlock(emitted(irFixture({ schedule: HOURLY })))).not.toContain("default_args");
    const caught = dagBlock(emitted(irFixture({ maxActiveRuns: 1, schedule: { ...HOURLY, catchup: true, start: "2024-01-01T00:00:00" } })));
    expect(caught).not.toContain("default_args");
    expect(caught).toContain("    catchup=True,\n");
  });

  it("given a queue without catch-up and deployment options, when emitted, then start_date comes first and lift reads both", () => {
    const ir = irFixture({ maxActiveRuns: 2, schedule: HOURLY });
    const py = emit(ir, { ...DEFAULT_OPTIONS, namespace: "data" });
    expect(dagBlock(py)).toContain('    default_args={"start_date": None, "namespace": "data"},\n');
    expect(airflow.lift(py)).toEqual(summarize(ir));
  });

  it("given output with the start_date key but no limit, or with catchup=False, when lifted, then it is refused", () => {
    const py = emitted(irFixture({ maxActiveRuns: 1, schedule: HOURLY }));
    expect(() => airflow.lift(py.replace("max_active_runs=1,", "max_active_runs=2147483647,"))).toThrow(/without max_active_runs/);
    expect(() => airflow.lift(py.replace("catchup=True,", "catchup=False,"))).toThrow(/only a queue without catch-up/);
    const plain = py.replace("catchup=True,", "catchup=False,").replace(/ {4}# The start_date key[^\n]*\n {4}default_args=[^\n]*\n/, "");
    expect(plain).not.toContain("default_args");
    expect(() => airflow.lift(plain)).toThrow(/drops the slots/);
  });

  it("given a limit with catchup true, or without a schedule, when checked, then it is accepted (runs queue)", () => {
    expect(airflow.check(irFixture({ maxActiveRuns: 1, schedule: { ...HOURLY, catchup: true } }))).toEqual([]);
    expect(airflow.check(irFixture({ maxActiveRuns: 1 }))).toEqual([]);
  });

  it("given a limit the 32-bit column cannot hold apart from 'no limit', when checked, then KFM301", () => {
    expect(airflow.check(irFixture({ maxActiveRuns: 2147483647 })).map((p) => p.code)).toEqual(["KFM301"]);
  });
});

describe("prerequisite gate", () => {
  it("given a prerequisite (edges added by the core), when emitted, then they are plain all_success edges", () => {
    const ir = irFixture({
      jobs: [
        { name: "check", prerequisite: true },
        { name: "load", dependsOn: ["check"] },
      ],
    });
    const py = emitted(ir);
    expect(edges(py)).toContainEqual(["check", "load"]);
    expect(taskBlock(py, "load")).toContain('trigger_rule="all_success",');
    expect(airflow.lift(py)).toEqual(summarize(ir));
  });
});

// ---------------------------------------------------------------- issue 4, round 2

const GATE: JobInput = {
  name: "approve",
  image: "",
  env: [],
  dependsOn: ["build"],
  approval: { timeoutSeconds: 86400 },
};
const gated = (): Workflow => irFixture({ name: "promotion", jobs: [{ name: "build" }, GATE, { name: "promote", dependsOn: ["approve"] }, { name: "audit" }] });

describe("approval gates (trap 13)", () => {
  it("given a gate, when emitted, then it is an ApprovalOperator that fails on reject, has no default decision and no retry", () => {
    const gate = statement(airflow.emit(gated()), "approve");
    expect(gate.startsWith("    ApprovalOperator(\n")).toBe(true);
    expect(gate).toContain("fail_on_reject=True,");
    expect(gate).toContain("defaults=None,");
    expect(gate).toContain("ignore_downstream_trigger_rules=False,");
    expect(gate).toContain("response_timeout=timedelta(seconds=86400),");
    expect(gate).toContain("execution_timeout=None,");
    expect(gate).toContain("retries=0,");
    expect(airflow.emit(gated())).toContain("from airflow.providers.standard.operators.hitl import ApprovalOperator\n");
  });

  it("given a gate without a timeout, when emitted, then response_timeout=None (wait indefinitely) and lift reads null", () => {
    const ir = irFixture({ jobs: [{ name: "build" }, { ...GATE, approval: { timeoutSeconds: null } }] });
    expect(statement(airflow.emit(ir), "approve")).toContain("response_timeout=None,");
    expect(airflow.lift(airflow.emit(ir)).jobs["approve"]!.approval).toEqual({ timeoutSeconds: null });
  });

  it("given a gate, when lifted, then it is an approval with the timeout, no container, and its downstream after it", () => {
    const s = airflow.lift(airflow.emit(gated()));
    expect(s).toEqual(summarize(gated()));
    expect(s.jobs["approve"]).toMatchObject({ approval: { timeoutSeconds: 86400 }, image: "", command: null, attempts: 1 });
    expect(s.jobs["promote"]!.after).toEqual(["approve"]);
    expect(s.jobs["build"]!.approval).toBeNull();
  });

  it("given fail_on_reject=False edited in (Airflow's default: reject skips downstream, the run succeeds), when lifted, then lift refuses", () => {
    expect(() => airflow.lift(airflow.emit(gated()).replace("fail_on_reject=True,", "fail_on_reject=False,"))).toThrow(/fail_on_reject/);
  });

  it('given defaults=["Approve"] edited in (a timeout would approve), when lifted, then lift refuses', () => {
    expect(() => airflow.lift(airflow.emit(gated()).replace("defaults=None,", 'defaults=["Approve"],'))).toThrow(/defaults/);
  });

  it("given a drifted approval timeout, when lifted, then lift reports it", () => {
    const s = airflow.lift(airflow.emit(gated()).replace("response_timeout=timedelta(seconds=86400)", "response_timeout=timedelta(seconds=3600)"));
    expect(s.jobs["approve"]!.approval).toEqual({ timeoutSeconds: 3600 });
  });

  it("given a workflow without gates, sensors or notifications, when emitted, then no provider-standard import is written", () => {
    expect(airflow.emit(irFixture())).not.toContain("airflow.providers.standard");
  });
});

const SLACK: Workflow["notifications"][number] = {
  kind: "slack",
  at: ["workflow", "notifications", "on_failure", 0],
  message: [text("the run of wf for "), variable("ts"), text(" failed.")],
  channel: "#data-alerts",
  webhook: { secret: "slack-webhook", key: "url" },
};
const EMAIL: Workflow["notifications"][number] = {
  kind: "email",
  at: ["workflow", "notifications", "on_failure", 1],
  message: [text("the run of wf for "), variable("ts"), text(" failed.")],
  recipients: ["a@example.com", "b@example.com"],
  from: "pipelines@example.com",
  smtp: { secret: "smtp-relay", key: "url" },
};
const notified = (): Workflow => irFixture({ notifications: [SLACK, EMAIL], jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"] }, { name: "c" }] });

describe("failure notifications", () => {
  it("given notifications, when emitted, then each is a curl pod with trigger_rule none_skipped after every task and the one_failed marker", () => {
    const py = airflow.emit(notified());
    const n1 = statement(py, "kfm-notify-1");
    expect(n1).toContain('image="docker.io/curlimages/curl:8.11.1"');
    expect(n1).toContain('trigger_rule="none_skipped"');
    expect(n1).toContain("retries=0,");
    expect(statement(py, "kfm-run-failed")).toContain('EmptyOperator(\n        task_id="kfm-run-failed",\n        trigger_rule="one_failed",');
    for (const up of ["a", "b", "c", "kfm-run-failed"]) {
      expect(edges(py)).toContainEqual([up, "kfm-notify-1"]);
      expect(edges(py)).toContainEqual([up, "kfm-notify-2"]);
    }
    for (const up of ["a", "b", "c"]) expect(edges(py)).toContainEqual([up, "kfm-run-failed"]);
  });

  it("given notifications and no always-run job, when emitted, then the KfmFailRun watcher is written (a notification leaf would turn the run green)", () => {
    const py = airflow.emit(notified());
    expect(py).toContain('    KfmFailRun(\n        task_id="kfm-fail-run",\n');
    for (const up of ["a", "b", "c"]) expect(edges(py)).toContainEqual([up, "kfm-fail-run"]);
    expect(edges(py)).not.toContainEqual(["kfm-notify-1", "kfm-fail-run"]);
  });

  it("given a secret webhook and SMTP URL, when emitted, then they are secret_key_refs, the message renders ts, and the failed jobs and the run come from the helpers", () => {
    const py = airflow.emit(notified());
    expect(statement(py, "kfm-notify-1")).toContain(
      'k8s.V1EnvVar(name="KFM_NOTIFY_SECRET_URL", value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name="slack-webhook", key="url", local_vars_configuration=KFM_K8S_CONFIG), local_vars_configuration=KFM_K8S_CONFIG), local_vars_configuration=KFM_K8S_CONFIG)',
    );
    expect(statement(py, "kfm-notify-2")).toContain('value="a@example.com b@example.com"');
    expect(statement(py, "kfm-notify-2")).toContain("security_context=KFM_RESTRICTED_POD,");
    expect(statement(py, "kfm-notify-2")).toContain("container_security_context=KFM_RESTRICTED_CONTAINER,");
    expect(statement(py, "kfm-notify-1")).toContain(
      'k8s.V1EnvVar(name="KFM_NOTIFY_MESSAGE", value="the run of wf for {{ ts }} failed.", local_vars_configuration=KFM_K8S_CONFIG)',
    );
    expect(statement(py, "kfm-notify-1")).toContain('value="{{ kfm_failed_jobs(ti) }}"');
    expect(statement(py, "kfm-notify-1")).toContain('value="{{ kfm_run_link(ti) }}"');
    expect(statement(py, "kfm-notify-1")).toContain("execution_timeout=timedelta(seconds=660)");
    expect(py).toContain("def kfm_failed_jobs(ti):");
    expect(airflow.emit(irFixture())).not.toContain("def kfm_failed_jobs(ti):");
  });

  it("given notifications, when lifted, then they come back in spec order and every job's failure fails the run", () => {
    const s = airflow.lift(airflow.emit(notified()));
    expect(s).toEqual(summarize(notified()));
    expect(Object.values(s.jobs).every((j) => j.failureFailsRun)).toBe(true);
  });

  it("given the watcher removed, when lifted, then lift sees that a failure no longer fails the run", () => {
    const py = withoutWatcher(airflow.emit(notified()));
    expect(airflow.lift(py).jobs["c"]!.failureFailsRun).toBe(false);
  });

  it("given a notification that no longer waits for job c, when lifted, then lift refuses (it could send before the run ends)", () => {
    expect(() => airflow.lift(withoutEdge(airflow.emit(notified()), "c", "kfm-notify-1"))).toThrow(/kfm-notify-1/);
  });

  it("given the notification's trigger rule changed to all_done (it would send on success), when lifted, then lift refuses", () => {
    const py = airflow.emit(notified());
    const block = rawStatement(py, "kfm-notify-1");
    expect(() => airflow.lift(py.replace(block, () => block.replace('trigger_rule="none_skipped"', 'trigger_rule="all_done"')))).toThrow(/none_skipped/);
  });

  it("given notifications and a workflow timeout, then they wait for kfm-run-done (a job the timeout keeps from starting is skipped), and lift reads them back", () => {
    const timed = { ...notified(), timeoutSeconds: 3600 };
    expect(airflow.check(timed)).toEqual([]);
    const py = airflow.emit(timed);
    expect(statement(py, "kfm-run-done")).toContain('trigger_rule="all_done"');
    expect(py).toContain('("kfm-run-done", "kfm-notify-1"),');
    expect(py).not.toContain('("a", "kfm-notify-1"),');
    expect(airflow.lift(py)).toEqual(summarize(timed));
    expect(airflow.emit(notified())).not.toContain("kfm-run-done");
    // Waiting for every task again would skip the notification after a skipped job: lift refuses it.
    expect(() => airflow.lift(py.replace('("kfm-run-done", "kfm-notify-1"),', '("a", "kfm-notify-1"), ("b", "kfm-notify-1"), ("c", "kfm-notify-1"),'))).toThrow(
      /kfm-notify-1/,
    );
  });
});

const dependent = (timeoutSeconds: number | null): Workflow =>
  irFixture({
    name: "downstream",
    schedule: HOURLY,
    upstream: [{ at: ["workflow", "dependencies", 0], workflow: "upstream_pipeline", timeoutSeconds }],
    jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"] }, { name: "c" }],
  });

describe("cross-workflow dependencies (contract 8.2)", () => {
  it("given a dependency, when emitted, then an ExternalTaskSensor matches the same logical date and waits in reschedule mode", () => {
    const sensor = statement(airflow.emit(dependent(3600)), "kfm-upstream-upstream_pipeline");
    expect(sensor.startsWith("    ExternalTaskSensor(\n")).toBe(true);
    expect(sensor).toContain('external_dag_id="upstream_pipeline",');
    expect(sensor).toContain("external_task_id=None,");
    expect(sensor).toContain('allowed_states=["success"],');
    expect(sensor).toContain('failed_states=["failed"],');
    expect(sensor).toContain("execution_delta=None,");
    expect(sensor).toContain("execution_date_fn=None,");
    expect(sensor).toContain("deferrable=False,");
    expect(sensor).toContain('mode="reschedule",');
    expect(sensor).toContain("timeout=timedelta(seconds=3600),");
    expect(sensor).toContain("retries=0,");
  });

  it("given a dependency, when emitted, then the sensor is upstream of every first job and of no other", () => {
    const py = airflow.emit(dependent(null));
    expect(edges(py)).toContainEqual(["kfm-upstream-upstream_pipeline", "a"]);
    expect(edges(py)).toContainEqual(["kfm-upstream-upstream_pipeline", "c"]);
    expect(edges(py)).not.toContainEqual(["kfm-upstream-upstream_pipeline", "b"]);
  });

  it("given no dependency timeout, when emitted, then the sensor timeout is written out as 2147483647 s (None = 7-day default) and lifts as null", () => {
    const py = airflow.emit(dependent(null));
    expect(statement(py, "kfm-upstream-upstream_pipeline")).toContain("timeout=timedelta(seconds=2147483647),");
    expect(airflow.lift(py).upstream).toEqual([{ workflow: "upstream_pipeline", timeoutSeconds: null }]);
    expect(airflow.lift(py)).toEqual(summarize(dependent(null)));
  });

  it("given an execution_delta edited in (another logical date), when lifted, then lift refuses", () => {
    expect(() => airflow.lift(airflow.emit(dependent(60)).replace("execution_delta=None,", "execution_delta=timedelta(seconds=3600),"))).toThrow(
      /execution_delta/,
    );
  });

  it("given the sensor edge to a first job removed, when lifted, then lift refuses (that job could start first)", () => {
    expect(() => airflow.lift(withoutEdge(airflow.emit(dependent(60)), "kfm-upstream-upstream_pipeline", "c"))).toThrow(/job c/);
  });

  it("given a dependency timeout of 2147483647 s or more, when checked, then KFM301 at the dependency", () => {
    expect(airflow.check(dependent(2147483647)).map((p) => [p.code, p.at])).toEqual([["KFM301", ["workflow", "dependencies", 0]]]);
    expect(airflow.check(dependent(2147483646))).toEqual([]);
  });
});

// ---------------------------------------------------------------- layout (ruff format's shapes)

describe("the layout ruff format keeps", () => {
  const call = pyCall("f", ["1"], [["key", pyList(['"a"', '"b"'])]]);

  it("given a call that fits in 88 columns, when laid out, then it is one line with no trailing comma", () => {
    expect(layout(call, 1, "x=", ",")).toEqual(['    x=f(1, key=["a", "b"]),']);
  });

  it("given a line of exactly 88 columns, then it stays one line; at 89 it is split", () => {
    const fits = pyCall("f", [`"${"a".repeat(88 - 'f("")'.length)}"`]);
    expect(layout(fits, 0)).toEqual([flat(fits)]);
    expect(flat(fits)).toHaveLength(88);
    const over = pyCall("f", [`"${"a".repeat(89 - 'f("")'.length)}"`]);
    expect(layout(over, 0)).toEqual(["f(", `    "${"a".repeat(84)}",`, ")"]);
  });

  it("given a call that does not fit, when laid out, then one item per line with a trailing comma, and an item that fits stays flat", () => {
    const long = pyCall(
      "k8s.V1EnvVar",
      [],
      [
        ["name", '"KFM_ATTEMPT"'],
        ["value", `"${"x".repeat(60)}"`],
        ["value_from", pyCall("g", [], [["a", "1"]])],
      ],
    );
    expect(layout(long, 3)).toEqual([
      "            k8s.V1EnvVar(",
      '                name="KFM_ATTEMPT",',
      `                value="${"x".repeat(60)}",`,
      "                value_from=g(a=1),",
      "            )",
    ]);
  });

  it("given a string longer than the line, when laid out, then it is never split (ruff does not split strings)", () => {
    const s = `"${"y".repeat(200)}"`;
    expect(layout(s, 2, "doc=", ",")).toEqual([`        doc=${s},`]);
    expect(valueAt(pyList([s]), 2, "cmds=")).toBe(`[\n            ${s},\n        ]`);
  });

  it("given an empty list, then it is `[]` whatever the width", () => {
    expect(layout(pyList([]), 20, "x".repeat(90))).toEqual([" ".repeat(80) + "x".repeat(90) + "[]"]);
  });

  it("given the names a value calls, then calledNames finds each callee's first name", () => {
    const names = calledNames(
      pyCall(
        "k8s.V1EnvVar",
        [],
        [
          ["value_from", pyCall("pendulum.datetime", ["1"])],
          ["t", pyCall("timedelta", [])],
        ],
      ),
      new Set(),
    );
    expect([...names].sort()).toEqual(["k8s", "pendulum", "timedelta"]);
  });
});

describe("deployment options (targets.airflow.options)", () => {
  const all: AirflowOptions = {
    ...DEFAULT_OPTIONS,
    kubernetesConnId: "k8s_data",
    namespace: "data-jobs",
    pausedOnCreation: true,
    serviceAccount: "kfm-jobs",
    imagePullSecrets: ["registry-creds"],
    podSecurityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    containerSecurityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    pool: "kubernetes",
    queue: "kube",
  };
  const rich = irFixture({ jobs: [{ name: "a" }, { name: "b", dependsOn: ["a"] }] });

  it("given no option set, then the file has no default_args and is not paused on creation", () => {
    const py = airflow.emit(rich);
    expect(py).not.toContain("default_args");
    expect(py).toContain("is_paused_upon_creation=False,");
  });

  it("given every option, then they are default_args in a fixed order and the meaning is unchanged", () => {
    const py = emit(rich, all);
    expect(py).toContain("is_paused_upon_creation=True,");
    const args = py.slice(py.indexOf("default_args={"), py.indexOf(") as dag:"));
    const keys = [...args.matchAll(/^ {8}"([a-z_]+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual([
      "kubernetes_conn_id",
      "namespace",
      "service_account_name",
      "image_pull_secrets",
      "security_context",
      "container_security_context",
      "pool",
      "queue",
    ]);
    expect(args).toContain('"runAsNonRoot": True,');
    expect(args).toMatch(/k8s\.V1LocalObjectReference\(\s*name="registry-creds",\s*local_vars_configuration=KFM_K8S_CONFIG,?\s*\)/);
    expect(airflow.lift(py)).toEqual(airflow.lift(airflow.emit(rich)));
    // The tasks themselves are the same text: options reach them only through default_args.
    expect(taskBlock(py, "b")).toBe(taskBlock(airflow.emit(rich), "b"));
  });

  it("given a default_args key that changes meaning edited in, when lifted, then lift refuses it", () => {
    const py = emit(rich, all).replace('"pool": "kubernetes",', '"retries": 5,');
    expect(() => airflow.lift(py)).toThrow(/default_args sets retries, which is not a deployment option/);
  });
});

describe("what a spec needs on Airflow (prerequisites)", () => {
  const ir = irFixture({
    jobs: [
      { name: "a", env: [{ name: "P", secretRef: { secret: "db", key: "password" } }] },
      { name: "b", dependsOn: ["a"], env: [{ name: "U", secretRef: { secret: "db", key: "user" } }] },
    ],
  });

  it("given no option, then the default connection, the connection's namespace, each Secret once with its keys, each image", () => {
    const needs = airflow.prerequisites!(ir).map((n) => `${n.kind}: ${n.text}`);
    expect(needs).toContain('setting: Airflow connection "kubernetes_default" (type Kubernetes) that reaches the cluster');
    expect(needs).toContain('secret: Secret "db" in the connection\'s namespace with keys "password", "user"');
    expect(needs.filter((n) => n.startsWith("image:"))).toEqual([`image: image "${ir.jobs[0]!.image}", pullable by the cluster's nodes`]);
    expect(needs.some((n) => n.includes("apache-airflow-providers-standard"))).toBe(false);
  });

  it("given options, then they name the connection, namespace, account, pull secrets, pool and queue", () => {
    const needs = airflow.prerequisites!(ir, {
      ...DEFAULT_OPTIONS,
      kubernetesConnId: "k8s_data",
      namespace: "data-jobs",
      serviceAccount: "kfm-jobs",
      imagePullSecrets: ["reg"],
      pool: "kube",
      queue: "q",
    }).map((n) => `${n.kind}: ${n.text}`);
    expect(needs).toEqual(
      expect.arrayContaining([
        'setting: Airflow connection "k8s_data" (type Kubernetes) that reaches the cluster',
        'account: ServiceAccount "kfm-jobs" in namespace "data-jobs"',
        'secret: Secret "reg" in namespace "data-jobs" of type kubernetes.io/dockerconfigjson (image pull)',
        'setting: Airflow pool "kube"',
        'setting: workers that listen on executor queue "q"',
      ]),
    );
  });
});

describe("the pods kfm-compile adds (notifications) are restricted", () => {
  const py = readFileSync(assetPath("golden/airflow/notifications.py"), "utf8");

  it("given the golden, then every notification task uses the file's restricted contexts, which lift reads", () => {
    expect(py.match(/security_context=KFM_RESTRICTED_POD,/g)).toHaveLength(2);
    expect(py.match(/container_security_context=KFM_RESTRICTED_CONTAINER,/g)).toHaveLength(2);
    expect(() => airflow.lift(py)).not.toThrow();
  });

  it("given the restricted context loosened, when lifted, then lift refuses it", () => {
    expect(() => airflow.lift(py.replace('"allowPrivilegeEscalation": False,', '"allowPrivilegeEscalation": True,'))).toThrow(
      /KFM_RESTRICTED_CONTAINER is not the restricted/,
    );
    expect(() => airflow.lift(py.replace("security_context=KFM_RESTRICTED_POD,", "security_context=None,"))).toThrow(
      /security_context is not KFM_RESTRICTED_POD/,
    );
  });
});
