import { safeJson } from "../../diagnostics.js";
import { TARGETS } from "../../../targets/index.js";
import { compileFor } from "../../compile.js";
import { explainTargets, explainText } from "../../explain.js";
import { usedFeatures } from "../../features.js";
import { defaultOptions } from "../../options.js";
import { resolve } from "node:path";
import { analyzeAll, EXIT_INVALID, EXIT_OK, lookupTarget, parse, printedHelp, report, UsageError, type Command } from "../common.js";
import { projectOf, withOptions } from "../project.js";

export const explainCommand: Command = {
  name: "explain",
  summary: "kfm-compile explain <spec> [--target <name>] [--config FILE] [--option NAME=VALUE] [--format text|json]",
  help: `Usage: kfm-compile explain <spec> [--target <name>] [--config FILE] [--option NAME=VALUE] [--format text|json]

Shows, for every feature the spec uses and for each target (or the one named), how
the target realises it: native field, a named emulation, or a refusal with the
diagnostic the compiler gives; then what the spec needs on that runner before it runs
there (versions, settings, accounts, Secrets and keys, environments, images, network
reach), for the project's options of the target and any --option NAME=VALUE (as when
compiling), and which options are set. docs/support-matrix.md is the same data for
every feature.
Inside a project (kfm.config.yaml here or above, or --config FILE) the targets shown
are those the project compiles the spec for; otherwise every target.
Exit status: 0 when every target shown compiles the spec, 1 when one refuses it or
the spec is invalid, 2 usage error.
`,
  run(args, io) {
    const { values, positionals } = parse(args, {
      target: { type: "string", short: "t" },
      config: { type: "string", short: "c" },
      option: { type: "string", multiple: true },
      format: { type: "string", default: "text" },
    });
    if (printedHelp(values, this, io)) return EXIT_OK;
    if (values.format !== "text" && values.format !== "json") throw new UsageError(`--format is text or json, not '${String(values.format)}'.`);
    if (positionals.length !== 1) throw new UsageError("explain takes exactly one spec file.");
    const chosen = values.target === undefined ? null : lookupTarget(values.target as string);
    const { root, project, diagnostics: configDiagnostics } = projectOf(values, io);
    if (project === null && configDiagnostics.length > 0) {
      report(configDiagnostics, "text", io);
      return EXIT_INVALID;
    }
    const path = resolve(io.cwd, positionals[0]!);
    const only = project?.only.get(path);
    const configured =
      project !== null && project.specs.includes(path) ? project.targets.map((t) => t.target).filter((t) => only?.includes(t.name) ?? true) : null;
    const targets = chosen !== null ? [chosen] : (configured ?? [...TARGETS]);
    const { analyses, diagnostics } = analyzeAll(positionals, io, root, { targets });
    const analysis = analyses[0];
    if (analysis === undefined || analysis.ir === null) {
      report(diagnostics, "text", io);
      return EXIT_INVALID;
    }
    const ir = analysis.ir;
    const used = usedFeatures(ir);
    // The project's options for each target (its namespace, accounts, images), then --option
    // over them as when compiling: what the spec needs depends on them.
    const selected = withOptions(
      targets.map((t) => ({ target: t, folder: "", runsFolder: "", options: project?.targets.find((p) => p.target.name === t.name)?.options })),
      values,
    );
    const optionsOf = (t: (typeof targets)[number]) => selected.find((p) => p.target.name === t.name)?.options;
    const explanations = explainTargets(
      used,
      targets,
      (t) => compileFor(analysis, t, optionsOf(t)).diagnostics.filter((d) => d.severity === "error"),
      (t) => t.prerequisites?.(ir, optionsOf(t)?.values ?? defaultOptions(t.options)) ?? [],
      (t) => optionsOf(t)?.given ?? {},
    );
    if (values.format === "json")
      io.stdout(safeJson(JSON.stringify({ workflow: ir.name, file: analysis.spec.file, features: used, targets: explanations }, null, 2)) + "\n");
    else io.stdout(explainText(ir.name, analysis.spec.file, used, explanations));
    return explanations.some((e) => e.refusals.length > 0) ? EXIT_INVALID : EXIT_OK;
  },
};
