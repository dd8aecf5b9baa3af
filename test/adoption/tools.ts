/**
 * Helpers of the adoption suite (npm run test:adoption): scratch git repositories with a
 * git configuration of their own, the pinned pre-commit installs, the README's code blocks.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/assets.js";

const SCRATCH: string[] = [];

/** A scratch folder under the system's temporary folder, removed by removeScratch(). */
export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  SCRATCH.push(dir);
  return dir;
}

/** Removes every scratch folder (hook environments and projects are tens of MB each). */
export function removeScratch(): void {
  for (const dir of SCRATCH.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export const CACHE = process.env.KFM_CONFORMANCE_CACHE ?? join(PACKAGE_ROOT, ".cache", "conformance");
const SETUP = join(PACKAGE_ROOT, "conformance", "pre-commit", "setup.sh");

/** Installs the pinned pre-commit versions (a no-op when installed) and returns their executables by major version. */
export function preCommits(): Record<"3" | "4", string> {
  const env = { ...process.env, KFM_CONFORMANCE_CACHE: CACHE };
  execFileSync("bash", [SETUP], { stdio: ["ignore", "inherit", "inherit"], env });
  const vars = Object.fromEntries(
    execFileSync("bash", [SETUP, "--print-env"], { encoding: "utf8", env })
      .trim()
      .split("\n")
      .map((l) => l.split("=", 2) as [string, string]),
  );
  return { "3": vars.KFM_PRE_COMMIT_3!, "4": vars.KFM_PRE_COMMIT_4! };
}

/** The version pinned in conformance/versions.env for `key`. */
export function pinned(key: string): string {
  const line = readFileSync(join(PACKAGE_ROOT, "conformance", "versions.env"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`conformance/versions.env does not set ${key}`);
  return line.slice(key.length + 1).trim();
}

/**
 * An environment in which git reads no user or system configuration (a global
 * core.hooksPath or commit signing would change what a commit runs), with an identity.
 */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = scratch("kfm-adoption-git-");
  const config = join(home, "gitconfig");
  writeFileSync(config, "[user]\n\tname = t\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n");
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_GLOBAL: config, GIT_CONFIG_NOSYSTEM: "1", ...extra };
  for (const k of Object.keys(env)) if (/^GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY)$/.test(k)) delete env[k];
  return env;
}

export type Run = SpawnSyncReturns<string> & { output: string };

/** Runs a command; `output` is its standard output and error together (git shows a hook's output on either). */
export function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return Object.assign(r, { output: `${r.stdout}${r.stderr}` });
}

/** The code blocks of README.md of the given language under the heading `heading` (up to the next heading of that level or higher). */
export function readmeBlocks(heading: string, lang: string): string[] {
  const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");
  const level = /^#+/.exec(heading)![0].length;
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading ${heading}`);
  const rest = readme.slice(at + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, "m").exec(rest);
  const section = next ? rest.slice(0, next.index) : rest;
  return [...section.matchAll(new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```", "gm"))].map((m) => m[1]!);
}
