/**
 * Tekton cross-workflow dependencies (targets/tekton/README.md, "Cross-workflow dependencies")
 * against a real kube-apiserver with Tekton's CRDs (conformance/kube/): the output file applies
 * in a restricted namespace, `kubectl auth can-i` shows that the waiter account may get
 * PipelineRuns and nothing else, and the wait script, taken from the emitted `kfm-wait-<upstream>`
 * task and run with bash and the kubectl built from k8s.io/kubernetes impersonating the waiter
 * account, succeeds when the upstream's run of the same logical date (named as the run creator
 * and backfill name it) has Succeeded=True, fails on False, waits while that run does not exist
 * or has not finished, and fails at the dependency's timeout. No Tekton controller runs here: a
 * run's end is its final Succeeded condition written through the status subresource, as Tekton's
 * reconciler would.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../src/compile.js";
import { backfillRunName } from "../../src/names.js";
import { parseYamlStream } from "../../src/yaml.js";
import { emit, manualRun, type TektonPipeline } from "../../targets/tekton/emit.js";
import { DEFAULT_OPTIONS } from "../../targets/tekton/options.js";
import { readSpec } from "../matrix.js";
import { KUBE_BINARIES, kubeSetup, kubeSkipReason, problems, startCluster, type Cluster } from "./kube.js";
import { setup } from "./runners.js";

const SPEC = "specs/cross-workflow-manual.yaml";
const NS = "kfm-tekton-wait";
const WAITER = "report-manual-run-waiter";
const skipReason = kubeSkipReason();
if (skipReason !== null) console.warn(`tekton-wait.conformance: SKIPPED: kube-apiserver ${skipReason}`);
let cluster: Cluster | undefined;

beforeAll(() => {
  if (skipReason !== null) return;
  setup(); // the Tekton module, whose CRDs the cluster installs
  kubeSetup();
  cluster = startCluster();
  cluster.restrictedNamespaces([NS]);
}, 1_800_000);

afterAll(() => cluster?.stop(), 120_000);

const ir = analyze(SPEC, readSpec(SPEC)).ir!;
const file = emit(ir, DEFAULT_OPTIONS);
const pipeline = (parseYamlStream(file) as { kind: string }[]).find((d) => d.kind === "Pipeline") as TektonPipeline;

/** The emitted wait task's script and env, as the container gets them (Kubernetes turns `$$` into `$`). */
function waitOf(task: string): { script: string; env: Record<string, string> } {
  const step = pipeline.spec.tasks.find((t) => t.name === task)!.taskSpec!.steps[0]!;
  expect(step.command!.slice(0, 2)).toEqual(["/bin/bash", "-c"]);
  const unescape = (s: string) => s.replace(/\$\$/g, "$");
  return { script: unescape(step.command![2]!), env: Object.fromEntries((step.env ?? []).map((e) => [e.name, unescape(e.value ?? "")])) };
}

