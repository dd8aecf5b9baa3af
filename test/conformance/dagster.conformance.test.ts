/**
 * The Dagster target through Dagster's own code (issue 16). Every spec compiled for dagster
 * (conformance/runners.ts `compileAll`) is imported and checked with
 * `Definitions.validate_loadable` by the pinned dagster (conformance/dagster/load_defs.py),
 * which then reads back from the loaded definitions the job, its ops and their `In(Nothing)`
 * dependencies, the run tags, the schedule and the resources, and calls each op's compute
 * function as Dagster does: what its first attempt launches for a logical date (image,
 * command, args, env, resources, timeout) and the `RetryRequested` each failed attempt raises
 * (attempts and exact waits). With failure notifications, the run failure sensor is read back
 * (type, requested job, status) and evaluated by Dagster's own sensor evaluation over a failed
 * run of each job, and each notification op is called with the module's KfmLauncher and a
 * recording `execute_k8s_job` (the pod it launches). All of it is compared field by field with the spec's IR. The
 * deliberately broken backend (one attempt too many) must be caught. Ruff (pinned) accepts
 * every module unchanged.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { retryWaits, type Job, type Template, type Workflow } from "../../src/ir.js";
import { kubeName } from "../../src/names.js";
import { renderTemplate } from "../../src/runtime.js";
import {
  LOGICAL_DATE_TAG,
  MAX_RUNTIME_TAG,
  QUEUE_TAG,
  afterInput,
  catchupName,
  dagsterDstGuard,
  dagsterName,
  endingJobs,
  jobFunction,
  scheduleName,
  waitOpName,
} from "../../targets/dagster/emit.js";
import { FAILED_JOBS_TAG, NOTIFY_JOB, NOTIFY_SENSOR, notifyOp } from "../../targets/dagster/emit.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT, RESTRICTED_POD_SECURITY_CONTEXT } from "../../targets/kubernetes.js";
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, notifyInputs } from "../../src/notify.js";
import { CACHE, CONFORMANCE, compileAll, setup, type Compiled } from "./runners.js";

const PYTHON = join(CACHE, "dagster", "bin", "python");
const RUFF = join(CACHE, "lint", "bin", "ruff");
const LOGICAL_DATE = "2024-03-04T11:30:00+00:00";
const LOGICAL_MS = Date.parse(LOGICAL_DATE);

interface Launch {
  readonly image: string;
  readonly command: string[] | null;
  readonly args: string[] | null;
  readonly env: Record<string, unknown>[];
  readonly resources: unknown;
  readonly timeout: number | null;
}

interface LoadedOp {
  readonly inputs: string[];
  readonly after: string[];
  readonly retry_policy: string | null;
  readonly required_resources: string[];
  readonly launch: Launch[];
  readonly attempts: number | null;
  readonly retries: { max_retries: number; seconds: number }[];
  readonly after_outputs: string[];
  readonly yields: { succeeded: string[]; failed: string[] };
  /** An approval gate's op: what it asked KfmApproval. */
  readonly decide?: { gate: string; description: string | null; timeout: number | null }[];
}

interface Loaded {
  readonly error?: string;
  readonly job: string;
  readonly tags: Record<string, string>;
  readonly metadata: Record<string, unknown>;
  readonly executor: string;
  readonly step_dependency_config: Record<string, boolean> | null;
  readonly ops: Record<string, LoadedOp>;
  readonly waits: Record<string, { inputs: string[]; required_resources: string[]; runs_asked: unknown[] }>;
  readonly schedules: { name: string; cron: string; timezone: string; job: string; default_status: string }[];
  readonly sensors: { name: string; job: string; minimum_interval_seconds: number; default_status: string }[];
  readonly resources: string[];
  readonly all_jobs: string[];
  readonly notifications: LoadedNotifications;
}

/** The module's sensors as Dagster loaded them, and, with notifications, the run failure sensor evaluated and each notification pod. */
interface LoadedNotifications {
  readonly sensors: { name: string; type: string; job: string; default_status: string }[];
  readonly requests?: { for_job: string | null; job: string; run_key_is_the_run: boolean; tags: Record<string, string> }[];
  readonly second_tick_requests?: number;
  readonly pods?: Record<string, { command: string[]; container_config: { env: Record<string, unknown>[] }; [k: string]: unknown }[]>;
}

