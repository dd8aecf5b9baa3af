/**
 * Deployable as written: every golden Argo and Tekton file is applied with the kubectl built
 * from k8s.io/kubernetes to a real kube-apiserver (conformance/kube/, with the upstream Argo
 * and Tekton CRDs installed from their modules) into a namespace that enforces, warns and
 * audits the `restricted` Pod Security Standard, once client-side and once server-side, each
 * in a namespace of its own. A file passes when kubectl exits 0 with no warning at all and a
 * second apply changes nothing (every object's resourceVersion stays, and client-side apply
 * says `unchanged` for each).
 *
 * Files that do not pass today are listed in KNOWN_FAILURES with their reasons, each with a
 * piece of what kubectl prints for it. The list expires: a listed reason that no longer shows
 * fails the run until it is removed, and so does any problem the list does not name.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { kubeSetup, kubeSkipReason, startCluster, type Cluster } from "./kube.js";
import { setup } from "./runners.js";

const MODES = { "client-side": "--server-side=false", "server-side": "--server-side" } as const;
type Mode = keyof typeof MODES;

/** Why a case fails today (the fix is the compiler's, not this list's), and what kubectl or the API server says then. */
interface Reason {
  readonly why: string;
  /** A piece of every line kubectl prints for it. */
  readonly says: string;
}

/** `target/file mode` -> every reason it fails today. */
const KNOWN_FAILURES: Record<string, { readonly because: readonly Reason[] }> = {};

const TARGETS = ["argo", "tekton"] as const;

/**
 * What each generated account's pod does on the API server, by the file that declares it:
 * the Tekton CronJob's creator creates the PipelineRun and reads its own Job
 * (targets/tekton/emit.ts CREATOR_SCRIPT). Every ServiceAccount a Tekton file declares is
 * such a creator.
 */
function accountRights(file: string): Record<string, ReadonlyArray<readonly [string, string]>> {
  if (!file.includes(`${sep}tekton${sep}`)) return {};
  const text = readFileSync(file, "utf8");
  const names = [...text.matchAll(/^kind: ServiceAccount\nmetadata:\n {2}name: (\S+)$/gm)].map((m) => m[1]!);
  if (/^kind: CronJob$/m.test(text) && names.length !== 1) throw new Error(`${file}: a CronJob and ${names.length} ServiceAccounts`);
  return Object.fromEntries(
    names.map((n) => [
      n,
      [
        ["create", "pipelineruns.tekton.dev"],
        ["get", "jobs.batch"],
      ],
    ]),
  );
}

/** What no generated account may do: least privilege. */
const NOT_GRANTED: ReadonlyArray<readonly [string, string]> = [
  ["delete", "pipelineruns.tekton.dev"],
  ["update", "pipelines.tekton.dev"],
  ["list", "jobs.batch"],
  ["get", "secrets"],
  ["create", "pods"],
];
const cases = TARGETS.flatMap((target) =>
  readdirSync(join(PACKAGE_ROOT, "golden", target))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) => (Object.keys(MODES) as Mode[]).map((mode) => ({ key: `${target}/${f} ${mode}`, file: join(PACKAGE_ROOT, "golden", target, f), mode }))),
);

/** One namespace per case, so that two specs naming the same workflow do not meet. */
function namespaceOf(key: string): string {
  return `kfm-${key.replace(/\.yaml /, "-").replace(/[^a-z0-9]+/g, "-")}`.slice(0, 63).replace(/-+$/, "");
}

const skipReason = kubeSkipReason();
if (skipReason !== null) console.warn(`apply.conformance: SKIPPED: kube-apiserver ${skipReason}`);
let cluster: Cluster | undefined;

beforeAll(() => {
  if (skipReason !== null) return;
  setup(); // the Argo and Tekton modules, whose CRDs the cluster installs
  kubeSetup();
  cluster = startCluster();
  cluster.restrictedNamespaces(cases.map((c) => namespaceOf(c.key)));
}, 1_800_000);

afterAll(() => cluster?.stop(), 120_000);

