/**
 * Server-side apply of compiled Kubernetes objects (`kfm-compile apply`), with pruning of
 * what a workflow owned and no longer writes. It talks to the cluster through `KubeApi`
 * (kube.ts), so the tests can give it a fake; what the API server refuses becomes a
 * diagnostic located in the spec the object came from.
 *
 * Server-side apply (kubernetes.io/docs/reference/using-api/server-side-apply/): a PATCH
 * with `Content-Type: application/apply-patch+yaml` and a field manager creates the object
 * or merges the fields it names, the API server tracking which manager set each field.
 */
import { problem, warning, type Code, type Diagnostic } from "../diagnostics.js";
import type { SpecPath, Workflow } from "../ir.js";
import type { LoadedSpec } from "../spec/load.js";
import { kubeName } from "../names.js";
import type { KubeApi, Resource, Response } from "./kube.js";

/** The field manager kfm-compile applies as: the fields it sets are its own, and another manager's change to one of them is a conflict. */
export const FIELD_MANAGER = "kfm-compile";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The objects of one compiled file, with the spec they came from. */
export interface Manifest {
  /** The output file, as shown. */
  readonly file: string;
  readonly objects: readonly KubeObject[];
  readonly spec: LoadedSpec;
  readonly ir: Workflow;
}

/** A kind apply may prune (one the target writes). */
export interface Kind {
  readonly apiVersion: string;
  readonly kind: string;
}

export interface ApplyOptions {
  /** `--namespace`: where objects without a namespace go, and the namespace every object must be in. */
  readonly namespace: string | undefined;
  readonly dryRun: boolean;
  /** The kinds to look for objects this workflow owned (found by `labels`) and no longer writes: none without --prune. */
  readonly prune: readonly Kind[] | null;
  readonly forceConflicts: boolean;
  /** The labels every object a workflow owns carries: `managed-by=<value>` and `<workflow key>=<object name of the workflow>`. */
  readonly labels: { readonly managedBy: readonly [key: string, value: string]; readonly workflow: string; readonly target?: string };
}

export type Outcome = "created" | "configured" | "unchanged" | "pruned";

export interface Applied {
  /** One line per object, as kubectl prints them: `pipeline.tekton.dev/daily configured`. */
  readonly lines: string[];
  readonly diagnostics: Diagnostic[];
  readonly counts: Record<Outcome, number>;
  /** How many objects the API server refused (or could not be applied: a kind it does not serve). */
  readonly refused: number;
  /** The namespaces objects went to. */
  readonly namespaces: string[];
}

/** What a workflow's objects are known by in a namespace: group, kind and name. */
const keyOf = (apiVersion: string, kind: string, namespace: string, name: string) => `${groupOf(apiVersion)}\0${kind}\0${namespace}\0${name}`;

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** How kubectl names an object in its output: `cronjob.batch/x`, `serviceaccount/x`. */
export function objectRef(apiVersion: string, kind: string, name: string): string {
  const group = groupOf(apiVersion);
  return `${kind.toLowerCase()}${group === "" ? "" : `.${group}`}/${name}`;
}

/** How many objects a diagnostic about several names before saying how many more. */
const NAMED = 3;

/**
 * What can be told before any request: every object has a name (one with only
 * `generateName` is a run, left out with a warning), and sits in the namespace asked for.
 * The objects to apply, each with the namespace its file gives it, if any.
 */
