// kfm-compile apply: its command line, and how it reads what an API server answers. The
// cluster here is a fake that stores objects as a server-side apply would; the real API
// server is test/conformance/apply.conformance.test.ts's.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyManifests, differences, pathAt, type ApplyOptions, type KubeObject, type Manifest } from "../src/cli/apply.js";
import { main } from "../src/cli/index.js";
import { toManifests } from "../src/cli/commands/apply.js";
import { warningsOf, type KubeApi, type Resource, type Response } from "../src/cli/kube.js";
import { analyze } from "../src/compile.js";
import { formatDiagnostic } from "../src/diagnostics.js";
import { parseYamlStream } from "../src/yaml.js";
import { PACKAGE_ROOT } from "../src/assets.js";
import { findTarget } from "../targets/index.js";
import { APPLY_TARGETS, WORKFLOW_LABELS } from "../targets/kubernetes-apply.js";

const SPEC = `workflow:
  name: daily_sales
  jobs:
    - job:
        name: extract
        image: lakehouse/step:1.0
    - job:
        name: load_rows
        image: lakehouse/step:1.0
      depends_on: [extract]
`;

/** The spec compiled for `target`, as apply reads it, its objects labelled as the targets label them. */
function manifest(target = "argo", text = SPEC): Manifest {
  const a = analyze("pipeline.yaml", text);
  expect(a.diagnostics).toEqual([]);
  const objects = parseYamlStream(findTarget(target)!.emit(a.ir!)) as KubeObject[];
  for (const o of objects)
    o.metadata.labels = { ...o.metadata.labels, [WORKFLOW_LABELS.managedBy[0]]: WORKFLOW_LABELS.managedBy[1], [WORKFLOW_LABELS.workflow]: "daily-sales" };
  return { file: `${target}/daily_sales.yaml`, objects, spec: a.spec, ir: a.ir! };
}

const RESOURCES: Record<string, Resource> = {
  "argoproj.io/v1alpha1 WorkflowTemplate": { name: "workflowtemplates", namespaced: true },
  "argoproj.io/v1alpha1 CronWorkflow": { name: "cronworkflows", namespaced: true },
  "v1 ServiceAccount": { name: "serviceaccounts", namespaced: true },
  "rbac.authorization.k8s.io/v1 Role": { name: "roles", namespaced: true },
  "rbac.authorization.k8s.io/v1 RoleBinding": { name: "rolebindings", namespaced: true },
  "tekton.dev/v1 Pipeline": { name: "pipelines", namespaced: true },
  "batch/v1 CronJob": { name: "cronjobs", namespaced: true },
};

type Handler = (method: string, path: string, query: Record<string, string>, body: string | undefined) => Response | undefined;

/**
 * A cluster that keeps objects by path and answers server-side apply as the API server does
 * for the cases here: 201 when it creates, the resource version bumped only when the stored
 * object changes, a dry run storing nothing. `handler` answers first when it answers.
 */
class FakeCluster implements KubeApi {
  readonly context = "test";
  readonly server = "https://fake.invalid";
  readonly calls: string[] = [];
  readonly store = new Map<string, KubeObject>();
  private version = 1;
  readonly namespace: string | undefined;
  /** `namespace` null: a context that names none. */
  constructor(
    namespace: string | null = "team",
    private readonly handler: Handler = () => undefined,
    private readonly served: Record<string, Resource> = RESOURCES,
  ) {
    this.namespace = namespace ?? undefined;
  }

  async resource(apiVersion: string, kind: string): Promise<Resource | null> {
    return this.served[`${apiVersion} ${kind}`] ?? null;
  }

