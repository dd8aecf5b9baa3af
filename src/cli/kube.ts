/**
 * The Kubernetes API, as `kfm-compile apply` uses it: the cluster and credentials of a
 * kubeconfig context, API discovery, and plain REST requests.
 *
 * `@kubernetes/client-node` reads the kubeconfig and authenticates (client certificates,
 * tokens, exec and OIDC plugins, proxies: `KubeConfig.applyToHTTPSOptions`); the requests
 * themselves are sent here, because its generic `KubernetesObjectApi.patch` serialises a
 * built-in kind (a CronJob, a ServiceAccount) through its typed model, which drops every
 * field the model does not know (client-node dist/object.js `patch` ->
 * `ObjectSerializer.serialize`), so a misspelt field would never reach the server's
 * strict field validation; and it has no `fieldValidation` parameter. The body sent is
 * the object as the generated file holds it, as JSON, which is what kubectl sends for
 * server-side apply (`application/apply-patch+yaml`, JSON being YAML).
 *
 * The package is imported here on first use only, so that no other command loads it
 * (it takes about half a second); the bundle leaves it out (scripts/bundle.ts).
 */
import { existsSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";

/** Why no request could be made, or none answered: one sentence, said once. */
export class ClusterError extends Error {}

/** A kubeconfig context the user asked for that the kubeconfig does not have: a usage error. */
export class UnknownContextError extends Error {
  constructor(
    readonly context: string,
    readonly contexts: readonly string[],
    readonly source: string,
  ) {
    super(`the kubeconfig (${source}) has no context '${context}'`);
  }
}

export interface Response {
  readonly status: number;
  /** The body parsed as JSON (a Kubernetes object or a `Status`), or null when it is not JSON. */
  readonly body: unknown;
  /** The API server's `Warning` headers (RFC 7234 warn-text), decoded. */
  readonly warnings: readonly string[];
}

/** Where a kind is served: its resource (plural) name and whether it lives in a namespace. */
export interface Resource {
  readonly name: string;
  readonly namespaced: boolean;
}

/** What apply needs of a cluster; tests give a fake. */
export interface KubeApi {
  /** The kubeconfig context in use. */
  readonly context: string;
  /** The API server's address. */
  readonly server: string;
  /** The context's namespace, when it names one. */
  readonly namespace: string | undefined;
  /** Where `apiVersion` serves `kind`, or null when the cluster does not serve it (a CRD not installed). */
  resource(apiVersion: string, kind: string): Promise<Resource | null>;
  request(
    method: "GET" | "PATCH" | "DELETE",
    path: string,
    query?: Record<string, string>,
    body?: { readonly type: string; readonly text: string },
  ): Promise<Response>;
}

/** How long one request may take, connecting included. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The kubeconfig files as kubectl finds them: `$KUBECONFIG` (a list, files that do not exist
 * left out, the first naming the current context), else `~/.kube/config`
 * (kubernetes/client-go tools/clientcmd/loader.go `NewDefaultClientConfigLoadingRules`);
 * inside a pod with neither, the pod's service account (`rest.InClusterConfig`).
 */
function kubeconfigFiles(env: Readonly<Record<string, string | undefined>>): { files: string[]; source: string } | { inCluster: true } | { none: string } {
  const listed = env.KUBECONFIG;
  if (listed !== undefined && listed !== "") {
    const files = listed.split(delimiter).filter((f) => f !== "");
    const present = files.filter((f) => existsSync(f));
    if (present.length === 0) return { none: `KUBECONFIG names ${files.join(delimiter)}, which does not exist` };
    return { files: present, source: present.join(delimiter) };
  }
  const home = env.HOME ?? homedir();
  const file = join(home, ".kube", "config");
  if (existsSync(file)) return { files: [file], source: file };
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token")) return { inCluster: true };
  return { none: `no kubeconfig: KUBECONFIG is not set and ${file} does not exist` };
}

/**
 * Connects to the cluster of the kubeconfig's current context, or of `context`. Nothing is
 * sent yet: an unreachable server is found by the first request.
 */
export async function connect(options: { context?: string; env: Readonly<Record<string, string | undefined>> }): Promise<KubeApi> {
  const found = kubeconfigFiles(options.env);
  if ("none" in found)
    throw new ClusterError(
      `${found.none}; name the cluster's kubeconfig with KUBECONFIG, or write ~/.kube/config (kubectl config set-cluster, set-credentials, set-context).`,
    );
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  const source = "inCluster" in found ? "this pod's service account" : found.source;
  try {
    if ("inCluster" in found) kc.loadFromCluster();
    else {
      kc.loadFromFile(found.files[0]!);
      // kubectl's merge: the first file naming a current context, and the first definition of a name, win.
      for (const file of found.files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(file);
        if (!kc.getCurrentContext()) kc.setCurrentContext(more.getCurrentContext());
        for (const c of more.getClusters()) if (kc.getCluster(c.name) === null) kc.addCluster(c);
        for (const u of more.getUsers()) if (kc.getUser(u.name) === null) kc.addUser(u);
        for (const c of more.getContexts()) if (kc.getContextObject(c.name) === null) kc.addContext(c);
      }
    }
  } catch (e) {
    throw new ClusterError(`the kubeconfig (${source}) cannot be read: ${(e as Error).message.split("\n")[0]}`);
  }
  if (options.context !== undefined) {
    const contexts = kc.getContexts().map((c) => c.name);
    if (!contexts.includes(options.context)) throw new UnknownContextError(options.context, contexts, source);
    kc.setCurrentContext(options.context);
  }
  const context = kc.getCurrentContext();
  const contextObject = context === "" ? null : kc.getContextObject(context);
  if (contextObject === null) {
    const names = kc.getContexts().map((c) => c.name);
    throw new ClusterError(
      `the kubeconfig (${source}) has no current context${context === "" ? "" : ` ('${context}' is not one of its contexts)`}; give --context${names.length > 0 ? ` (its contexts: ${names.join(", ")})` : ""}.`,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null)
    throw new ClusterError(
      `the context '${context}' of the kubeconfig (${source}) names the cluster '${contextObject.cluster}', which the kubeconfig does not define.`,
    );
  return new Api(kc, context, cluster.server, contextObject.namespace);
}

class Api implements KubeApi {
  private readonly discovered = new Map<string, Promise<readonly { name: string; kind: string; namespaced: boolean }[] | null>>();
  private prepared: Promise<RequestOptions> | undefined;

  constructor(
    private readonly kc: KubeConfig,
    readonly context: string,
    readonly server: string,
    readonly namespace: string | undefined,
  ) {}

  /** The TLS settings, agent and credentials of the context, made once (an exec plugin runs once). */
  private options(): Promise<RequestOptions> {
    this.prepared ??= (async () => {
      const opts: RequestOptions = { headers: {} };
      try {
        await this.kc.applyToHTTPSOptions(opts);
      } catch (e) {
        throw new ClusterError(`the credentials of the context '${this.context}' cannot be used: ${(e as Error).message}`);
      }
      return opts;
    })();
    return this.prepared;
  }

  async resource(apiVersion: string, kind: string): Promise<Resource | null> {
    let list = this.discovered.get(apiVersion);
    if (list === undefined) {
      list = (async () => {
        const r = await this.request("GET", apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
        if (r.status === 404) return null;
        if (r.status !== 200)
          throw new ClusterError(`the API server answered ${r.status} to its discovery of ${apiVersion}: ${JSON.stringify(r.body).slice(0, 300)}`);
        const resources = (r.body as { resources?: { name: string; kind: string; namespaced: boolean }[] }).resources ?? [];
        // Subresources (`workflows/status`) name the kind of their parent too.
        return resources.filter((x) => !x.name.includes("/"));
      })();
      this.discovered.set(apiVersion, list);
    }
    const found = (await list)?.find((x) => x.kind === kind);
    return found === undefined ? null : { name: found.name, namespaced: found.namespaced };
  }

  async request(
    method: "GET" | "PATCH" | "DELETE",
    path: string,
    query: Record<string, string> = {},
    body?: { type: string; text: string },
  ): Promise<Response> {
    const base = await this.options();
    const url = new URL(this.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const headers: Record<string, string | string[] | number> = { ...(base.headers as Record<string, string>), Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = body.type;
      headers["Content-Length"] = Buffer.byteLength(body.text);
    }
    const send = url.protocol === "http:" ? httpRequest : httpsRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, { ...base, method, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => reject(this.unreachable(e)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = null;
          }
          const status = res.statusCode ?? 0;
          if (status === 401) {
            reject(new ClusterError(`the API server at ${this.server} did not accept the credentials of the context '${this.context}' (401 Unauthorized).`));
            return;
          }
          resolve({ status, body: parsed ?? (text === "" ? null : { message: text.slice(0, 500) }), warnings: warningsOf(res.headers) });
        });
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: "ETIMEDOUT" })));
      req.on("error", (e) => reject(this.unreachable(e)));
      req.end(body?.text);
    });
  }

  private unreachable(e: Error & { code?: string }): ClusterError {
    if (e instanceof ClusterError) return e;
    return new ClusterError(
      `cannot reach the API server at ${this.server} (context '${this.context}'): ${e.code !== undefined && !e.message.includes(e.code) ? `${e.code}: ` : ""}${e.message}.`,
    );
  }
}

/**
 * The warn-text of each `Warning: 299 - "text"` header (RFC 7234 §5.5; k8s.io/apiserver
 * pkg/endpoints/handlers/responsewriters/warning.go writes them so, escaping `"` and `\`).
 */
export function warningsOf(headers: IncomingHttpHeaders): string[] {
  const raw = headers.warning;
  if (raw === undefined) return [];
  const values = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const value of values) {
    for (const m of value.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, "$1"));
  }
  return out;
}
