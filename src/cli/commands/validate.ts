import { hasErrors } from "../../diagnostics.js";
import { analyzeAll, EXIT_INVALID, EXIT_OK, parse, printedHelp, report, UsageError, type Command } from "../common.js";
import { progress } from "../progress.js";

export const validateCommand: Command = {
  name: "validate",
  summary: "kfm-compile validate <spec>... [--format text|json]",
  help: `Usage: kfm-compile validate <spec>... [--format text|json]

Checks specs without compiling them and prints every problem found, one per line:
  path:line:col: error CODE: sentence
--format json prints {"diagnostics":[{"file","line","column","severity","code","message"}]}.
On a terminal, a run over many specs that takes more than a second shows its progress.
Exit status: 0 valid, 1 problems found, 2 usage error.
`,
  run(args, io) {
    const { values, positionals } = parse(args, { format: { type: "string", default: "text" } });
    if (printedHelp(values, this, io)) return EXIT_OK;
    if (values.format !== "text" && values.format !== "json") throw new UsageError(`--format is text or json, not '${String(values.format)}'.`);
    if (positionals.length === 0) throw new UsageError("validate needs at least one spec file.");
    const line = progress(io, { quiet: false });
    const { diagnostics } = analyzeAll(positionals, io, (done, total) => line.update("validating", done, total, "specs"));
    line.end();
    report(diagnostics, values.format, io);
    return hasErrors(diagnostics) ? EXIT_INVALID : EXIT_OK;
  },
};