  async request(
    method: "GET" | "PATCH" | "DELETE",
    path: string,
    query: Record<string, string> = {},
    body?: { type: string; text: string },
  ): Promise<Response> {
    this.calls.push(`${method} ${path}${Object.keys(query).length > 0 ? `?${new URLSearchParams(query).toString()}` : ""}`);
    const answer = this.handler(method, path, query, body?.text);
    if (answer !== undefined) return answer;
    const ok = (status: number, b: unknown): Response => ({ status, body: b, warnings: [] });
    const dry = query.dryRun === "All";
    const stored = this.store.get(path);
    if (method === "GET") {
      if (stored !== undefined) return ok(200, stored);
      const list = [...this.store.entries()].filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes("/"));
      if (list.length === 0 && !/\/(workflowtemplates|cronworkflows|serviceaccounts|roles|rolebindings|pipelines|cronjobs)$/.test(path))
        return ok(404, { kind: "Status", code: 404 });
      const wanted = (query.labelSelector ?? "").split(",").filter((s) => s !== "");
      const items = list.map(([, o]) => o).filter((o) => wanted.every((w) => o.metadata.labels?.[w.split("=")[0]!] === w.split("=")[1]));
      return ok(200, { items });
    }
    if (method === "DELETE") {
      if (stored === undefined) return ok(404, {});
      if (!dry) this.store.delete(path);
      return ok(200, { kind: "Status", status: "Success" });
    }
    const object = JSON.parse(body!.text) as KubeObject;
    const same = stored !== undefined && JSON.stringify({ ...stored, metadata: { ...stored.metadata, resourceVersion: undefined } }) === JSON.stringify(object);
    const next = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: same ? stored!.metadata["resourceVersion" as "name"] : String(++this.version) },
    } as KubeObject;
    if (!dry) this.store.set(path, { ...object, metadata: { ...object.metadata, resourceVersion: next.metadata["resourceVersion" as "name"] } } as KubeObject);
    return ok(stored === undefined ? 201 : 200, next);
  }
}

const OPTIONS: ApplyOptions = { namespace: undefined, dryRun: false, prune: null, forceConflicts: false, labels: WORKFLOW_LABELS };

/** The Argo file's objects, in its order: the executor's ServiceAccount, Role and RoleBinding, then the WorkflowTemplate. */
const ARGO_REFS = [
  "serviceaccount/daily-sales-executor",
  "role.rbac.authorization.k8s.io/daily-sales-executor",
  "rolebinding.rbac.authorization.k8s.io/daily-sales-executor",
  "workflowtemplate.argoproj.io/daily-sales",
];
/** The lines of applying the Argo file, each object with `outcome`, or per ref as `outcomes` says. */
const argoLines = (outcome: string, outcomes: Record<string, string> = {}) => ARGO_REFS.map((r) => `${r} ${outcomes[r] ?? outcome}`);
const WT = "workflowtemplate.argoproj.io/daily-sales";
/** The WorkflowTemplate of an Argo manifest. */
const templateOf = (m: Manifest) => m.objects.find((o) => o.kind === "WorkflowTemplate")!;

const shown = (ds: readonly Parameters<typeof formatDiagnostic>[0][]) => ds.map(formatDiagnostic);

