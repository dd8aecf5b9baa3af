import { relative } from "node:path";
import { hasErrors } from "../../diagnostics.js";
import { compileSelection } from "../../project.js";
import { VERSION } from "../../version.js";
import { findOrphans, removeOrphans, writeOutputs } from "../../write.js";
import { EXIT_INVALID, EXIT_OK, parse, report, UsageError, type Command } from "../common.js";
import { PROJECT_OPTIONS, select } from "../project.js";

/** Compiling is what `kfm-compile <spec>...` does; its help is the main help (see ../index.ts). */
export const compileCommand: Command = {
  name: "compile",
  summary: "kfm-compile [<spec>... --target <name|all> [--out DIR]] [--config FILE] [--force] [--prune]",
  help: "",
  run(args, io) {
    const { values, positionals } = parse(args, {
      ...PROJECT_OPTIONS,
      force: { type: "boolean" },
      prune: { type: "boolean" },
      version: { type: "boolean", short: "v" },
    });
    if (values.version) {
      io.stdout(`${VERSION}\n`);
      return EXIT_OK;
    }
    const selected = select(values, positionals, io);
    if (selected.mode === "invalid") {
      report(selected.diagnostics, "text", io);
      return EXIT_INVALID;
    }
    const { selection } = selected;
    const toStdout = selected.mode === "args" && selected.out === undefined;
    if (toStdout && (positionals.length > 1 || selection.targets.length > 1)) {
      throw new UsageError("--out is required when compiling more than one spec or for more than one target.");
    }
    if (toStdout && values.prune) throw new UsageError("--prune needs an output folder (--out, or a config).");

    const { outputs, diagnostics } = compileSelection(selection);
    diagnostics.unshift(...selected.diagnostics);
    report(diagnostics, "text", io);
    if (hasErrors(diagnostics)) return EXIT_INVALID;
    if (toStdout) {
      io.stdout(outputs[0]!.text);
      return EXIT_OK;
    }
    const written = writeOutputs(selection.base, outputs, { force: values.force === true });
    for (const r of written.refused) io.stderr(`kfm-compile: ${r}\n`);
    if (written.refused.length > 0) return EXIT_INVALID;
    if (values.prune) {
      const orphans = findOrphans(
        selection.base,
        selection.targets.map((t) => t.folder),
        new Set(outputs.map((o) => o.path)),
        selection.claims,
      );
      const { removed } = removeOrphans(selection.base, orphans);
      const shown = (p: string) => relative(io.cwd, `${selection.base}/${p}`) || p;
      for (const p of removed) io.stderr(`kfm-compile: removed ${shown(p)} (generated, and no compiled spec writes it any more)\n`);
    }
    return EXIT_OK;
  },
};
