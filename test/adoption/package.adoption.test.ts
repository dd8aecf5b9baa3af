/**
 * The npm tarball as a user gets it: `npm pack` of this repository, installed into a
 * scratch project (its runtime dependencies from the npm registry), then the README's
 * commands run there through node_modules/.bin, and the plain git hook installed as the
 * README says.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { gitEnv, readmeBlocks, removeScratch, run, scratch } from "./tools.js";

let tarball: string;

/** A scratch npm project with the tarball installed. */
function project(): string {
  const dir = scratch("kfm-package-project-");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "adopter", private: true }) + "\n");
  const install = run("npm", ["install", "--no-audit", "--no-fund", "--save-dev", tarball], dir, process.env);
  expect(install.status, install.output).toBe(0);
  return dir;
}

afterAll(removeScratch);

beforeAll(() => {
  // Given the tarball npm pack makes: pre-commit 3.x reads its name from standard
  // output, so nothing else may be printed there.
  const out = scratch("kfm-pack-");
  const pack = run("npm", ["pack", "--pack-destination", out], PACKAGE_ROOT, process.env);
  expect(pack.status, pack.output).toBe(0);
  expect(readdirSync(out)).toEqual([pack.stdout.trim()]);
  tarball = join(out, pack.stdout.trim());
}, 600_000);

describe("the npm tarball installed into a project", () => {
  it("given the README's commands (Using it), then each runs and exits 0 with the installed CLI", () => {
    const dir = project();
    const env = gitEnv({ PATH: `${join(dir, "node_modules/.bin")}:${process.env.PATH}` });
    // The README's example names: pipeline.yaml, specs/*.yaml, and an origin/main to diff against.
    copyFileSync(join(PACKAGE_ROOT, "specs/contract-4.2-workflow.yaml"), join(dir, "pipeline.yaml"));
    mkdirSync(join(dir, "specs"));
    for (const s of ["contract-4.2-workflow.yaml", "contract-7.1-cron.yaml"]) copyFileSync(join(PACKAGE_ROOT, "specs", s), join(dir, "specs", s));
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n");
    expect(run("git", ["init", "-q"], dir, env).status).toBe(0);
    run("git", ["add", "-A"], dir, env);
    expect(run("git", ["commit", "-q", "-m", "specs"], dir, env).status).toBe(0);
    expect(run("git", ["update-ref", "refs/remotes/origin/main", "HEAD"], dir, env).status).toBe(0);

    const [block] = readmeBlocks("## Using it", "sh");
    const commands = block!
      .split("\n")
      .map((l) => l.replace(/\s+#.*$/, "").trim())
      .filter((l) => l !== "");
    expect(commands.length).toBeGreaterThanOrEqual(8);
    for (const command of commands) {
      expect(command).toMatch(/^kfm-compile\b/);
      const r = run("sh", ["-c", command], dir, env);
      expect(r.status, `${command}\n${r.output}`).toBe(0);
    }
    // What the writing commands wrote.
    for (const target of ["airflow", "argo", "tekton", "github-actions"]) expect(readdirSync(join(dir, "deploy", target)).length, target).toBeGreaterThan(0);
    expect(readdirSync(join(dir, "deploy/argo-runs")).some((f) => f.includes(".backfill-"))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "workflow.schema.json"), "utf8"))).toHaveProperty("$schema");
  });

  it("given a project with kfm.config.yaml and the plain git hook copied as the README says, then a stale staged change is blocked and a current commit passes", () => {
    const dir = project();
    const env = gitEnv({ PATH: `${join(dir, "node_modules/.bin")}:${process.env.PATH}` });
    cpSync(join(PACKAGE_ROOT, "test/layout"), dir, { recursive: true });
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n");
    expect(run("git", ["init", "-q"], dir, env).status).toBe(0);
    // The README's install commands for the plain hook.
    const install = readmeBlocks("### pre-commit", "sh").find((b) => b.includes(".git/hooks/pre-commit"));
    expect(install).toBeDefined();
    expect(run("sh", ["-c", install!], dir, env).status).toBe(0);

    // Given the project compiled (kfm-compile with the config), then the commit passes
    // (the hook runs the project's node_modules/.bin/kfm-compile).
    expect(run("kfm-compile", [], dir, env).status).toBe(0);
    expect(run("kfm-compile", ["check"], dir, env).status).toBe(0);
    run("git", ["add", "-A"], dir, env);
    const first = run("git", ["commit", "-q", "-m", "compiled"], dir, env);
    expect(first.status, first.output).toBe(0);

    // Given a job change staged and the outputs recompiled but not staged, then the commit is blocked.
    const job = join(dir, "workflows/daily/jobs/extract_sales.yaml");
    writeFileSync(job, readFileSync(job, "utf8").replace("extract:1.0", "extract:2.0"));
    run("git", ["add", job], dir, env);
    expect(run("kfm-compile", [], dir, env).status).toBe(0);
    const stale = run("git", ["commit", "-q", "-m", "stale"], dir, env);
    expect(stale.status, stale.output).not.toBe(0);
    expect(stale.output).toContain("deploy/argo/daily_sales_pipeline.yaml: stale: its spec changed");

    // When the outputs are staged, then the commit passes.
    run("git", ["add", "-A"], dir, env);
    const current = run("git", ["commit", "-q", "-m", "current"], dir, env);
    expect(current.status, current.output).toBe(0);
  });
});