describe.skipIf(skipReason !== null)(`Tekton upstream waits on a real kube-apiserver${skipReason === null ? "" : ` (SKIPPED: ${skipReason})`}`, () => {
  const account = (name: string) => `system:serviceaccount:${NS}:${name}`;
  const wait = waitOf("kfm-wait-ingest-orders");

  /** A kubectl on PATH that acts as the waiter's ServiceAccount (impersonation: RBAC judges every call). */
  function waiterPath(): string {
    const c = cluster!;
    const bin = join(c.dir, "waiter-bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "kubectl"),
      `#!/bin/bash\nexec ${JSON.stringify(KUBE_BINARIES[2]!)} --kubeconfig ${JSON.stringify(c.kubeconfig)} --as ${account(WAITER)} "$@"\n`,
    );
    chmodSync(join(bin, "kubectl"), 0o755);
    return bin;
  }
  const running: { kill(): void; exitCode: number | null }[] = [];
  afterAll(() => running.filter((p) => p.exitCode === null).forEach((p) => p.kill()));

  /** Runs the wait script for a logical date (Tekton substitutes `$(params.logical-date)`), polling every second. */
  function runWait(logicalDate: string, timeoutSeconds: string): Promise<{ code: number | null; out: string; seconds: number }> {
    expect(wait.env["KFM_LOGICAL_DATE_PARAM"]).toBe("$(params.logical-date)");
    expect(wait.env["KFM_POLL_SECONDS"]).toBe("60");
    const env = {
      ...process.env,
      ...wait.env,
      KFM_NAMESPACE: NS,
      KFM_LOGICAL_DATE_PARAM: logicalDate,
      KFM_POLL_SECONDS: "1",
      KFM_WAIT_TIMEOUT_SECONDS: timeoutSeconds,
      PATH: `${waiterPath()}:${process.env.PATH}`,
    };
    const start = Date.now();
    return new Promise((resolve) => {
      const p = spawn("bash", ["-c", wait.script], { env });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (out += d));
      p.on("close", (code) => resolve({ code, out, seconds: (Date.now() - start) / 1000 }));
      running.push(p);
    });
  }

  const kubectl = (args: string[], input?: string) => {
    const r = cluster!.kubectl(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** The upstream's run of a logical date, named as its CronJob's run creator and backfill name it. */
  const upstreamRun = (logicalDate: string) => backfillRunName("ingest_orders", Date.parse(logicalDate));
  const createRun = (name: string) =>
    kubectl(
      ["create", "--namespace", NS, "-f", "-"],
      JSON.stringify({ apiVersion: "tekton.dev/v1", kind: "PipelineRun", metadata: { name }, spec: { pipelineRef: { name: "ingest-orders" } } }),
    );
  const end = (name: string, status: "True" | "False" | "Unknown") =>
    kubectl([
      "patch",
      "pipelinerun",
      name,
      "--namespace",
      NS,
      "--subresource",
      "status",
      "--type",
      "merge",
      "--patch",
      JSON.stringify({
        status: { conditions: [{ type: "Succeeded", status, reason: status === "True" ? "Succeeded" : status === "False" ? "Failed" : "Running" }] },
      }),
    ]);

  it("the output file applies in a restricted namespace, and the waiter account may get PipelineRuns and nothing more", () => {
    const c = cluster!;
    const path = join(c.dir, "wait.yaml");
    writeFileSync(path, file);
    expect(problems(c.kubectl(["apply", "--server-side", "--namespace", NS, "-f", path]))).toEqual([]);
    // The run file (its PipelineRun with the waiter's taskRunSpecs) passes admission.
    const runPath = join(c.dir, "wait.run.yaml");
    writeFileSync(runPath, manualRun(ir, DEFAULT_OPTIONS).replace('value: ""', "value: 2024-01-01T00:00:00Z"));
    expect(problems(c.kubectl(["create", "--dry-run=server", "--namespace", NS, "-f", runPath]))).toEqual([]);
    const can = (verb: string, resource: string) => c.kubectl(["auth", "can-i", verb, resource, "--namespace", NS, "--as", account(WAITER)]).stdout.trim();
    const may = ["get pipelineruns.tekton.dev"];
    const mayNot = [
      "list pipelineruns.tekton.dev",
      "watch pipelineruns.tekton.dev",
      "create pipelineruns.tekton.dev",
      "patch pipelineruns.tekton.dev",
      "update pipelineruns.tekton.dev",
      "delete pipelineruns.tekton.dev",
      "get pipelines.tekton.dev",
      "get taskruns.tekton.dev",
      "get secrets",
      "create pods",
      "get jobs.batch",
    ];
    expect(Object.fromEntries([...may, ...mayNot].map((q) => [q, can(...(q.split(" ") as [string, string]))]))).toEqual(
      Object.fromEntries([...may.map((q) => [q, "yes"]), ...mayNot.map((q) => [q, "no"])]),
    );
  });

  it("given the upstream's run of the same logical date succeeded, when the wait runs, then it succeeds", async () => {
    const date = "2024-01-02T04:00:00+02:00";
    createRun(upstreamRun(date));
    end(upstreamRun(date), "True");
    const r = await runWait(date, "");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`PipelineRun ${upstreamRun(date)} succeeded`);
  });

  it("given the upstream's run of the same logical date failed, when the wait runs, then it fails", async () => {
    const date = "2024-01-03T02:00:00Z";
    createRun(upstreamRun(date));
    end(upstreamRun(date), "False");
    const r = await runWait(date, "");
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain("failed: this run fails before any job");
  });

  it("given a run of another date only, when the wait runs until the upstream's run appears and succeeds, then it kept waiting and then succeeds", async () => {
    const date = "2024-01-04T02:00:00Z";
    createRun(upstreamRun("2024-01-04T02:01:00Z"));
    end(upstreamRun("2024-01-04T02:01:00Z"), "True");
    const waiting = runWait(date, "");
    await new Promise((r) => setTimeout(r, 2500));
    createRun(upstreamRun(date));
    end(upstreamRun(date), "Unknown");
    await new Promise((r) => setTimeout(r, 2500));
    end(upstreamRun(date), "True");
    const r = await waiting;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("does not exist yet");
    expect(r.out).toContain("has not finished yet");
  });

  it("given no upstream run, or one that does not finish, when the wait has a 3 s timeout, then it fails at the timeout", async () => {
    const absent = await runWait("2024-01-05T02:00:00Z", "3");
    expect(absent.code, absent.out).toBe(1);
    expect(absent.out).toContain("did not succeed within 3 s");
    // It waited the timeout, less at most the one second `date +%s` rounds away.
    expect(absent.seconds).toBeGreaterThan(2);
    const date = "2024-01-06T02:00:00Z";
    createRun(upstreamRun(date));
    const unfinished = await runWait(date, "3");
    expect(unfinished.code, unfinished.out).toBe(1);
    expect(unfinished.out).toContain("has not finished yet");
    expect(unfinished.out).toContain("did not succeed within 3 s");
  });
});
