/**
 * The Tekton run queue of `max_active_runs` (targets/tekton/README.md, "Concurrency") against a
 * real kube-apiserver with Tekton's CRDs (conformance/kube/): the output file applies in a
 * restricted namespace, `kubectl auth can-i` shows the run starter's rights and that the user's
 * pods (the namespace's `default` account, Tekton's default-service-account) have none, and the
 * starter script, taken from the emitted `finally` task and run with bash, jq and the kubectl
 * built from k8s.io/kubernetes impersonating the starter's ServiceAccount, starts exactly N
 * pending PipelineRuns, oldest logical date first, counts its own run as ended, and waits while
 * another starter holds the Lease. No Tekton controller runs here: a run "started" is one whose
 * `spec.status` the starter cleared, and a run "done" is one given a final Succeeded condition
 * through the status subresource, as Tekton's reconciler would.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../src/compile.js";
import type { Workflow } from "../../src/ir.js";
import { parseYamlStream } from "../../src/yaml.js";
import { emit, manualRun, type TektonPipeline, type TektonPipelineRun } from "../../targets/tekton/emit.js";
import { DEFAULT_OPTIONS } from "../../targets/tekton/options.js";
import { readSpec } from "../matrix.js";
import { KUBE_BINARIES, kubeSetup, kubeSkipReason, problems, startCluster, type Cluster } from "./kube.js";
import { setup } from "./runners.js";

const SPEC = "specs/concurrency-no-catchup.yaml";
const NS = "kfm-tekton-queue";
const skipReason = kubeSkipReason();
if (skipReason !== null) console.warn(`tekton-queue.conformance: SKIPPED: kube-apiserver ${skipReason}`);
let cluster: Cluster | undefined;

beforeAll(() => {
  if (skipReason !== null) return;
  setup(); // the Tekton module, whose CRDs the cluster installs
  kubeSetup();
  cluster = startCluster();
  cluster.restrictedNamespaces([NS]);
}, 1_800_000);

afterAll(() => cluster?.stop(), 120_000);

/** The spec with a limit of two (exactly N started is a stronger check for N > 1), compiled to Tekton. */
function compiled(): { ir: Workflow; file: string; runFile: string; pipeline: TektonPipeline; run: TektonPipelineRun } {
  const ir = { ...analyze(SPEC, readSpec(SPEC)).ir!, maxActiveRuns: 2 };
  const file = emit(ir, DEFAULT_OPTIONS);
  const runFile = manualRun(ir, DEFAULT_OPTIONS);
  const pipeline = (parseYamlStream(file) as { kind: string }[]).find((d) => d.kind === "Pipeline") as TektonPipeline;
  const run = (parseYamlStream(runFile) as { kind: string }[]).find((d) => d.kind === "PipelineRun") as TektonPipelineRun;
  return { ir, file, runFile, pipeline, run };
}

/** The emitted finally task's script and env, as the container gets them (Kubernetes turns `$$` into `$`). */
function starterOf(pipeline: TektonPipeline): { script: string; env: Record<string, string> } {
  const step = pipeline.spec.finally!.find((t) => t.name === "kfm-start-runs")!.taskSpec!.steps[0]!;
  expect(step.command!.slice(0, 2)).toEqual(["/bin/bash", "-c"]);
  const unescape = (s: string) => s.replace(/\$\$/g, "$");
  return { script: unescape(step.command![2]!), env: Object.fromEntries((step.env ?? []).map((e) => [e.name, unescape(e.value ?? "")])) };
}