/** name -> resourceVersion of every object the file declares, as stored. */
function resourceVersions(c: Cluster, file: string, ns: string): Record<string, string> {
  const r = c.kubectl(["get", "--namespace", ns, "-f", file, "-o", "json"]);
  if (r.status !== 0) throw new Error(`kubectl get -f ${file}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { kind: string; items?: Array<{ kind: string; metadata: { name: string; resourceVersion: string } }> };
  const items = doc.items ?? [doc as unknown as { kind: string; metadata: { name: string; resourceVersion: string } }];
  return Object.fromEntries(items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
}

/** What went wrong with one apply: its error lines and every warning (Pod Security's among them). */
function problems(r: { status: number | null; stderr: string }): string[] {
  const lines = r.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return r.status === 0 ? lines.filter((l) => /^warning/i.test(l)) : lines.length > 0 ? lines : [`kubectl exited ${r.status}`];
}

describe.skipIf(skipReason !== null)(
  `golden Argo and Tekton files apply to a real kube-apiserver in a restricted namespace${skipReason === null ? "" : ` (SKIPPED: ${skipReason})`}`,
  () => {
    it("the cluster judges: Pod Security enforces restricted, and RBAC answers per user", () => {
      const c = cluster!;
      // Given a Pod with no securityContext, which no restricted namespace may run; when it is created (admission only, nothing stored)
      const pod = JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "unconstrained" },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      });
      const r = c.kubectl(["create", "--dry-run=server", "--namespace", c.namespace, "-f", "-"], pod);
      // then Pod Security admission refuses it
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('violates PodSecurity "restricted:latest"');
      // and a service account with no binding may not create a Workflow, while the admin may
      const sa = c.kubectl([
        "auth",
        "can-i",
        "create",
        "workflows.argoproj.io",
        "--namespace",
        c.namespace,
        "--as",
        `system:serviceaccount:${c.namespace}:default`,
      ]);
      expect(sa.stdout.trim()).toBe("no");
      expect(c.kubectl(["auth", "can-i", "create", "workflows.argoproj.io", "--namespace", c.namespace]).stdout.trim()).toBe("yes");
    });

    it("every known failure names a case that exists", () => {
      const keys = new Set(cases.map((c) => c.key));
      expect(Object.keys(KNOWN_FAILURES).filter((k) => !keys.has(k))).toEqual([]);
    });

    it.each(cases)("$key", ({ key, file, mode }) => {
      const c = cluster!;
      const ns = namespaceOf(key);
      // Given a fresh restricted namespace; when the file is applied
      const first = c.kubectl(["apply", MODES[mode], "--namespace", ns, "-f", file]);
      const found = problems(first);
      const known = KNOWN_FAILURES[key];
      if (known !== undefined) {
        // then a listed case still fails for each listed reason, and for no other
        const gone = known.because.filter((r) => !found.some((l) => l.includes(r.says)));
        expect(
          gone.map((r) => r.why),
          `${key} no longer fails for these reasons: remove them from KNOWN_FAILURES`,
        ).toEqual([]);
        const unlisted = found.filter((l) => !known.because.some((r) => l.includes(r.says)));
        expect(unlisted, `${key} fails for a reason KNOWN_FAILURES does not list`).toEqual([]);
        return;
      }
      // then kubectl accepts every object without a warning
      expect(found, `${key}: kubectl apply ${MODES[mode]}`).toEqual([]);
      // and a second apply changes nothing
      const before = resourceVersions(c, file, ns);
      const second = c.kubectl(["apply", MODES[mode], "--namespace", ns, "-f", file]);
      expect(problems(second), `${key}: second apply`).toEqual([]);
      expect(resourceVersions(c, file, ns), `${key}: the second apply wrote objects`).toEqual(before);
      // and each account the file declares may do what its pod does, and no more
      for (const [account, may] of Object.entries(accountRights(file))) {
        const canI = (verb: string, resource: string) =>
          c.kubectl(["auth", "can-i", verb, resource, "--namespace", ns, "--as", `system:serviceaccount:${ns}:${account}`]).stdout.trim();
        for (const [verb, resource] of may) expect(canI(verb, resource), `${key}: ${account} may ${verb} ${resource}`).toBe("yes");
        for (const [verb, resource] of NOT_GRANTED) expect(canI(verb, resource), `${key}: ${account} may not ${verb} ${resource}`).toBe("no");
      }
      if (mode === "client-side") {
        const lines = second.stdout.split("\n").filter((l) => l.trim() !== "");
        expect(lines.length).toBe(Object.keys(before).length);
        expect(
          lines.filter((l) => !l.endsWith(" unchanged")),
          `${key}: second apply`,
        ).toEqual([]);
      }
    });
  },
);
