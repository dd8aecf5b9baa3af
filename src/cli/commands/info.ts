/** The commands that only print what the compiler knows: the schema and the backends. */
import { readFileSync } from "node:fs";
import { TARGETS } from "../../../targets/index.js";
import { assetPath } from "../../assets.js";
import { EXIT_OK, parse, printedHelp, UsageError, type Command, type Io } from "../common.js";

function printing(name: string, summary: string, help: string, text: () => string): Command {
  return {
    name,
    summary,
    help,
    run(args: readonly string[], io: Io) {
      const { values, positionals } = parse(args, {});
      if (printedHelp(values, this, io)) return EXIT_OK;
      if (positionals.length > 0) throw new UsageError(`'${name}' takes no arguments.`);
      io.stdout(text());
      return EXIT_OK;
    },
  };
}

export const schemaCommand = printing(
  "schema",
  "kfm-compile schema",
  `Usage: kfm-compile schema

Prints the JSON Schema of the spec format (schemas/workflow.schema.json).
`,
  () => readFileSync(assetPath("schemas/workflow.schema.json"), "utf8"),
);

export const targetsCommand = printing(
  "targets",
  "kfm-compile targets",
  `Usage: kfm-compile targets

Lists the backends, with their output file extension and the names of their
deployment options (--option NAME=VALUE; README.md, "Deploying", says what each does).
`,
  () =>
    TARGETS.map((t) => {
      const names = Object.keys(t.options);
      return `${t.name.padEnd(16)}${t.title} (.${t.extension})\n${names.length > 0 ? `${"".padEnd(16)}options: ${names.join(", ")}\n` : ""}`;
    }).join(""),
);