let outputs: Compiled[] = [];
const loaded = new Map<string, Loaded>();

beforeAll(() => {
  setup();
  outputs = compileAll().outputs.filter((o) => o.target === "dagster");
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "load_defs.py"), "--logical-date", LOGICAL_DATE, ...outputs.map((o) => o.file)], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`load_defs.py exited ${r.status}:\n${r.stderr}`);
  for (const [file, v] of Object.entries(JSON.parse(r.stdout) as Record<string, Loaded>)) loaded.set(file, v);
}, 900_000);

/** What Kubernetes makes of a doubled `$` (the module doubles every literal one). */
function kube(text: string): string {
  return text.replace(/\$\$/g, "$");
}

function render(ir: Workflow, t: Template): string {
  const periodSeconds = ir.schedule?.kind === "cron" ? ir.schedule.periodSeconds : null;
  return renderTemplate(t, { logicalMs: LOGICAL_MS, attempt: 1, runTokenSeed: ir.runTokenSeed, periodSeconds });
}

/** An approval gate's op: what it asks KfmApproval (emit.ts gateOpView), no container, no retries. */
function expectedGate(job: Job) {
  return {
    inputs: job.dependsOn.map(afterInput).sort(),
    after: job.dependsOn.map(dagsterName).sort(),
    retry_policy: null,
    required_resources: ["kfm_approval"],
    decide: [{ gate: kubeName(job.name), description: job.description, timeout: job.approval!.timeoutSeconds }],
  };
}

/** What Dagster's run of `ir` must launch for `job` on its first attempt, and its retries. */
function expectedOp(ir: Workflow, job: Job) {
  if (job.approval !== null) return expectedGate(job);
  const q: Record<string, string> = {};
  if (job.resources.cpu !== null) q.cpu = job.resources.cpu;
  if (job.resources.memory !== null) q.memory = job.resources.memory;
  const waits = retryWaits(job.retry);
  return {
    inputs: waitsFor(ir, job).map(afterInput).sort(),
    after: waitsFor(ir, job).map(dagsterName).sort(),
    // Retries are RetryRequested raised by the op itself: no RetryPolicy may add its own.
    retry_policy: null,
    required_resources: ["kfm_launcher"],
    launch: {
      image: job.image,
      command: job.command === null ? null : job.command.map((t) => render(ir, t)),
      args: job.args === null ? null : job.args.map((t) => render(ir, t)),
      env: job.env.map((e) =>
        "value" in e
          ? { name: e.name, value: render(ir, e.value) }
          : { name: e.name, valueFrom: { secretKeyRef: { name: e.secretRef.secret, key: e.secretRef.key } } },
      ),
      resources: Object.keys(q).length === 0 ? null : { requests: q, limits: q },
      timeout: job.timeoutSeconds,
    },
    attempts: job.retry.maxAttempts,
    retries: waits.map((seconds) => ({ max_retries: waits.length, seconds })),
    ...continueExpectedOp(ir, job),
  };
}

/**
 * on_upstream_failure: continue (targets/dagster/README.md): a continue job's op takes each
 * upstream op's `ended` output, every other op the `result` output; an op a continue job
 * waits for yields `ended` when its last attempt failed and `ended` and `result` when one
 * succeeded (an op with the one implicit output yields none itself).
 */
function continueExpectedOp(ir: Workflow, job: Job) {
  const ends = endingJobs(ir.jobs).has(job.name);
  return {
    after_outputs: waitsFor(ir, job)
      .map((d) => `${dagsterName(d)}.${job.runWhen === "all_done" ? "ended" : "result"}`)
      .sort(),
    yields: ends ? { succeeded: ["ended", "result"], failed: ["ended"] } : { succeeded: [], failed: [] },
  };
}

/** What an op waits for: its jobs, or, for a root, the op waiting for each upstream workflow's run (README "Cross-workflow dependencies"). */
function waitsFor(ir: Workflow, job: Job): string[] {
  return job.dependsOn.length > 0 ? [...job.dependsOn] : ir.upstream.map((u) => waitOpName(u.workflow));
}

/** Each wait op asks the instance for the newest run of the upstream's Dagster job tagged with the same logical date. */
function expectedWaits(ir: Workflow) {
  return Object.fromEntries(
    ir.upstream.map((u) => [
      waitOpName(u.workflow),
      {
        inputs: [],
        required_resources: [],
        runs_asked: [{ job_name: jobFunction(u.workflow), tags: { [LOGICAL_DATE_TAG]: LOGICAL_DATE }, limit: 1 }],
      },
    ]),
  );
}

