import { hasErrors } from "../../diagnostics.js";
import { compileSelection } from "../../project.js";
import { analyzeAll, EXIT_INVALID, EXIT_OK, parse, printedHelp, report, UsageError, type Command } from "../common.js";
import { progress } from "../progress.js";
import { PROJECT_OPTIONS, projectOf, select } from "../project.js";

export const validateCommand: Command = {
  name: "validate",
  summary: "kfm-compile validate [<spec>...] [--target <name|all>] [--out DIR] [--config FILE] [--format text|json]",
  help: `Usage: kfm-compile validate [<spec>...] [--target <name|all>] [--out DIR] [--config FILE] [--format text|json]

Says everything compiling the same command line would say, and writes nothing: the
specs' problems, each target's refusals (KFM301, KFM220 and the rest), outputs too
large for a runner (KFM302), and workflows that would collide in a folder or on a
runner (KFM208). It reads the project as compiling does: with no spec, the project of
kfm.config.yaml (in this folder or a folder above it, or --config FILE); with specs
inside a project, those specs for their configured targets (--target narrows them).
Spec files with no project, or with --out DIR, are checked for the targets --target
names; without --target, only the specs themselves are checked.
Every problem is printed, one per line:
  path:line:col: error CODE: sentence
--format json prints {"diagnostics":[{"file","line","column","severity","code","message"}]}.
On a terminal, a run over many specs that takes more than a second shows its progress.
Exit status: 0 valid, 1 problems found, 2 usage error.
`,
  run(args, io) {
    const { values, positionals } = parse(args, { ...PROJECT_OPTIONS, format: { type: "string", default: "text" } });
    if (printedHelp(values, this, io)) return EXIT_OK;
    const format = values.format;
    if (format !== "text" && format !== "json") throw new UsageError(`--format is text or json, not '${String(format)}'.`);
    const line = progress(io, { quiet: false });
    const explicit = positionals.length > 0 && values.target === undefined;
    const { root, project, diagnostics: configDiagnostics } = explicit ? projectOf(values, io) : { root: io.cwd, project: null, diagnostics: [] };
    if (explicit && (project === null || values.out !== undefined)) {
      // Specs alone: compiling them needs --target, so there are no targets to check.
      const { diagnostics } = analyzeAll(positionals, io, root, undefined, (done, total) => line.update("validating", done, total, "specs"));
      line.end();
      const all = [...configDiagnostics, ...diagnostics];
      report(all, format, io);
      return hasErrors(all) ? EXIT_INVALID : EXIT_OK;
    }
    const selected = select(values, positionals, io);
    const diagnostics = [...selected.diagnostics];
    if (selected.mode !== "invalid")
      diagnostics.push(...compileSelection({ ...selected.selection, progress: (stage, done, total) => line.update(stage, done, total, "specs") }).diagnostics);
    line.end();
    report(diagnostics, format, io);
    return hasErrors(diagnostics) ? EXIT_INVALID : EXIT_OK;
  },
};
