/**
 * Conformance: the meanings at a real cluster's edges (README "Meanings at a real
 * cluster's edges"), on Airflow, through Airflow's own code (conformance/airflow/edges.py):
 *
 * - an attempt whose pod cannot start fails within the pod-start bound, counts as a try
 *   and is retried per the spec: the provider's own `await_pod_start` against a stub
 *   Kubernetes API whose pods never start, on a fake clock, inside a real `dag.test()` run;
 * - the job that failed for good shows failed, and so does its run, in the metadata
 *   database and in Airflow's CLI (`airflow tasks states-for-dag-run`, `airflow dags list-runs`);
 * - a newly deployed scheduled DAG first runs at its next slot: the DAG processor's own
 *   `DagModel.calculate_dagrun_date_fields` (Airflow's `next_dagrun_info`) for a DAG added
 *   after today's slot, with a start date absent, ahead or past, catchup on or off, and an
 *   end date past; and no job runs in a scheduled run before the start (the kfm-window
 *   guard, in a real `dag.test()` run created as the scheduler creates one);
 * - deployment options reach every pod the provider builds and every task (load_dags.py);
 * - the pods kfm-compile adds (notifications) pass Pod Security `restricted` on a real
 *   kube-apiserver (conformance/kube/), as the provider builds them, whatever the options.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import { nextFireTimes, parseCron } from "../../src/cron.js";
import { POD_START_SECONDS } from "../../src/limits.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT, RESTRICTED_POD_SECURITY_CONTEXT, emit } from "../../targets/airflow/emit.js";
import { DEFAULT_OPTIONS, type AirflowOptions } from "../../targets/airflow/options.js";
import { TARGETS } from "../../targets/index.js";
import { kubeSetup, kubeSkipReason, startCluster } from "./kube.js";
import { CACHE, CONFORMANCE, setup, tools } from "./runners.js";

const PYTHON = join(CACHE, "venv", "bin", "python");
const EDGES = join(CONFORMANCE, "airflow", "edges.py");
const airflow = TARGETS.find((t) => t.name === "airflow")!;
const dir = mkdtempSync(join(tmpdir(), "kfm-airflow-edges-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A job reading a Secret key that does not exist, two attempts, and a job after it. */
const STUCK_SPEC = `workflow:
  name: pod_start_bound
  jobs:
    - job:
        name: needs_secret
        image: lakehouse/ingest:1.2.0
        env:
          PASSWORD:
            secret: missing-credentials
            key: password
        retry:
          max_attempts: 2
          delay: "1s"
    - job:
        name: report
        image: lakehouse/report:1.0
      depends_on: ["needs_secret"]
`;

/** Compiles spec text for Airflow into its own folder (the DAG folder edges.py parses) and returns the file. */
function compiled(name: string, text: string): string {
  const a = analyze(`${name}.yaml`, text);
  if (a.ir === null) throw new Error(`${name} is invalid: ${a.diagnostics.map((d) => d.message).join("; ")}`);
  const r = compileFor(a, airflow);
  if (r.output === null) throw new Error(`${name} is refused on airflow`);
  mkdirSync(join(dir, name));
  const file = join(dir, name, `${name}.py`);
  writeFileSync(file, r.output.text);
  return file;
}

function edges(args: readonly string[]): any {
  const r = spawnSync(PYTHON, [EDGES, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KFM_CONFORMANCE_CACHE: CACHE } });
  let doc: any;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`edges.py ${args.join(" ")} printed no JSON (exit ${r.status}):\n${r.stderr.slice(-4000)}`);
  }
  if (!doc.ok) throw new Error(`edges.py ${args.join(" ")} failed:\n${doc.error}`);
  return doc.result;
}

const REASONS = ["CreateContainerConfigError", "ImagePullBackOff", "Unschedulable"] as const;
let podStart: any;