describe("applying objects", () => {
  it("given a first apply, then each object is created in the context's namespace with field manager kfm-compile and strict field validation", async () => {
    const cluster = new FakeCluster();
    const r = await applyManifests(cluster, [manifest()], OPTIONS);
    expect(r.lines).toEqual(argoLines("created"));
    expect(r.diagnostics).toEqual([]);
    expect(cluster.calls).toEqual([
      "GET /api/v1/namespaces/team/serviceaccounts/daily-sales-executor",
      "PATCH /api/v1/namespaces/team/serviceaccounts/daily-sales-executor?fieldManager=kfm-compile&fieldValidation=Strict",
      "GET /apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/daily-sales-executor",
      "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/daily-sales-executor?fieldManager=kfm-compile&fieldValidation=Strict",
      "GET /apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings/daily-sales-executor",
      "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings/daily-sales-executor?fieldManager=kfm-compile&fieldValidation=Strict",
      "GET /apis/argoproj.io/v1alpha1/namespaces/team/workflowtemplates/daily-sales",
      "PATCH /apis/argoproj.io/v1alpha1/namespaces/team/workflowtemplates/daily-sales?fieldManager=kfm-compile&fieldValidation=Strict",
    ]);
    expect(r.namespaces).toEqual(["team"]);
  });

  it("given a second apply of the same objects, then each is unchanged; given a changed spec, then configured", async () => {
    const cluster = new FakeCluster();
    await applyManifests(cluster, [manifest()], OPTIONS);
    expect((await applyManifests(cluster, [manifest()], OPTIONS)).lines).toEqual(argoLines("unchanged"));
    const changed = manifest("argo", SPEC.replace("lakehouse/step:1.0", "lakehouse/step:2.0"));
    expect((await applyManifests(cluster, [changed], OPTIONS)).lines).toEqual(argoLines("unchanged", { [WT]: "configured" }));
  });

  it("given --dry-run=server, then every request is a dry run, nothing is stored, and a changed object lists the fields that would change", async () => {
    const cluster = new FakeCluster();
    const first = await applyManifests(cluster, [manifest()], { ...OPTIONS, dryRun: true });
    expect(first.lines).toEqual(argoLines("created (server dry run)"));
    expect(cluster.store.size).toBe(0);
    expect(cluster.calls.filter((c) => c.startsWith("PATCH")).every((c) => c.includes("dryRun=All"))).toBe(true);
    await applyManifests(cluster, [manifest()], OPTIONS);
    const changed = manifest("argo", SPEC.replace("lakehouse/step:1.0", "lakehouse/step:2.0"));
    const r = await applyManifests(cluster, [changed], { ...OPTIONS, dryRun: true });
    expect(r.lines).toEqual([
      ...argoLines("unchanged (server dry run)", { [WT]: "configured (server dry run)" }),
      expect.stringMatching(/^ {2}spec\.templates\[\d+\]\.container\.image$/),
    ]);
    expect(r.counts).toMatchObject({ configured: 1, unchanged: 3 });
  });

  it("given --namespace, then objects without one go there; given an object the file places elsewhere, then KFM502 and no request at all", async () => {
    const cluster = new FakeCluster();
    await applyManifests(cluster, [manifest()], { ...OPTIONS, namespace: "other" });
    expect(cluster.calls[0]).toContain("/namespaces/other/");
    const placed = manifest();
    // as the target's `namespace` option places them: every object of the file
    for (const o of placed.objects) o.metadata.namespace = "prod";
    const none = new FakeCluster();
    const r = await applyManifests(none, [placed], { ...OPTIONS, namespace: "staging" });
    expect(none.calls).toEqual([]);
    // One diagnostic for the one cause, with the count and the first names.
    expect(shown(r.diagnostics)).toEqual([
      `pipeline.yaml:2:3: error KFM502: argo/daily_sales.yaml puts 4 objects (${ARGO_REFS.slice(0, 3).join(", ")}, and 1 more) in the namespace \`prod\` (the target's \`namespace\` option), not in \`staging\` (--namespace): apply with --namespace prod, or compile with the namespace you mean.`,
    ]);
    // Several files placing objects there: still once, at the first, counting the others.
    const second = { ...placed, file: "argo/other.yaml", objects: placed.objects.slice(0, 1) };
    const both = await applyManifests(new FakeCluster(), [placed, second], { ...OPTIONS, namespace: "staging" });
    expect(shown(both.diagnostics)).toEqual([
      expect.stringMatching(/^pipeline\.yaml:2:3: error KFM502: argo\/daily_sales\.yaml and 1 other file put 5 objects \(/),
    ]);
    const one = await applyManifests(new FakeCluster(), [second], { ...OPTIONS, namespace: "staging" });
    expect(shown(one.diagnostics)).toEqual([expect.stringContaining(`argo/other.yaml puts ${ARGO_REFS[0]} in the namespace \`prod\``)]);
    // and without --namespace the file's namespace is used
    const own = new FakeCluster();
    await applyManifests(own, [placed], OPTIONS);
    expect(own.calls.length).toBe(8);
    expect(own.calls.filter((c) => !c.includes("/namespaces/prod/"))).toEqual([]);
  });

  it("given a context without a namespace and no --namespace, then objects go to `default`", async () => {
    const cluster = new FakeCluster(null);
    await applyManifests(cluster, [manifest()], OPTIONS);
    expect(cluster.calls[0]).toContain("/namespaces/default/");
  });

  it("given an object with only generateName (a run to create), then it is left out with a warning and the others are applied", async () => {
    const m = manifest();
    const run = { apiVersion: "argoproj.io/v1alpha1", kind: "Workflow", metadata: { generateName: "daily-sales-" }, spec: {} } as KubeObject;
    const r = await applyManifests(new FakeCluster(), [{ ...m, objects: [...m.objects, run] }], OPTIONS);
    expect(r.lines).toEqual(argoLines("created"));
    expect(shown(r.diagnostics)).toEqual([
      expect.stringMatching(/^pipeline\.yaml:2:3: warning KFM503: .*workflow\.argoproj\.io\/daily-sales-\*, which has no name/),
    ]);
  });
});

describe("what the API server refuses, as diagnostics in the spec", () => {
  /** Refuses applying the WorkflowTemplate (the object the field, conflict or rule is about); the executor's account objects go through. */
  const refuse =
    (status: number, body: unknown, warnings: string[] = []): Handler =>
    (method, path) =>
      method === "PATCH" && path.includes("/workflowtemplates/") ? { status, body, warnings } : undefined;
  /** Refuses applying every object. */
  const refuseAll =
    (status: number, body: unknown): Handler =>
    (method) =>
      method === "PATCH" ? { status, body, warnings: [] } : undefined;
  const ACCOUNT_CREATED = argoLines("created").filter((l) => !l.startsWith(WT));

  it("given a strict field validation failure in a job's template, then KFM500 at that job, quoting the server", async () => {
    // What kube-apiserver answers to a field its schema does not declare (server-side apply, fieldValidation=Strict).
    const m = manifest();
    const t = (templateOf(m).spec as { templates: { name: string }[] }).templates.findIndex((x) => x.name === "load-rows");
    const message = `failed to create typed patch object (/daily-sales; argoproj.io/v1alpha1, Kind=WorkflowTemplate): .spec.templates[name="load-rows"].container.bogus: field not declared in schema`;
    const r = await applyManifests(new FakeCluster("team", refuse(500, { kind: "Status", status: "Failure", message, code: 500 })), [m], OPTIONS);
    expect(t).toBeGreaterThanOrEqual(0);
    expect(r.lines).toEqual(ACCOUNT_CREATED);
    expect(r.refused).toBe(1);
    expect(shown(r.diagnostics)).toEqual([
      `pipeline.yaml:8:9: error KFM500: The API server refused applying workflowtemplate.argoproj.io/daily-sales in the namespace \`team\` (500): ${message}.`,
    ]);
  });

  it("given a 422 with causes, then one KFM500 per cause, each at the job its field belongs to or else the workflow", async () => {
    const m = manifest();
    const templates = (templateOf(m).spec as { templates: { name: string }[] }).templates;
    const i = templates.findIndex((x) => x.name === "extract");
    const body = {
      kind: "Status",
      status: "Failure",
      reason: "Invalid",
      message: 'WorkflowTemplate.argoproj.io "daily-sales" is invalid: ...',
      details: {
        causes: [
          { reason: "FieldValueInvalid", message: 'Invalid value: "x": must be lower case', field: `spec.templates[${i}].container.image` },
          { reason: "FieldValueRequired", message: "Required value", field: "spec.entrypoint" },
        ],
      },
      code: 422,
    };
    const r = await applyManifests(new FakeCluster("team", refuse(422, body)), [m], OPTIONS);
    expect(shown(r.diagnostics)).toEqual([
      `pipeline.yaml:5:9: error KFM500: The API server refused applying workflowtemplate.argoproj.io/daily-sales in the namespace \`team\`: spec.templates[${i}].container.image: Invalid value: "x": must be lower case.`,
      "pipeline.yaml:2:3: error KFM500: The API server refused applying workflowtemplate.argoproj.io/daily-sales in the namespace `team`: spec.entrypoint: Required value.",
    ]);
  });

  it("given a field another manager changed, then KFM501 naming the field and the manager, and --force-conflicts sends force=true", async () => {
    const body = {
      kind: "Status",
      status: "Failure",
      message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using argoproj.io/v1alpha1: .spec.entrypoint',
      reason: "Conflict",
      details: { causes: [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl-edit" using argoproj.io/v1alpha1', field: ".spec.entrypoint" }] },
      code: 409,
    };
    const r = await applyManifests(new FakeCluster("team", refuse(409, body)), [manifest()], OPTIONS);
    expect(shown(r.diagnostics)).toEqual([
      "pipeline.yaml:2:3: error KFM501: Another field manager has changed workflowtemplate.argoproj.io/daily-sales in the namespace `team`: .spec.entrypoint (conflict with \"kubectl-edit\" using argoproj.io/v1alpha1). The cluster's values differ from the spec's: apply with --force-conflicts to set the spec's again (kfm-compile then manages those fields), or change the spec to match.",
    ]);
    const forced = new FakeCluster();
    await applyManifests(forced, [manifest()], { ...OPTIONS, forceConflicts: true });
    const patches = forced.calls.filter((c) => c.startsWith("PATCH"));
    expect(patches.length).toBe(4);
    expect(patches.filter((c) => !c.endsWith("&force=true"))).toEqual([]);
  });

  it("given RBAC forbids it, a namespace that does not exist, or a kind the cluster does not serve, then KFM505, KFM507 or KFM504, once each", async () => {
    const forbidden = await applyManifests(
      new FakeCluster("team", (_method, path) =>
        !path.includes("/workflowtemplates/")
          ? undefined
          : {
              status: 403,
              body: { message: 'workflowtemplates.argoproj.io "daily-sales" is forbidden: User "u" cannot get resource' },
              warnings: [],
            },
      ),
      [manifest()],
      OPTIONS,
    );
    expect(shown(forbidden.diagnostics)).toEqual([
      'pipeline.yaml:2:3: error KFM505: The API server forbids reading workflowtemplate.argoproj.io/daily-sales in the namespace `team`: workflowtemplates.argoproj.io "daily-sales" is forbidden: User "u" cannot get resource. Ask for a Role that allows it, or apply with another --context.',
    ]);
    expect(forbidden.lines).toEqual(ACCOUNT_CREATED);
    const noNamespace = await applyManifests(
      new FakeCluster(
        "team",
        refuseAll(404, {
          kind: "Status",
          message: 'namespaces "team" not found',
          reason: "NotFound",
          details: { name: "team", kind: "namespaces" },
          code: 404,
        }),
      ),
      [manifest("tekton")],
      OPTIONS,
    );
    expect(shown(noNamespace.diagnostics).filter((d) => d.includes("KFM507"))).toEqual([
      "pipeline.yaml:2:3: error KFM507: The namespace `team` does not exist in the cluster of the context `test`: create it first (kubectl create namespace), or give --namespace.",
    ]);
    const tekton = manifest("tekton");
    const noCrd = await applyManifests(new FakeCluster("team", () => undefined, {}), [tekton], OPTIONS);
    expect(shown(noCrd.diagnostics).filter((d) => d.includes("KFM504"))).toEqual([
      'pipeline.yaml:2:3: error KFM504: The cluster (context `test`) does not serve Pipeline of tekton.dev/v1, which tekton/daily_sales.yaml holds: install what defines it (its CustomResourceDefinition; README, "Deploying") first.',
    ]);
  });

  it("given the server's warnings, then each is a KFM506 warning and the object counts as applied", async () => {
    const warn: Handler = (method, path, query, body) => {
      if (method !== "PATCH" || !path.includes("/workflowtemplates/")) return undefined;
      return {
        status: 201,
        body: { ...JSON.parse(body!), metadata: { resourceVersion: "9" } },
        warnings: ['would violate PodSecurity "restricted:latest": runAsNonRoot != true'],
      };
    };
    const r = await applyManifests(new FakeCluster("team", warn), [manifest()], OPTIONS);
    expect(r.lines).toEqual(argoLines("created"));
    expect(shown(r.diagnostics)).toEqual([
      'pipeline.yaml:2:3: warning KFM506: The API server warns about workflowtemplate.argoproj.io/daily-sales: would violate PodSecurity "restricted:latest": runAsNonRoot != true',
    ]);
  });
});

describe("pruning", () => {
  const pruneKinds = APPLY_TARGETS.argo!.kinds;

  it("given an object of the workflow that the output no longer writes, then --prune deletes it, and leaves other workflows', other targets' and unlabelled objects alone", async () => {
    const cluster = new FakeCluster();
    const stray = (name: string, workflow: string | null, target = "argo"): KubeObject => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name,
        resourceVersion: "1",
        labels:
          workflow === null ? {} : { [WORKFLOW_LABELS.managedBy[0]]: "kfm-compile", [WORKFLOW_LABELS.workflow]: workflow, [WORKFLOW_LABELS.target]: target },
      } as KubeObject["metadata"],
    });
    cluster.store.set("/api/v1/namespaces/team/serviceaccounts/old-runner", stray("old-runner", "daily-sales"));
    cluster.store.set("/api/v1/namespaces/team/serviceaccounts/theirs", stray("theirs", "weekly"));
    cluster.store.set("/api/v1/namespaces/team/serviceaccounts/by-hand", stray("by-hand", null));
    // The same workflow deployed by Tekton into the namespace: its account is Tekton's, not Argo's to prune.
    cluster.store.set("/api/v1/namespaces/team/serviceaccounts/daily-sales-run-creator", stray("daily-sales-run-creator", "daily-sales", "tekton"));
    const dry = await applyManifests(cluster, [manifest()], { ...OPTIONS, prune: pruneKinds, dryRun: true });
    expect(dry.lines).toContain("serviceaccount/old-runner pruned (server dry run)");
    expect(cluster.store.has("/api/v1/namespaces/team/serviceaccounts/old-runner")).toBe(true);
    const r = await applyManifests(cluster, [manifest()], { ...OPTIONS, prune: pruneKinds });
    expect(r.lines).toEqual([...argoLines("created"), "serviceaccount/old-runner pruned"]);
    expect([...cluster.store.keys()].sort()).toEqual([
      "/api/v1/namespaces/team/serviceaccounts/by-hand",
      "/api/v1/namespaces/team/serviceaccounts/daily-sales-executor",
      "/api/v1/namespaces/team/serviceaccounts/daily-sales-run-creator",
      "/api/v1/namespaces/team/serviceaccounts/theirs",
      "/apis/argoproj.io/v1alpha1/namespaces/team/workflowtemplates/daily-sales",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings/daily-sales-executor",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/daily-sales-executor",
    ]);
    expect(cluster.calls.find((c) => c.startsWith("GET /api/v1/namespaces/team/serviceaccounts?"))).toBe(
      "GET /api/v1/namespaces/team/serviceaccounts?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dkfm-compile%2Ckfm-compile.dev%2Fworkflow%3Ddaily-sales%2Ckfm-compile.dev%2Ftarget%3Dargo",
    );
  });

  it("given an object refused, then nothing is pruned", async () => {
    const cluster = new FakeCluster("team", (method) => (method === "PATCH" ? { status: 422, body: { message: "invalid" }, warnings: [] } : undefined));
    cluster.store.set("/api/v1/namespaces/team/serviceaccounts/old-runner", {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "old-runner", labels: { [WORKFLOW_LABELS.managedBy[0]]: "kfm-compile", [WORKFLOW_LABELS.workflow]: "daily-sales" } },
    });
    const r = await applyManifests(cluster, [manifest()], { ...OPTIONS, prune: pruneKinds });
    expect(r.lines).toEqual(["(nothing pruned: an object was refused, so what the workflow owns is not known for sure)"]);
    expect(cluster.calls.some((c) => c.startsWith("DELETE"))).toBe(false);
  });
});

