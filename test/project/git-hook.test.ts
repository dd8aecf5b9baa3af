// End to end, as the README sets a repository up: a scratch git repository with a
// kfm.config.yaml and the plain git hook (scripts/pre-commit) running the built CLI.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { buildPackage } from "../files.js";

// The built CLI, in a package folder of its own: a build in the shared dist/ could be
// rewritten by another build while this test runs.
const PACKAGE = mkdtempSync(join(tmpdir(), "kfm-package-"));
const CLI = join(PACKAGE, "bin/kfm-compile.js");
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
  KFM_COMPILE: `node ${CLI}`,
};

function git(dir: string, ...args: string[]) {
  return spawnSync("git", ["-c", "core.hooksPath=.git/hooks", "-c", "commit.gpgsign=false", ...args], { cwd: dir, env: ENV, encoding: "utf8" });
}

function kfm(dir: string, ...args: string[]) {
  return spawnSync("node", [CLI, ...args], { cwd: dir, env: ENV, encoding: "utf8" });
}

/** A scratch repository with the hook installed and the compiled layout example committed. */
function compiledRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), "kfm-git-"));
  execFileSync("git", ["init", "-q"], { cwd: dir, env: ENV });
  cpSync(join(PACKAGE_ROOT, "test/layout"), dir, { recursive: true });
  copyFileSync(join(PACKAGE_ROOT, "scripts/pre-commit"), join(dir, ".git/hooks/pre-commit"));
  chmodSync(join(dir, ".git/hooks/pre-commit"), 0o755);
  expect(kfm(dir).status).toBe(0);
  git(dir, "add", "-A");
  const first = git(dir, "commit", "-q", "-m", "first");
  expect(first.status, first.stderr).toBe(0);
  return dir;
}