/** Scheduled specs and the instants they are "deployed" at (first parsed by the DAG processor). */
const DAILY = (extra: string): string => `workflow:
  name: first_run
  schedule:
    cron: "15 4 * * *"
    timezone: "Europe/Berlin"
${extra}  jobs:
    - job:
        name: nightly
        image: lakehouse/nightly:1.0
`;
/** Deployed long after, just after, and just before today's 04:15 slot (Berlin is UTC+1 in December: 03:15Z). */
const DEPLOYED = ["2026-12-05T07:00:30+00:00", "2026-12-05T03:15:01+00:00", "2026-12-05T03:14:00+00:00"];
const FIRST_RUN = {
  none: DAILY(""),
  future: DAILY('    start_date: "2027-01-10"\n'),
  past: DAILY('    start_date: "2024-01-01"\n'),
  futureCatchup: DAILY('    start_date: "2027-01-10"\n    catchup: true\n'),
  pastCatchup: DAILY('    start_date: "2024-01-01"\n    catchup: true\n'),
  ended: DAILY('    start_date: "2024-01-01"\n    end_date: "2025-12-31"\n'),
};
const firstRuns = new Map<string, Record<string, string | null>>();

/** A daily workflow whose window started on 2024-06-05 (catchup off), and the runs made of it. */
const WINDOWED = `workflow:
  name: windowed
  schedule:
    cron: "15 4 * * *"
    timezone: "Europe/Berlin"
    start_date: "2024-06-05"
  jobs:
    - job:
        name: load
        image: lakehouse/load:1.0
    - job:
        name: cleanup
        image: lakehouse/cleanup:1.0
      depends_on: [load]
      on_upstream_failure: continue
`;
/** The slots before and at the start (04:15 Berlin is 02:15Z in June), and a manual run before it. */
const BEFORE = "scheduled@2024-06-04T02:15:00+00:00";
const AT_START = "scheduled@2024-06-05T02:15:00+00:00";
const MANUAL_BEFORE = "manual@2024-06-03T02:15:00+00:00";
let windowRuns: any;

const OPTIONS: AirflowOptions = {
  ...DEFAULT_OPTIONS,
  kubernetesConnId: "k8s_data",
  namespace: "data-jobs",
  pausedOnCreation: true,
  serviceAccount: "kfm-jobs",
  imagePullSecrets: ["registry-creds", "mirror-creds"],
  podSecurityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
  containerSecurityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
  pool: "kubernetes",
  queue: "kube",
};
const LOGICAL_DATE = "2024-06-03T10:30:00+00:00";
let withOptions: any;
let withoutOptions: any;

beforeAll(() => {
  setup();
  podStart = edges([
    "pod-start",
    compiled("pod_start_bound", STUCK_SPEC),
    "--logical-date",
    "2024-06-03T10:30:00+00:00",
    "--cli",
    ...REASONS.flatMap((r) => ["--reason", r]),
  ]);
  const notified = analyze("specs/notifications.yaml", readFileSync(join(PACKAGE_ROOT, "specs", "notifications.yaml"), "utf8"));
  mkdirSync(join(dir, "options"));
  const optionsFile = join(dir, "options", "notified_pipeline.py");
  writeFileSync(optionsFile, emit(notified.ir!, OPTIONS));
  withOptions = tools.airflow([optionsFile], ["--logical-date", LOGICAL_DATE, "--pod-manifests"]).files[0];
  const plainFile = compiled("notified_pipeline", readFileSync(join(PACKAGE_ROOT, "specs", "notifications.yaml"), "utf8"));
  withoutOptions = tools.airflow([plainFile], ["--logical-date", LOGICAL_DATE, "--pod-manifests"]).files[0];
  for (const [name, text] of Object.entries(FIRST_RUN)) {
    firstRuns.set(name, edges(["first-run", compiled(`first_run_${name}`, text), ...DEPLOYED.flatMap((n) => ["--now", n])]).first_run);
  }
  windowRuns = edges(["window", compiled("windowed", WINDOWED), ...[BEFORE, AT_START, MANUAL_BEFORE].flatMap((r) => ["--run", r])]).runs;
}, 900_000);

/** The first slot of "15 4 * * *" in Europe/Berlin strictly after `iso`, or at or after `iso` when `inclusive`. */
function nextSlot(iso: string, inclusive = false): string {
  const c = parseCron("15 4 * * *");
  if (typeof c === "string") throw new Error(c);
  const [t] = nextFireTimes(c, "Europe/Berlin", Date.parse(iso) - (inclusive ? 1 : 0), 1);
  return new Date(t!).toISOString().replace(".000Z", "+00:00");
}

