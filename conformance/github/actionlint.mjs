#!/usr/bin/env node
// Runs actionlint (built by conformance/setup.sh at the pinned version) on workflow
// files with `-format '{{json .}}'` and prints the shape every conformance tool
// prints: {"tool","versions","files":[{"file","ok","errors","parsed"}]}. actionlint
// has no dump of what it parsed, so "parsed" is null; each error keeps actionlint's
// own text, kind and position ("<kind> line:col: message").
//
// shellcheck checks the `run:` scripts when it is on PATH (Debian package
// `shellcheck`); its version is reported under "versions" (null when absent).
// pyflakes is turned off: generated workflows hold no Python scripts.
//
// Usage: node conformance/github/actionlint.mjs FILE...
// The binary is $KFM_ACTIONLINT, else <cache>/bin/actionlint where <cache> is
// $KFM_CONFORMANCE_CACHE or .cache/conformance in the repository.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cache = process.env.KFM_CONFORMANCE_CACHE ?? join(repo, ".cache", "conformance");
const binary = process.env.KFM_ACTIONLINT ?? join(cache, "bin", "actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node conformance/github/actionlint.mjs FILE...\n");
  process.exit(2);
}
if (!existsSync(binary)) {
  process.stderr.write(`actionlint not found at ${binary}: run npm run conformance:setup\n`);
  process.exit(2);
}

function versionLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")[0]
      .trim();
  } catch {
    return null;
  }
}

const shellcheck = versionLine("sh", ["-c", "shellcheck --version | sed -n 's/^version: //p'"]) || null;

const run = spawnSync(binary, ["-format", "{{json .}}", "-no-color", "-pyflakes=", ...files], {
  encoding: "utf8",
  maxBuffer: 64 * 1024 * 1024,
});
// 0: no problem, 1: problems found, 2: invalid command line, 3: fatal error.
if (run.status !== 0 && run.status !== 1) {
  process.stderr.write(`actionlint failed (exit ${run.status}): ${run.stderr}${run.stdout}\n`);
  process.exit(2);
}
let findings = [];
const text = run.stdout.trim();
if (text !== "" && text !== "null") findings = JSON.parse(text);

const byFile = new Map(files.map((f) => [resolve(f), []]));
for (const f of findings) {
  const key = resolve(f.filepath);
  const msg = `${f.kind} ${f.line}:${f.column}: ${f.message}`;
  if (byFile.has(key)) byFile.get(key).push(msg);
  else byFile.set(key, [msg]);
}

const out = {
  tool: "github/actionlint.mjs",
  versions: { actionlint: versionLine(binary, ["--version"]), shellcheck },
  files: files.map((f) => {
    const errors = byFile.get(resolve(f)) ?? [];
    return { file: f, ok: errors.length === 0, errors, parsed: null };
  }),
};
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
// exitCode, not exit(): a pipe receives stdout asynchronously and exit() would cut it.
process.exitCode = out.files.every((f) => f.ok) ? 0 : 1;
