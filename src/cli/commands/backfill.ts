import { relative } from "node:path";
import { backfillSelection, parseDay } from "../../backfill.js";
import { hasErrors } from "../../diagnostics.js";
import { isBackfillFile } from "../../header.js";
import { writeOutputs } from "../../write.js";
import { EXIT_INVALID, EXIT_OK, parse, printedHelp, report, reportFiles, UsageError, type Command } from "../common.js";
import { progress } from "../progress.js";
import { PROJECT_OPTIONS, select } from "../project.js";

export const backfillCommand: Command = {
  name: "backfill",
  summary: "kfm-compile backfill [<spec>... --target <name|all> --out DIR] --from YYYY-MM-DD --to YYYY-MM-DD [--ref REF] [--quiet]",
  help: `Usage: kfm-compile backfill <spec>... --target <name|all> --out DIR --from YYYY-MM-DD --to YYYY-MM-DD
       kfm-compile backfill [<spec>...] [--target <name>] --from YYYY-MM-DD --to YYYY-MM-DD [--config FILE]

Plans a backfill as explicit runs, one per partition, and writes them; it starts
nothing. Partitions are the schedule's slots (in its time zone, inside its start/end
window) whose local date is within --from..--to, both days included; a workflow without
a cron schedule gets one partition per day at 00:00 UTC. At most 10000 partitions.
A range without any partition (before start_date, after end_date) is an error
(KFM402) and writes nothing; among several specs, a warning for the one without runs.

For each spec and target, in the target's runs folder (DIR/<target>-runs/, or the config's
\`runs\` folder: never the output folder a GitOps tool syncs):
  <workflow>.backfill-<from>-<to>.<ext>   the runs, each with its logical date (UTC) and
                                          run token: Argo Workflows, Tekton PipelineRuns
                                          (fixed names: creating them again fails instead
                                          of running a date twice), Airflow
                                          \`airflow dags trigger\` lines (fixed run ids),
                                          GitHub \`gh workflow run\` lines (.sh) and
                                          dispatch bodies (.dispatches.json)
  <workflow>.backfill-<from>-<to>.ledger.json   one entry per partition, status "planned"
The same range gives the same bytes. Files are written atomically; a file there that
is not a backfill file is replaced only with --force. \`check\` and --prune leave
backfill files alone.

Options:
      --from <DAY>     first day of the range (YYYY-MM-DD)
      --to <DAY>       last day of the range (YYYY-MM-DD), included
      --ref <REF>      the Git ref GitHub dispatches run on (default: main)
  -t, --target, -o, --out, -c, --config   as for compiling
      --force          replace files that are not backfill files
  -q, --quiet          no line per file and no summary (diagnostics still print)
A line per file goes to standard error (written, or unchanged: same bytes, not
rewritten), then a summary; on a terminal, a long run shows its progress.
Exit status: 0 written, 1 invalid spec or range (diagnostics printed), 2 usage error.
`,
  run(args, io) {
    const { values, positionals } = parse(args, {
      ...PROJECT_OPTIONS,
      from: { type: "string" },
      to: { type: "string" },
      ref: { type: "string", default: "main" },
      force: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
    });
    if (printedHelp(values, this, io)) return EXIT_OK;
    for (const key of ["from", "to"] as const) {
      const day = values[key];
      if (day === undefined) throw new UsageError(`--${key} YYYY-MM-DD is required.`);
      if (parseDay(day as string) === null) throw new UsageError(`--${key} is a calendar day written YYYY-MM-DD, not '${day as string}'.`);
    }
    // A reversed range is a mistake on the command line, not in any spec: said once.
    if (parseDay(values.from as string)! > parseDay(values.to as string)!)
      throw new UsageError(
        `the range is reversed: --from ${values.from as string} is after --to ${values.to as string}; give the earlier day first (both days are included).`,
      );
    const selected = select(values, positionals, io);
    if (selected.mode === "args" && selected.out === undefined) throw new UsageError("backfill writes files: give --out DIR.");
    if (selected.mode === "invalid") {
      report(selected.diagnostics, "text", io);
      return EXIT_INVALID;
    }
    const { selection } = selected;
    const quiet = values.quiet === true;
    const line = progress(io, { quiet });
    const planned = backfillSelection(
      { ...selection, progress: (step, done, total) => line.update(step, done, total, "specs") },
      values.from as string,
      values.to as string,
      { ref: values.ref as string },
    );
    line.end();
    const diagnostics = [...selected.diagnostics, ...planned.diagnostics];
    report(diagnostics, "text", io);
    if (hasErrors(diagnostics)) return EXIT_INVALID;
    const written = writeOutputs(selection.base, planned.files, {
      force: values.force === true,
      owned: isBackfillFile,
      progress: (done, total) => line.update("writing", done, total, "files"),
    });
    line.end();
    const shown = (p: string) => relative(io.cwd, `${selection.base}/${p}`).split("\\").join("/") || p;
    reportFiles(io, shown, written, { quiet, summary: false });
    for (const r of written.refused) io.stderr(`kfm-compile: ${r}\n`);
    if (written.refused.length > 0) return EXIT_INVALID;
    if (!quiet)
      io.stderr(
        `kfm-compile: backfill ${values.from as string}..${values.to as string}: ${planned.partitions} planned run${planned.partitions === 1 ? "" : "s"}, ` +
          `${written.written.length} file${written.written.length === 1 ? "" : "s"} written, ${written.unchanged.length} unchanged.\n`,
      );
    return EXIT_OK;
  },
};