describe("airflow: an attempt whose pod cannot start fails within the pod-start bound and is retried", () => {
  it.each(REASONS)("%s: every try gives up after the bound, through the provider's own await_pod_start", (reason) => {
    const run = podStart.runs[reason];
    const waits = run.pod_start_waits.filter((w: any) => w.task_id === "needs_secret");
    // max_attempts 2: two tries, each its own pod (the stuck one is labelled already_checked and deleted).
    expect(waits).toHaveLength(2);
    for (const w of waits) {
      expect(w.schedule_timeout_seconds).toBe(POD_START_SECONDS);
      expect(w.startup_timeout_seconds).toBe(POD_START_SECONDS);
      expect(w.outcome).toBe("raised");
      expect(w.exception[0]).toMatch(/^PodLaunchTimeoutException: Pod took too long to (start|be scheduled)/);
      // The provider polls every startup_check_interval_seconds (5 s): it gives up at the first look past the bound.
      expect(w.waited_seconds).toBeGreaterThanOrEqual(POD_START_SECONDS);
      expect(w.waited_seconds).toBeLessThan(POD_START_SECONDS + 10);
    }
    const created = run.cluster.filter((e: any) => e.event === "created");
    expect(created.map((e: any) => e.try_number)).toEqual(["1", "2"]);
    expect(run.cluster.filter((e: any) => e.event === "deleted").map((e: any) => e.pod)).toEqual(created.map((e: any) => e.pod));
  });

  it.each(REASONS)("%s: the job fails for good after its last try, its downstream does not run, the run fails", (reason) => {
    const run = podStart.runs[reason];
    expect(run.task_instances.needs_secret).toEqual({ state: "failed", try_number: 2, max_tries: 1 });
    expect(run.task_instances.report.state).toBe("upstream_failed");
    expect(run.run_state).toBe("failed");
  });

  it("Airflow's CLI shows the job and the run failed", () => {
    const cli = podStart.runs.CreateContainerConfigError.cli;
    const states = Object.fromEntries(cli["tasks states-for-dag-run"].map((t: any) => [t.task_id, t.state]));
    expect(states).toEqual({ needs_secret: "failed", report: "upstream_failed" });
    expect(cli["dags list-runs"].map((r: any) => [r.run_id, r.state])).toEqual([[podStart.runs.CreateContainerConfigError.run_id, "failed"]]);
  });
});

describe("airflow: a newly deployed scheduled DAG first runs at its next slot", () => {
  it.each(DEPLOYED)("without a start date, deployed at %s: the next slot, not today's past one", (now) => {
    expect(firstRuns.get("none")![now]).toBe(nextSlot(now));
  });

  // With catchup off the DAG has no start_date (a past one would make `next_dagrun_info` run the last
  // slot at or before now at once): the scheduler's first run is the next slot, and the kfm-window
  // guard skips the jobs of a scheduled run before the start (below).
  it.each(DEPLOYED)("with a start date already past, deployed at %s: the next slot, not today's past one", (now) => {
    expect(firstRuns.get("past")![now]).toBe(nextSlot(now));
  });

  it.each(DEPLOYED)("with a start date ahead, deployed at %s: the next slot, a run before the start whose jobs the guard skips", (now) => {
    expect(firstRuns.get("future")![now]).toBe(nextSlot(now));
    expect(Date.parse(nextSlot(now))).toBeLessThan(Date.parse("2027-01-09T23:00:00Z"));
  });

  it.each(DEPLOYED)("with catchup and a start date ahead, deployed at %s: the first slot at or after it", (now) => {
    expect(firstRuns.get("futureCatchup")![now]).toBe(nextSlot("2027-01-09T23:00:00Z", true));
  });

  it.each(DEPLOYED)("with catchup and a start date past, deployed at %s: the window's first slot (its past slots run)", (now) => {
    expect(firstRuns.get("pastCatchup")![now]).toBe("2024-01-01T03:15:00+00:00");
  });

  it.each(DEPLOYED)("with an end date past, deployed at %s: no run at all", (now) => {
    expect(firstRuns.get("ended")![now]).toBeNull();
  });
});

