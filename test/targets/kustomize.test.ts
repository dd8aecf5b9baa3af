/**
 * The Kustomize base of a Kubernetes output folder (targets/kustomize.ts). Whether Kustomize
 * really builds it under an overlay is test/conformance/kustomize.conformance.test.ts
 * (Kustomize's own library); here, fast and without it: the files' shape, and that every
 * image field a target writes for any spec is one Kustomize's images transformer reaches,
 * by itself or through the target's field specs, so that a new image field in an emitter
 * fails here before it reaches a cluster with the old image.
 */
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { analyze, compileFor } from "../../src/compile.js";
import { TARGETS } from "../../targets/index.js";
import { ARGO_IMAGE_FIELDS, KUSTOMIZATION_FILE, KUSTOMIZE_CONFIG_FILE, kustomizeBase, TEKTON_IMAGE_FIELDS, type ImageField } from "../../targets/kustomize.js";
import { readSpec, specFiles } from "../matrix.js";

const IMAGE_FIELDS: Record<string, readonly ImageField[]> = { argo: ARGO_IMAGE_FIELDS, tekton: TEKTON_IMAGE_FIELDS };

/** Every `image` string of an object, with its path (list items as `[]`). */
function imagePaths(v: unknown, path: string[] = []): string[][] {
  if (Array.isArray(v)) return v.flatMap((item) => imagePaths(item, [...path.slice(0, -1), `${path.at(-1)}[]`]));
  if (typeof v !== "object" || v === null) return [];
  return Object.entries(v).flatMap(([k, item]) => (k === "image" && typeof item === "string" ? [[...path, k]] : imagePaths(item, [...path, k])));
}

/**
 * Whether Kustomize's images transformer rewrites the image at `path` of an object of this
 * group and kind: an `image` of an item of any `containers` or `initContainers` list
 * (kustomize api/filters/imagetag/legacy.go, which runs first), or a field spec of the
 * target's (api/filters/fieldspec/fieldspec.go: a list is walked item by item).
 */
function reached(group: string, kind: string, path: readonly string[], fields: readonly ImageField[]): boolean {
  const parent = path.at(-2);
  if (parent === "containers[]" || parent === "initContainers[]") return true;
  const plain = path.map((p) => p.replace(/\[\]$/, "")).join("/");
  return fields.some((f) => f.group === group && f.kind === kind && f.path.replace(/\[\]/g, "") === plain);
}

describe("every image a Kubernetes target writes is reachable by an overlay's images:", () => {
  for (const target of TARGETS.filter((t) => t.name in IMAGE_FIELDS)) {
    it(`${target.name}: every image field of every spec's output`, () => {
      const unreached = new Set<string>();
      let seen = 0;
      for (const spec of specFiles()) {
        const a = analyze(spec, readSpec(spec));
        const out = compileFor(a, target).output;
        if (out === null) continue;
        for (const doc of parseAllDocuments(out.text)) {
          const o = doc.toJS() as { apiVersion?: string; kind?: string } | null;
          if (o?.kind === undefined) continue;
          const group = o.apiVersion?.includes("/") ? o.apiVersion.split("/")[0]! : "";
          for (const path of imagePaths(o)) {
            seen++;
            if (!reached(group, o.kind, path, IMAGE_FIELDS[target.name]!)) unreached.add(`${group}/${o.kind} ${path.join("/")}`);
          }
        }
      }
      expect(seen).toBeGreaterThan(0);
      expect([...unreached], `image fields no Kustomize field spec reaches: add them to the ${target.name} image fields`).toEqual([]);
    });
  }
});

describe("the Kustomize base files", () => {
  const [kustomization, config] = kustomizeBase(["b.yaml", "a.yaml", KUSTOMIZATION_FILE, KUSTOMIZE_CONFIG_FILE, "a.yaml"], ARGO_IMAGE_FIELDS);

  it("list every other file of the folder once, in order, and name the image field specs", () => {
    expect(kustomization!.name).toBe("kustomization.yaml");
    expect(parseAllDocuments(kustomization!.body)[0]!.toJS()).toEqual({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["a.yaml", "b.yaml"],
      configurations: ["kustomizeconfig.yaml"],
    });
  });

  it("hold the image field specs as Kustomize reads them, never creating a field", () => {
    expect(config!.name).toBe("kustomizeconfig.yaml");
    expect(parseAllDocuments(config!.body)[0]!.toJS()).toEqual({ images: ARGO_IMAGE_FIELDS.map((f) => ({ path: f.path, group: f.group, kind: f.kind })) });
  });
});