export function preflight(
  manifests: readonly Manifest[],
  namespace: string | undefined,
): { objects: { manifest: Manifest; object: KubeObject; namespace: string | undefined; name: string }[]; diagnostics: Diagnostic[] } {
  const objects: { manifest: Manifest; object: KubeObject; namespace: string | undefined; name: string }[] = [];
  const diagnostics: Diagnostic[] = [];
  // Objects placed in another namespace than --namespace, by that namespace: one cause
  // (the target's `namespace` option), said once with the count and the first names.
  const elsewhere = new Map<string, { manifest: Manifest; files: Set<string>; refs: string[] }>();
  for (const manifest of manifests) {
    for (const object of manifest.objects) {
      const name = object.metadata?.name;
      const ref = objectRef(object.apiVersion, object.kind, name ?? `${object.metadata?.generateName ?? ""}*`);
      if (name === undefined || name === "") {
        diagnostics.push(
          locate(
            manifest,
            "KFM503",
            `${manifest.file} holds ${ref}, which has no name (only \`generateName\`): a run to create with \`kubectl create\`, not an object to apply; it is left out.`,
            [],
            "warning",
          ),
        );
        continue;
      }
      const own = object.metadata.namespace;
      if (own !== undefined && namespace !== undefined && own !== namespace) {
        const group = elsewhere.get(own) ?? { manifest, files: new Set<string>(), refs: [] };
        group.files.add(manifest.file);
        group.refs.push(ref);
        elsewhere.set(own, group);
        continue;
      }
      objects.push({ manifest, object, namespace: own, name });
    }
  }
  for (const [own, { manifest, files, refs }] of elsewhere) {
    const others = files.size - 1;
    const where = others === 0 ? manifest.file : `${manifest.file} and ${others} other file${others === 1 ? "" : "s"}`;
    const what =
      refs.length === 1
        ? refs[0]!
        : `${refs.length} objects (${refs.slice(0, NAMED).join(", ")}${refs.length > NAMED ? `, and ${refs.length - NAMED} more` : ""})`;
    diagnostics.push(
      locate(
        manifest,
        "KFM502",
        `${where} put${others === 0 ? "s" : ""} ${what} in the namespace \`${own}\` (the target's \`namespace\` option), not in \`${namespace}\` (--namespace): apply with --namespace ${own}, or compile with the namespace you mean.`,
        [],
      ),
    );
  }
  return { objects, diagnostics };
}

/**
 * Applies every object of every manifest, in order, then prunes. Diagnostics found
 * before any request (a namespace that does not match, an object without a name) stop
 * everything; a refused object does not stop the others, but does stop the pruning.
 * A `ClusterError` (no answer, credentials refused) is thrown as it is.
 */