describe("airflow: a scheduled run before the window's start runs no job (kfm-window, in a real dag.test() run)", () => {
  const pods = (run: any): string[] => run.cluster.filter((e: any) => e.event === "created").map((e: any) => e.pod.replace(/-[a-z0-9]+$/, ""));
  const states = (run: any): Record<string, string> => Object.fromEntries(Object.entries(run.task_instances).map(([t, v]: [string, any]) => [t, v.state]));

  it("the slot before the start: every task skipped, no pod created, and the run ends successful", () => {
    const run = windowRuns[BEFORE];
    expect(run.run_type).toBe("scheduled");
    expect(states(run)).toEqual({ "kfm-window": "success", load: "skipped", cleanup: "skipped", "kfm-fail-run": "skipped" });
    expect(pods(run)).toEqual([]);
    expect(run.run_state).toBe("success");
  });

  it("the slot at the start: the jobs run (their pods are created; here they never start, so the run fails as any such run does)", () => {
    const run = windowRuns[AT_START];
    expect(run.run_type).toBe("scheduled");
    expect(pods(run)).toEqual(["load", "cleanup"]);
    expect(states(run)).toEqual({ "kfm-window": "success", load: "failed", cleanup: "failed", "kfm-fail-run": "failed" });
    expect(run.run_state).toBe("failed");
  });

  it("a manual run (a backfill) before the start asks for its date: its jobs run", () => {
    const run = windowRuns[MANUAL_BEFORE];
    expect(run.run_type).toBe("manual");
    expect(pods(run)).toEqual(["load", "cleanup"]);
  });
});

describe("airflow: deployment options reach every pod and task, through the provider's own pod builder", () => {
  it("the file loads, and every pod carries the namespace, account, pull secrets and security contexts", () => {
    expect(withOptions.errors).toEqual([]);
    const dag = withOptions.parsed.dags[0];
    const tasks = dag.rendered[LOGICAL_DATE].tasks;
    const pods = Object.entries(tasks).filter(([, t]: [string, any]) => t.pod_container !== undefined);
    // Two jobs and two notification pods.
    expect(pods.map(([id]) => id).sort()).toEqual(["kfm-notify-1", "kfm-notify-2", "load", "report"]);
    for (const [id, t] of pods as [string, any][]) {
      // The notification pods are kfm-compile's own: they keep their restricted contexts.
      const own = id.startsWith("kfm-notify-");
      expect(t.pod).toEqual({
        namespace: "data-jobs",
        serviceAccountName: "kfm-jobs",
        imagePullSecrets: [{ name: "registry-creds" }, { name: "mirror-creds" }],
        securityContext: own ? RESTRICTED_POD_SECURITY_CONTEXT : OPTIONS.podSecurityContext,
      });
      expect(t.pod_container.securityContext).toEqual(own ? RESTRICTED_CONTAINER_SECURITY_CONTEXT : OPTIONS.containerSecurityContext);
    }
    for (const t of dag.tasks) expect([t.task_id, t.pool, t.queue]).toEqual([t.task_id, "kubernetes", "kube"]);
  });
});

const KUBE_SKIP = kubeSkipReason();

describe.skipIf(KUBE_SKIP !== null)("airflow: the pods kfm-compile adds pass Pod Security restricted on a real API server", () => {
  let cluster: ReturnType<typeof startCluster>;
  beforeAll(() => {
    kubeSetup();
    cluster = startCluster();
    // The options name a ServiceAccount; admission refuses a pod whose account does not exist.
    const sa = cluster.kubectl(["create", "serviceaccount", OPTIONS.serviceAccount!, "-n", cluster.namespace]);
    if (sa.status !== 0) throw new Error(sa.stderr);
  }, 600_000);
  afterAll(() => cluster?.stop());

  /** `kubectl create --dry-run=server` of the pod a task would create, in the restricted namespace: admission runs, nothing is stored. */
  function admit(file: any, task: string): { status: number | null; output: string } {
    const manifest = structuredClone(file.parsed.dags[0].rendered[LOGICAL_DATE].tasks[task].pod_manifest);
    manifest.metadata.namespace = cluster.namespace;
    const r = cluster.kubectl(["create", "--dry-run=server", "-f", "-", "-o", "name"], JSON.stringify(manifest));
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  it.each(["kfm-notify-1", "kfm-notify-2"])("%s, written with no option and with every option, is admitted with no warning", (task) => {
    for (const file of [withoutOptions, withOptions]) {
      const r = admit(file, task);
      expect(r.output).not.toMatch(/Warning|violate/);
      expect(r.status).toBe(0);
    }
  });

  it("a job's pod with no security context option is refused there (the check can fail), and admitted with the options", () => {
    const refused = admit(withoutOptions, "load");
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('violates PodSecurity "restricted:latest"');
    const admitted = admit(withOptions, "load");
    expect(admitted.output).not.toMatch(/Warning|violate/);
    expect(admitted.status).toBe(0);
  });
});
