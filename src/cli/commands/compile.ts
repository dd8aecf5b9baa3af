import { TARGETS } from "../../../targets/index.js";
import { compileFor, type Output } from "../../compile.js";
import { hasErrors } from "../../diagnostics.js";
import { VERSION } from "../../version.js";
import { writeOutputs } from "../../write.js";
import { resolve } from "node:path";
import { analyzeAll, EXIT_INVALID, EXIT_OK, lookupTarget, parse, report, UsageError, type Command } from "../common.js";

/** Compiling is what `kfm-compile <spec>...` does; its help is the main help (see ../index.ts). */
export const compileCommand: Command = {
  name: "compile",
  summary: "kfm-compile <spec>... --target <name|all> [--out DIR] [--force]",
  help: "",
  run(args, io) {
    const { values, positionals } = parse(args, {
      target: { type: "string", short: "t", multiple: true },
      out: { type: "string", short: "o" },
      force: { type: "boolean" },
      version: { type: "boolean", short: "v" },
    });
    if (values.version) {
      io.stdout(`${VERSION}\n`);
      return EXIT_OK;
    }
    if (positionals.length === 0) throw new UsageError("no spec files given.");
    if (values.target === undefined) throw new UsageError(`--target is required (${TARGETS.map((t) => t.name).join(", ")}, or all).`);
    const names = (values.target as string[]).flatMap((t) => t.split(",")).map((t) => t.trim());
    const targets = [...new Set(names.includes("all") ? [...TARGETS] : names.map(lookupTarget))];
    const toStdout = values.out === undefined;
    if (toStdout && (positionals.length > 1 || targets.length > 1)) {
      throw new UsageError("--out is required when compiling more than one spec or for more than one target.");
    }

    const { analyses, diagnostics } = analyzeAll(positionals, io);
    const outputs: Output[] = [];
    const writer = new Map<string, string>();
    for (const a of analyses) {
      if (a.ir === null) continue;
      for (const t of targets) {
        const r = compileFor(a, t);
        diagnostics.push(...r.diagnostics);
        if (r.output === null) continue;
        const other = writer.get(r.output.path);
        if (other !== undefined) {
          diagnostics.push({
            file: a.spec.file,
            line: 1,
            column: 1,
            severity: "error",
            code: "KFM208",
            message: `This spec's workflow \`${a.ir.name}\` would write ${r.output.path}, as ${other} does; workflow names must be unique across the specs compiled together.`,
          });
          continue;
        }
        writer.set(r.output.path, a.spec.file);
        outputs.push(r.output);
      }
    }
    report(diagnostics, "text", io);
    if (hasErrors(diagnostics)) return EXIT_INVALID;
    if (toStdout) {
      io.stdout(outputs[0]!.text);
      return EXIT_OK;
    }
    const written = writeOutputs(resolve(io.cwd, values.out as string), outputs, { force: values.force === true });
    for (const r of written.refused) io.stderr(`kfm-compile: ${r}\n`);
    return written.refused.length > 0 ? EXIT_INVALID : EXIT_OK;
  },
};
