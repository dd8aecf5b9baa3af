import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { formatDiagnostic } from "../../src/diagnostics.js";
import { main } from "../../src/cli/index.js";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { VERSION } from "../../src/version.js";

/** A scratch folder holding `files` (path -> text). */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "kfm-config-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const SPEC = readFileSync(join(PACKAGE_ROOT, "specs/contract-4.2-workflow.yaml"), "utf8");
const JOB = "job:\n  name: one\n  image: x:1\n";

function parse(dir: string, text: string) {
  const r = parseConfig("kfm.config.yaml", text, join(dir, "kfm.config.yaml"));
  return { ...r, lines: r.diagnostics.map(formatDiagnostic) };
}

function run(args: string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
  return { code, stdout, stderr };
}

describe("kfm.config.yaml", () => {
  it("given a valid config, then its specs are the glob matches (sorted, once each) and its targets have their folders", () => {
    const dir = project({ "b/one.yaml": SPEC, "a/two.yaml": JOB });
    const r = parse(dir, "specs: ['*/*.yaml', 'a/*.yaml']\ntargets:\n  argo: {out: deploy/argo/}\n  github-actions: {out: .github/workflows}\n");
    expect(r.lines).toEqual([]);
    expect(r.project!.specs).toEqual([join(dir, "a/two.yaml"), join(dir, "b/one.yaml")]);
    expect(r.project!.targets.map((t) => [t.target.name, t.out])).toEqual([
      ["argo", "deploy/argo"],
      ["github-actions", ".github/workflows"],
    ]);
  });

  it("given `!` globs, then they exclude (for example the job files of a layout)", () => {
    const dir = project({ "workflows/d/workflow.yaml": SPEC, "workflows/d/jobs/one.yaml": JOB });
    const r = parse(dir, "specs: ['**/*.yaml', '!**/jobs/**']\ntargets: {argo: {out: out}}\n");
    expect(r.project!.specs).toEqual([join(dir, "workflows/d/workflow.yaml")]);
  });

  it("given entries with targets, then their specs are limited to those targets, unless a plain glob matches them too", () => {
    const dir = project({ "w/a.yaml": SPEC, "w/b.yaml": SPEC, "w/c.yaml": SPEC });
    const r = parse(
      dir,
      "specs:\n  - w/a.yaml\n  - {path: 'w/*.yaml', targets: [argo]}\n  - {path: w/c.yaml, targets: [tekton]}\n  - '!w/b.yaml'\ntargets:\n  argo: {out: a}\n  tekton: {out: t}\n",
    );
    expect(r.lines).toEqual([]);
    expect(r.project!.specs).toEqual([join(dir, "w/a.yaml"), join(dir, "w/c.yaml")]);
    expect([...r.project!.only]).toEqual([[join(dir, "w/c.yaml"), ["argo", "tekton"]]]);
  });

  it("given an entry with targets and a `!` glob, then it is refused: excludes go in the list as strings", () => {
    const r = parse(project({ "a.yaml": SPEC }), "specs:\n  - a.yaml\n  - {path: '!a.yaml', targets: [argo]}\ntargets:\n  argo: {out: out}\n");
    expect(r.lines).toEqual([expect.stringMatching(/^kfm\.config\.yaml:3:12: error KFM104: An entry with `targets` names specs to include/)]);
  });

  it("given a misspelt key, then KFM101 points at it with a suggestion, and the key it stands for is not said to be missing too", () => {
    const r = parse(project({ "a.yaml": SPEC }), "specs: [a.yaml]\ntarget:\n  argo: {out: out}\n");
    expect(r.lines).toEqual(["kfm.config.yaml:2:1: error KFM101: Unknown key `target` at the top level. Did you mean 'targets'?"]);
    // A missing key with no misspelling of it beside is still said.
    expect(parse(project({ "a.yaml": SPEC }), "specs: [a.yaml]\n").lines).toEqual([
      "kfm.config.yaml:1:1: error KFM102: The document is missing the required key `targets`.",
    ]);
  });

  it("given an unknown target name, then it is named with the nearest target", () => {
    const r = parse(project({ "a.yaml": SPEC }), "specs: [a.yaml]\ntargets:\n  argoo:\n    out: out\n");
    expect(r.lines).toEqual(["kfm.config.yaml:3:3: error KFM101: Unknown target `argoo` in `targets`. Did you mean 'argo'?"]);
  });

  it("given wrong types and unknown target keys, then each is located", () => {
    const r = parse(project({}), "specs: a.yaml\ntargets:\n  argo:\n    out: out\n    ouptions: {}\n");
    expect(r.lines).toEqual([
      "kfm.config.yaml:1:8: error KFM103: `specs` must be a list, not a string: write `[a.yaml]` for a list of one.",
      "kfm.config.yaml:5:5: error KFM101: Unknown key `ouptions` in `argo`. Did you mean 'options'?",
    ]);
  });

  it("given an option the target does not have, then KFM013 at its name (test/project/options.test.ts has the rest)", () => {
    const r = parse(project({ "a.yaml": SPEC }), "specs: [a.yaml]\ntargets:\n  argo:\n    out: out\n    options: {no_such_option: x}\n");
    expect(r.lines).toEqual([expect.stringMatching(/^kfm\.config\.yaml:5:15: error KFM013: Unknown argo option `no_such_option`\./)]);
  });

  it("given GitHub registry options in part, then compiling says it once at the options key, not at each spec; --option completing them is taken", () => {
    const dir = project({
      "w/a.yaml": SPEC,
      "w/b.yaml": SPEC.replace(/name: \S+/, "name: other"),
      "kfm.config.yaml": "specs: ['w/*.yaml']\ntargets:\n  github-actions:\n    out: gh\n    options:\n      registry: ghcr.io\n",
    });
    const r = run([], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^kfm\.config\.yaml:5:5: error KFM260: The GitHub Actions options `registry`, `registryUsername` and `registryPasswordSecret` go together/,
      ),
      "1 error.",
    ]);
    expect(existsSync(join(dir, "gh"))).toBe(false);
    const cli = run(["--option", "registryUsername=u"], dir);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/KFM260/);
    writeFileSync(join(dir, "kfm.config.yaml"), "specs: ['w/*.yaml']\ntargets:\n  github-actions:\n    out: gh\n");
    const usage = run(["--option", "registry=ghcr.io", "--option", "registryUsername=u"], dir);
    expect([usage.code, usage.stderr.trim()]).toEqual([
      2,
      expect.stringMatching(
        /^kfm-compile: --option: The GitHub Actions options .* only `registry` and `registryUsername` are given: add `registryPasswordSecret`/,
      ),
    ]);
    const whole = run(["--option", "registry=ghcr.io", "--option", "registryUsername=u", "--option", "registryPasswordSecret=P"], dir);
    expect([whole.code, whole.stderr]).toEqual([0, expect.stringContaining("written")]);
  });

  it("given a glob matching nothing and folders outside the project, then KFM007 and KFM006", () => {
    const r = parse(project({ "a.yaml": SPEC }), "specs: [a.yaml, workflow/*.yaml, ../*.yaml]\ntargets:\n  argo: {out: ../out}\n  tekton: {out: /tmp/x}\n");
    expect(r.lines).toEqual([
      "kfm.config.yaml:1:17: error KFM007: The glob `workflow/*.yaml` matches no file (it is read relative to the folder of this file).",
      "kfm.config.yaml:1:34: error KFM006: The glob `../*.yaml` reaches outside the project root (the folder of this file): specs are named relative to it, inside it.",
      "kfm.config.yaml:3:15: error KFM006: The output folder `../out` is outside the project root (the folder of this file): name a folder inside it, relative to it.",
      "kfm.config.yaml:4:17: error KFM006: The output folder `/tmp/x` is outside the project root (the folder of this file): name a folder inside it, relative to it.",
    ]);
  });

  it("given an entry whose only file a `!` glob excludes, then KFM007 says the exclusion took it, not that nothing matched", () => {
    const r = parse(project({ "a.yaml": SPEC, "b.yaml": SPEC }), "specs: [a.yaml, '!b.yaml', {path: b.yaml, targets: [argo]}]\ntargets:\n  argo: {out: out}\n");
    expect(r.lines).toEqual([
      expect.stringMatching(/^kfm\.config\.yaml:1:35: error KFM007: The glob `b\.yaml` matches only files that a `!` glob of the list excludes/),
    ]);
  });

  it("given an empty config, then it says what a config holds", () => {
    expect(parse(project({}), "").lines).toEqual([
      "kfm.config.yaml:1:1: error KFM004: The file is empty: a kfm.config.yaml names the project's `specs` and `targets`.",
    ]);
  });
});

