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
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { readHeader } from "../../src/header.js";
import { parseYamlStream } from "../../src/yaml.js";
import { analyze } from "../../src/compile.js";
import { emit } from "../../targets/argo/emit.js";
import { DEFAULT_OPTIONS, type ArgoOptions } from "../../targets/argo/options.js";
import { readSpec } from "../matrix.js";
import { kubeSetup, kubeSkipReason, problems, startCluster, type Cluster } from "./kube.js";
import { compileFolder, setup } from "./runners.js";

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
const argoFiles = readdirSync(join(PACKAGE_ROOT, "golden", "argo"))
  .filter((f) => f.endsWith(".yaml"))
  .sort();

/**
 * What each generated account's pod does on the API server, by the file that declares it:
 * the Tekton CronJob's creator creates the PipelineRun and reads its own Job
 * (targets/tekton/emit.ts CREATOR_SCRIPT); with `max_active_runs` the run starter
 * (STARTER_SCRIPT, in the creator's pod too) lists, reads and patches PipelineRuns and holds
 * the workflow's Lease, and no other Lease.
 */
function accountRights(file: string): Record<string, ReadonlyArray<readonly [string, string]>> {
  if (!file.includes(`${sep}tekton${sep}`)) return {};
  const text = readFileSync(file, "utf8");
  const names = [...text.matchAll(/^kind: ServiceAccount\nmetadata:\n {2}name: (\S+)$/gm)].map((m) => m[1]!);
  const creators = names.filter((n) => n.endsWith("-run-creator"));
  if (/^kind: CronJob$/m.test(text) && creators.length !== 1) throw new Error(`${file}: a CronJob and ${creators.length} creator ServiceAccounts`);
  const starter = names.find((n) => n.endsWith("-run-starter"));
  const lease = starter?.replace(/-run-starter$/, "-run-queue");
  const starterRights: ReadonlyArray<readonly [string, string]> =
    lease === undefined
      ? []
      : [
          ["get", "pipelineruns.tekton.dev"],
          ["list", "pipelineruns.tekton.dev"],
          ["patch", "pipelineruns.tekton.dev"],
          ["create", "leases.coordination.k8s.io"],
          ["get", `leases.coordination.k8s.io/${lease}`],
          ["update", `leases.coordination.k8s.io/${lease}`],
        ];
  return Object.fromEntries(
    names.map((n) => [
      n,
      // An event trigger's EventListener account (`-listener`) holds Tekton Triggers' own
      // tekton-triggers-eventlistener-roles: it creates runs and reads Triggers' objects, no Job.
      n.endsWith("-listener")
        ? [
            ["create", "pipelineruns.tekton.dev"],
            ["get", "eventlisteners.triggers.tekton.dev"],
          ]
        : n.endsWith("-run-starter")
          ? starterRights
          : n.endsWith("-run-waiter")
            ? [["get", "pipelineruns.tekton.dev"]]
            : [["create", "pipelineruns.tekton.dev"], ["get", "jobs.batch"], ...starterRights],
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
  ["update", "leases.coordination.k8s.io/another-lease"],
];
const cases = TARGETS.flatMap((target) =>
  readdirSync(join(PACKAGE_ROOT, "golden", target))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) =>
      (Object.keys(MODES) as Mode[]).map((mode) => ({ key: `${target}/${f} ${mode}`, target, file: join(PACKAGE_ROOT, "golden", target, f), mode })),
    ),
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

/** The Argo object (CronWorkflow or WorkflowTemplate) of an Argo file and its run spec. */
function argoRunSpec(file: string): { namespace: string | undefined; spec: Record<string, any> } {
  const docs = parseYamlStream(readFileSync(file, "utf8")) as Array<Record<string, any>>;
  const doc = docs.find((d) => d["kind"] === "CronWorkflow" || d["kind"] === "WorkflowTemplate")!;
  return { namespace: doc["metadata"]["namespace"], spec: doc["kind"] === "CronWorkflow" ? doc["spec"]["workflowSpec"] : doc["spec"] };
}

/**
 * What Argo's executor does with the API (workflow/executor/taskresult.go: create, then
 * patch, its WorkflowTaskResult; docs/workflow-rbac.md), which the pods' account must be
 * allowed, and things it never does, which least privilege denies.
 */
const EXECUTOR_MAY = ["create workflowtaskresults.argoproj.io", "patch workflowtaskresults.argoproj.io"];
const EXECUTOR_MAY_NOT = [
  "get workflowtaskresults.argoproj.io",
  "delete workflowtaskresults.argoproj.io",
  "create pods",
  "get secrets",
  "create workflows.argoproj.io",
  "patch workflows.argoproj.io",
  "list workflows.argoproj.io",
];

/**
 * A wait for an upstream workflow's run (a `resource` template, `action: get`) reads that
 * one Workflow: `kubectl get`, then GETs of its self link (workflow/executor/resource.go).
 * Without one, the account may not read Workflows at all.
 */
const UPSTREAM_WAIT_MAY = "get workflows.argoproj.io";

/** Asks the API server (`kubectl auth can-i --as` the pods' account) what the applied file's account may do. */
function checkArgoAccount(c: Cluster, file: string, ns: string): void {
  const account = `system:serviceaccount:${ns}:${argoRunSpec(file).spec["serviceAccountName"]}`;
  const can = (verbResource: string) => c.kubectl(["auth", "can-i", ...verbResource.split(" "), "--namespace", ns, "--as", account]).stdout.trim();
  const waits = (argoRunSpec(file).spec["templates"] as Array<Record<string, any>>).some((t) => t["resource"]?.["action"] === "get");
  const may = waits ? [...EXECUTOR_MAY, UPSTREAM_WAIT_MAY] : EXECUTOR_MAY;
  const mayNot = waits ? EXECUTOR_MAY_NOT : [...EXECUTOR_MAY_NOT, UPSTREAM_WAIT_MAY];
  expect(Object.fromEntries([...may, ...mayNot].map((v) => [v, can(v)])), `${file}: what ${account} may do`).toEqual(
    Object.fromEntries([...may.map((v) => [v, "yes"]), ...mayNot.map((v) => [v, "no"])]),
  );
}

/**
 * The pods of the templates the compiler adds (every template named with the reserved
 * `kfm-` prefix that runs a container: the notification senders), as the controller
 * builds them from the template: its pod securityContext and its container, named main
 * (createWorkflowPod, workflow/controller/workflowpod.go). The executor's own wait and
 * init containers take the controller's `executor.securityContext` (README, Deploying).
 */
function helperPods(file: string): Array<Record<string, unknown>> {
  const { spec } = argoRunSpec(file);
  return (spec["templates"] as Array<Record<string, any>>)
    .filter((t) => t["name"].startsWith("kfm-") && t["container"] !== undefined)
    .map((t) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: t["name"] },
      spec: {
        restartPolicy: "Never",
        ...(t["securityContext"] !== undefined ? { securityContext: t["securityContext"] } : {}),
        containers: [{ ...t["container"], name: "main" }],
      },
    }));
}