describe("what is applied of the compiled files", () => {
  it("given a workflow's file, its run and folder files, then the workflow's objects and the folder's shared objects, never the run or the kustomization", () => {
    const a = analyze("pipeline.yaml", SPEC);
    const sources = new Map([
      ["deploy/argo/daily_sales.yaml", a],
      ["deploy/argo-runs/daily_sales.yaml", a],
    ]);
    const doc = (o: object) => `---\n${JSON.stringify(o)}\n`;
    const manifests = toManifests(
      [
        { target: "argo", path: "deploy/argo/daily_sales.yaml", text: doc({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "a" } }) },
        {
          target: "argo",
          path: "deploy/argo-runs/daily_sales.yaml",
          text: doc({ apiVersion: "argoproj.io/v1alpha1", kind: "Workflow", metadata: { name: "r" } }),
          role: "run",
        },
        {
          target: "argo",
          path: "deploy/argo/kustomization.yaml",
          text: doc({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: ["daily_sales.yaml"] }),
          role: "folder",
        },
        {
          target: "argo",
          path: "deploy/argo/shared.yaml",
          text: doc({ apiVersion: "argoproj.io/v1alpha1", kind: "WorkflowTemplate", metadata: { name: "s" } }),
          role: "folder",
        },
      ],
      sources,
    );
    expect(manifests.map((m) => [m.file, m.objects.map((o) => `${o.kind}/${o.metadata.name}`), m.spec.file])).toEqual([
      ["deploy/argo/daily_sales.yaml", ["ServiceAccount/a"], "pipeline.yaml"],
      ["deploy/argo/shared.yaml", ["WorkflowTemplate/s"], "pipeline.yaml"],
    ]);
  });
});

