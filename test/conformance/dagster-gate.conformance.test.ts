/**
 * Conformance: Dagster approval gates on a real kube-apiserver (issue 16). The gate's op of a
 * compiled module runs on Dagster's engine (`execute_in_process` on the gate alone,
 * conformance/dagster/gate_decide.py) with the module's own `KfmApproval`, as a ServiceAccount
 * holding only the rights `explain` lists (create and get configmaps). A reviewer holding only
 * get, list and patch on configmaps lists the pending gates and decides with the README's
 * `kubectl annotate` command: approve passes the gate, reject fails it, no decision fails it at
 * its timeout; each gate's ConfigMap is named for the run and the gate and keeps the decision.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../src/compile.js";
import { emit } from "../../targets/dagster/emit.js";
import { DEFAULT_OPTIONS } from "../../targets/dagster/options.js";
import { prerequisites } from "../../targets/dagster/prerequisites.js";
import { readSpec } from "../matrix.js";
import { KUBE_BINARIES, kubeSetup, kubeSkipReason, startCluster, type Cluster } from "./kube.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

const SPEC = "test/execution/specs/gate.yaml";
const GATE = "approve";
const TIMEOUT = 5;
const NS = "kfm-dagster-gate";
const ACCOUNT = "dagster-code-location";
const REVIEWER = "release-manager";
const PYTHON = join(CACHE, "dagster", "bin", "python");
const skipReason = kubeSkipReason();
if (skipReason !== null) console.warn(`dagster-gate.conformance: SKIPPED: kube-apiserver ${skipReason}`);

interface Outcome {
  readonly decision: string;
  readonly run_id: string;
  readonly success: boolean;
  readonly failures: string[];
  readonly seconds: number;
  readonly reviewer_errors: string[];
  readonly config_maps: { metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> }; data: Record<string, string> }[];
}

const ir = analyze(SPEC, readSpec(SPEC)).ir!;
let cluster: Cluster | undefined;
let outcomes: Outcome[] = [];

function role(name: string, verbs: string[], subject: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name, namespace: NS },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name, namespace: NS },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
        subjects: [
          subject === ACCOUNT
            ? { kind: "ServiceAccount", name: ACCOUNT, namespace: NS }
            : { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: subject },
        ],
      },
    ],
  });
}

beforeAll(() => {
  if (skipReason !== null) return;
  setup();
  kubeSetup();
  cluster = startCluster();
  cluster.restrictedNamespaces([NS]);
  const ok = (r: { status: number | null; stdout: string; stderr: string }) => {
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };
  ok(cluster.kubectl(["-n", NS, "create", "serviceaccount", ACCOUNT]));
  ok(cluster.kubectl(["apply", "-f", "-"], role("kfm-gate-code-location", ["create", "get"], ACCOUNT)));
  ok(cluster.kubectl(["apply", "-f", "-"], role("kfm-gate-reviewer", ["get", "list", "patch"], REVIEWER)));
  const token = ok(cluster.kubectl(["-n", NS, "create", "token", ACCOUNT]));
  const server = ok(cluster.kubectl(["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]));
  const dir = mkdtempSync(join(tmpdir(), "kfm-dagster-gate-"));
  const module = join(dir, "exec_gate.py");
  writeFileSync(module, emit(ir, DEFAULT_OPTIONS));
  const input = {
    module,
    gate: GATE,
    namespace: NS,
    server,
    token,
    kubectl: KUBE_BINARIES[2],
    kubeconfig: cluster.kubeconfig,
    reviewer: REVIEWER,
    decisions: ["approve", "reject", "none"],
  };
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "gate_decide.py")], { input: JSON.stringify(input), encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`gate_decide.py exited ${r.status}:\n${r.stderr}`);
  outcomes = JSON.parse(r.stdout) as Outcome[];
}, 1_800_000);

afterAll(() => cluster?.stop(), 120_000);

describe.skipIf(skipReason !== null)(`Dagster approval gates on a real kube-apiserver${skipReason === null ? "" : ` (SKIPPED: ${skipReason})`}`, () => {
  const outcome = (d: string) => outcomes.find((o) => o.decision === d)!;
  it("explain lists the rights the gate and the reviewer are given here", () => {
    const text = prerequisites(ir)
      .map((p) => p.text)
      .join("\n");
    expect(text).toMatch(/identity may create and get configmaps \(approval gates\), and the people who decide may get, list and patch them/);
  });
  it("approve: the reviewer finds the pending gate, annotates it, and the gate passes", () => {
    const o = outcome("approve");
    expect(o.reviewer_errors).toEqual([]);
    expect(o.failures).toEqual([]);
    expect(o.success).toBe(true);
    const cm = o.config_maps[0]!;
    expect(cm.metadata.name).toBe(`kfm-gate-${o.run_id}-approve`);
    expect(cm.metadata.labels).toEqual({ "kfm-compile.dev/gate": "approve", "kfm-compile.dev/run-id": o.run_id });
    expect(cm.metadata.annotations?.["kfm-compile.dev/decision"]).toBe("approve");
    expect(cm.data).toEqual({ workflow: "exec_gate", description: "Check the build" });
  });
  it("reject: the gate fails with the rejection, not at its timeout", () => {
    const o = outcome("reject");
    expect(o.success).toBe(false);
    expect(o.reviewer_errors).toEqual([]);
    expect(o.failures).toEqual(["dagster._core.definitions.events.Failure: The approval gate approve was rejected."]);
    expect(o.config_maps[0]!.metadata.annotations?.["kfm-compile.dev/decision"]).toBe("reject");
  });
  it("no decision: the gate fails at its timeout", () => {
    const o = outcome("none");
    expect(o.success).toBe(false);
    expect(o.reviewer_errors).toEqual([]);
    expect(o.failures).toEqual([`dagster._core.definitions.events.Failure: No decision on the gate approve within ${TIMEOUT}s.`]);
    expect(o.seconds).toBeGreaterThanOrEqual(TIMEOUT);
    expect(o.config_maps[0]!.metadata.annotations ?? {}).toEqual({});
  });
  it("every run has its own gate", () => {
    expect(new Set(outcomes.map((o) => o.config_maps[0]!.metadata.name)).size).toBe(3);
  });
});
