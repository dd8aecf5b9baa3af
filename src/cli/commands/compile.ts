import { relative } from "node:path";
import { findConfig } from "../../config/load.js";
import { hasErrors } from "../../diagnostics.js";
import { difference } from "../../check.js";
import { compileSelection, selectionFolders } from "../../project.js";
import { VERSION } from "../../version.js";
import { findOrphans, removeOrphans, writeOutputs } from "../../write.js";
import { EXIT_INVALID, EXIT_OK, parse, report, reportFiles, UsageError, type Command } from "../common.js";
import { progress } from "../progress.js";
import { PROJECT_OPTIONS, select } from "../project.js";

/**
 * Why a bare `kfm-compile` is a usage error: with neither specs nor a config there is
 * nothing to compile, and exiting 0 would let a CI step pass having compiled nothing.
 */
function nothingToCompile(cwd: string): UsageError {
  return new UsageError(
    `nothing to compile: no spec files given, and no kfm.config.yaml in ${cwd} or a folder above it (up to the repository root).`,
    "Give spec files and targets (kfm-compile pipeline.yaml --target argo --out deploy/),\n" +
      'or write a kfm.config.yaml naming the project\'s specs and targets (README, "Project config"),\n' +
      "or name one with --config FILE.",
  );
}

/** Names at most this many orphans in the line after a compile; `check` lists them all. */
const ORPHANS_NAMED = 3;

/** One line: the generated files no compiled spec writes any more, and how to remove them. */
export function orphanNote(paths: readonly string[]): string {
  const one = paths.length === 1;
  const named = paths.slice(0, ORPHANS_NAMED).join(", ");
  const more = paths.length > ORPHANS_NAMED ? ` and ${paths.length - ORPHANS_NAMED} more, which kfm-compile check lists` : "";
  return `kfm-compile: ${one ? "1 generated file" : `${paths.length} generated files`} in the output folders no longer ${one ? "has a spec that writes it" : "have a spec that writes them"} (${named}${more}); kfm-compile --prune removes ${one ? "it" : "them"}.\n`;
}

/** Compiling is what `kfm-compile <spec>...` does; its help is the main help (see ../index.ts). */
export const compileCommand: Command = {
  name: "compile",
  summary: "kfm-compile [<spec>... --target <name|all> [--out DIR]] [--config FILE] [--option NAME=VALUE] [--force] [--prune] [--quiet]",
  help: "",
  run(args, io) {
    const { values, positionals } = parse(args, {
      ...PROJECT_OPTIONS,
      force: { type: "boolean" },
      prune: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      version: { type: "boolean", short: "v" },
    });
    if (values.version) {
      io.stdout(`${VERSION}\n`);
      return EXIT_OK;
    }
    if (positionals.length === 0 && values.config === undefined && findConfig(io.cwd) === null) throw nothingToCompile(io.cwd);
    const quiet = values.quiet === true;
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

    const line = progress(io, { quiet });
    const { outputs, diagnostics } = compileSelection({ ...selection, progress: (step, done, total) => line.update(step, done, total, "specs") });
    line.end();
    diagnostics.unshift(...selected.diagnostics);
    report(diagnostics, "text", io);
    if (hasErrors(diagnostics)) return EXIT_INVALID;
    if (toStdout) {
      io.stdout(outputs[0]!.text);
      return EXIT_OK;
    }
    const shown = (p: string) => relative(io.cwd, `${selection.base}/${p}`).split("\\").join("/") || p;
    const written = writeOutputs(selection.base, outputs, {
      force: values.force === true,
      // A generated file edited by hand (its header names the current spec, compiler and
      // options, but its text differs) is someone's work: kept unless --force discards it.
      kept: (onDisk, text) =>
        difference(onDisk, text) === "hand-edit"
          ? "was edited by hand (kfm-compile check shows the edit): move the change into the spec, or use --force to discard it"
          : null,
      progress: (done, total) => line.update("writing", done, total, "files"),
    });
    line.end();
    if (written.refused.length > 0) {
      // A write that failed part way still wrote the files before it: say which.
      reportFiles(io, shown, written, { quiet, summary: false });
      for (const r of written.refused) io.stderr(`kfm-compile: ${r}\n`);
      return EXIT_INVALID;
    }
    // The files --prune would remove: removed with it, else named (a GitOps tool syncing
    // the folder keeps deploying them), never deleted without asking.
    const orphans = findOrphans(selection.base, selectionFolders(selection), new Set(outputs.map((o) => o.path)), selection.claims);
    const removed = values.prune ? removeOrphans(selection.base, orphans).removed : undefined;
    reportFiles(io, shown, { ...written, removed }, { quiet, summary: true });
    if (!values.prune && orphans.length > 0 && !quiet) io.stderr(orphanNote(orphans.map((o) => shown(o.path))));
    return EXIT_OK;
  },
};