/** The executor: with a continue job, one that starts a step once the outputs it takes exist. */
function continueExpectedExecutor(ir: Workflow) {
  return ir.jobs.some((j) => j.runWhen === "all_done")
    ? { executor: "kfm_multiprocess", step_dependency_config: { require_upstream_step_success: false } }
    : { executor: "multi_or_in_process_executor", step_dependency_config: null };
}

function actualOp(op: LoadedOp) {
  if (op.decide !== undefined)
    return { inputs: op.inputs, after: op.after, retry_policy: op.retry_policy, required_resources: op.required_resources, decide: op.decide };
  const l = op.launch[0]!;
  return {
    inputs: op.inputs,
    after: op.after,
    retry_policy: op.retry_policy,
    required_resources: op.required_resources,
    launch: {
      image: l.image,
      command: l.command === null ? null : l.command.map(kube),
      args: l.args === null ? null : l.args.map(kube),
      env: l.env.map((e) => (typeof e.value === "string" ? { ...e, value: kube(e.value) } : e)),
      resources: l.resources,
      timeout: l.timeout,
    },
    attempts: op.attempts,
    retries: op.retries,
    after_outputs: op.after_outputs,
    yields: op.yields,
  };
}

function queueTag(ir: Workflow): Record<string, string> {
  return ir.maxActiveRuns === null ? {} : { [QUEUE_TAG]: ir.name };
}

function expected(ir: Workflow) {
  const s = ir.schedule;
  return {
    job: jobFunction(ir.name),
    tags: { [MAX_RUNTIME_TAG]: String(ir.timeoutSeconds ?? 0), ...queueTag(ir) },
    // max_active_runs: the run tag the instance's run queue limits, and the limit for people (dagster-queue.conformance.test.ts runs the queue).
    metadata: ir.maxActiveRuns === null ? {} : { [QUEUE_TAG]: ir.maxActiveRuns },
    resources: ir.jobs.some((j) => j.approval !== null) ? ["kfm_approval", "kfm_launcher"] : ["kfm_launcher"],
    ...continueExpectedExecutor(ir),
    schedules:
      s === null || s.kind !== "cron" || s.catchup
        ? []
        : [
            {
              name: scheduleName(ir.name),
              // With the hour after a daylight-saving gap slot added (its fire times: dagster-dst.conformance.test.ts).
              cron: dagsterDstGuard(s)?.cron ?? s.cron,
              timezone: s.timezone,
              job: jobFunction(ir.name),
              default_status: "RUNNING",
            },
          ],
    // catchup: true is a sensor in place of the schedule (dagster-catchup.conformance.test.ts evaluates it).
    sensors:
      s !== null && s.kind === "cron" && s.catchup
        ? [{ name: catchupName(ir.name), job: jobFunction(ir.name), minimum_interval_seconds: 30, default_status: "RUNNING" }]
        : [],
    ops: Object.fromEntries(ir.jobs.map((j) => [dagsterName(j.name), expectedOp(ir, j)])),
    waits: expectedWaits(ir),
    all_jobs: [jobFunction(ir.name), ...(ir.notifications.length > 0 ? [NOTIFY_JOB] : [])].sort(),
    notifications: expectedNotifications(ir),
  };
}

/**
 * README "Failure notifications": one run failure sensor, started running, that Dagster's own
 * evaluation finds asking for one notification run per failed run of the workflow's job (none
 * for the notification job's own), tagged with the failed run's logical date and failed jobs
 * (none in a run without steps), and none on the next tick; each notification op launching the
 * shared script in the curl image, Pod Security restricted, within NOTIFY_TASK_SECONDS, with
 * the shared inputs (the failed jobs and the run as the sensor's tags give them).
 */