export async function applyManifests(api: KubeApi, manifests: readonly Manifest[], options: ApplyOptions): Promise<Applied> {
  const lines: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const counts: Record<Outcome, number> = { created: 0, configured: 0, unchanged: 0, pruned: 0 };
  const namespaces = new Set<string>();
  const fallback = options.namespace ?? api.namespace ?? "default";
  const dry = options.dryRun ? " (server dry run)" : "";

  const checked = preflight(manifests, options.namespace);
  diagnostics.push(...checked.diagnostics);
  const planned = checked.objects.map((o) => ({ ...o, namespace: o.namespace ?? fallback }));
  if (diagnostics.some((d) => d.severity === "error")) return { lines, diagnostics, counts, refused: 0, namespaces: [] };

  const served = new Map<string, Resource | null>();
  const missingKinds = new Set<string>();
  const resourceOf = async (m: Manifest, apiVersion: string, kind: string, report: boolean): Promise<Resource | null> => {
    const k = `${apiVersion}\0${kind}`;
    if (!served.has(k)) served.set(k, await api.resource(apiVersion, kind));
    const r = served.get(k)!;
    if (r === null && report && !missingKinds.has(`${m.spec.file}\0${k}`)) {
      missingKinds.add(`${m.spec.file}\0${k}`);
      diagnostics.push(
        locate(
          m,
          "KFM504",
          `The cluster (context \`${api.context}\`) does not serve ${kind} of ${apiVersion}, which ${m.file} holds: install what defines it (its CustomResourceDefinition; README, "Deploying") first.`,
          [],
        ),
      );
    }
    return r;
  };

  const applied = new Set<string>();
  let refused = 0;
  for (const { manifest, object, namespace, name } of planned) {
    const resource = await resourceOf(manifest, object.apiVersion, object.kind, true);
    if (resource === null) {
      refused++;
      continue;
    }
    const ns = resource.namespaced ? namespace : undefined;
    if (ns !== undefined) namespaces.add(ns);
    const path = pathOf(object.apiVersion, resource, ns, name);
    const ref = objectRef(object.apiVersion, object.kind, name);
    applied.add(keyOf(object.apiVersion, object.kind, ns ?? "", name));
    const live = await api.request("GET", path);
    if (live.status !== 200 && live.status !== 404) {
      diagnostics.push(...refusal(manifest, object, ref, { namespace: ns, context: api.context }, live, "read"));
      refused++;
      continue;
    }
    const query: Record<string, string> = { fieldManager: FIELD_MANAGER, fieldValidation: "Strict" };
    if (options.dryRun) query.dryRun = "All";
    if (options.forceConflicts) query.force = "true";
    const r = await api.request("PATCH", path, query, { type: "application/apply-patch+yaml", text: JSON.stringify(object) });
    for (const w of r.warnings) diagnostics.push(locate(manifest, "KFM506", `The API server warns about ${ref}: ${w}`, [], "warning"));
    if (r.status !== 200 && r.status !== 201) {
      diagnostics.push(...refusal(manifest, object, ref, { namespace: ns, context: api.context }, r, "apply"));
      refused++;
      continue;
    }
    let outcome: Outcome;
    let changes: string[] = [];
    if (live.status === 404) outcome = "created";
    else if (options.dryRun) {
      const all = differences(comparable(live.body), comparable(r.body));
      // Who manages which field is shown as one line, not as the managers' field sets.
      changes = all.filter((c) => !c.startsWith("metadata.managedFields"));
      if (changes.length < all.length) changes.push("metadata.managedFields (which field manager owns which fields)");
      outcome = changes.length === 0 ? "unchanged" : "configured";
    } else outcome = resourceVersion(live.body) === resourceVersion(r.body) ? "unchanged" : "configured";
    counts[outcome]++;
    lines.push(`${ref} ${outcome}${dry}`);
    const shown = changes.slice(0, MAX_CHANGES_SHOWN);
    for (const c of shown) lines.push(`  ${c}`);
    if (changes.length > shown.length) lines.push(`  ... and ${changes.length - shown.length} more`);
  }

  if (options.prune !== null && planned.length > 0) {
    if (refused > 0) {
      lines.push(`(nothing pruned: an object was refused, so what the workflow owns is not known for sure)`);
    } else {
      // Per namespace, each workflow's label value: what its objects carry.
      const owners = new Map<string, { manifest: Manifest; namespace: string; workflow: string; target: string | undefined }>();
      for (const p of planned) {
        const workflow = p.object.metadata.labels?.[options.labels.workflow];
        if (workflow === undefined) continue;
        const target = options.labels.target === undefined ? undefined : p.object.metadata.labels?.[options.labels.target];
        owners.set(`${p.namespace}\0${workflow}\0${target ?? ""}`, { manifest: p.manifest, namespace: p.namespace, workflow, target });
      }
      for (const m of new Set(planned.map((p) => p.manifest))) {
        if (![...owners.values()].some((o) => o.manifest === m))
          lines.push(`(nothing pruned for ${m.file}: its objects carry no ${options.labels.workflow} label to find what the workflow owned by)`);
      }
      for (const { manifest, namespace, workflow, target } of owners.values()) {
        // The target too, when the objects name it: another target's objects of the same workflow are not this one's.
        const selector = `${options.labels.managedBy[0]}=${options.labels.managedBy[1]},${options.labels.workflow}=${workflow}${
          target !== undefined && options.labels.target !== undefined ? `,${options.labels.target}=${target}` : ""
        }`;
        for (const kind of options.prune) {
          const resource = await resourceOf(manifest, kind.apiVersion, kind.kind, false);
          if (resource === null) continue;
          const ns = resource.namespaced ? namespace : undefined;
          const listed = await api.request("GET", pathOf(kind.apiVersion, resource, ns, undefined), { labelSelector: selector });
          if (listed.status !== 200) {
            diagnostics.push(
              ...refusal(
                manifest,
                { apiVersion: kind.apiVersion, kind: kind.kind, metadata: {} },
                objectRef(kind.apiVersion, kind.kind, ""),
                { namespace: ns, context: api.context },
                listed,
                "list",
              ),
            );
            continue;
          }
          const items = ((listed.body as { items?: { metadata?: { name?: string } }[] }).items ?? [])
            .map((i) => i.metadata?.name ?? "")
            .filter((n) => n !== "");
          for (const name of items.sort()) {
            if (applied.has(keyOf(kind.apiVersion, kind.kind, ns ?? "", name))) continue;
            const ref = objectRef(kind.apiVersion, kind.kind, name);
            const query: Record<string, string> = { propagationPolicy: "Background" };
            if (options.dryRun) query.dryRun = "All";
            const r = await api.request("DELETE", pathOf(kind.apiVersion, resource, ns, name), query);
            if (r.status === 404) continue; // gone meanwhile
            if (r.status !== 200 && r.status !== 202) {
              diagnostics.push(
                ...refusal(
                  manifest,
                  { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name } },
                  ref,
                  { namespace: ns, context: api.context },
                  r,
                  "delete",
                ),
              );
              continue;
            }
            counts.pruned++;
            lines.push(`${ref} pruned${dry}`);
          }
        }
      }
    }
  }
  // One cause can refuse every object alike (a namespace that does not exist): said once per spec.
  const seen = new Set<string>();
  const unique = diagnostics.filter((d) => {
    const key = `${d.file}\0${d.line}\0${d.column}\0${d.code}\0${d.message}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
  return { lines, diagnostics: unique, counts, refused, namespaces: [...namespaces].sort() };
}

/** How many changed fields a dry run lists under an object. */
const MAX_CHANGES_SHOWN = 10;

function pathOf(apiVersion: string, resource: Resource, namespace: string | undefined, name: string | undefined): string {
  const root = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${root}${ns}/${resource.name}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}

function resourceVersion(body: unknown): string | undefined {
  return (body as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
}

/**
 * An object as stored, less what every write changes whether or not anything else does: its
 * resource version and generation, and the times in its managed fields (who manages which
 * field stays: a dry run that would take a field over is a change).
 */
function comparable(body: unknown): unknown {
  const o = structuredClone(body) as { metadata?: Record<string, unknown> } | null;
  if (o?.metadata !== undefined) {
    delete o.metadata.resourceVersion;
    delete o.metadata.generation;
    const managed = o.metadata.managedFields;
    if (Array.isArray(managed)) o.metadata.managedFields = managed.map((m: Record<string, unknown>) => ({ ...m, time: undefined }));
  }
  return o;
}

/** The paths (`spec.templates[1].container.image`) at which two JSON values differ. */
export function differences(a: unknown, b: unknown, path = ""): string[] {
  if (Object.is(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const at = `${path}[${i}]`;
      if (i >= a.length || i >= b.length) out.push(at);
      else out.push(...differences(a[i], b[i], at));
    }
    return out;
  }
  if (isRecord(a) && isRecord(b)) {
    const out: string[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (a[k] === undefined && b[k] === undefined) continue;
      out.push(...differences(a[k], b[k], path === "" ? k : `${path}.${k}`));
    }
    return out;
  }
  return [path === "" ? "(the whole object)" : path];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A diagnostic about a manifest's spec, at `at` in it (the workflow itself when empty). */
function locate(m: Manifest, code: Code, message: string, at: SpecPath, severity: "error" | "warning" = "error"): Diagnostic {
  const where = at.length > 0 ? at : m.ir.at;
  return m.spec.locate(severity === "error" ? problem(code, message, where) : warning(code, message, where));
}

interface Status {
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly causes?: readonly { readonly field?: string; readonly message?: string; readonly reason?: string }[] };
}

/**
 * What the API server's refusal of an object means, as diagnostics located in its spec: one
 * per cause it names (field validation lists each field), at the job the field belongs to
 * when the field's path passes through a job's task or template.
 */
export function refusal(
  m: Manifest,
  object: KubeObject,
  ref: string,
  where: { readonly namespace: string | undefined; readonly context: string },
  r: Response,
  verb: "read" | "apply" | "list" | "delete",
): Diagnostic[] {
  const { namespace, context } = where;
  const status = (r.body ?? {}) as Status;
  const message = sentence(statusMessage(r.body));
  const inNs = namespace === undefined ? "" : ` in the namespace \`${namespace}\``;
  const kinds = `${ref.replace(/\/$/, "")}s`;
  const doing = {
    read: `reading ${ref}${inNs}`,
    apply: `applying ${ref}${inNs}`,
    list: `listing ${kinds}${inNs} (to prune)`,
    delete: `deleting ${ref}${inNs} (to prune it)`,
  }[verb];
  if (r.status === 403)
    return [locate(m, "KFM505", `The API server forbids ${doing}: ${message} Ask for a Role that allows it, or apply with another --context.`, [])];
  if (r.status === 404 && /namespaces? "[^"]*" not found/.test(message))
    return [
      locate(
        m,
        "KFM507",
        `The namespace \`${namespace ?? ""}\` does not exist in the cluster of the context \`${context}\`: create it first (kubectl create namespace), or give --namespace.`,
        [],
      ),
    ];
  if (r.status === 409 && verb === "apply" && /conflict/i.test(message)) {
    const causes = status.details?.causes ?? [];
    const fields = causes.map((c) => `${c.field ?? "?"} (${c.message ?? ""})`.replace(/ \(\)$/, ""));
    return [
      locate(
        m,
        "KFM501",
        `Another field manager has changed ${ref}${inNs}: ${fields.length > 0 ? fields.join("; ") : message}. The cluster's values differ from the spec's: apply with --force-conflicts to set the spec's again (kfm-compile then manages those fields), or change the spec to match.`,
        pathAt(m, object, causes[0]?.field),
      ),
    ];
  }
  const causes = (status.details?.causes ?? []).filter((c) => c.message !== undefined || c.field !== undefined);
  if (r.status === 422 && causes.length > 0) {
    return causes.map((c) =>
      locate(
        m,
        "KFM500",
        `The API server refused ${doing}: ${c.field === undefined ? "" : `${c.field}: `}${sentence(c.message ?? c.reason ?? "")}`,
        pathAt(m, object, c.field),
      ),
    );
  }
  // Strict field validation in server-side apply: the typed patch names the field
  // (k8s.io/apiserver pkg/endpoints/handlers/patch.go; structured-merge-diff typed/validate),
  // "... : .spec.bogus: field not declared in schema", and a strict decoding error names it as
  // `unknown field "spec.bogus"` (k8s.io/apimachinery pkg/runtime/serializer, strict errors).
  const field = /: (\.[^\s:]+): field not declared in schema/.exec(message)?.[1] ?? /unknown field "([^"]+)"/.exec(message)?.[1];
  return [locate(m, "KFM500", `The API server refused ${doing} (${r.status}): ${message}`, pathAt(m, object, field))];
}

