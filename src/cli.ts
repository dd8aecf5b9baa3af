/**
 * The command line. Every user mistake ends as diagnostics or a usage message with
 * exit 1 or 2; a stack trace means a compiler bug.
 */
import { readFileSync, statSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { TARGETS, findTarget, type Target } from "../targets/index.js";
import { analyze, compileFor, type Analysis, type Output } from "./compile.js";
import { formatDiagnostic, hasErrors, suggestion, type Diagnostic } from "./diagnostics.js";
import { assetPath } from "./assets.js";
import { explainTargets, explainText } from "./explain.js";
import { usedFeatures } from "./features.js";
import { writeOutputs } from "./write.js";
import { VERSION } from "./version.js";

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly cwd: string;
}

class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `kfm-compile ${VERSION}: compile workflow specs to Airflow, Argo Workflows, Tekton and GitHub Actions.

Usage:
  kfm-compile <spec>... --target <name|all> [--out DIR] [--force]
  kfm-compile validate <spec>... [--format text|json]
  kfm-compile explain <spec> [--target <name>] [--format text|json]
  kfm-compile schema
  kfm-compile targets

Targets: ${TARGETS.map((t) => t.name).join(", ")}, or all.
With one spec, one target and no --out, the output goes to standard output;
otherwise it is written to DIR/<target>/<workflow name>.<ext>.

Options:
  -t, --target <name>  target to compile for (repeatable, or comma-separated)
  -o, --out <DIR>      output folder
      --force          overwrite files at output paths that kfm-compile did not generate
  -h, --help           this help (also: kfm-compile <command> --help)
  -v, --version        print the version

Exit status: 0 success, 1 invalid input (diagnostics printed), 2 usage error.
`,
  validate: `Usage: kfm-compile validate <spec>... [--format text|json]

Checks specs without compiling them and prints every problem found, one per line:
  path:line:col: error CODE: sentence
--format json prints {"diagnostics":[{"file","line","column","severity","code","message"}]}.
Exit status: 0 valid, 1 problems found, 2 usage error.
`,
  explain: `Usage: kfm-compile explain <spec> [--target <name>] [--format text|json]

Shows, for every feature the spec uses and for each target (or the one named), how
the target realises it: native field, a named emulation, or a refusal with the
diagnostic the compiler gives. docs/support-matrix.md is the same data for every feature.
Exit status: 0 when every target shown compiles the spec, 1 when one refuses it or
the spec is invalid, 2 usage error.
`,
  schema: `Usage: kfm-compile schema

Prints the JSON Schema of the spec format (schemas/workflow.schema.json).
`,
  targets: `Usage: kfm-compile targets

Lists the backends, with their output file extension.
`,
};

const COMMANDS = ["validate", "explain", "schema", "targets"];

