/**
 * The three YAML readers our output meets, each reading many files in one process:
 * - the `yaml` package (YAML 1.1 and 1.2), in process;
 * - PyYAML (`yaml.safe_load_all`, what Python tooling and the Airflow side use), through
 *   `python3` (or $KFM_PYYAML_PYTHON), when it imports `yaml`;
 * - `sigs.k8s.io/yaml` (go-yaml v2: kubectl, the argo CLI, controllers, the API server),
 *   through conformance/go/k8syaml (built by conformance/setup.sh), which also decodes
 *   each container of a Kubernetes object into corev1.Container and replays server-side
 *   apply. `npm test` does without it; the conformance suite runs it.
 * Each reading is plain JSON data; a value no JSON holds (a date, NaN) is tagged
 * `{ $tag: ... }` so it can never equal the string we meant.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";

export type Reading = { readonly ok: true; readonly docs: readonly unknown[] } | { readonly ok: false; readonly error: string };

/** The `yaml` package, strict: any error or warning is a refusal. */
export function readYamlPackage(text: string, version: "1.1" | "1.2"): Reading {
  const docs = YAML.parseAllDocuments(text, { version, uniqueKeys: true });
  const out: unknown[] = [];
  for (const d of docs) {
    const problem = d.errors[0] ?? d.warnings[0];
    if (problem !== undefined) return { ok: false, error: problem.message };
    out.push(tagged(d.toJS({ maxAliasCount: -1 })));
  }
  return { ok: true, docs: out };
}

/** JS values as the other readers report them: non-JSON scalars tagged. */
function tagged(v: unknown): unknown {
  if (v instanceof Date) return { $tag: "timestamp" };
  if (typeof v === "number" && !Number.isFinite(v)) return { $tag: String(v) };
  if (Array.isArray(v)) return v.map(tagged);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tagged(x)]));
  return v;
}

const PYYAML_READER = String.raw`
import json, math, sys, yaml
def tag(v):
    if isinstance(v, dict): return {str(k) if isinstance(k, str) else json.dumps(["$key", repr(k)]): tag(x) for k, x in v.items()}
    if isinstance(v, list): return [tag(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str): return v
    if isinstance(v, int): return v
    if isinstance(v, float): return v if math.isfinite(v) else {"$tag": repr(v)}
    return {"$tag": type(v).__name__}
out = []
for text in json.load(sys.stdin):
    try: out.append({"ok": True, "docs": [tag(d) for d in yaml.safe_load_all(text)]})
    except Exception as e: out.append({"ok": False, "error": type(e).__name__ + ": " + str(e)})
sys.stdout.write(json.dumps(out))
`;

let pyyaml: string | null | undefined;

/** The Python that has PyYAML, or null. */
export function pyyamlPython(): string | null {
  if (pyyaml === undefined) {
    const python = process.env.KFM_PYYAML_PYTHON ?? "python3";
    pyyaml = spawnSync(python, ["-c", "import yaml"], { encoding: "utf8" }).status === 0 ? python : null;
  }
  return pyyaml;
}

/** PyYAML's `safe_load_all` of each text, in one process. */
export function readPyYaml(texts: readonly string[], python = pyyamlPython()): Reading[] {
  if (texts.length === 0) return [];
  if (python === null) throw new Error("no Python with PyYAML (set KFM_PYYAML_PYTHON)");
  const r = spawnSync(python, ["-c", PYYAML_READER], { input: JSON.stringify(texts), maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`PyYAML reader failed: ${r.stderr?.toString()}`);
  return JSON.parse(r.stdout.toString("ascii")) as Reading[];
}

export interface K8sDoc {
  /** The document as sigs.k8s.io/yaml's YAMLToJSONStrict gives it. */
  readonly json?: unknown;
  readonly error?: string;
  /** Each container of a Kubernetes object, decoded into corev1.Container. */
  readonly containers?: readonly { readonly path: string; readonly json?: unknown; readonly error?: string }[];
  /** Server-side apply: the object as the API server reads kubectl's JSON body. */
  readonly applied?: unknown;
  readonly applyError?: string;
}

export interface K8sFile {
  readonly docs: readonly K8sDoc[];
  readonly error?: string;
}

/** The k8syaml helper in the conformance cache, or null when it is not built. */
export function k8syamlBinary(cache: string): string | null {
  const bin = join(cache, "bin", "k8syaml");
  return existsSync(bin) ? bin : null;
}

/** sigs.k8s.io/yaml's reading of each text, in one process. */
export function readK8sYaml(binary: string, texts: readonly string[]): K8sFile[] {
  if (texts.length === 0) return [];
  const r = spawnSync(binary, [], { input: texts.map((t) => JSON.stringify(t)).join("\n") + "\n", maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`k8syaml failed: ${r.stderr?.toString()}`);
  const lines = r.stdout
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "");
  if (lines.length !== texts.length) throw new Error(`k8syaml answered ${lines.length} files for ${texts.length}`);
  return lines.map((l) => JSON.parse(l) as K8sFile);
}
