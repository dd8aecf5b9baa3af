/**
 * The command line. Every user mistake ends as diagnostics or a usage message with
 * exit 1 or 2; a stack trace means a compiler bug. Each subcommand is a module in
 * commands/, listed once below.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { TARGETS } from "../../targets/index.js";
import { suggestion } from "../diagnostics.js";
import { VERSION } from "../version.js";
import { applyCommand } from "./commands/apply.js";
import { backfillCommand } from "./commands/backfill.js";
import { checkCommand } from "./commands/check.js";
import { compileCommand } from "./commands/compile.js";
import { diffCommand } from "./commands/diff.js";
import { explainCommand } from "./commands/explain.js";
import { graphCommand } from "./commands/graph.js";
import { schemaCommand, targetsCommand } from "./commands/info.js";
import { validateCommand } from "./commands/validate.js";
import { safeText } from "../diagnostics.js";
import { EXIT_OK, EXIT_USAGE, UsageError, type Command, type Io } from "./common.js";

export { EXIT_INVALID, EXIT_OK, EXIT_USAGE, type Io } from "./common.js";

const SUBCOMMANDS: readonly Command[] = [
  checkCommand,
  validateCommand,
  explainCommand,
  graphCommand,
  diffCommand,
  backfillCommand,
  applyCommand,
  schemaCommand,
  targetsCommand,
];

function mainHelp(): string {
  return `kfm-compile ${VERSION}: compile workflow specs to Airflow, Argo Workflows, Tekton and GitHub Actions.

Usage:
  ${compileCommand.summary}
${SUBCOMMANDS.map((c) => `  ${c.summary}`).join("\n")}

Targets: ${TARGETS.map((t) => t.name).join(", ")}, or all.
With one spec, one target and no --out, the output goes to standard output;
otherwise it is written to DIR/<target>/<workflow name>.<ext>, and a target's file that
starts a run by hand (Tekton's PipelineRun) to DIR/<target>-runs/, outside the folder a
GitOps tool syncs. In a project (a
kfm.config.yaml in this folder or one above it, up to the repository root), no spec
compiles the whole project, each target into its folder, and specs or --target
compile part of it (--out compiles the specs as given instead). With neither a spec
nor a project, there is nothing to compile, which is a usage error (exit 2).

When writing files, a line per file goes to standard error (written, unchanged:
same bytes, not rewritten; removed, with --prune), then a summary, and without
--prune a line naming the generated files no compiled spec writes any more. On a terminal,
a run taking over a second shows its progress on one line, erased at the end.
A command name wins over a file of that name: ./check compiles a spec named check.

Options:
  -t, --target <name>  target to compile for (repeatable, or comma-separated)
  -o, --out <DIR>      output folder
  -c, --config <FILE>  project config (default: kfm.config.yaml in this folder or the nearest one above)
      --option <NAME=VALUE>  a target's deployment option (repeatable; TARGET.NAME=VALUE
                       for one target), over the config's: lists comma-separated,
                       mappings as JSON; README "Deploying" lists each target's
                       options
      --force          overwrite files at output paths that kfm-compile did not generate,
                       and generated files edited by hand
      --prune          remove generated files that no compiled spec writes any more
  -q, --quiet          no line per file, no summary, no progress (diagnostics still print)
  -h, --help           this help (also: kfm-compile <command> --help)
  -v, --version        print the version

Exit status: 0 success, 1 invalid input (diagnostics printed), 2 usage error
(an unknown command or option, or nothing to compile).
`;
}

/**
 * A first argument that names no command and no existing file, but is a command
 * mistyped (`validat`) or a bare word (`compile`, `build`), is a usage error rather
 * than a spec file to read: otherwise `kfm-compile validat x.yaml` would complain
 * that --target is missing. A command name always wins over a file of that name
 * (`kfm-compile check` checks even where a file `check` exists; `./check` names the
 * file), so what a command does never depends on the folder's contents. An existing
 * file wins over a near miss (a spec named `chek` is compiled).
 */
function unknownCommand(first: string | undefined, cwd: string): string | null {
  if (first === undefined || first.startsWith("-") || existsSync(resolve(cwd, first))) return null;
  const names = SUBCOMMANDS.map((c) => c.name);
  const hint = suggestion(first, names);
  if (hint !== "") return `unknown command '${first}'.${hint}`;
  // A word without a dot or a slash is not how spec files are named.
  if (/^[A-Za-z][A-Za-z0-9_-]*$/.test(first)) {
    return `unknown command '${first}', and no file of that name. The commands are ${names.join(", ")}; to compile, give spec files (kfm-compile pipeline.yaml --target argo).`;
  }
  return null;
}

/**
 * Runs one command line and gives its exit status: a number, or for a command that talks
 * to a server (`apply`) a promise of one.
 */
export function main(argv: readonly string[], io: Io): number | Promise<number> {
  try {
    const sub = SUBCOMMANDS.find((c) => c.name === argv[0]);
    if (sub !== undefined) {
      const status = sub.run(argv.slice(1), io);
      return typeof status === "number" ? status : status.catch((e: unknown) => usage(e, io));
    }
    const unknown = unknownCommand(argv[0], io.cwd);
    if (unknown !== null) throw new UsageError(unknown);
    if (argv.includes("--help") || argv.includes("-h")) {
      io.stdout(mainHelp());
      return EXIT_OK;
    }
    return compileCommand.run(argv, io);
  } catch (e) {
    return usage(e, io);
  }
}

/** A usage error's message and hint, exit 2; anything else thrown is a compiler bug, thrown on. */
function usage(e: unknown, io: Io): number {
  if (e instanceof UsageError) {
    // The message may echo what was typed (an unknown option or target): one line of safe text.
    io.stderr(`kfm-compile: ${safeText(e.message)}\n${e.hint === undefined ? "" : `${e.hint}\n`}Run 'kfm-compile --help' for usage.\n`);
    return EXIT_USAGE;
  }
  throw e;
}