function expectedNotifications(ir: Workflow) {
  if (ir.notifications.length === 0) return { sensors: [] };
  const pod = (env: Record<string, unknown>[]) => ({
    image: NOTIFY_CURL_IMAGE,
    command: ["sh", "-c", NOTIFY_SCRIPT, "kfm-notify"],
    namespace: "default",
    service_account_name: null,
    container_config: { env, security_context: RESTRICTED_CONTAINER_SECURITY_CONTEXT },
    pod_spec_config: { security_context: RESTRICTED_POD_SECURITY_CONTEXT },
    timeout: NOTIFY_TASK_SECONDS,
  });
  return {
    sensors: [{ name: NOTIFY_SENSOR, type: "RUN_STATUS", job: NOTIFY_JOB, default_status: "RUNNING" }],
    requests: [
      {
        for_job: jobFunction(ir.name),
        job: NOTIFY_JOB,
        run_key_is_the_run: true,
        tags: { "dagster/sensor_name": NOTIFY_SENSOR, [FAILED_JOBS_TAG]: "", [LOGICAL_DATE_TAG]: LOGICAL_DATE },
      },
    ],
    second_tick_requests: 0,
    pods: Object.fromEntries(
      ir.notifications.map((n, i) => [
        notifyOp(i),
        [
          pod(
            notifyInputs(
              n,
              ir.name,
              (t) => render(ir, t),
              (text) => text,
              "load report",
              "RUN",
            ).map((v) => ("secret" in v ? { name: v.name, valueFrom: { secretKeyRef: { name: v.secret.secret, key: v.secret.key } } } : v)),
          ),
        ],
      ]),
    ),
  };
}

function actualNotifications(n: LoadedNotifications) {
  if (n.pods === undefined) return n;
  const pods = Object.fromEntries(
    Object.entries(n.pods).map(([op, calls]) => [
      op,
      calls.map((c) => ({
        ...c,
        command: c.command.map(kube),
        container_config: {
          ...c.container_config,
          env: c.container_config.env.map((e) => (typeof e.value === "string" ? { ...e, value: kube(e.value) } : e)),
        },
      })),
    ]),
  );
  return { ...n, pods };
}

function actual(got: Loaded) {
  return {
    job: got.job,
    tags: got.tags,
    metadata: got.metadata,
    resources: got.resources,
    executor: got.executor,
    step_dependency_config: got.step_dependency_config,
    schedules: got.schedules,
    sensors: got.sensors,
    ops: Object.fromEntries(Object.entries(got.ops).map(([k, v]) => [k, actualOp(v)])),
    waits: got.waits,
    all_jobs: got.all_jobs,
    notifications: actualNotifications(got.notifications),
  };
}

describe("Dagster loads every compiled module and runs each op as the spec means", () => {
  it("every spec's module is loaded, and the broken backend's too", () => {
    expect(outputs.filter((o) => o.drift === undefined).length).toBeGreaterThan(10);
    expect(outputs.filter((o) => o.drift !== undefined).length).toBe(1);
  });
  it("each module, compared field by field with the IR", () => {
    const failures: string[] = [];
    for (const o of outputs.filter((x) => x.drift === undefined)) {
      const got = loaded.get(o.file)!;
      if (got.error !== undefined) {
        failures.push(`${o.spec}: ${got.error}`);
        continue;
      }
      try {
        expect(actual(got)).toEqual(expected(o.ir));
      } catch (e) {
        failures.push(`${o.spec}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });
  it("the deliberately broken backend (one attempt too many) is caught", () => {
    const o = outputs.find((x) => x.drift !== undefined)!;
    const got = loaded.get(o.file)!;
    expect(got.error).toBeUndefined();
    const first = o.ir.jobs[0]!;
    expect(got.ops[dagsterName(first.name)]!.attempts).toBe(first.retry.maxAttempts + 1);
    expect(actual(got)).not.toEqual(expected(o.ir));
  });
});

describe("ruff accepts every generated Dagster module unchanged", () => {
  const GOLDEN = join(PACKAGE_ROOT, "golden", "dagster");
  const goldens = readdirSync(GOLDEN).filter((f) => f.endsWith(".py"));
  it.each(["golden", "compiled"] as const)("ruff check (default rules) and ruff format --check over the %s modules", (which) => {
    const files = which === "golden" ? goldens.map((f) => join(GOLDEN, f)) : outputs.map((o) => o.file);
    expect(files.length).toBeGreaterThan(10);
    const cwd = dirname(files[0]!);
    const check = spawnSync(RUFF, ["check", "--isolated", "--no-cache", "--output-format", "concise", ...files], { cwd, encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const format = spawnSync(RUFF, ["format", "--isolated", "--no-cache", "--check", ...files], { cwd, encoding: "utf8" });
    expect(format.status, format.stdout + format.stderr).toBe(0);
  });
});