/** The message of a `Status` body, or a short rendering of whatever came back. */
function statusMessage(body: unknown): string {
  if (isRecord(body) && typeof body.message === "string") return body.message;
  return body === null ? "(no body)" : JSON.stringify(body).slice(0, 300);
}

/** The server's message as a sentence, ending in a full stop (line breaks in it are escaped when printed). */
function sentence(text: string): string {
  const line = text.trim();
  return /[.!?]$/.test(line) ? line : `${line}.`;
}

/**
 * Where in the spec a field of a generated object comes from: the job whose task or
 * template the field's path passes through (an element whose `name` is the job's
 * Kubernetes name), else the workflow. Paths come as `spec.tasks[0].name`,
 * `.spec.templates[name="x"].container`, or `spec.tasks[0]`.
 */
export function pathAt(m: Manifest, object: KubeObject, field: string | undefined): SpecPath {
  if (field === undefined) return [];
  const jobs = new Map(m.ir.jobs.map((j) => [kubeName(j.name), j.at]));
  let node: unknown = object;
  let found: SpecPath = [];
  for (const step of field.replace(/^\./, "").matchAll(/([^.[\]]+)|\[(\d+)\]|\[([^=\]]+)="((?:[^"\\]|\\.)*)"\]/g)) {
    const [, key, index, selKey, selValue] = step;
    if (key !== undefined) node = isRecord(node) ? node[key] : undefined;
    else if (index !== undefined) node = Array.isArray(node) ? node[Number(index)] : undefined;
    else node = Array.isArray(node) ? node.find((e) => isRecord(e) && String(e[selKey!]) === selValue) : undefined;
    const name = isRecord(node) ? node.name : undefined;
    if (typeof name === "string" && jobs.has(name)) found = jobs.get(name)!;
    if (node === undefined) break;
  }
  return found;
}
