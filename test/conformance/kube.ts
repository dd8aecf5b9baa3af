/**
 * A real Kubernetes API server for the deployability check: etcd and kube-apiserver built
 * from the Go modules by conformance/kube/setup.sh, started and stopped by
 * conformance/kube/cluster.sh (loopback only, free ports, temporary folder, RBAC, Pod
 * Security admission, the Argo and Tekton CRDs). See conformance/README.md.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CACHE, CONFORMANCE } from "./runners.js";

const SETUP = join(CONFORMANCE, "kube", "setup.sh");
const CLUSTER = join(CONFORMANCE, "kube", "cluster.sh");
export const KUBE_BINARIES = ["etcd", "kube-apiserver", "kubectl"].map((b) => join(CACHE, "bin", b));

/**
 * Why the check cannot run, or null when it can. The binaries take ~10 minutes to build the
 * first time, so the suite does not build them unasked: `bash conformance/kube/setup.sh`
 * (or .ci/run) does; KFM_REQUIRE_KUBE=1 turns a missing binary into a failure instead.
 */
export function kubeSkipReason(): string | null {
  if (process.env.KFM_REQUIRE_KUBE) return null;
  const missing = KUBE_BINARIES.filter((b) => !existsSync(b));
  if (missing.length === 0) return null;
  return `not built (${missing.join(", ")}): run \`bash conformance/kube/setup.sh\` (~10 min the first time) or set KFM_REQUIRE_KUBE=1`;
}

/** Builds or updates the binaries (a no-op when the stamp matches). */
export function kubeSetup(): void {
  execFileSync("bash", [SETUP], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, KFM_CONFORMANCE_CACHE: CACHE } });
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Cluster {
  readonly dir: string;
  readonly kubeconfig: string;
  /** The namespace start created (restricted Pod Security, enforced, warned and audited). */
  readonly namespace: string;
  kubectl(args: readonly string[], input?: string): Run;
  /** Creates namespaces labelled like `namespace`. */
  restrictedNamespaces(names: readonly string[]): void;
  stop(): void;
}

/** Starts a cluster that stops by itself when this process exits (cluster.sh --owner). */
export function startCluster(): Cluster {
  const out = execFileSync("bash", [CLUSTER, "start", "--owner", String(process.pid)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, KFM_CONFORMANCE_CACHE: CACHE },
  });
  const vars = new Map([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const need = (k: string) => {
    const v = vars.get(k);
    if (v === undefined) throw new Error(`cluster.sh start printed no ${k}:\n${out}`);
    return v;
  };
  const dir = need("KFM_KUBE_DIR");
  const kubeconfig = need("KUBECONFIG");
  const kubectlPath = need("KFM_KUBECTL");
  const env = { ...process.env, KUBECONFIG: kubeconfig, KFM_CONFORMANCE_CACHE: CACHE };
  let stopped = false;
  return {
    dir,
    kubeconfig,
    namespace: need("KFM_KUBE_NAMESPACE"),
    kubectl(args, input) {
      const r = spawnSync(kubectlPath, ["--request-timeout", "60s", ...args], { encoding: "utf8", env, input, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
      if (r.error) throw r.error;
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    restrictedNamespaces(names) {
      execFileSync("bash", [CLUSTER, "namespace", ...names], { env, stdio: ["ignore", "ignore", "inherit"] });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      execFileSync("bash", [CLUSTER, "stop", dir], { env, stdio: ["ignore", "inherit", "inherit"], timeout: 60_000 });
    },
  };
}

/** What went wrong with one apply: its error lines and every warning (Pod Security's among them). */
export function problems(r: { status: number | null; stderr: string }): string[] {
  const lines = r.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return r.status === 0 ? lines.filter((l) => /^warning/i.test(l)) : lines.length > 0 ? lines : [`kubectl exited ${r.status}`];
}
