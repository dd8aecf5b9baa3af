import { hasErrors, safeText, suggestion } from "../../diagnostics.js";
import type { Analysis, Output } from "../../compile.js";
import { compileSelection } from "../../project.js";
import { parseYamlStream } from "../../yaml.js";
import { applyManifests, preflight, type KubeObject, type Manifest } from "../apply.js";
import { EXIT_INVALID, EXIT_OK, parse, printedHelp, report, UsageError, type Command } from "../common.js";
import { PROJECT_OPTIONS, select } from "../project.js";
import { APPLY_TARGETS, WORKFLOW_LABELS } from "../../../targets/kubernetes-apply.js";
import { DNS1123_LABEL } from "../../../targets/kubernetes.js";

const USAGE =
  "kfm-compile apply [<spec>...] --target <argo|tekton> [--config FILE] [--context C] [--namespace N] [--dry-run=server] [--prune] [--option NAME=VALUE] [--force-conflicts]";

export const applyCommand: Command = {
  name: "apply",
  summary: USAGE,
  help: `Usage: ${USAGE}

Compiles as kfm-compile does (the specs given, or the project of kfm.config.yaml here
or above, or --config FILE) and applies every object of every compiled file, the
accounts and roles included, to the cluster of the current kubeconfig context (or
--context C), with server-side apply: field manager kfm-compile, strict field
validation (a field the cluster's schema does not know is an error, not dropped).
Nothing is written to disk, and runs (the runs folder's files) are not applied: create
them with kubectl create -f.
A line per object goes to standard output, as kubectl prints it:
  workflowtemplate.argoproj.io/daily-sales created      (it did not exist)
  serviceaccount/daily-sales-workflow configured        (a field changed)
  rolebinding.rbac.authorization.k8s.io/... unchanged   (the cluster already held it)
  pipeline.tekton.dev/old-name pruned                   (with --prune)
then a summary on standard error. What the API server refuses is reported as
diagnostics at the spec's workflow, or at the job a refused field belongs to
(KFM500-KFM507); an object refused does not stop the others.

Options:
  -t, --target <name>    argo or tekton (one target)
  -c, --config <FILE>    project config (default: kfm.config.yaml here or above)
      --context <C>      the kubeconfig context to use (default: its current context)
  -n, --namespace <N>    the namespace of objects the files place in none (default: the
                         context's namespace, else default); a file that places an
                         object elsewhere (the target's namespace option) is refused
      --dry-run=server   the API server's dry run: every check and admission, nothing
                         stored; prints what would change, and under each configured
                         object the fields that would
      --prune            delete objects a compiled workflow owned (labelled
                         app.kubernetes.io/managed-by=kfm-compile and
                         kfm-compile.dev/workflow=<its name>, of the kinds the target
                         writes) that its files no longer hold; nothing is pruned
                         when an object was refused
      --option <N=V>     a deployment option of the target, as for compiling
                         (repeatable; README, "Deploying")
      --force-conflicts  take over fields another field manager changed (KFM501)
                         instead of refusing the object
The kubeconfig is found as kubectl finds it: KUBECONFIG, else ~/.kube/config.
Exit status: 0 every object applied, 1 invalid specs, an object refused, or no cluster
reached (one line saying why), 2 usage error.
`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      target: PROJECT_OPTIONS.target,
      config: PROJECT_OPTIONS.config,
      option: PROJECT_OPTIONS.option,
      context: { type: "string" },
      namespace: { type: "string", short: "n" },
      "dry-run": { type: "string" },
      prune: { type: "boolean" },
      "force-conflicts": { type: "boolean" },
    });
    if (printedHelp(values, this, io)) return EXIT_OK;
    const names = Object.keys(APPLY_TARGETS);
    const targets = ((values.target as string[] | undefined) ?? []).flatMap((t) => t.split(",")).map((t) => t.trim());
    if (targets.length !== 1) throw new UsageError(`apply takes one --target: ${names.join(" or ")}.`);
    const target = targets[0]!;
    if (!Object.hasOwn(APPLY_TARGETS, target)) {
      throw new UsageError(`apply is for targets whose files are Kubernetes objects (${names.join(", ")}), not '${target}'.${suggestion(target, names)}`);
    }
    const dryRun = values["dry-run"] as string | undefined;
    if (dryRun !== undefined && dryRun !== "server" && dryRun !== "none")
      throw new UsageError(`--dry-run is server (the API server's dry run), not '${dryRun}'; to see the files themselves, compile them.`);
    const namespace = values.namespace as string | undefined;
    if (namespace !== undefined && !DNS1123_LABEL.test(namespace))
      throw new UsageError(`--namespace '${namespace}' is not a namespace name (lower-case letters, digits and '-', at most 63).`);

    const selected = select({ ...values, target: [target] }, positionals, io);
    if (selected.mode === "invalid") {
      report(selected.diagnostics, "text", io);
      return EXIT_INVALID;
    }
    // The folder's shared objects too, whichever specs are named: a workflow's objects may use them.
    const { outputs, diagnostics, sources } = compileSelection({ ...selected.selection, whole: true });
    diagnostics.unshift(...selected.diagnostics);
    if (hasErrors(diagnostics)) {
      report(diagnostics, "text", io);
      return EXIT_INVALID;
    }
    const manifests = toManifests(outputs, sources);
    // What needs no cluster is said before one is looked for.
    const early = preflight(manifests, namespace).diagnostics;
    if (hasErrors(early)) {
      report([...diagnostics, ...early], "text", io);
      return EXIT_INVALID;
    }

    // Loaded only now: no other command pays for the Kubernetes client.
    const { ClusterError, UnknownContextError, connect } = await import("../kube.js");
    let applied;
    let api;
    try {
      api = await connect({ context: values.context as string | undefined, env: io.env ?? process.env });
      applied = await applyManifests(api, manifests, {
        namespace,
        dryRun: dryRun === "server",
        prune: values.prune === true ? APPLY_TARGETS[target]!.kinds : null,
        forceConflicts: values["force-conflicts"] === true,
        labels: WORKFLOW_LABELS,
      });
    } catch (e) {
      if (e instanceof UnknownContextError)
        throw new UsageError(`${e.message}.${suggestion(e.context, e.contexts)}${e.contexts.length > 0 ? ` Its contexts: ${e.contexts.join(", ")}.` : ""}`);
      if (e instanceof ClusterError) {
        report(diagnostics, "text", io);
        io.stderr(`kfm-compile apply: ${safeText(e.message)}\n`);
        return EXIT_INVALID;
      }
      throw e;
    }
    // Field paths under a dry run's objects may hold keys from the cluster (annotations): safe text.
    if (applied.lines.length > 0) io.stdout(applied.lines.map((l) => `${safeText(l)}\n`).join(""));
    report([...diagnostics, ...applied.diagnostics], "text", io);
    const { counts } = applied;
    const total = counts.created + counts.configured + counts.unchanged + applied.refused;
    const where = `context ${api.context}${applied.namespaces.length > 0 ? `, namespace ${applied.namespaces.join(", ")}` : ""}`;
    io.stderr(
      `kfm-compile apply${dryRun === "server" ? " (server dry run: nothing changed)" : ""}: ${total} object${total === 1 ? "" : "s"} (${where}): ` +
        `${counts.created} created, ${counts.configured} configured, ${counts.unchanged} unchanged${applied.refused > 0 ? `, ${applied.refused} refused` : ""}${values.prune === true ? `; ${counts.pruned} pruned` : ""}.\n`,
    );
    return hasErrors(applied.diagnostics) ? EXIT_INVALID : EXIT_OK;
  },
};

/**
 * The objects apply applies: those of each workflow's file and of the folder's shared files,
 * not runs (the runs folder's files are created with `kubectl create`), and not Kustomize's
 * own file (a `kustomization.yaml` is read by kustomize, never sent to the API server). A
 * folder file, which no one spec wrote, is located at the first spec of its folder.
 */
export function toManifests(outputs: readonly Output[], sources: ReadonlyMap<string, Analysis>): Manifest[] {
  const manifests: Manifest[] = [];
  for (const o of outputs) {
    if (o.role === "run") continue;
    const folder = o.path.includes("/") ? o.path.slice(0, o.path.lastIndexOf("/") + 1) : "";
    const a =
      sources.get(o.path) ?? [...sources.entries()].find(([p, x]) => p.startsWith(folder) && !p.slice(folder.length).includes("/") && x.ir !== null)?.[1];
    if (a?.ir == null) continue;
    const objects = parseYamlStream(o.text).filter(
      (d): d is KubeObject => d !== null && typeof d === "object" && !String((d as KubeObject).apiVersion).startsWith("kustomize.config.k8s.io/"),
    );
    if (objects.length > 0) manifests.push({ file: o.path, objects, spec: a.spec, ir: a.ir });
  }
  return manifests;
}
