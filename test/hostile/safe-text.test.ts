// Issue 12, item 6: diagnostics as safe text. Diagnostics quote spec text (unknown keys,
// names, did-you-mean suggestions, file paths), and they are printed on terminals and in
// CI logs. The GitHub Actions runner reads a log line as a workflow command when, leading
// white space trimmed, it starts with `::` (actions/runner src/Runner.Common/ActionCommand.cs
// `TryParseV2`), or when it holds `##[` anywhere (`TryParse`, the legacy form
// `ActionCommandManager.TryProcessCommand` falls back to). So: no control character or line
// break of spec text reaches the output, and no printed line reads as a command.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/index.js";
import { formatDiagnostic, safeText } from "../../src/diagnostics.js";
import { HOSTILE_TOKENS, fileSafeText, propertyParams, specYaml } from "./arbitraries.js";

function run(args: string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
  return { code, stdout, stderr };
}

/** What a terminal or the runner would act on, or a line break inside a line. */
const UNSAFE_CHAR = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

/** Whether the runner would take the line as a workflow command (V2 after TrimStart, or V1 anywhere). */
function isWorkflowCommand(line: string): boolean {
  return /^\s*::/.test(line) || line.includes("##[");
}

function expectSafeLines(output: string): void {
  for (const line of output.split("\n")) {
    expect(line, JSON.stringify(line)).not.toMatch(UNSAFE_CHAR);
    expect(isWorkflowCommand(line), JSON.stringify(line)).toBe(false);
  }
}

const FORGED = "\n::error file=src/auth.ts,line=1::Spec check passed";

