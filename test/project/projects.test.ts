/**
 * Projects as users have them (kfm.config.yaml): workflows meant for some targets only,
 * the config found from a sub-folder, part of a project compiled or checked alone, job
 * files matched by a project glob, names colliding on a runner, two configs sharing an
 * output folder, and `validate` saying what compiling says. Each test builds a project
 * on disk and runs the CLI on it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/index.js";
import { analyze } from "../../src/compile.js";
import { formatDiagnostic } from "../../src/diagnostics.js";
import { TARGETS, findTarget } from "../../targets/index.js";

/** A scratch project holding `files` (path -> text), with a `.git` folder as a repository root has. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "kfm-projects-"));
  mkdirSync(join(dir, ".git"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function run(args: string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
  return { code, stdout, stderr };
}

/** The files in the output folders the tests use (dags, deploy, .github, out), relative, sorted. */
function outputs(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  for (const folder of ["dags", "deploy", ".github", "out"]) if (existsSync(join(dir, folder))) walk(folder);
  return out.sort();
}

/**
 * A newcomer's first workflow: a diamond, a job with retries and a timeout,
 * max_active_runs 1 and an hourly schedule in a zone with daylight saving. Argo and
 * Airflow take it; Tekton (max_active_runs, retries with a timeout beside parallel
 * branches) and GitHub Actions (max_active_runs, the gap hour) refuse it.
 */
const ETL = `workflow:
  name: orders_etl
  max_active_runs: 1
  schedule:
    cron: "0 * * * *"
    timezone: Europe/Berlin
    start_date: "2024-01-01"
  jobs:
    - job: jobs/extract.yaml
    - job:
        name: clean
        image: etl/clean:1
        retry: {max_attempts: 3, delay: 1m}
        timeout: 10m
      depends_on: [extract]
    - job: {name: enrich, image: etl/enrich:1}
      depends_on: [extract]
    - job: {name: load, image: etl/load:1}
      depends_on: [clean, enrich]
`;
const EXTRACT = "job:\n  name: extract\n  image: etl/extract:1\n";
const DAILY = (name: string) =>
  `workflow:\n  name: ${name}\n  schedule: {cron: "0 2 * * *", timezone: UTC, start_date: "2024-01-01"}\n  jobs:\n    - job: {name: report, image: r:1}\n`;
const ALL_TARGETS =
  "targets:\n  airflow: {out: dags}\n  argo: {out: deploy/argo}\n  tekton: {out: deploy/tekton}\n  github-actions: {out: .github/workflows}\n";

function newcomer(specs: string): string {
  return project({
    "kfm.config.yaml": specs + ALL_TARGETS,
    "workflows/etl/workflow.yaml": ETL,
    "workflows/etl/jobs/extract.yaml": EXTRACT,
    "workflows/sales/workflow.yaml": DAILY("sales"),
  });
}

