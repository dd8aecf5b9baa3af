/**
 * The command line. Every user mistake ends as diagnostics or a usage message with
 * exit 1 or 2; a stack trace means a compiler bug. Each subcommand is a module in
 * commands/, listed once below.
 */
import { TARGETS } from "../../targets/index.js";
import { findConfig } from "../config/load.js";
import { VERSION } from "../version.js";
import { backfillCommand } from "./commands/backfill.js";
import { checkCommand } from "./commands/check.js";
import { compileCommand } from "./commands/compile.js";
import { diffCommand } from "./commands/diff.js";
import { explainCommand } from "./commands/explain.js";
import { graphCommand } from "./commands/graph.js";
import { schemaCommand, targetsCommand } from "./commands/info.js";
import { validateCommand } from "./commands/validate.js";
import { EXIT_OK, EXIT_USAGE, UsageError, type Command, type Io } from "./common.js";

export { EXIT_INVALID, EXIT_OK, EXIT_USAGE, type Io } from "./common.js";

const SUBCOMMANDS: readonly Command[] = [
  checkCommand,
  validateCommand,
  explainCommand,
  graphCommand,
  diffCommand,
  backfillCommand,
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
otherwise it is written to DIR/<target>/<workflow name>.<ext>. In a project (a
kfm.config.yaml in this folder or one above it, up to the repository root), no spec
compiles the whole project, each target into its folder, and specs or --target
compile part of it (--out compiles the specs as given instead).

Options:
  -t, --target <name>  target to compile for (repeatable, or comma-separated)
  -o, --out <DIR>      output folder
  -c, --config <FILE>  project config (default: kfm.config.yaml in this folder or the nearest one above)
      --force          overwrite files at output paths that kfm-compile did not generate
      --prune          remove generated files that no compiled spec writes any more
  -h, --help           this help (also: kfm-compile <command> --help)
  -v, --version        print the version

Exit status: 0 success, 1 invalid input (diagnostics printed), 2 usage error.
`;
}

export function main(argv: readonly string[], io: Io): number {
  try {
    const sub = SUBCOMMANDS.find((c) => c.name === argv[0]);
    if (sub !== undefined) return sub.run(argv.slice(1), io);
    if ((argv.length === 0 && findConfig(io.cwd) === null) || argv.includes("--help") || argv.includes("-h")) {
      io.stdout(mainHelp());
      return EXIT_OK;
    }
    return compileCommand.run(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`kfm-compile: ${e.message}\nRun 'kfm-compile --help' for usage.\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}
