import { GRAPH_FORMATS, renderGraph, type GraphFormat } from "../../graph.js";
import { analyzeAll, EXIT_INVALID, EXIT_OK, parse, printedHelp, report, UsageError, type Command } from "../common.js";
import { loweringFor, projectOf } from "../project.js";

export const graphCommand: Command = {
  name: "graph",
  summary: "kfm-compile graph <spec> [--config FILE] [--format mermaid|dot]",
  help: `Usage: kfm-compile graph <spec> [--config FILE] [--format mermaid|dot]

Prints the job graph of the spec's workflow to standard output, as a Mermaid
flowchart (the default; paste it into a \`\`\`mermaid block of a PR comment or a
README) or as Graphviz DOT (\`| dot -Tsvg\`). Shown: a header with the schedule (cron,
time zone, window, catch-up), the run timeout and max_active_runs; one node per job
with its image, attempts and waits and its attempt timeout; prerequisite gates as
hexagons with thick edges; the edges into an \`on_upstream_failure: continue\` job
dashed and labelled "continue". All spec text is escaped for the format.
Exit status: 0 printed, 1 invalid spec (diagnostics printed), 2 usage error.
`,
  run(args, io) {
    const { values, positionals } = parse(args, { config: { type: "string", short: "c" }, format: { type: "string", default: "mermaid" } });
    if (printedHelp(values, this, io)) return EXIT_OK;
    const format = values.format as string;
    if (!(GRAPH_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format is mermaid or dot, not '${format}'.`);
    if (positionals.length !== 1) throw new UsageError("graph takes exactly one spec file.");
    // Job files stay inside the project of kfm.config.yaml (here or above, or --config), as when compiling.
    const { root, project, diagnostics: configDiagnostics } = projectOf(values, io);
    if (project === null && configDiagnostics.length > 0) {
      report(configDiagnostics, "text", io);
      return EXIT_INVALID;
    }
    const { analyses, diagnostics } = analyzeAll(positionals, io, root, loweringFor(project, positionals[0]!, io));
    report(diagnostics, "text", io);
    const ir = analyses[0]?.ir ?? null;
    if (ir === null) return EXIT_INVALID;
    io.stdout(renderGraph(ir, format as GraphFormat));
    return EXIT_OK;
  },
};
