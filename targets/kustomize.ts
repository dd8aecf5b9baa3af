/**
 * GitOps packaging for the Kubernetes targets (option `kustomization`): a Kustomize base in
 * each output folder, so that an overlay elsewhere in the repository (another namespace,
 * mirrored or pinned images) is what Argo CD, Flux or `kubectl apply -k` deploys.
 *
 * Two files per folder, written once from all its workflows:
 *
 * - `kustomization.yaml`: every file kfm-compile writes into the folder (`resources:`),
 *   and `configurations:` naming the second file;
 * - `kustomizeconfig.yaml`: the fields of the target's kinds that hold an image, for the
 *   images transformer. Kustomize reaches by itself only an `image` in an item of a
 *   `containers` or `initContainers` list (`api/filters/imagetag/legacy.go`) and the pod
 *   template paths of `api/internal/konfig/builtinpluginconsts/images.go`; an Argo
 *   template's `container` and a Tekton step are neither, so without this file an overlay's
 *   `images:` would leave them unchanged. A base's `configurations:` reach the overlays
 *   built on it: Kustomize merges the transformer config of each accumulated base into the
 *   overlay's (`api/internal/target/kusttarget.go`, `MergeAccumulator`).
 *
 * The `resources:` list is the folder's own files, so a file another tool puts there is not
 * deployed by accident, and a workflow removed from the project leaves the list with it.
 */
import { toYaml } from "../src/yaml.js";

/** The kustomization file's name: Kustomize looks for exactly this one (`konfig.RecognizedKustomizationFileNames`). */
export const KUSTOMIZATION_FILE = "kustomization.yaml";
/** The transformer configuration the kustomization names in `configurations:`. */
export const KUSTOMIZE_CONFIG_FILE = "kustomizeconfig.yaml";

/**
 * A field holding an image, as a Kustomize field spec (`api/types/fieldspec.go`): a
 * `/`-separated path from the object's root, `[]` marking a list whose every item is
 * visited (`api/filters/fieldspec/fieldspec.go`), for objects of one group and kind.
 * `create` stays false: a field kfm-compile did not write is never added.
 */
export interface ImageField {
  readonly group: string;
  readonly kind: string;
  readonly path: string;
}

/** One file of an output folder: its name in the folder, and its text without the generated-file header. */
export interface FolderFile {
  readonly name: string;
  readonly body: string;
}

/**
 * The Kustomize base of one output folder: `resources` are the names of the files
 * kfm-compile writes there (workflow files and any other folder file), `imageFields` where
 * the target's kinds hold images, `header` the comment lines each file starts with.
 */
export function kustomizeBase(resources: readonly string[], imageFields: readonly ImageField[]): FolderFile[] {
  const listed = [...new Set(resources)].filter((r) => r !== KUSTOMIZATION_FILE && r !== KUSTOMIZE_CONFIG_FILE).sort();
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: listed,
    configurations: [KUSTOMIZE_CONFIG_FILE],
  };
  const config = { images: imageFields.map((f) => ({ path: f.path, group: f.group, kind: f.kind })) };
  return [
    {
      name: KUSTOMIZATION_FILE,
      body:
        comment([
          "A Kustomize base: every file kfm-compile writes into this folder. Deploy an overlay",
          'that lists this folder in its `resources:` (README, Deploying, "GitOps: Kustomize',
          'base and overlays"), or this folder itself with `kubectl apply -k`.',
        ]) + toYaml(kustomization),
    },
    {
      name: KUSTOMIZE_CONFIG_FILE,
      body:
        comment([
          "Where these kinds hold images, for an overlay's `images:` (a Kustomize transformer",
          "configuration). Kustomize by itself rewrites only an `image` in a `containers` or",
          "`initContainers` list (kustomize api/filters/imagetag/legacy.go) and in pod templates",
          "(api/internal/konfig/builtinpluginconsts/images.go).",
        ]) + toYaml(config),
    },
  ];
}

function comment(lines: readonly string[]): string {
  return lines.map((l) => `# ${l}\n`).join("");
}

// TEMPORARY until the foundation's folderFiles hook: the field lists move to each target.
export const ARGO_IMAGE_FIELDS: readonly ImageField[] = [
  { group: "argoproj.io", kind: "WorkflowTemplate", path: "spec/templates[]/container/image" },
  { group: "argoproj.io", kind: "CronWorkflow", path: "spec/workflowSpec/templates[]/container/image" },
];
export const TEKTON_IMAGE_FIELDS: readonly ImageField[] = [
  { group: "tekton.dev", kind: "Pipeline", path: "spec/tasks[]/taskSpec/steps[]/image" },
  { group: "tekton.dev", kind: "Pipeline", path: "spec/finally[]/taskSpec/steps[]/image" },
];