export function main(argv: readonly string[], io: Io): number {
  try {
    const command = argv[0] !== undefined && COMMANDS.includes(argv[0]) ? argv[0] : "compile";
    const rest = command === "compile" ? argv : argv.slice(1);
    switch (command) {
      case "validate":
        return validate(rest, io);
      case "explain":
        return explain(rest, io);
      case "schema":
        return simple(rest, io, "schema", () => readFileSync(assetPath("schemas/workflow.schema.json"), "utf8"));
      case "targets":
        return simple(rest, io, "targets", () => TARGETS.map((t) => `${t.name.padEnd(16)}${t.title} (.${t.extension})\n`).join(""));
      default:
        return compile(rest, io);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`kfm-compile: ${e.message}\nRun 'kfm-compile --help' for usage.\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

function parse(args: readonly string[], options: ParseArgsConfig["options"]): Parsed {
  try {
    return parseArgs({ args: [...args], options: { help: { type: "boolean", short: "h" }, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    const message = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
    if (unknown) {
      const names = Object.keys(options ?? {}).map((o) => `--${o}`);
      throw new UsageError(`unknown option ${unknown[1]}.${suggestion(unknown[1]!, [...names, "--help"])}`);
    }
    throw new UsageError(message.replace(/\.$/, "") + ".");
  }
}

function simple(args: readonly string[], io: Io, name: string, text: () => string): number {
  const { values, positionals } = parse(args, {});
  if (values.help) return help(io, name);
  if (positionals.length > 0) throw new UsageError(`'${name}' takes no arguments.`);
  io.stdout(text());
  return EXIT_OK;
}

function help(io: Io, name: string): number {
  io.stdout(HELP[name]!);
  return EXIT_OK;
}

/** Reads and analyses each spec; unreadable files become KFM005 diagnostics. */
function analyzeAll(files: readonly string[], io: Io): { analyses: Analysis[]; diagnostics: Diagnostic[] } {
  const analyses: Analysis[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of files) {
    const shown = displayPath(file, io.cwd);
    const text = readSpec(resolve(io.cwd, file));
    if (typeof text !== "string") {
      diagnostics.push({ file: shown, line: 1, column: 1, severity: "error", code: "KFM005", message: text.error });
      continue;
    }
    const a = analyze(shown, text);
    analyses.push(a);
    diagnostics.push(...a.diagnostics);
  }
  return { analyses, diagnostics };
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, resolve(cwd, file));
  return rel === "" ? "." : rel.split(sep).join("/");
}

function readSpec(path: string): string | { error: string } {
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: code === "ENOENT" ? "No such file." : `The file cannot be read (${code}).` };
  }
  if (!stat.isFile()) return { error: stat.isDirectory() ? "This is a folder; give spec files." : "This is not a regular file." };
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return { error: `The file cannot be read (${(e as NodeJS.ErrnoException).code}).` };
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { error: "The file is not UTF-8 text." };
  }
}

function validate(args: readonly string[], io: Io): number {
  const { values, positionals } = parse(args, { format: { type: "string", default: "text" } });
  if (values.help) return help(io, "validate");
  if (values.format !== "text" && values.format !== "json") throw new UsageError(`--format is text or json, not '${String(values.format)}'.`);
  if (positionals.length === 0) throw new UsageError("validate needs at least one spec file.");
  const { diagnostics } = analyzeAll(positionals, io);
  report(diagnostics, values.format, io);
  return hasErrors(diagnostics) ? EXIT_INVALID : EXIT_OK;
}

function explain(args: readonly string[], io: Io): number {
  const { values, positionals } = parse(args, { target: { type: "string", short: "t" }, format: { type: "string", default: "text" } });
  if (values.help) return help(io, "explain");
  if (values.format !== "text" && values.format !== "json") throw new UsageError(`--format is text or json, not '${String(values.format)}'.`);
  if (positionals.length !== 1) throw new UsageError("explain takes exactly one spec file.");
  const targets = values.target === undefined ? [...TARGETS] : [lookupTarget(values.target as string)];
  const { analyses, diagnostics } = analyzeAll(positionals, io);
  const analysis = analyses[0];
  if (analysis === undefined || analysis.ir === null) {
    report(diagnostics, "text", io);
    return EXIT_INVALID;
  }
  const ir = analysis.ir;
  const used = usedFeatures(ir);
  const explanations = explainTargets(used, targets, (t) => compileFor(analysis, t).diagnostics.filter((d) => d.severity === "error"));
  if (values.format === "json")
    io.stdout(JSON.stringify({ workflow: ir.name, file: analysis.spec.file, features: used, targets: explanations }, null, 2) + "\n");
  else io.stdout(explainText(ir.name, analysis.spec.file, used, explanations));
  return explanations.some((e) => e.refusals.length > 0) ? EXIT_INVALID : EXIT_OK;
}

function lookupTarget(name: string): Target {
  const t = findTarget(name);
  if (!t) throw new UsageError(`unknown target '${name}'.${suggestion(name, [...TARGETS.map((x) => x.name), "all"])}`);
  return t;
}

function report(diagnostics: readonly Diagnostic[], format: "text" | "json", io: Io): void {
  if (format === "json") {
    io.stdout(JSON.stringify({ diagnostics }, null, 2) + "\n");
    return;
  }
  for (const d of diagnostics) io.stderr(formatDiagnostic(d) + "\n");
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  if (errors > 0) io.stderr(`${errors} error${errors === 1 ? "" : "s"}.\n`);
}

function compile(args: readonly string[], io: Io): number {
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
  if (values.help || (positionals.length === 0 && values.target === undefined)) return help(io, "main");
  if (positionals.length === 0) throw new UsageError("no spec files given.");
  if (values.target === undefined) throw new UsageError(`--target is required (${TARGETS.map((t) => t.name).join(", ")}, or all).`);
  const names = (values.target as string[]).flatMap((t) => t.split(",")).map((t) => t.trim());
  const targets = names.includes("all") ? [...TARGETS] : names.map(lookupTarget);
  const unique = [...new Set(targets)];
  const toStdout = values.out === undefined;
  if (toStdout && (positionals.length > 1 || unique.length > 1)) {
    throw new UsageError("--out is required when compiling more than one spec or for more than one target.");
  }

  const { analyses, diagnostics } = analyzeAll(positionals, io);
  const outputs: Output[] = [];
  const writer = new Map<string, string>();
  for (const a of analyses) {
    if (a.ir === null) continue;
    for (const t of unique) {
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
  if (written.refused.length > 0) {
    for (const r of written.refused) io.stderr(`kfm-compile: ${r}\n`);
    return EXIT_INVALID;
  }
  return EXIT_OK;
}
