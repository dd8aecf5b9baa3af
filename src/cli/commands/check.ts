import { randomBytes } from "node:crypto";
import { relative } from "node:path";
import { checkOutputs, staleReason, trustCurrent } from "../../check.js";
import { hasErrors } from "../../diagnostics.js";
import { compileSelection, selectionFolders } from "../../project.js";
import { EXIT_INVALID, EXIT_OK, parse, printedHelp, report, UsageError, type Command } from "../common.js";
import { shellWord } from "../../text.js";
import { progress } from "../progress.js";
import { PROJECT_OPTIONS, select } from "../project.js";

export const checkCommand: Command = {
  name: "check",
  summary: "kfm-compile check [<spec>...] [--target <name|all>] [--out DIR] [--config FILE] [--option NAME=VALUE] [--full] [--quiet]",
  help: `Usage: kfm-compile check [<spec>...] [--target <name|all>] [--out DIR] [--config FILE] [--option NAME=VALUE] [--full] [--quiet]

Compiles in memory and compares with the files on disk; never writes. Without specs it
checks the project of kfm.config.yaml (in this folder or the nearest folder above it,
or --config FILE); specs or --target check that part of the project only (the rest's
files are not orphans then). Specs with --out DIR are checked against DIR. --option
NAME=VALUE sets a target's deployment option as when compiling (the files must have been
written with the same options to be current). A spec whose
files all name its current digest and this compiler version, and still match their
own output digest, is current without compiling (warnings are not printed again);
--full compiles every spec and compares every byte.
Reports, and exits 1 for:
  - each stale file, with a unified diff from the disk to what the specs generate, and
    whether its spec changed or the file was edited by hand (its header names the
    current spec digest and compiler version, but the text differs);
  - each missing file;
  - each orphan: a generated file in an output folder that no compiled spec writes,
    from a spec of the project or from one that no longer exists (a file from a spec
    that exists but is not the project's belongs to another config sharing the folder,
    and is left alone).
When everything is current it says how many files it compared; --quiet (-q) leaves
out that line and the progress line a long run shows on a terminal. Otherwise it ends
with the command that brings the files up to date: kfm-compile with the same specs,
--target, --out, --config and --option (and --prune when there are orphans).
Exit status: 0 everything current, 1 differences or invalid specs, 2 usage error.
`,
  run(args, io) {
    const { values, positionals } = parse(args, { ...PROJECT_OPTIONS, full: { type: "boolean" }, quiet: { type: "boolean", short: "q" } });
    if (printedHelp(values, this, io)) return EXIT_OK;
    const selected = select(values, positionals, io);
    if (selected.mode === "args" && selected.out === undefined)
      throw new UsageError("check needs --out DIR with spec files outside a project (the folder to compare with).");
    if (selected.mode === "invalid") {
      report(selected.diagnostics, "text", io);
      return EXIT_INVALID;
    }
    const { selection } = selected;
    const { trusted, compile } = values.full === true ? { trusted: [], compile: selection.specs } : trustCurrent(selection);
    const quiet = values.quiet === true;
    const line = progress(io, { quiet });
    const { outputs, specs, diagnostics } = compileSelection(
      { ...selection, specs: compile, progress: (step, done, total) => line.update(step, done, total, "specs") },
      trusted,
    );
    line.end();
    diagnostics.unshift(...selected.diagnostics);
    report(diagnostics, "text", io);
    if (hasErrors(diagnostics)) return EXIT_INVALID;
    const result = checkOutputs(selection.base, outputs, selectionFolders(selection), trusted, selection.claims);
    const shown = (p: string) => relative(io.cwd, `${selection.base}/${p}`).split("\\").join("/") || p;
    // The patches quote the files on disk, which a pull request controls: under GitHub
    // Actions (the check of docs/ci/kfm-check.yml) a line of them could be read as a
    // workflow command and forge an annotation. GitHub's own way to print such text:
    // `::stop-commands::<token>` before it and `::<token>::` after, the token random so
    // the text cannot end the pause itself (docs.github.com, "Workflow commands for
    // GitHub Actions", Stopping and starting workflow commands; actions/runner
    // src/Runner.Worker/ActionCommandManager.cs `TryProcessCommand`).
    const rerun = compileCommand(args, false);
    const quoted = result.stale.length + result.orphans.length > 0 && process.env.GITHUB_ACTIONS === "true" ? randomBytes(16).toString("hex") : null;
    if (quoted !== null) io.stdout(`::stop-commands::${quoted}\n`);
    for (const s of result.stale) {
      io.stdout(`${shown(s.path)}: ${staleReason(s)}.\n`);
      io.stdout(s.patch);
    }
    if (result.missing.length > 0) {
      io.stdout(`Missing (run ${rerun} to write them):\n${result.missing.map((p) => `  ${shown(p)}\n`).join("")}`);
    }
    if (result.orphans.length > 0) {
      const compiled = new Set([...specs, ...trusted.map((t) => t.from)]);
      const why = (from: string) => (compiled.has(from) ? `from ${from}, which now writes other files` : `from ${from}, which is not among the compiled specs`);
      io.stdout(
        `Orphans (generated, but no compiled spec writes them; kfm-compile --prune removes them):\n${result.orphans.map((o) => `  ${shown(o.path)} (${why(o.header.from)})\n`).join("")}`,
      );
    }
    if (quoted !== null) io.stdout(`::${quoted}::\n`);
    const problems = result.stale.length + result.missing.length + result.orphans.length;
    if (problems === 0) {
      if (!quiet) io.stderr(`kfm-compile check: ${result.current.length} generated file${result.current.length === 1 ? "" : "s"} current.\n`);
      return EXIT_OK;
    }
    io.stderr(
      `kfm-compile check: ${result.stale.length} stale, ${result.missing.length} missing, ${result.orphans.length} orphan${result.orphans.length === 1 ? "" : "s"}; run ${compileCommand(args, result.orphans.length > 0)}${kept(result.stale)}.\n`,
    );
    return EXIT_INVALID;
  },
};

/**
 * What the advice adds when compiling would refuse some files: one kfm-compile did not
 * generate, or a generated one edited by hand, is replaced only with --force.
 */
function kept(stale: readonly { why: string }[]): string {
  const n = stale.filter((s) => s.why === "hand-edit" || s.why === "not-generated").length;
  if (n === 0) return "";
  return ` (it keeps the ${n === 1 ? "file" : `${n} files`} edited by hand or not generated by it: move ${n === 1 ? "it" : "them"}, or add --force to replace ${n === 1 ? "it" : "them"})`;
}

/** Flags of check alone, which the compile command it advises leaves out. */
const CHECK_ONLY = new Set(["--full", "--quiet", "-q"]);

/**
 * The compile command that writes what check compared against: `kfm-compile` with the
 * arguments check was given (specs, --target, --out, --config, --option), without
 * check's own flags, each quoted for a POSIX shell where it needs it, so it can be
 * pasted as printed.
 */
export function compileCommand(args: readonly string[], prune: boolean): string {
  const kept = args.filter((a) => !CHECK_ONLY.has(a));
  return ["kfm-compile", ...kept.map(shellWord), ...(prune ? ["--prune"] : [])].join(" ");
}