describe("the kinds --prune searches", () => {
  it("given each Kubernetes target, then no kind of run is among them (a run may carry its workflow's labels)", () => {
    for (const { kinds } of Object.values(APPLY_TARGETS)) {
      expect(kinds.map((k) => k.kind).filter((k) => ["Workflow", "PipelineRun", "TaskRun", "Job", "Pod"].includes(k))).toEqual([]);
    }
  });

  it("given the golden files, then every kind they hold is one --prune searches", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    for (const [target, { kinds }] of Object.entries(APPLY_TARGETS)) {
      const dir = join(PACKAGE_ROOT, "golden", target);
      const held = new Set(
        readdirSync(dir)
          .filter((f) => f.endsWith(".yaml"))
          .flatMap((f) => (parseYamlStream(readFileSync(join(dir, f), "utf8")) as KubeObject[]).filter((o) => o.metadata.name !== undefined))
          .map((o) => `${o.apiVersion} ${o.kind}`),
      );
      expect(
        [...held].filter((k) => !kinds.some((x) => `${x.apiVersion} ${x.kind}` === k)),
        target,
      ).toEqual([]);
    }
  });
});

describe("reading the server's words", () => {
  it("given Warning headers, then their texts, unescaped", () => {
    expect(warningsOf({ warning: '299 - "would violate \\"restricted\\"", 299 - "second"' })).toEqual(['would violate "restricted"', "second"]);
    expect(warningsOf({})).toEqual([]);
  });

  it("given a field path in any of the server's spellings, then the job whose task it passes through", () => {
    const m = manifest("tekton");
    const tasks = (m.objects.find((o) => o.kind === "Pipeline")!.spec as { tasks: { name: string }[] }).tasks;
    const i = tasks.findIndex((t) => t.name === "load-rows");
    const job = m.ir.jobs.find((j) => j.name === "load_rows")!.at;
    expect(pathAt(m, m.objects[0]!, `spec.tasks[${i}].taskSpec.steps[0].image`)).toEqual(job);
    expect(pathAt(m, m.objects[0]!, `.spec.tasks[name="load-rows"].timeout`)).toEqual(job);
    expect(pathAt(m, m.objects[0]!, "spec.description")).toEqual([]);
    expect(pathAt(m, m.objects[0]!, undefined)).toEqual([]);
  });

  it("given two JSON values, then the paths where they differ", () => {
    expect(differences({ a: 1, b: [1, { c: 2 }] }, { a: 1, b: [1, { c: 3 }, 4] })).toEqual(["b[1].c", "b[2]"]);
    expect(differences({ a: 1 }, { a: 1 })).toEqual([]);
  });
});

