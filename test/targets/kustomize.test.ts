/**
 * The Kustomize base of a Kubernetes output folder (option `kustomization`, targets/kubernetes.ts
 * `kustomizeBase`). Whether Kustomize
 * really builds it under an overlay is test/conformance/kustomize.conformance.test.ts
 * (Kustomize's own library); here, fast and without it: the files' shape, and that every
 * image field a target writes for any spec is one Kustomize's images transformer reaches,
 * by itself or through the target's field specs, so that a new image field in an emitter
 * fails here before it reaches a cluster with the old image.
 */
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { analyze, compileFor } from "../../src/compile.js";
import { headerLinesFor, readHeader } from "../../src/header.js";
import { defaultOptions } from "../../src/options.js";
import { TARGETS } from "../../targets/index.js";
import { KUSTOMIZATION_FILE, KUSTOMIZE_CONFIG_FILE, type ImageField } from "../../targets/kubernetes.js";
import type { Target } from "../../targets/types.js";
import { readSpec, specFiles } from "../matrix.js";

const KUBERNETES = TARGETS.filter((t) => "kustomization" in t.options);
const HEADER = headerLinesFor("t", "(the workflows of this folder)");

/** The target's folder files for these output files, with the option on (or as given). */
function folderFiles(target: Target, files: readonly string[], kustomization = true) {
  const entries = files.map((file) => ({ file, workflow: file.replace(/\.yaml$/, "") }));
  return target.folderFiles!(entries, { ...defaultOptions(target.options), kustomization }, HEADER);
}

/** The field specs of the target's kustomizeconfig.yaml. */
function imageFields(target: Target): ImageField[] {
  const config = folderFiles(target, ["w.yaml"]).find((f) => f.name === "kustomizeconfig.yaml")!;
  return (parseAllDocuments(config.text)[0]!.toJS() as { images: ImageField[] }).images;
}

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
  it("the Kubernetes targets take the option", () => {
    expect(KUBERNETES.map((t) => t.name).sort()).toEqual(["argo", "tekton"]);
  });

  for (const target of KUBERNETES) {
    it(`${target.name}: every image field of every spec's output`, () => {
      const fields = imageFields(target);
      const unreached = new Set<string>();
      let seen = 0;
      // Every spec's output, and the folder's own files (a shared StepAction holds an image too).
      const texts = [
        ...specFiles().map((spec) => compileFor(analyze(spec, readSpec(spec)), target).output?.text ?? ""),
        ...folderFiles(target, ["w.yaml"], false).map((f) => f.text),
      ];
      for (const text of texts) {
        for (const doc of parseAllDocuments(text)) {
          const o = doc.toJS() as { apiVersion?: string; kind?: string } | null;
          if (o?.kind === undefined) continue;
          const group = o.apiVersion?.includes("/") ? o.apiVersion.split("/")[0]! : "";
          for (const path of imagePaths(o)) {
            seen++;
            if (!reached(group, o.kind, path, fields)) unreached.add(`${group}/${o.kind} ${path.join("/")}`);
          }
        }
      }
      expect(seen).toBeGreaterThan(0);
      expect([...unreached], `image fields no Kustomize field spec reaches: add them to the ${target.name} image fields`).toEqual([]);
    });
  }
});

describe.each(KUBERNETES)("the Kustomize base files of $name", (target) => {
  it("are written only with the option", () => {
    const kustomize = (on: boolean) => folderFiles(target, ["a.yaml"], on).filter((f) => f.name === KUSTOMIZATION_FILE || f.name === KUSTOMIZE_CONFIG_FILE);
    expect(kustomize(false)).toEqual([]);
    expect(kustomize(true).map((f) => f.name)).toEqual([KUSTOMIZATION_FILE, KUSTOMIZE_CONFIG_FILE]);
    expect(defaultOptions(target.options).kustomization).toBe(false);
  });

  it("carry the generated-file header, so check and --prune know them", () => {
    for (const f of folderFiles(target, ["a.yaml"])) expect(readHeader(f.text), f.name).toMatchObject({ target: "t", from: "(the workflows of this folder)" });
  });

  it("list every other file of the folder once, in order, and name the transformer config", () => {
    const files = folderFiles(target, ["b.yaml", "a.yaml", "kustomization.yaml", "kustomizeconfig.yaml", "a.yaml"]);
    const kustomization = files.find((f) => f.name === KUSTOMIZATION_FILE);
    // The folder's other files (Tekton's shared StepActions) are resources of the base too.
    const shared = files.map((f) => f.name).filter((n) => n !== KUSTOMIZATION_FILE && n !== KUSTOMIZE_CONFIG_FILE);
    expect(parseAllDocuments(kustomization!.text)[0]!.toJS()).toEqual({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["a.yaml", "b.yaml", ...shared].sort(),
      configurations: ["kustomizeconfig.yaml"],
    });
  });

  it("hold image field specs only, never creating a field", () => {
    const fields = imageFields(target);
    expect(fields.length).toBeGreaterThan(0);
    for (const f of fields) expect(Object.keys(f).sort()).toEqual(["group", "kind", "path"]);
  });
});