describe("diagnostics as safe text", () => {
  it("given hostile unknown keys, when validated, then each is one line of escaped text and none reads as a workflow command", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    const keys = ["\x1b[2J\x1b[31mEVIL", FORGED, "##[error]forged", "a\r::warning::x", "\u202eevil\u2066", "x\u2028::notice::y", "\x85\x9b31m", "del\x7f"];
    writeFileSync(join(dir, "evil.yaml"), specYaml({ job: { name: "j", image: "x:1", ...Object.fromEntries(keys.map((k, i) => [k, i])) } }));
    const r = run(["validate", "evil.yaml"], dir);
    expect(r.code).toBe(1);
    expectSafeLines(r.stderr);
    // One line per problem and the count: no key broke a line.
    // One more each for the C1 and DEL keys: text no target can pass on (KFM240).
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(keys.length + 2 + 1);
    expect(r.stderr).toContain("Unknown key `\\x1b[2J\\x1b[31mEVIL` in `job`");
    expect(r.stderr).toContain("Unknown key `\\n::error file=src/auth.ts,line=1::Spec check passed` in `job`");
    expect(r.stderr).toContain("Unknown key `#\\x23[error]forged` in `job`");
    expect(r.stderr).toContain("Unknown key `\\u202eevil\\u2066` in `job`");
  });

  it("given hostile names in dependencies (quoted, with a did-you-mean), then the lines are safe", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    const spec = specYaml({
      workflow: { name: "w", jobs: [{ job: { name: "load", image: "x:1" }, depends_on: [`loa${FORGED}`, "##[error]x", "lo\x1bad"] }] },
    });
    writeFileSync(join(dir, "deps.yaml"), spec);
    const r = run(["validate", "deps.yaml"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/KFM201/);
    expectSafeLines(r.stderr);
  });

  it("given a spec file whose name is a workflow command, then its diagnostics do not start with it", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    const name = "::error file=a,line=1::forged.yaml";
    writeFileSync(join(dir, name), "job: {name: j}\n");
    const r = run(["validate", name], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\.\/::error file=a,line=1::forged\.yaml:1:/);
    expectSafeLines(r.stderr);
  });

  it("given random hostile text as keys, values and names, then every diagnostic line is safe", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    mkdirSync(dir, { recursive: true });
    let n = 0;
    fc.assert(
      fc.property(fileSafeText, fileSafeText, fileSafeText, (key, name, value) => {
        const file = `s${n++}.yaml`;
        writeFileSync(
          join(dir, file),
          specYaml({ workflow: { name, jobs: [{ job: { name: value, image: "x:1", [key]: 1 }, depends_on: [value + "x"] }], schedule: { cron: value } } }),
        );
        const r = run(["validate", file], dir);
        expect(r.code).toBe(1);
        expectSafeLines(r.stderr);
      }),
      propertyParams(150),
    );
  });

  it("escapes every hostile token the emission suites use, and changes no safe text", () => {
    for (const t of HOSTILE_TOKENS) {
      const line = formatDiagnostic({ file: t, line: 1, column: 1, severity: "error", code: "KFM101", message: `Unknown key \`${t}\`.` });
      expectSafeLines(line);
      expect(line.split("\n")).toHaveLength(1);
    }
    const plain = "Unknown key `depnds_on` in `job`. Did you mean 'depends_on'? {{ '{{' }} $(X) ${{ x }} \\ é 😀";
    expect(safeText(plain)).toBe(plain);
  });

  it("keeps the raw text in --format json (JSON escapes it), with every unsafe character still escaped in the printed JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    const key = `\x1b[31m${FORGED}##[error]x\u2028\u202e\x85`;
    writeFileSync(join(dir, "evil.yaml"), specYaml({ job: { name: "j", image: "x:1", [key]: 1 } }));
    const r = run(["validate", "evil.yaml", "--format", "json"], dir);
    expect(r.code).toBe(1);
    expectSafeLines(r.stdout);
    const ds = JSON.parse(r.stdout).diagnostics as { message: string }[];
    expect(ds[0]!.message).toBe(
      `Unknown key \`${key}\` in \`job\`. Known keys: name, description, image, command, args, params, env, resources, retry, timeout.`,
    );
  });

  it("given an unknown option or target holding escapes and line breaks, then the usage error is safe text", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    writeFileSync(join(dir, "ok.yaml"), 'job: {name: j, image: "x:1"}\n');
    for (const args of [
      ["ok.yaml", "--target", `argo${FORGED}\x1b[2J`],
      ["ok.yaml", "--target", "argo", `--x${FORGED}`],
      ["validate", "ok.yaml", `--y\x1b]0;title\x07`],
    ]) {
      const r = run(args, dir);
      expect(r.code).toBe(2);
      expectSafeLines(r.stderr);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(2);
    }
  });

  it("given specs whose values differ by hostile text, then diff and explain print safe lines, and diff's JSON gives the text back exactly", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    const hostile = `x${FORGED}\x1b[31m##[error]y\u2028`;
    writeFileSync(join(dir, "old.yaml"), specYaml({ job: { name: "j", image: "x:1", args: ["a"] } }));
    writeFileSync(join(dir, "new.yaml"), specYaml({ job: { name: "j", image: "x:1", args: [hostile] } }));
    const text = run(["diff", "old.yaml", "new.yaml"], dir);
    expect(text.stdout).toContain("args");
    expectSafeLines(text.stdout);
    const json = run(["diff", "old.yaml", "new.yaml", "--format", "json"], dir);
    expectSafeLines(json.stdout);
    // The escapes are JSON's own: parsed back, the value is exactly the spec's.
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain(JSON.stringify(hostile).slice(1, -1));
    for (const format of ["text", "json"]) expectSafeLines(run(["explain", "new.yaml", "--format", format], dir).stdout);
  });

  it("given generated files a pull request edited to hold workflow commands, then check under GitHub Actions prints its patches with command processing stopped", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-safe-"));
    writeFileSync(join(dir, "w.yaml"), specYaml({ job: { name: "j", image: "x:1" } }));
    expect(run(["w.yaml", "--target", "argo", "--out", "out"], dir).code).toBe(0);
    const file = join(dir, "out/argo/j.yaml");
    const forged = ["##[error]forged anywhere", "  ::error file=src/auth.ts,line=1::Spec check passed", "::stop-commands::guess", "::guess::"];
    writeFileSync(file, readFileSync(file, "utf8") + forged.join("\n") + "\n");
    const saved = process.env.GITHUB_ACTIONS;
    process.env.GITHUB_ACTIONS = "true";
    let r;
    try {
      r = run(["check", "w.yaml", "--target", "argo", "--out", "out"], dir);
    } finally {
      if (saved === undefined) delete process.env.GITHUB_ACTIONS;
      else process.env.GITHUB_ACTIONS = saved;
    }
    expect(r.code).toBe(1);
    for (const f of forged) expect(r.stdout).toContain(f);
    // The runner would act on no line of it: only its own stop and resume.
    expect(runnerCommands(r.stdout + r.stderr)).toEqual([]);
    // Outside GitHub Actions the patch is printed as it is.
    expect(run(["check", "w.yaml", "--target", "argo", "--out", "out"], dir).stdout).not.toMatch(/stop-commands::[0-9a-f]{32}/);
  });
});

/**
 * The commands the GitHub Actions runner would process in a log, modelled on
 * actions/runner: `ActionCommand.TryParseV2` (a line starting, leading white space trimmed,
 * with `::name props::data`), then `TryParse` (`##[name props]data` anywhere in the line);
 * `ActionCommandManager.TryProcessCommand` pauses at `stop-commands` until the line
 * `::<token>::`. Registered names include `error`, `warning`, `notice`, `stop-commands`.
 */
function runnerCommands(log: string): string[] {
  const processed: string[] = [];
  let stopped: string | null = null;
  for (const line of log.split("\n")) {
    const v2 = /^::([^\s:]+)[^:]*::(.*)$/.exec(line.trimStart());
    const v1 = /##\[([^\s\]]+)[^\]]*\](.*)$/.exec(line);
    const command = v2 ?? v1;
    if (command === null) continue;
    const [, name, data] = command;
    if (stopped !== null) {
      if (name === stopped) stopped = null;
      continue;
    }
    if (name === "stop-commands") stopped = data!;
    else processed.push(line);
  }
  // A pause never resumed would stop the step's real commands too.
  if (stopped !== null) processed.push(`(never resumed: ${stopped})`);
  return processed;
}