describe("the command line", () => {
  function run(args: string[], env: Record<string, string | undefined> = { HOME: mkdtempSync(join(tmpdir(), "kfm-apply-home-")) }) {
    let stdout = "";
    let stderr = "";
    const code = main(["apply", ...args], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: PACKAGE_ROOT, env });
    return Promise.resolve(code).then((c) => ({ code: c, stdout, stderr }));
  }
  const EXAMPLE = "specs/contract-4.2-workflow.yaml";

  it("given --help, then the usage, and the main help lists apply", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kfm-compile apply /);
    let main_ = "";
    main(["--help"], { stdout: (s) => (main_ += s), stderr: () => {}, cwd: PACKAGE_ROOT });
    expect(main_).toContain("kfm-compile apply [<spec>...] --target <argo|tekton>");
  });

  it.each([
    [[EXAMPLE], "apply takes one --target: argo or tekton."],
    [[EXAMPLE, "--target", "argo,tekton"], "apply takes one --target: argo or tekton."],
    [[EXAMPLE, "--target", "airflow"], "apply is for targets whose files are Kubernetes objects (argo, tekton), not 'airflow'."],
    [[EXAMPLE, "--target", "tektn"], "apply is for targets whose files are Kubernetes objects (argo, tekton), not 'tektn'. Did you mean 'tekton'?"],
    [
      [EXAMPLE, "--target", "argo", "--dry-run=client"],
      "--dry-run is server (the API server's dry run), not 'client'; to see the files themselves, compile them.",
    ],
    [[EXAMPLE, "--target", "argo", "--namespace", "Team_A"], "--namespace 'Team_A' is not a namespace name (lower-case letters, digits and '-', at most 63)."],
    [[EXAMPLE, "--target", "argo", "--prun"], "unknown option --prun. Did you mean '--prune'?"],
    [[EXAMPLE, "--target", "argo", "--out", "x"], "unknown option --out."],
  ])("given %j, then a usage error (exit 2): %s", async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(`kfm-compile: ${message}`);
    expect(r.stdout).toBe("");
  });

  it("given an invalid spec, then its diagnostics and exit 1 before any cluster is looked for", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-apply-"));
    writeFileSync(join(dir, "bad.yaml"), "workflow:\n  name: x\n  jobs: []\n  bogus: 1\n");
    const r = await run([join(dir, "bad.yaml"), "--target", "argo"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error KFM101: Unknown key `bogus`/);
    expect(r.stderr).not.toMatch(/kubeconfig/);
  });

  it("given no kubeconfig, then one line saying so and exit 1", async () => {
    const home = mkdtempSync(join(tmpdir(), "kfm-apply-home-"));
    const r = await run([EXAMPLE, "--target", "argo"], { HOME: home });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `kfm-compile apply: no kubeconfig: KUBECONFIG is not set and ${home}/.kube/config does not exist; name the cluster's kubeconfig with KUBECONFIG, or write ~/.kube/config (kubectl config set-cluster, set-credentials, set-context).\n`,
    );
    const missing = await run([EXAMPLE, "--target", "argo"], { KUBECONFIG: join(home, "nope.yaml") });
    expect(missing.stderr).toMatch(/^kfm-compile apply: KUBECONFIG names .*nope\.yaml, which does not exist; /);
  });

  function kubeconfig(server: string): string {
    const dir = mkdtempSync(join(tmpdir(), "kfm-apply-kc-"));
    const file = join(dir, "config");
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${server}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: staging\n  context: {cluster: c, user: u, namespace: team}\ncurrent-context: staging\n`,
    );
    return file;
  }

  it("given a context the kubeconfig lacks, then a usage error with the contexts it has", async () => {
    const r = await run([EXAMPLE, "--target", "argo", "--context", "stagin"], { KUBECONFIG: kubeconfig("https://127.0.0.1:1") });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kfm-compile: the kubeconfig \(.*\) has no context 'stagin'\. Did you mean 'staging'\? Its contexts: staging\.\n/);
  });

  it("given a server nothing listens on, then one line naming it and exit 1, no stack trace", async () => {
    const r = await run([EXAMPLE, "--target", "argo"], { KUBECONFIG: kubeconfig("https://127.0.0.1:1") });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("kfm-compile apply: cannot reach the API server at https://127.0.0.1:1 (context 'staging'): connect ECONNREFUSED 127.0.0.1:1.\n");
  });
});