describe("the CLI with a config", () => {
  const CONFIG = "specs: ['specs/*.yaml']\ntargets:\n  argo: {out: deploy/argo}\n  github-actions: {out: .github/workflows}\n";

  it("given a config in the folder, when kfm-compile runs with no arguments, then it compiles the project into each target's folder", () => {
    const dir = project({ "kfm.config.yaml": CONFIG, "specs/daily.yaml": SPEC });
    const r = run([], dir);
    expect(r).toEqual({
      code: 0,
      stdout: "",
      stderr:
        "written    deploy/argo/daily_sales_pipeline.yaml\nwritten    .github/workflows/daily_sales_pipeline.yml\n" +
        // The shared reusable workflows the GitHub Actions workflow calls (folder files).
        "written    .github/workflows/kfm-context.yml\nwritten    .github/workflows/kfm-job.yml\nwritten    .github/workflows/kfm-approval.yml\n" +
        "kfm-compile: 5 files: 5 written, 0 unchanged.\n",
    });
    expect(readFileSync(join(dir, "deploy/argo/daily_sales_pipeline.yaml"), "utf8")).toMatch(
      /^# Generated by kfm-compile \S+ \(target argo\) from specs\/daily\.yaml\n/,
    );
    expect(existsSync(join(dir, ".github/workflows/daily_sales_pipeline.yml"))).toBe(true);
  });

  it("given --config from another folder, then headers still name specs relative to the config's folder", () => {
    const dir = project({ "p/kfm.config.yaml": CONFIG, "p/specs/daily.yaml": SPEC });
    expect(run(["--config", "p/kfm.config.yaml"], dir).code).toBe(0);
    expect(readFileSync(join(dir, "p/deploy/argo/daily_sales_pipeline.yaml"), "utf8")).toMatch(/ from specs\/daily\.yaml\n/);
  });

  it("given no config, when kfm-compile runs with no spec (bare, or with options), then it exits 2 saying where it looked and how to go on; --help still exits 0", () => {
    const dir = project({});
    for (const args of [[], ["--out", "x"], ["--prune", "--quiet"]]) {
      const r = run(args, dir);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(
        `kfm-compile: nothing to compile: no spec files given, and no kfm.config.yaml in ${dir} or a folder above it (up to the repository root).\n`,
      );
      expect(r.stderr).toMatch(
        /--target argo --out deploy\/\),\nor write a kfm\.config\.yaml .*\nor name one with --config FILE\.\nRun 'kfm-compile --help' for usage\.\n$/,
      );
    }
    expect(readdirSync(dir)).toEqual([]);
    expect(run(["--version"], dir)).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    const help = run(["--help"], dir);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^kfm-compile /);
  });

  it("given an invalid config, then kfm-compile exits 1 with its diagnostics and writes nothing", () => {
    const dir = project({ "kfm.config.yaml": CONFIG.replace("argo:", "argoo:"), "specs/daily.yaml": SPEC });
    const r = run([], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kfm\.config\.yaml:3:3: error KFM101: Unknown target `argoo`/);
    expect(existsSync(join(dir, "deploy"))).toBe(false);
  });

  it("given explicit specs, then they compile as before, config or not", () => {
    const dir = project({ "kfm.config.yaml": CONFIG, "specs/daily.yaml": SPEC });
    expect(run(["specs/daily.yaml", "--target", "tekton", "--out", "out"], dir).code).toBe(0);
    expect(existsSync(join(dir, "out/tekton/daily_sales_pipeline.yaml"))).toBe(true);
    expect(existsSync(join(dir, "deploy"))).toBe(false);
  });
});

describe("spec globs and symbolic links", () => {
  it("refuse a matched spec that leads outside the project root through a link", () => {
    const outside = project({ "secret.yaml": JOB });
    const dir = project({ "specs/ok.yaml": JOB });
    symlinkSync(join(outside, "secret.yaml"), join(dir, "specs", "linked.yaml"));
    const r = parse(dir, "specs: [specs/*.yaml]\ntargets:\n  argo: {out: deploy/argo}\n");
    expect(r.project).toBeNull();
    expect(r.lines).toEqual([
      "kfm.config.yaml:1:9: error KFM006: The glob `specs/*.yaml` matches specs/linked.yaml, which leads outside the project root through a symbolic link.",
    ]);
  });
});