describe.skipIf(skipReason !== null)(`the Tekton run queue on a real kube-apiserver${skipReason === null ? "" : ` (SKIPPED: ${skipReason})`}`, () => {
  const { ir, file, runFile, pipeline, run } = compiled();
  const starter = starterOf(pipeline);
  const account = (name: string) => `system:serviceaccount:${NS}:${name}`;
  const starterAccount = "hourly-one-at-a-time-run-starter";
  const lease = "hourly-one-at-a-time-run-queue";

  /** A kubectl on PATH that acts as the starter's ServiceAccount (impersonation: RBAC judges every call). */
  function starterPath(): string {
    const c = cluster!;
    const bin = join(c.dir, "starter-bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "kubectl"),
      `#!/bin/bash\nexec ${JSON.stringify(KUBE_BINARIES[2]!)} --kubeconfig ${JSON.stringify(c.kubeconfig)} --as ${account(starterAccount)} "$@"\n`,
    );
    chmodSync(join(bin, "kubectl"), 0o755);
    return bin;
  }

  /** Runs the starter script as the finally task of `ownRun` ("" = the creator's or a Job's), to its end. */
  function runStarter(ownRun: string): Promise<{ code: number | null; out: string }> {
    const env = { ...process.env, ...starter.env, KFM_NAMESPACE: NS, KFM_OWN_RUN: ownRun, PATH: `${starterPath()}:${process.env.PATH}` };
    return new Promise((resolve) => {
      const p = spawn("bash", ["-c", starter.script], { env });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (out += d));
      p.on("close", (code) => resolve({ code, out }));
      running.push(p);
    });
  }
  const running: { kill(): void; exitCode: number | null }[] = [];
  afterAll(() => running.filter((p) => p.exitCode === null).forEach((p) => p.kill()));

  const kubectl = (args: string[], input?: string) => {
    const r = cluster!.kubectl(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** Each run of the workflow: pending, started (spec.status cleared) or done. */
  const states = () => {
    const items = (JSON.parse(kubectl(["get", "pipelineruns", "--namespace", NS, "-o", "json"])) as { items: TektonPipelineRun[] }).items as Array<
      TektonPipelineRun & { status?: { conditions?: { type: string; status: string }[] } }
    >;
    return Object.fromEntries(
      items.map((r) => [
        r.metadata.name!,
        r.spec.status === "PipelineRunPending"
          ? "pending"
          : r.status?.conditions?.some((c) => c.type === "Succeeded" && c.status !== "Unknown")
            ? "done"
            : "started",
      ]),
    );
  };
  /** A run ends (its final Succeeded condition, as Tekton's reconciler writes it, through the status subresource). */
  const end = (name: string, status: "True" | "False") =>
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
      JSON.stringify({ status: { conditions: [{ type: "Succeeded", status, reason: status === "True" ? "Succeeded" : "Failed" }] } }),
    ]);
  /** A run as the run file holds it, with a name and a logical date. */
  const createRun = (name: string, logicalDate: string) => {
    const r = structuredClone(run);
    r.metadata = { name };
    r.spec.params = r.spec.params.map((p) => (p.name === "logical-date" ? { ...p, value: logicalDate } : p));
    kubectl(["create", "--namespace", NS, "-f", "-"], JSON.stringify(r));
  };

  it("the output file applies in a restricted namespace, and the starter's account may list, read and patch runs and hold the Lease, nothing more; the user's pods may not", () => {
    const c = cluster!;
    const path = join(c.dir, "queue.yaml");
    writeFileSync(path, file);
    expect(problems(c.kubectl(["apply", "--server-side", "--namespace", NS, "-f", path]))).toEqual([]);
    // The run file (its PipelineRun and starter Job) passes admission, Pod Security restricted included.
    const runPath = join(c.dir, "queue.run.yaml");
    writeFileSync(runPath, runFile.replace('value: ""', "value: 2024-01-01T00:00:00Z"));
    expect(problems(c.kubectl(["create", "--dry-run=server", "--namespace", NS, "-f", runPath]))).toEqual([]);
    const can = (who: string, verb: string, resource: string) =>
      c.kubectl(["auth", "can-i", verb, resource, "--namespace", NS, "--as", account(who)]).stdout.trim();
    const asked = (who: string, list: string[]) => Object.fromEntries(list.map((q) => [q, can(who, ...(q.split(" ") as [string, string]))]));
    const starterMay = [
      "get pipelineruns.tekton.dev",
      "list pipelineruns.tekton.dev",
      "patch pipelineruns.tekton.dev",
      "create leases.coordination.k8s.io",
      `get leases.coordination.k8s.io/${lease}`,
      `update leases.coordination.k8s.io/${lease}`,
    ];
    const starterMayNot = [
      "create pipelineruns.tekton.dev",
      "delete pipelineruns.tekton.dev",
      "update pipelines.tekton.dev",
      "update leases.coordination.k8s.io/another-lease",
      "delete leases.coordination.k8s.io",
      "get secrets",
      "create pods",
    ];
    expect(asked(starterAccount, [...starterMay, ...starterMayNot])).toEqual(
      Object.fromEntries([...starterMay.map((q) => [q, "yes"]), ...starterMayNot.map((q) => [q, "no"])]),
    );
    // The creator's pod runs the starter after it created its run: it holds both sets of rights.
    expect(asked("hourly-one-at-a-time-run-creator", ["create pipelineruns.tekton.dev", "get jobs.batch", ...starterMay])).toEqual(
      Object.fromEntries(["create pipelineruns.tekton.dev", "get jobs.batch", ...starterMay].map((q) => [q, "yes"])),
    );
    // The user's pods (Tekton's default-service-account, `default`) get no right on runs or the Lease.
    const userMayNot = [
      "list pipelineruns.tekton.dev",
      "patch pipelineruns.tekton.dev",
      "create leases.coordination.k8s.io",
      `update leases.coordination.k8s.io/${lease}`,
    ];
    expect(asked("default", userMayNot)).toEqual(Object.fromEntries(userMayNot.map((q) => [q, "no"])));
    expect(ir.maxActiveRuns).toBe(2);
  });

  it("given four pending runs, when the starter runs, then exactly the two oldest logical dates start; again, none; as a run's finally task, the next oldest; once one is done, the last", async () => {
    // Names in another order than their dates; one date with an offset (01:00-01:00 is 02:00Z).
    createRun("run-a", "2024-01-01T04:00:00Z");
    createRun("run-b", "2024-01-01T01:00:00-01:00");
    createRun("run-c", "2024-01-01T03:00:00Z");
    createRun("run-d", "2024-01-01T01:00:00Z");
    expect(states()).toEqual({ "run-a": "pending", "run-b": "pending", "run-c": "pending", "run-d": "pending" });
    const first = await runStarter("");
    expect(first.code, first.out).toBe(0);
    expect(states()).toEqual({ "run-a": "pending", "run-b": "started", "run-c": "pending", "run-d": "started" });
    // Two are active: a second starter starts nothing.
    expect((await runStarter("")).code).toBe(0);
    expect(states()).toEqual({ "run-a": "pending", "run-b": "started", "run-c": "pending", "run-d": "started" });
    // run-d's finally task: its own run counts as ended.
    expect((await runStarter("run-d")).code).toBe(0);
    expect(states()).toEqual({ "run-a": "pending", "run-b": "started", "run-c": "started", "run-d": "started" });
    // run-d and run-b end (a final Succeeded condition, as the reconciler writes it): the last one starts.
    for (const r of ["run-d", "run-b"]) end(r, "True");
    expect((await runStarter("")).code).toBe(0);
    expect(states()).toEqual({ "run-a": "started", "run-b": "done", "run-c": "started", "run-d": "done" });
  });

  it("given another starter holding the Lease, when the starter runs, then it waits and starts nothing until the Lease is released; an expired Lease is taken at once", async () => {
    kubectl(["delete", "pipelineruns", "--all", "--namespace", NS]);
    createRun("run-e", "2024-01-02T00:00:00Z");
    const now = new Date().toISOString().replace(/\.\d+Z$/, ".000000Z");
    const held = { spec: { holderIdentity: "another-starter", leaseDurationSeconds: 60, acquireTime: now, renewTime: now } };
    kubectl(["patch", "lease", lease, "--namespace", NS, "--type", "merge", "--patch", JSON.stringify(held)]);
    const waiting = runStarter("");
    await new Promise((r) => setTimeout(r, 5000));
    expect(states()).toEqual({ "run-e": "pending" });
    expect(running.at(-1)!.exitCode).toBeNull();
    // The holder releases it (no holder): the waiting starter takes it and starts the run.
    kubectl(["patch", "lease", lease, "--namespace", NS, "--type", "json", "--patch", '[{"op":"remove","path":"/spec/holderIdentity"}]']);
    const done = await waiting;
    expect(done.code, done.out).toBe(0);
    expect(states()).toEqual({ "run-e": "started" });
    // A holder that died: its Lease expired 10 minutes ago, so the next starter takes it (a starter
    // that did not see the expiry would give up after its tries and exit 1, the run still pending).
    createRun("run-f", "2024-01-03T00:00:00Z");
    end("run-e", "False");
    const old = new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, ".000000Z");
    kubectl([
      "patch",
      "lease",
      lease,
      "--namespace",
      NS,
      "--type",
      "merge",
      "--patch",
      JSON.stringify({ spec: { holderIdentity: "dead-starter", renewTime: old } }),
    ]);
    const taken = await runStarter("");
    expect(taken.code, taken.out).toBe(0);
    expect(states()).toEqual({ "run-e": "done", "run-f": "started" });
    // and it released the Lease
    expect(JSON.parse(kubectl(["get", "lease", lease, "--namespace", NS, "-o", "json"])).spec.holderIdentity).toBeUndefined();
  }, 240_000);
});