describe("a workflow meant for some targets only", () => {
  it("given the newcomer's ETL for Argo only beside an all-target workflow, when compiled, then each goes to its targets and check is clean", () => {
    const dir = newcomer("specs:\n  - workflows/sales/workflow.yaml\n  - path: workflows/etl/workflow.yaml\n    targets: [argo]\n");
    expect(run(["--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(outputs(dir)).toEqual([
      ".github/workflows/kfm-approval.yml",
      ".github/workflows/kfm-context.yml",
      ".github/workflows/kfm-job.yml",
      ".github/workflows/sales.yml",
      "dags/sales.py",
      "deploy/argo/orders_etl.yaml",
      "deploy/argo/sales.yaml",
      "deploy/tekton-runs/sales.run.yaml",
      "deploy/tekton/kfm-step-actions.yaml",
      "deploy/tekton/sales.yaml",
    ]);
    expect(run(["check"], dir)).toEqual({ code: 0, stdout: "", stderr: "kfm-compile check: 10 generated files current.\n" });
    expect(run(["check", "--full"], dir).code).toBe(0);
    expect(run(["validate"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("given the same ETL for every target, then validate names every target's refusal at once, like compile, and nothing is written", () => {
    // As written, the ETL compiles on every target (Tekton: its jobs are layered, so a branch retried with a timeout may stop the run).
    expect(run(["validate"], newcomer("specs: [workflows/*/workflow.yaml]\n")).code).toBe(0);
    // With `load` continuing after failures, Tekton refuses `clean`: its timed-out last attempt would stop the run before `load`.
    const dir = newcomer("specs: [workflows/*/workflow.yaml]\n");
    writeFileSync(
      join(dir, "workflows/etl/workflow.yaml"),
      ETL.replace("depends_on: [clean, enrich]\n", "depends_on: [clean, enrich]\n      on_upstream_failure: continue\n"),
    );
    const validated = run(["validate"], dir);
    expect(validated.code).toBe(1);
    const found = validated.stderr.split("\n").map((l) => /^(\S+): (?:error|warning) (KFM\d+): (\S+ \S+)/.exec(l)?.slice(1).join(" ") ?? l);
    expect(found).toEqual([
      // GitHub Actions queues its runs (max_active_runs: 1); its jobs have no timeout, so a run may outlast the 100 runs the queue holds.
      "workflows/etl/workflow.yaml:3:20 KFM233 On GitHub",
      "workflows/etl/workflow.yaml:11:9 KFM301 tekton cannot",
      "1 error.",
      "",
    ]);
    // Its hourly schedule in Europe/Berlin runs on elapsed time on every target (no KFM220).
    expect(validated.stderr).not.toMatch(/KFM220/);
    expect(run([], dir)).toEqual({
      ...validated,
      stdout: "",
      stderr: `${validated.stderr}kfm-compile: nothing was written; fix the errors above and compile again.\n`,
    });
    expect(outputs(dir)).toEqual([]);
  });

  it("given the ETL for Argo and GitHub Actions in UTC, then validate --format json gives GitHub's queue-length warning alone", () => {
    const dir = newcomer("specs:\n  - path: workflows/etl/workflow.yaml\n    targets: [argo, github-actions]\n");
    writeFileSync(join(dir, "workflows/etl/workflow.yaml"), ETL.replace("Europe/Berlin", "UTC"));
    const r = run(["validate", "--format", "json"], dir);
    expect(r.code).toBe(0);
    const codes = (JSON.parse(r.stdout) as { diagnostics: { code: string; message: string }[] }).diagnostics.map((d) => `${d.code} ${d.message.slice(0, 30)}`);
    expect(codes).toEqual(["KFM233 On GitHub Actions the runs of "]);
    expect(outputs(dir)).toEqual([]);
  });

  it("given an entry naming a target the project does not configure, then KFM010 points at it with the nearest name", () => {
    const dir = newcomer("specs:\n  - path: workflows/etl/workflow.yaml\n    targets: [argoo]\n");
    const r = run(["validate"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^kfm\.config\.yaml:3:15: error KFM010: `argoo` is not one of this project's `targets` \(airflow, argo, tekton, github-actions\).*Did you mean 'argo'\?$/m,
    );
  });
});

describe("backfill in a project", () => {
  it("given the Argo-only ETL, then its runs are planned for Argo alone, into its runs folder beside the configured one", () => {
    const dir = newcomer("specs:\n  - path: workflows/etl/workflow.yaml\n    targets: [argo]\n");
    const r = run(["backfill", "--from", "2024-03-30", "--to", "2024-03-31"], dir);
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(outputs(dir)).toEqual([
      "deploy/argo-runs/orders_etl.backfill-2024-03-30-2024-03-31.ledger.json",
      "deploy/argo-runs/orders_etl.backfill-2024-03-30-2024-03-31.yaml",
    ]);
  });
});

describe("the config from a sub-folder, and part of a project", () => {
  const SHARED_JOB = "workflows/etl/workflow.yaml";

  it("given a job file shared from the project root, when validate and check run in a sub-folder, then ../../jobs is inside the project", () => {
    const dir = project({
      "kfm.config.yaml": "specs: [workflows/*/workflow.yaml]\ntargets:\n  argo: {out: deploy/argo}\n",
      [SHARED_JOB]: ETL.replace("jobs/extract.yaml", "../../jobs/extract.yaml").replace("Europe/Berlin", "UTC"),
      "jobs/extract.yaml": EXTRACT,
    });
    const sub = join(dir, "workflows/etl");
    expect(run(["validate", "workflow.yaml"], sub)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(run([], sub).code).toBe(0);
    expect(existsSync(join(dir, "deploy/argo/orders_etl.yaml"))).toBe(true);
    expect(run(["check"], sub).stderr).toBe("kfm-compile check: 1 generated file current.\n");
    expect(run(["graph", "workflow.yaml"], sub).code).toBe(0);
    expect(run(["explain", "workflow.yaml"], sub).stdout).toMatch(/^feature +argo$/m);
  });

  it("given a spec on the command line, then only it is compiled, for its configured targets, and --target narrows them", () => {
    const dir = newcomer("specs:\n  - workflows/sales/workflow.yaml\n  - path: workflows/etl/workflow.yaml\n    targets: [argo]\n");
    expect(run(["workflows/sales/workflow.yaml", "--target", "tekton", "--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(outputs(dir)).toEqual(["deploy/tekton-runs/sales.run.yaml", "deploy/tekton/sales.yaml"]);
    expect(run(["workflows/sales/workflow.yaml"], dir).code).toBe(0);
    expect(outputs(dir)).toEqual([
      ".github/workflows/sales.yml",
      "dags/sales.py",
      "deploy/argo/sales.yaml",
      "deploy/tekton-runs/sales.run.yaml",
      "deploy/tekton/sales.yaml",
    ]);
    // The ETL's files are missing, but checking the sales workflow alone does not look at them.
    expect(run(["check", "workflows/sales/workflow.yaml"], dir)).toMatchObject({ code: 0, stdout: "" });
    // The shared workflows and StepActions are folder files, written only when the whole project is compiled.
    expect(run(["check"], dir)).toMatchObject({
      code: 1,
      stdout:
        "Missing (run kfm-compile to write them):\n  deploy/argo/orders_etl.yaml\n  deploy/tekton/kfm-step-actions.yaml\n  .github/workflows/kfm-context.yml\n  .github/workflows/kfm-job.yml\n  .github/workflows/kfm-approval.yml\n",
    });
  });

  it("given a spec the config does not list, then KFM011 says so and nothing is written; --out compiles it on its own", () => {
    const dir = newcomer("specs: [workflows/sales/workflow.yaml]\n");
    writeFileSync(join(dir, "scratch.yaml"), DAILY("scratch"));
    const r = run(["scratch.yaml"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^scratch\.yaml:1:1: error KFM011: This file is not one of the specs of the project of kfm\.config\.yaml/m);
    expect(outputs(dir)).toEqual([]);
    expect(run(["scratch.yaml", "--target", "argo", "--out", "out"], dir).code).toBe(0);
    expect(outputs(dir)).toEqual(["out/argo/scratch.yaml"]);
  });

  it("given --target for a target the config has no folder for, or that a spec's entry leaves out, then it is a usage error", () => {
    const dir = project({
      "kfm.config.yaml": "specs:\n  - path: workflows/etl/workflow.yaml\n    targets: [argo]\ntargets:\n  argo: {out: deploy/argo}\n  airflow: {out: dags}\n",
      "workflows/etl/workflow.yaml": ETL,
      "workflows/etl/jobs/extract.yaml": EXTRACT,
    });
    const r = run(["--target", "tekton"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kfm-compile: --target tekton: kfm\.config\.yaml has no output folder for it \(its targets: argo, airflow\)/);
    expect(run(["workflows/etl/workflow.yaml", "--target", "airflow"], dir)).toMatchObject({ code: 2 });
    // The whole project narrowed to Airflow: the Argo-only workflow is skipped, not refused.
    expect(run(["--target", "airflow", "--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(outputs(dir)).toEqual([]);
  });

  it("given no config up to the repository root, then a config above the repository is not used", () => {
    const outer = project({ "kfm.config.yaml": "specs: [x.yaml]\ntargets: {argo: {out: o}}\n" });
    const repo = join(outer, "repo");
    mkdirSync(join(repo, ".git"), { recursive: true });
    expect(run(["check"], repo)).toMatchObject({ code: 2, stderr: expect.stringMatching(/no kfm\.config\.yaml in this folder or a folder above it/) });
  });
});

describe("job files matched by a project glob", () => {
  it("given workflows/**/*.yaml, then the job files a workflow names are not compiled on their own, and a stand-alone job spec is", () => {
    const dir = project({
      "kfm.config.yaml": "specs: ['workflows/**/*.yaml']\ntargets:\n  argo: {out: deploy/argo}\n",
      "workflows/etl/workflow.yaml": ETL.replace("Europe/Berlin", "UTC"),
      "workflows/etl/jobs/extract.yaml": EXTRACT,
      "workflows/adhoc/reindex.yaml": "job:\n  name: reindex\n  image: r:1\n",
    });
    expect(run(["--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(outputs(dir)).toEqual(["deploy/argo/orders_etl.yaml", "deploy/argo/reindex.yaml"]);
    expect(run(["check"], dir).stderr).toBe("kfm-compile check: 2 generated files current.\n");
  });

  it("given such a job file alone on the command line, then KFM011 names its workflow and nothing is written", () => {
    const dir = project({
      "kfm.config.yaml": "specs: ['workflows/**/*.yaml']\ntargets:\n  argo: {out: deploy/argo}\n",
      "workflows/etl/workflow.yaml": ETL.replace("Europe/Berlin", "UTC"),
      "workflows/etl/jobs/extract.yaml": EXTRACT,
    });
    expect(run(["workflows/etl/jobs/extract.yaml"], dir)).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "workflows/etl/jobs/extract.yaml:1:1: error KFM011: This is a job file of workflows/etl/workflow.yaml, compiled as part of it, not on its own: give that workflow instead.\n1 error.\nkfm-compile: nothing was written; fix the errors above and compile again.\n",
    });
    expect(outputs(dir)).toEqual([]);
  });

  it("given a problem in such a job file, then it is reported once, at its line", () => {
    const dir = project({
      "kfm.config.yaml": "specs: ['workflows/**/*.yaml']\ntargets:\n  argo: {out: deploy/argo}\n",
      "workflows/etl/workflow.yaml": ETL.replace("Europe/Berlin", "UTC"),
      "workflows/etl/jobs/extract.yaml": EXTRACT + "  imagee: x\n",
    });
    const r = run(["validate"], dir);
    expect(r.stderr.split("\n").filter((l) => l.includes("KFM101"))).toEqual([
      "workflows/etl/jobs/extract.yaml:4:3: error KFM101: Unknown key `imagee` in `job`. Did you mean 'image'?",
    ]);
  });
});

describe("workflow names that collide on a runner", () => {
  it("given payments_reconcile and payments-reconcile for Argo, then KFM208 names both specs; for different targets they do not collide", () => {
    const specs = { "a/workflow.yaml": DAILY("payments_reconcile"), "b/workflow.yaml": DAILY("payments-reconcile") };
    const dir = project({ "kfm.config.yaml": "specs: ['*/workflow.yaml']\ntargets:\n  argo: {out: deploy/argo}\n  airflow: {out: dags}\n", ...specs });
    const r = run([], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "b/workflow.yaml:1:1: error KFM208: This spec's workflow `payments-reconcile` and the workflow `payments_reconcile` of a/workflow.yaml are both named `payments-reconcile` on argo (Kubernetes names have no `_`), so each would replace the other there; rename one of them.\n1 error.\nkfm-compile: nothing was written; fix the errors above and compile again.\n",
    );
    expect(outputs(dir)).toEqual([]);
    writeFileSync(
      join(dir, "kfm.config.yaml"),
      "specs:\n  - a/workflow.yaml\n  - {path: b/workflow.yaml, targets: [airflow]}\ntargets:\n  argo: {out: deploy/argo}\n  airflow: {out: dags}\n",
    );
    expect(run([], dir).code).toBe(0);
  });

  it("given the collision against a spec check trusts without compiling, then check reports it too", () => {
    const dir = project({
      "kfm.config.yaml": "specs: ['*/workflow.yaml']\ntargets:\n  argo: {out: deploy/argo}\n",
      "a/workflow.yaml": DAILY("payments_reconcile"),
    });
    expect(run([], dir).code).toBe(0);
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "b/workflow.yaml"), DAILY("payments-reconcile"));
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^b\/workflow\.yaml:1:1: error KFM208: .*of a\/workflow\.yaml are both named `payments-reconcile` on argo/m);
  });
});

describe("two configs sharing an output folder", () => {
  function twoConfigs(): string {
    return project({
      "kfm.config.yaml": "specs: [team-a/*.yaml]\ntargets:\n  argo: {out: deploy/argo}\n",
      "other.kfm.yaml": "specs: [team-b/*.yaml]\ntargets:\n  argo: {out: deploy/argo}\n",
      "team-a/one.yaml": DAILY("one"),
      "team-b/two.yaml": DAILY("two"),
    });
  }

  it("given both compiled with --prune, then neither removes nor reports the other's files", () => {
    const dir = twoConfigs();
    expect(run(["--prune", "--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(run(["--config", "other.kfm.yaml", "--prune", "--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(run(["--prune", "--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(outputs(dir)).toEqual(["deploy/argo/one.yaml", "deploy/argo/two.yaml"]);
    expect(run(["check"], dir)).toMatchObject({ code: 0, stdout: "" });
    expect(run(["check", "--config", "other.kfm.yaml"], dir)).toMatchObject({ code: 0, stdout: "" });
  });

  it("given a spec of one config deleted, then that config's --prune removes its file, and the other's stays", () => {
    const dir = twoConfigs();
    run([], dir);
    run(["--config", "other.kfm.yaml"], dir);
    writeFileSync(join(dir, "team-a/three.yaml"), DAILY("three"));
    rmSync(join(dir, "team-a/one.yaml"));
    const checked = run(["check"], dir);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain(
      "Orphans (generated, but no compiled spec writes them; kfm-compile --prune removes them):\n  deploy/argo/one.yaml (from team-a/one.yaml,",
    );
    expect(checked.stdout).not.toContain("two.yaml");
    const pruned = run(["--prune"], dir).stderr;
    expect(pruned).toMatch(/^removed +deploy\/argo\/one\.yaml \(generated, and no compiled spec writes it any more\)$/m);
    expect(pruned).not.toContain("two.yaml");
    expect(outputs(dir)).toEqual(["deploy/argo/three.yaml", "deploy/argo/two.yaml"]);
  });

  it("given an output folder inside a sub-folder that is a project of its own, then KFM012 refuses it", () => {
    const dir = project({
      "kfm.config.yaml": "specs: [team-a/*.yaml]\ntargets:\n  argo: {out: team-b/deploy}\n",
      "team-a/one.yaml": DAILY("one"),
      "team-b/kfm.config.yaml": "specs: ['*.yaml']\ntargets:\n  argo: {out: deploy}\n",
    });
    const r = run(["validate"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^kfm\.config\.yaml:3:15: error KFM012: The output folder `team-b\/deploy` is inside another project \(team-b\/kfm\.config\.yaml\)/m,
    );
  });
});

describe("diff of a project spec against its git history", () => {
  it("given the newcomer's ETL for Argo only, when diffed against git:HEAD, then the old side is judged for the same targets (no KFM220)", () => {
    const dir = newcomer("specs:\n  - {path: workflows/etl/workflow.yaml, targets: [argo]}\n  - workflows/sales/workflow.yaml\n");
    rmSync(join(dir, ".git"), { recursive: true });
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
    git("init", "-q");
    git("add", ".");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "etl");
    writeFileSync(join(dir, "workflows/etl/workflow.yaml"), ETL.replace("retry: {max_attempts: 3, delay: 1m}", "retry: {max_attempts: 4, delay: 1m}"));
    const r = run(["diff", "git:HEAD:workflows/etl/workflow.yaml", "workflows/etl/workflow.yaml"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("attempts: 3 -> 4");
  });
});

describe("daylight-saving slots judged for the targets compiled together (KFM220)", () => {
  const lines = (cron: string, targets?: string[], zone = "Europe/Berlin") =>
    analyze(
      "w.yaml",
      `workflow:\n  name: w\n  schedule: {cron: "${cron}", timezone: ${zone}, start_date: "2024-01-01"}\n  jobs:\n    - job: {name: a, image: a:1}\n`,
      undefined,
      targets === undefined ? undefined : { targets: targets.map((t) => findTarget(t)!) },
    ).diagnostics.map(formatDiagnostic);

  // Europe/Berlin changes its clocks on Sundays: `0 * * * 0` fires on Sundays only.
  it("given an hourly cron, then every target fires it on elapsed time (GitHub Actions in Etc/UTC, guarded when days are restricted)", () => {
    expect(lines("0 * * * *", ["airflow", "argo", "tekton", "github-actions"])).toEqual([]);
    expect(lines("0 * * * 0", ["airflow", "argo", "tekton", "github-actions"])).toEqual([]);
  });

  it("given a daily 02:30, then Airflow, Argo and Tekton (its run creator guarding the CronJob) fire the gap slot an hour late and the fold slot once", () => {
    expect(lines("30 2 * * *", ["airflow", "argo", "tekton"])).toEqual([]);
    expect(lines("30 2 * 10 0", ["airflow", "argo", "tekton"])).toEqual([]);
  });

  it("given a daily 02:30 in a zone whose changes follow no POSIX TZ rule, then Tekton, whose guard cannot read that zone's clock, is refused with the reason", () => {
    // Morocco puts its clocks back for Ramadan, on dates no POSIX TZ rule gives.
    expect(lines("30 2 * * *", ["airflow", "argo"], "Africa/Casablanca")).toEqual([]);
    expect(lines("30 2 * * *", ["tekton"], "Africa/Casablanca")).toEqual([
      expect.stringMatching(
        /KFM220: .*02:30 Africa\/Casablanca falls in a daylight-saving (gap|fold) .*but tekton (skips it|fires it twice \(once per occurrence\)), and its run creator's guard cannot read the zone's clock without a tz database \(the zone's changes follow no POSIX TZ rule: it does not change its clocks forward once and back once in \d{4}\)\./,
      ),
    ]);
  });

  it("given no targets, then nothing is refused: the meaning is defined, and each target is judged when compiled for", () => {
    expect(lines("0 * * * *")).toEqual([]);
    expect(lines("30 2 * * *")).toEqual([]);
    expect(TARGETS.every((t) => t.daylightSaving !== undefined)).toBe(true);
  });
});