/** Every Argo option set, as an operator of a restricted namespace would (README, Deploying). */
function EVERY_OPTION(namespace: string): ArgoOptions {
  return {
    ...DEFAULT_OPTIONS,
    namespace,
    imagePullSecrets: ["registry-credentials"],
    podSecurityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    notifyImage: `registry.example/mirror/curl@sha256:${"0".repeat(64)}`,
    nodeSelector: { "kubernetes.io/os": "linux" },
    priorityClassName: "batch-low",
    podGC: "OnPodSuccess",
    ttlSecondsAfterFinished: 86400,
  };
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

    it.each(argoFiles)("argo/%s: every pod the compiler adds passes Pod Security restricted", (name) => {
      const c = cluster!;
      const pods = helperPods(join(PACKAGE_ROOT, "golden", "argo", name));
      for (const pod of pods) {
        // Given the pod the controller makes from a helper template; when created in a restricted namespace (admission only)
        const r = c.kubectl(["create", "--dry-run=server", "--namespace", c.namespace, "-f", "-"], JSON.stringify(pod));
        // then Pod Security admits it without a warning
        expect(problems(r), `${name}: ${String((pod["metadata"] as { name: string }).name)}`).toEqual([]);
        // and the same pod without the compiler's securityContext is refused (the check can fail)
        const bare = structuredClone(pod) as { spec: { securityContext?: unknown; containers: Array<{ securityContext?: unknown }> } };
        delete bare.spec.securityContext;
        delete bare.spec.containers[0]!.securityContext;
        expect(c.kubectl(["create", "--dry-run=server", "--namespace", c.namespace, "-f", "-"], JSON.stringify(bare)).stderr).toContain("violates PodSecurity");
      }
    });

    it("some Argo golden has a pod the compiler adds (the check above is not empty)", () => {
      expect(argoFiles.flatMap((f) => helperPods(join(PACKAGE_ROOT, "golden", "argo", f))).length).toBeGreaterThan(0);
    });

    it.each(["concurrency.yaml", "notifications.yaml", "secrets.yaml"])(
      "argo/%s compiled with every option applies server-side to the option's namespace, and its account and pods hold",
      (name) => {
        const c = cluster!;
        // Given the spec compiled with every Argo option (the namespace exists, restricted)
        const ns = `kfm-argo-options-${name.replace(/\.yaml$/, "")}`;
        c.restrictedNamespaces([ns]);
        const spec = join("specs", name);
        const ir = analyze(spec, readSpec(spec)).ir!;
        const file = join(c.dir, `options-${name}`);
        writeFileSync(file, emit(ir, EVERY_OPTION(ns)));
        // when it is applied server-side with no --namespace (the file carries it)
        const r = c.kubectl(["apply", "--server-side", "--field-manager", "kfm-compile", "-f", file]);
        // then every object is accepted under strict field validation, without a warning
        expect(problems(r), `${name} with every option`).toEqual([]);
        expect(r.stdout.split("\n").filter((l) => l.trim() !== "").length).toBe((parseYamlStream(readFileSync(file, "utf8")) as unknown[]).length);
        // and the account in the file may do what the executor does, and no more
        checkArgoAccount(c, file, ns);
        // and the pods the compiler adds pass restricted under the options
        for (const pod of helperPods(file)) {
          expect(problems(c.kubectl(["create", "--dry-run=server", "--namespace", ns, "-f", "-"], JSON.stringify(pod)))).toEqual([]);
        }
      },
    );

    it("every known failure names a case that exists", () => {
      const keys = new Set(cases.map((c) => c.key));
      expect(Object.keys(KNOWN_FAILURES).filter((k) => !keys.has(k))).toEqual([]);
    });

    it.each(cases)("$key", ({ key, target, file, mode }) => {
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
      if (target === "argo" && mode === "client-side") checkArgoAccount(c, file, ns);
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

/**
 * A whole output folder at once, as a GitOps tool syncs it (Argo CD and Flux apply every
 * manifest of the folder in one go; here `kubectl apply -f <folder>`): every spec whose
 * golden is an output, compiled as one project into one folder per target with the CLI,
 * so the folder holds exactly what kfm-compile writes there (files written once per folder
 * included). Two workflows' objects must not fight over one object (a second apply would
 * then write), and each file's known failures are the folder's.
 */
const folderCases = TARGETS.flatMap((target) => (Object.keys(MODES) as Mode[]).map((mode) => ({ key: `${target}/ folder ${mode}`, target, mode })));

describe.skipIf(skipReason !== null)(
  `each target's whole output folder applies at once, as a GitOps tool applies it${skipReason === null ? "" : ` (SKIPPED: ${skipReason})`}`,
  () => {
    let out: string;
    beforeAll(() => {
      cluster!.restrictedNamespaces(folderCases.map((c) => namespaceOf(c.key)));
      out = mkdtempSync(join(tmpdir(), "kfm-apply-folder-"));
      for (const target of TARGETS) compileFolder(out, target);
    }, 300_000);
    afterAll(() => {
      if (out !== undefined) rmSync(out, { recursive: true, force: true });
    });

    /** What the folder's files are known to fail for in this mode (KNOWN_FAILURES of the spec each file comes from). */
    function knownReasons(folder: string, target: string, mode: Mode): Reason[] {
      const reasons = new Set<Reason>();
      for (const f of readdirSync(folder).filter((n) => n.endsWith(".yaml"))) {
        const from = readHeader(readFileSync(join(folder, f), "utf8"))?.from;
        const spec = from?.match(/^specs\/(.+\.yaml)$/)?.[1];
        for (const r of (spec === undefined ? undefined : KNOWN_FAILURES[`${target}/${spec} ${mode}`])?.because ?? []) reasons.add(r);
      }
      return [...reasons];
    }

    it.each(folderCases)("$key", ({ key, target, mode }) => {
      const c = cluster!;
      const ns = namespaceOf(key);
      const folder = join(out, target);
      const files = readdirSync(folder).filter((f) => f.endsWith(".yaml"));
      expect(files.length, `${folder} holds no file`).toBeGreaterThan(0);
      // Given the folder of the whole project; when it is applied at once
      const first = c.kubectl(["apply", MODES[mode], "--namespace", ns, "-f", folder]);
      const found = problems(first);
      const known = knownReasons(folder, target, mode);
      if (known.length > 0) {
        // then it fails for exactly the reasons its files fail for one by one, and for no other
        expect(
          known.filter((r) => !found.some((l) => l.includes(r.says))).map((r) => r.why),
          `${key} no longer fails for these reasons, which KNOWN_FAILURES lists for one of its files`,
        ).toEqual([]);
        expect(
          found.filter((l) => !known.some((r) => l.includes(r.says))),
          `${key} fails for a reason KNOWN_FAILURES does not list for its files`,
        ).toEqual([]);
        return;
      }
      // then kubectl accepts every object without a warning
      expect(found, `${key}: kubectl apply ${MODES[mode]} -f ${target}/`).toEqual([]);
      // and a second apply of the folder changes nothing, even where two files declare one object
      const before = resourceVersions(c, folder, ns);
      const second = c.kubectl(["apply", MODES[mode], "--namespace", ns, "-f", folder]);
      expect(problems(second), `${key}: second apply`).toEqual([]);
      expect(resourceVersions(c, folder, ns), `${key}: the second apply wrote objects`).toEqual(before);
      if (mode === "client-side") {
        expect(
          second.stdout.split("\n").filter((l) => l.trim() !== "" && !l.endsWith(" unchanged")),
          `${key}: second apply`,
        ).toEqual([]);
      }
    });
  },
);
