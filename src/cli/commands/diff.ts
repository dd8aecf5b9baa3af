import { createRequire } from "node:module";
import { join, posix, relative, sep } from "node:path";
import { analyze, type Analysis } from "../../compile.js";
import { hasErrors, type Diagnostic } from "../../diagnostics.js";
import { diffJson, diffText, semanticDiff } from "../../diff.js";
import type { SpecHost } from "../../spec/layout.js";
import { summarize } from "../../summary.js";
import { loweringFor, projectOf } from "../project.js";
import { analyzeAll, EXIT_INVALID, EXIT_OK, parse, printedHelp, report, UsageError, type Command, type Io } from "../common.js";

/** Exit status when the two specs differ in meaning (as diff(1) does); invalid input exits 1 too, with an empty stdout. */
export const EXIT_DIFFERENT = 1;

const GIT_PREFIX = "git:";

/** `git:<ref>:<path>` split into its ref and path; a usage error when malformed. */
export function parseGitSource(arg: string): { ref: string; path: string } {
  const rest = arg.slice(GIT_PREFIX.length);
  const colon = rest.indexOf(":");
  const ref = colon < 0 ? rest : rest.slice(0, colon);
  const path = colon < 0 ? "" : rest.slice(colon + 1);
  if (ref === "" || path === "") throw new UsageError(`'${arg}' is not git:<ref>:<path> (for example git:origin/main:specs/pipeline.yaml).`);
  // execFileSync passes no shell, but git itself would read a leading `-` as an option.
  if (ref.startsWith("-")) throw new UsageError(`'${ref}' is not a git ref: a ref does not start with '-'.`);
  return { ref, path };
}

/** Runs git without a shell; its own message (without `fatal: `) when it fails. */
function git(args: readonly string[], cwd: string): Buffer | { error: string } {
  // Required here, not imported: loading node:child_process was a measurable part of
  // every start, and only git: sources need it.
  const { execFileSync } = createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process");
  try {
    return execFileSync("git", [...args], { cwd, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer; status?: number | null };
    if (err.code === "ENOENT") return { error: "git is not installed (or not on PATH), so a git: source cannot be read." };
    const message =
      (err.stderr?.toString("utf8") ?? "")
        .trim()
        .split("\n")[0]
        ?.replace(/^(fatal|error): /, "") ?? "";
    return { error: `git could not read it: ${message === "" ? `exit status ${String(err.status)}` : message}` };
  }
}

/** The spec text at `git:<ref>:<path>`, read with `git show`; a sentence when it cannot be read. */
export function readGitSpec(ref: string, path: string, cwd: string): string | { error: string } {
  const object = `${ref}:${path}`;
  const type = git(["cat-file", "-t", object], cwd);
  if (!Buffer.isBuffer(type)) return type;
  const kind = type.toString("utf8").trim();
  if (kind !== "blob") return { error: kind === "tree" ? `This is a folder in ${ref}; give a spec file.` : `This is a git ${kind}, not a file.` };
  const bytes = git(["show", object], cwd);
  if (!Buffer.isBuffer(bytes)) return bytes;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { error: "The file is not UTF-8 text." };
  }
}

/**
 * A host reading the job files a workflow names (repository layout) from the same
 * git ref, within the repository: `git:<ref>:<path>` stands for the whole tree at
 * that ref, not only for the one file.
 */
function gitHost(ref: string, cwd: string): { host: SpecHost; at: (path: string) => string } | { error: string } {
  const out = git(["rev-parse", "--show-toplevel", "--show-prefix"], cwd);
  if (!Buffer.isBuffer(out)) return out;
  const [toplevel = "", prefix = ""] = out.toString("utf8").split("\n");
  const rel = (p: string) => relative(toplevel, p).split(sep).join("/");
  return {
    host: { root: toplevel, readFile: (p) => readGitSpec(ref, rel(p), cwd), realPath: (p) => p, display: (p) => `git:${ref}:${rel(p)}` },
    // Where a path given on the command line is in the repository, as git reads it.
    at: (path) => join(toplevel, ...posix.normalize(path.startsWith("./") || path.startsWith("../") ? posix.join(prefix, path) : path).split("/")),
  };
}