describe("pre-commit in a scratch git repository", () => {
  beforeAll(() => {
    buildPackage(PACKAGE);
  }, 120_000);

  it("given the plain git hook, then a commit with stale manifests is blocked, and passes after kfm-compile", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-git-"));
    execFileSync("git", ["init", "-q"], { cwd: dir, env: ENV });
    cpSync(join(PACKAGE_ROOT, "test/layout"), dir, { recursive: true });
    copyFileSync(join(PACKAGE_ROOT, "scripts/pre-commit"), join(dir, ".git/hooks/pre-commit"));
    chmodSync(join(dir, ".git/hooks/pre-commit"), 0o755);

    // Given a compiled project, when committed, then the hook lets it through.
    expect(kfm(dir).status).toBe(0);
    git(dir, "add", "-A");
    const first = git(dir, "commit", "-q", "-m", "first");
    expect(first.status, first.stderr).toBe(0);

    // Given a job file changed without recompiling, then the commit is blocked, with a diff
    // (git shows a hook's output on stderr).
    const job = join(dir, "workflows/daily/jobs/extract_sales.yaml");
    writeFileSync(job, readFileSync(job, "utf8").replace("extract:1.0", "extract:2.0"));
    git(dir, "add", "-A");
    const blocked = git(dir, "commit", "-q", "-m", "stale");
    expect(blocked.status).not.toBe(0);
    expect(blocked.stderr).toContain("deploy/argo/daily_sales_pipeline.yaml: stale: its spec changed");
    expect(blocked.stderr).toContain("generated files are not current");
    expect(git(dir, "rev-list", "--count", "HEAD").stdout.trim()).toBe("1");

    // When compiled and added, then the commit passes.
    expect(kfm(dir).status).toBe(0);
    git(dir, "add", "-A");
    expect(git(dir, "commit", "-q", "-m", "compiled").status).toBe(0);
    expect(git(dir, "rev-list", "--count", "HEAD").stdout.trim()).toBe("2");

    // Given a hand edit of a generated file, then the commit is blocked again.
    const out = join(dir, ".github/workflows/daily_sales_pipeline.yml");
    writeFileSync(out, readFileSync(out, "utf8") + "# tweak\n");
    git(dir, "add", "-A");
    const edited = git(dir, "commit", "-q", "-m", "edit");
    expect(edited.status).not.toBe(0);
    expect(edited.stderr).toContain(".github/workflows/daily_sales_pipeline.yml: edited by hand");
  }, 60_000);

  it("given a job change staged without its recompiled outputs, then the commit is blocked although the working tree is current", () => {
    const dir = compiledRepository();
    const job = join(dir, "workflows/daily/jobs/extract_sales.yaml");
    const argo = join(dir, "deploy/argo/daily_sales_pipeline.yaml");
    const before = readFileSync(argo, "utf8");

    // Given the job changed and staged, and the outputs recompiled in the working tree but not added.
    writeFileSync(job, readFileSync(job, "utf8").replace("extract:1.0", "extract:2.0"));
    git(dir, "add", job);
    expect(kfm(dir).status).toBe(0);
    expect(kfm(dir, "check").status).toBe(0);

    // When committed, then the hook checks what is staged: the commit is blocked with the diff.
    const blocked = git(dir, "commit", "-q", "-m", "stale");
    expect(blocked.status).not.toBe(0);
    expect(blocked.stderr).toContain("deploy/argo/daily_sales_pipeline.yaml: stale: its spec changed");
    expect(blocked.stderr).toMatch(/^\+\s+image: lakehouse\/extract:2\.0$/m);
    expect(git(dir, "rev-list", "--count", "HEAD").stdout.trim()).toBe("1");
    // The working tree and the index are as they were.
    expect(readFileSync(argo, "utf8")).not.toBe(before);
    expect(git(dir, "diff", "--name-only").stdout.trim().split("\n").sort()).toEqual([
      ".github/workflows/daily_sales_pipeline.yml",
      "deploy/argo/daily_sales_pipeline.yaml",
    ]);
    expect(git(dir, "diff", "--cached", "--name-only").stdout.trim()).toBe("workflows/daily/jobs/extract_sales.yaml");

    // When the outputs are added too, then the commit passes.
    git(dir, "add", "-A");
    const passed = git(dir, "commit", "-q", "-m", "compiled");
    expect(passed.status, passed.stderr).toBe(0);
  }, 60_000);

  it("given git commit <path> and git commit -a, then the hook checks the index git prepared for that commit", () => {
    const dir = compiledRepository();
    const job = join(dir, "workflows/daily/jobs/extract_sales.yaml");
    writeFileSync(job, readFileSync(job, "utf8").replace("extract:1.0", "extract:2.0"));
    expect(kfm(dir).status).toBe(0);

    // When only the job is named, then its outputs are not part of the commit: blocked.
    const path = git(dir, "commit", "-q", "-m", "job only", "workflows/daily/jobs/extract_sales.yaml");
    expect(path.status).not.toBe(0);
    expect(path.stderr).toContain("deploy/argo/daily_sales_pipeline.yaml: stale: its spec changed");
    // When every change is committed (-a), then the commit passes.
    const all = git(dir, "commit", "-q", "-a", "-m", "all");
    expect(all.status, all.stderr).toBe(0);
    expect(git(dir, "rev-list", "--count", "HEAD").stdout.trim()).toBe("2");
  }, 60_000);

  it("given current content staged and a stale edit left unstaged, then the commit passes", () => {
    const dir = compiledRepository();
    const job = join(dir, "workflows/daily/jobs/extract_sales.yaml");
    // Given the job changed in the working tree only (not recompiled, not staged), and a
    // staged change that does not touch the specs.
    writeFileSync(job, readFileSync(job, "utf8").replace("extract:1.0", "extract:2.0"));
    writeFileSync(join(dir, "NOTES.md"), "notes\n");
    git(dir, "add", "NOTES.md");
    expect(kfm(dir, "check").status).toBe(1);

    // When committed, then what is committed is current, and the commit passes.
    const passed = git(dir, "commit", "-q", "-m", "notes");
    expect(passed.status, passed.stderr).toBe(0);
    expect(git(dir, "diff", "--name-only").stdout.trim()).toBe("workflows/daily/jobs/extract_sales.yaml");
  }, 60_000);
});
