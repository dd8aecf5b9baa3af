/**
 * The pre-commit framework hooks, with the real pre-commit (3.8 and 4.x, pinned in
 * conformance/versions.env): the README's `.pre-commit-config.yaml`, pointed at a clone
 * of this repository's last commit tagged with the README's `rev`, in a scratch project.
 * Each test installs the hook environment afresh (its own PRE_COMMIT_HOME), as a user's
 * first commit does; npm fetches the runtime dependencies from the registry.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { gitEnv, pinned, preCommits, readmeBlocks, removeScratch, run, scratch } from "./tools.js";

let preCommit: Record<"3" | "4", string>;
let hookRepo: string;
let config: string;
let rev: string;

afterAll(removeScratch);

beforeAll(() => {
  preCommit = preCommits();
  // Given the README's config, and a clone of this repository (its last commit: what a
  // tag would hold) tagged with the README's rev.
  const [yaml] = readmeBlocks("### pre-commit", "yaml");
  const repo = /^\s*- repo: (\S+)$/m.exec(yaml!);
  const tag = /^\s*rev: (\S+)/m.exec(yaml!);
  expect(repo, "the README's config names a repo").not.toBeNull();
  expect(tag, "the README's config names a rev").not.toBeNull();
  rev = tag![1]!;
  hookRepo = join(scratch("kfm-hook-repo-"), "kfm-compile");
  const env = gitEnv();
  expect(run("git", ["clone", "-q", PACKAGE_ROOT, hookRepo], tmpdir(), env).status).toBe(0);
  expect(run("git", ["tag", rev], hookRepo, env).status).toBe(0);
  config = yaml!.replace(repo![1]!, hookRepo);
}, 600_000);

const job = (dir: string) => join(dir, "workflows/daily/jobs/extract_sales.yaml");

describe.each(["3", "4"] as const)("pre-commit %s.x", (major) => {
  it("given the README's config in a project, then the hooks install, a stale commit is blocked with the diff, and a current one passes", () => {
    const home = scratch("kfm-pre-commit-home-");
    const env = gitEnv({ PRE_COMMIT_HOME: home });
    const pc = (dir: string, ...args: string[]) => run(preCommit[major], args, dir, env);
    const git = (dir: string, ...args: string[]) => run("git", args, dir, env);

    const dir = scratch("kfm-pre-commit-project-");
    expect(git(dir, "init", "-q").status).toBe(0);
    cpSync(join(PACKAGE_ROOT, "test/layout"), dir, { recursive: true });
    writeFileSync(join(dir, ".pre-commit-config.yaml"), config);
    // The README's alternative hook, enabled, in a second config (the same repo and rev:
    // pre-commit reuses the environment).
    writeFileSync(join(dir, "compile.pre-commit-config.yaml"), config.replace(/^(\s*)# (- id: kfm-compile)\b/m, "$1$2"));

    // When pre-commit installs the git hook and the hook environment, then both succeed.
    expect(pc(dir, "--version").stdout.trim()).toBe(`pre-commit ${pinned(`PRE_COMMIT_${major}_VERSION`)}`);
    const install = pc(dir, "install");
    expect(install.status, install.output).toBe(0);
    const hooks = pc(dir, "install-hooks");
    expect(hooks.status, hooks.output).toBe(0);

    // Given the specs staged without their outputs, then the commit is blocked.
    git(dir, "add", "-A");
    const missing = git(dir, "commit", "-q", "-m", "specs");
    expect(missing.status, missing.output).not.toBe(0);
    expect(missing.output).toContain("deploy/argo/daily_sales_pipeline.yaml");
    expect(git(dir, "rev-list", "--all").stdout).toBe("");

    // When the compile hook runs, then it writes the outputs (new files, which pre-commit
    // does not count as changes: it compares tracked files).
    const compile = pc(dir, "run", "-c", "compile.pre-commit-config.yaml", "kfm-compile", "--all-files");
    expect(compile.status, compile.output).toBe(0);
    expect(existsSync(join(dir, "deploy/argo/daily_sales_pipeline.yaml"))).toBe(true);
    expect(existsSync(join(dir, ".github/workflows/daily_sales_pipeline.yml"))).toBe(true);

    // Given the outputs added, then the commit passes.
    git(dir, "add", "-A");
    const first = git(dir, "commit", "-q", "-m", "compiled");
    expect(first.status, first.output).toBe(0);

    // Given a job changed and staged without recompiling, then the commit is blocked with the diff.
    writeFileSync(job(dir), readFileSync(job(dir), "utf8").replace("extract:1.0", "extract:2.0"));
    git(dir, "add", "-A");
    const stale = git(dir, "commit", "-q", "-m", "stale");
    expect(stale.status, stale.output).not.toBe(0);
    expect(stale.output).toContain("deploy/argo/daily_sales_pipeline.yaml: stale: its spec changed");
    expect(stale.output).toMatch(/^\+\s+image: lakehouse\/extract:2\.0$/m);
    expect(git(dir, "rev-list", "--count", "HEAD").stdout.trim()).toBe("1");

    // Given the outputs recompiled in the working tree but not staged, then the commit is
    // still blocked: the framework checks what is staged.
    // (The compile hook fails here: it changed tracked files.)
    const recompile = pc(dir, "run", "-c", "compile.pre-commit-config.yaml", "kfm-compile", "--all-files");
    expect(recompile.status, recompile.output).toBe(1);
    expect(recompile.output).toContain("files were modified by this hook");
    const unstaged = git(dir, "commit", "-q", "-m", "stale");
    expect(unstaged.status, unstaged.output).not.toBe(0);
    expect(unstaged.output).toContain("stale: its spec changed");

    // When the outputs are added, then the commit passes.
    git(dir, "add", "-A");
    const current = git(dir, "commit", "-q", "-m", "current");
    expect(current.status, current.output).toBe(0);
    expect(git(dir, "rev-list", "--count", "HEAD").stdout.trim()).toBe("2");
  }, 600_000);
});