/** One side of the diff: a spec file (read as every command reads specs), or `git:<ref>:<path>`. */
function load(arg: string, io: Io): { analysis: Analysis | null; diagnostics: Diagnostic[] } {
  if (!arg.startsWith(GIT_PREFIX)) {
    // Job files stay inside the project (the folder of kfm.config.yaml here or above), as when compiling.
    const { root, project, diagnostics: configDiagnostics } = projectOf({}, io);
    if (project === null && configDiagnostics.length > 0) return { analysis: null, diagnostics: configDiagnostics };
    const { analyses, diagnostics } = analyzeAll([arg], io, root, loweringFor(project, arg, io));
    return { analysis: analyses[0] ?? null, diagnostics };
  }
  const fail = (message: string) => ({
    analysis: null,
    diagnostics: [{ file: arg, line: 1, column: 1, severity: "error" as const, code: "KFM005" as const, message }],
  });
  const { ref, path } = parseGitSource(arg);
  const text = readGitSpec(ref, path, io.cwd);
  if (typeof text !== "string") return fail(text.error);
  const repo = gitHost(ref, io.cwd);
  if ("error" in repo) return fail(repo.error);
  // Judged for the targets the project compiles that spec for today, as the working-tree side is
  // (KFM220 depends on them): the old version of a spec is compared under today's config.
  const at = repo.at(path);
  const analysis = analyze(arg, text, { path: at, host: repo.host }, loweringFor(projectOf({}, io).project, at, io));
  return { analysis, diagnostics: analysis.diagnostics };
}

export const diffCommand: Command = {
  name: "diff",
  summary: "kfm-compile diff <old-spec> <new-spec> [--format text|json]",
  help: `Usage: kfm-compile diff <old-spec> <new-spec> [--format text|json]

Shows what changes in meaning from the old spec to the new one, for reviewing a
promotion PR: the workflow name, schedule (cron, timezone, start_date, end_date,
catchup, or the event), run timeout, max_active_runs and run token seed; jobs added
and removed; and for each job on both sides, edges added and removed,
on_upstream_failure, image, command, args, env (each name added, removed or
changed; secret references shown as references), cpu, memory, attempts, waits and
timeout. Both specs are compared by meaning, not text: reordering, re-quoting,
comments, written-out defaults and equivalent spellings (@daily and 0 0 * * *, 500m
and 0.5, 1Gi and 1024Mi, 60s and 1m) are no change. Descriptions are not compared,
nor the standard KFM_ variables (they follow from the names).

Either spec may be git:<ref>:<path>, read with \`git show <ref>:<path>\` in the current
folder's repository: the path is from the repository root, or from the current
folder when it starts with ./ (for example git:origin/main:specs/pipeline.yaml).
Job files the workflow names are read from the same ref. Write ./git:... for a file
whose name starts with git:.

--format json prints one object:
  {"equal": bool,
   "old": {"file", "workflow"}, "new": {"file", "workflow"},
   "workflow": [{"field", "old", "new"}],
   "jobs": {"added": [{"job", "image", "after": [names]}],
            "removed": [{"job", "image", "after": [names]}],
            "changed": [{"job", "edges": {"added": [names], "removed": [names]},
                         "changes": [{"field", "old", "new"}]}]}}
Workflow fields: name, schedule (when it is added, removed or changes kind; old/new
are {"kind": "cron"|"event", ...} or null), schedule.cron, schedule.timezone,
schedule.start_date, schedule.end_date, schedule.catchup, schedule.trigger,
schedule.source, timeout_seconds, max_active_runs, run_token_seed. Job fields:
on_upstream_failure ("stop"|"continue"), image, command, args (lists of strings in
the spec's template syntax, or null), cpu (cores, decimal string), memory (bytes,
decimal string), attempts, waits_seconds (the wait before attempts 2, 3, ...),
timeout_seconds, env.<NAME> (a string, or {"secret", "key"}; old null: added; new
null: removed). A meaning the compiler gains later appears under its own name.

Exit status (as diff(1)): 0 the specs mean the same, 1 they differ, or a spec is
invalid or unreadable (then the diagnostics go to standard error and nothing to
standard output), 2 usage error.
`,
  run(args, io) {
    const { values, positionals } = parse(args, { format: { type: "string", default: "text" } });
    if (printedHelp(values, this, io)) return EXIT_OK;
    if (values.format !== "text" && values.format !== "json") throw new UsageError(`--format is text or json, not '${String(values.format)}'.`);
    if (positionals.length !== 2) throw new UsageError("diff takes two specs: <old-spec> <new-spec>.");
    for (const p of positionals) if (p.startsWith(GIT_PREFIX)) parseGitSource(p);
    const [oldSide, newSide] = positionals.map((p) => load(p, io)) as [ReturnType<typeof load>, ReturnType<typeof load>];
    const diagnostics = [...oldSide.diagnostics, ...newSide.diagnostics];
    report(diagnostics, "text", io);
    const a = oldSide.analysis?.ir ?? null;
    const b = newSide.analysis?.ir ?? null;
    if (hasErrors(diagnostics) || a === null || b === null) return EXIT_INVALID;
    const d = semanticDiff(oldSide.analysis!.spec.file, summarize(a), newSide.analysis!.spec.file, summarize(b));
    io.stdout(values.format === "json" ? diffJson(d) : diffText(d));
    return d.equal ? EXIT_OK : EXIT_DIFFERENT;
  },
};
