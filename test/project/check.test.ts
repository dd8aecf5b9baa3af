import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/index.js";
import { select } from "../../src/cli/project.js";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { trustCurrent } from "../../src/check.js";
import { compileCommand } from "../../src/cli/commands/check.js";
import { orphanNote } from "../../src/cli/commands/compile.js";
import { readHeader, sealHolds, sealOutput } from "../../src/header.js";

function run(args: string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
  return { code, stdout, stderr };
}

/** A copy of test/layout. */
function layoutCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "kfm-check-"));
  cpSync(join(PACKAGE_ROOT, "test/layout"), dir, { recursive: true });
  return dir;
}

/** A compiled copy of test/layout (argo into deploy/argo, GitHub Actions into .github/workflows). */
function compiledProject(): string {
  const dir = layoutCopy();
  expect(run(["--quiet"], dir)).toMatchObject({ code: 0, stderr: "" });
  return dir;
}

/** Every file under dir with its bytes and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = `${statSync(p).mtimeMs} ${readFileSync(p, "utf8")}`;
    }
  };
  walk(dir);
  return out;
}

const ARGO = "deploy/argo/daily_sales_pipeline.yaml";
const GHA = ".github/workflows/daily_sales_pipeline.yml";

describe("kfm-compile check", () => {
  it("given a freshly compiled project, then check exits 0 and says so", () => {
    const dir = compiledProject();
    expect(run(["check"], dir)).toEqual({ code: 0, stdout: "", stderr: "kfm-compile check: 5 generated files current.\n" });
    // With --quiet, then silent when current, but a problem is still reported.
    expect(run(["check", "--quiet"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    rmSync(join(dir, ARGO));
    const missing = run(["check", "-q"], dir);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe(`Missing (run kfm-compile to write them):\n  ${ARGO}\n`);
  });

  it("given a hand edit of a generated file, then check exits 1 with a diff and says it was edited by hand, writing nothing", () => {
    const dir = compiledProject();
    const path = join(dir, ARGO);
    writeFileSync(path, readFileSync(path, "utf8").replace("lakehouse/extract:1.0", "lakehouse/extract:9.9"));
    const before = snapshot(dir);
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${ARGO}: edited by hand`);
    expect(r.stdout).toContain(`--- a/${ARGO}\ton disk`);
    expect(r.stdout).toMatch(/^-.*lakehouse\/extract:9\.9/m);
    expect(r.stdout).toMatch(/^\+.*lakehouse\/extract:1\.0/m);
    expect(r.stderr).toBe("kfm-compile check: 1 stale, 0 missing, 0 orphans; run kfm-compile.\n");
    expect(snapshot(dir)).toEqual(before);
  });

  it("given a changed job file, then the outputs are stale because the spec changed (not a hand edit)", () => {
    const dir = compiledProject();
    const job = join(dir, "workflows/daily/jobs/extract_sales.yaml");
    writeFileSync(job, readFileSync(job, "utf8").replace("extract:1.0", "extract:1.1"));
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${ARGO}: stale: its spec changed`);
    expect(r.stdout).toContain(`${GHA}: stale: its spec changed`);
    expect(r.stdout).not.toContain("edited by hand");
    expect(r.stdout).toMatch(/^\+.*lakehouse\/extract:1\.1/m);
    expect(run([], dir).code).toBe(0);
    expect(run(["check"], dir).code).toBe(0);
  });

  it("given a missing generated file, then it is listed", () => {
    const dir = compiledProject();
    rmSync(join(dir, GHA));
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Missing (run kfm-compile to write them):\n  ${GHA}\n`);
  });

  it("given check run with a selection and options, then the command it advises repeats them (and not check's own flags), ready to paste", () => {
    const dir = layoutCopy();
    const selection = ["--target", "argo", "--option", "argo.namespace=data"];
    expect(run(["--quiet", ...selection], dir).code).toBe(0);
    // Checked without the option the files are stale: they were written with it.
    expect(run(["check", "-q", "--target", "argo"], dir).code).toBe(1);
    expect(run(["check", "-q", ...selection], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
    rmSync(join(dir, ARGO));
    const r = run(["check", "--full", ...selection, "-q"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Missing (run kfm-compile --target argo --option argo.namespace=data to write them):\n  ${ARGO}\n`);
    expect(r.stderr).toBe("kfm-compile check: 0 stale, 1 missing, 0 orphans; run kfm-compile --target argo --option argo.namespace=data.\n");
    // Pasting the advice brings the files up to date.
    expect(run(["--quiet", ...selection], dir).code).toBe(0);
    expect(run(["check", "-q", ...selection], dir).code).toBe(0);
  });

  it("quotes an argument the shell would split or expand, and adds --prune when asked", () => {
    expect(compileCommand(["my specs/a b.yaml", "--option", 'github-actions.runsOn=["self-hosted","x64"]', "--quiet"], true)).toBe(
      `kfm-compile 'my specs/a b.yaml' --option 'github-actions.runsOn=["self-hosted","x64"]' --prune`,
    );
    expect(compileCommand(["it's.yaml", "--full", "-t", "argo"], false)).toBe(`kfm-compile 'it'\\''s.yaml' -t argo`);
  });

  it("given a file kfm-compile did not generate at an output path, then check says it is in the way", () => {
    const dir = compiledProject();
    writeFileSync(join(dir, ARGO), "kind: Hand\n");
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${ARGO}: in the way: this file was not generated by kfm-compile`);
  });

  it("given generated files no compiled spec writes, then they are orphans; a hand-written file beside them is not", () => {
    const dir = compiledProject();
    // A workflow renamed: its old file stays behind.
    const wf = join(dir, "workflows/daily/workflow.yaml");
    writeFileSync(wf, readFileSync(wf, "utf8").replace("name: daily_sales_pipeline", "name: daily_sales"));
    // A generated file whose spec is gone.
    writeFileSync(
      join(dir, "deploy/argo/gone.yaml"),
      readFileSync(join(dir, ARGO), "utf8").replace("from workflows/daily/workflow.yaml", "from workflows/gone/workflow.yaml"),
    );
    writeFileSync(join(dir, "deploy/argo/hand.yaml"), "kind: ConfigMap\n");
    writeFileSync(join(dir, ".github/workflows/ci.yml"), "on: push\n");
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        "Orphans (generated, but no compiled spec writes them; kfm-compile --prune removes them):",
        `  ${GHA} (from workflows/daily/workflow.yaml, which now writes other files)`,
        `  ${ARGO} (from workflows/daily/workflow.yaml, which now writes other files)`,
        "  deploy/argo/gone.yaml (from workflows/gone/workflow.yaml, which is not among the compiled specs)",
      ].join("\n"),
    );
    expect(r.stdout).not.toContain("hand.yaml");
    expect(r.stdout).not.toContain("ci.yml");

    // When compiled with --prune, then only the generated orphans are removed.
    const p = run(["--prune"], dir);
    expect(p.code).toBe(0);
    // Then each file written and each removed is named, and the summary counts them.
    const why = "(generated, and no compiled spec writes it any more)";
    expect(p.stderr).toBe(
      [
        "written    deploy/argo/daily_sales.yaml",
        "written    .github/workflows/daily_sales.yml",
        // The GitHub Actions folder files (shared reusable workflows), the same for any workflows.
        "unchanged  .github/workflows/kfm-context.yml",
        "unchanged  .github/workflows/kfm-job.yml",
        "unchanged  .github/workflows/kfm-approval.yml",
        `removed    ${GHA} ${why}`,
        `removed    ${ARGO} ${why}`,
        `removed    deploy/argo/gone.yaml ${why}`,
        "kfm-compile: 5 files: 2 written, 3 unchanged; 3 orphans removed.\n",
      ].join("\n"),
    );
    expect(existsSync(join(dir, ARGO))).toBe(false);
    expect(existsSync(join(dir, GHA))).toBe(false);
    expect(existsSync(join(dir, "deploy/argo/gone.yaml"))).toBe(false);
    expect(readFileSync(join(dir, "deploy/argo/hand.yaml"), "utf8")).toBe("kind: ConfigMap\n");
    expect(readFileSync(join(dir, ".github/workflows/ci.yml"), "utf8")).toBe("on: push\n");
    expect(readdirSync(join(dir, "deploy/argo")).sort()).toEqual(["daily_sales.yaml", "hand.yaml"]);
    expect(run(["check"], dir).code).toBe(0);
  });

  it("given compiling without --prune, then orphans stay, and one line names them and says how to remove them", () => {
    const dir = compiledProject();
    const wf = join(dir, "workflows/daily/workflow.yaml");
    writeFileSync(wf, readFileSync(wf, "utf8").replace("name: daily_sales_pipeline", "name: daily_sales"));
    const r = run([], dir);
    expect(r.code).toBe(0);
    expect(r.stderr.split("\n").slice(-2)).toEqual([
      `kfm-compile: 2 generated files in the output folders no longer have a spec that writes them (${GHA}, ${ARGO}); kfm-compile --prune removes them.`,
      "",
    ]);
    expect(existsSync(join(dir, ARGO))).toBe(true);
    expect(existsSync(join(dir, GHA))).toBe(true);
    expect(run(["check"], dir).stdout).toContain("Orphans");
    // --quiet says nothing; with nothing left behind there is no such line.
    expect(run(["--quiet"], dir).stderr).toBe("");
    expect(run(["--prune", "--quiet"], dir).code).toBe(0);
    expect(run([], dir).stderr).not.toContain("no longer");
  });

  it("given `runs:` set after compiling without it, then the run files left in the default runs folder are orphans: named, checked, pruned", () => {
    const dir = layoutCopy();
    rmSync(join(dir, "kfm.config.yaml"));
    const config = (runs: string) => `specs: [workflows/*/workflow.yaml]\ntargets:\n  tekton:\n    out: deploy/tekton\n${runs}  argo:\n    out: deploy/argo\n`;
    writeFileSync(join(dir, "kfm.config.yaml"), config(""));
    expect(run(["--quiet"], dir).code).toBe(0);
    const left = "deploy/tekton-runs/daily_sales_pipeline.run.yaml";
    expect(existsSync(join(dir, left))).toBe(true);
    // Another target's generated file there is not this folder's business.
    cpSync(join(dir, ARGO), join(dir, "deploy/tekton-runs/daily_sales_pipeline.yaml"));
    writeFileSync(join(dir, "kfm.config.yaml"), config("    runs: deploy/runs/tekton\n"));
    const compiled = run([], dir);
    expect(compiled.code).toBe(0);
    expect(compiled.stderr).toContain(`written    deploy/runs/tekton/daily_sales_pipeline.run.yaml\n`);
    expect(compiled.stderr).toContain(`no longer has a spec that writes it (${left}); kfm-compile --prune removes it.\n`);
    const checked = run(["check"], dir);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain(`  ${left} (from workflows/daily/workflow.yaml, which now writes other files)\n`);
    expect(checked.stdout).not.toContain("tekton-runs/daily_sales_pipeline.yaml");
    expect(run(["--prune", "--quiet"], dir).code).toBe(0);
    expect(existsSync(join(dir, left))).toBe(false);
    expect(existsSync(join(dir, "deploy/tekton-runs/daily_sales_pipeline.yaml"))).toBe(true);
    expect(run(["check"], dir).code).toBe(0);
    // From one named runs folder to another, the old one is not known (README, "Runs folder").
    writeFileSync(join(dir, "kfm.config.yaml"), config("    runs: deploy/runs/tekton-2\n"));
    expect(run(["--quiet"], dir).code).toBe(0);
    expect(run(["check"], dir).code).toBe(0);
    expect(existsSync(join(dir, "deploy/runs/tekton/daily_sales_pipeline.run.yaml"))).toBe(true);
  });

  it("names at most three orphans in the line after a compile", () => {
    expect(orphanNote(["a"])).toBe(
      "kfm-compile: 1 generated file in the output folders no longer has a spec that writes it (a); kfm-compile --prune removes it.\n",
    );
    expect(orphanNote(["a", "b", "c", "d", "e"])).toBe(
      "kfm-compile: 5 generated files in the output folders no longer have a spec that writes them (a, b, c and 2 more, which kfm-compile check lists); kfm-compile --prune removes them.\n",
    );
  });

  it("given explicit specs, --target and --out, then check compares DIR/<target>/ without a config", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-check-"));
    cpSync(join(PACKAGE_ROOT, "specs/contract-4.2-workflow.yaml"), join(dir, "daily.yaml"));
    const args = ["daily.yaml", "--target", "argo,tekton", "--out", "out"];
    expect(run(["check", ...args], dir).stdout).toBe(
      "Missing (run kfm-compile daily.yaml --target argo,tekton --out out to write them):\n  out/argo/daily_sales_pipeline.yaml\n  out/tekton/daily_sales_pipeline.yaml\n  out/tekton-runs/daily_sales_pipeline.run.yaml\n  out/tekton/kfm-step-actions.yaml\n",
    );
    expect(run(args, dir).code).toBe(0);
    expect(run(["check", ...args], dir).code).toBe(0);
    expect(run(["check", "daily.yaml", "--target", "argo"], dir).code).toBe(2);
  });
});

/** What check would trust without compiling, and what it would compile, in the project at `dir`. */
function trust(dir: string) {
  const selected = select({}, [], { stdout: () => {}, stderr: () => {}, cwd: dir });
  if (selected.mode === "invalid") throw new Error("invalid config");
  const { trusted, compile } = trustCurrent(selected.selection);
  return { trusted: trusted.map((t) => t.path).sort(), compile: compile.map((p) => relative(dir, p)) };
}

describe("check trusts a file only while its digests hold", () => {
  const SPEC = "workflows/daily/workflow.yaml";

  it("given a freshly compiled project, then nothing is compiled: every output is trusted by its digests", () => {
    const dir = compiledProject();
    expect(trust(dir)).toEqual({ trusted: [GHA, ARGO].sort(), compile: [] });
  });

  it("given a touched spec, a touched job file, or one target's file missing, then that spec is compiled", () => {
    const dir = compiledProject();
    const wf = join(dir, SPEC);
    writeFileSync(wf, readFileSync(wf, "utf8") + "# a comment\n");
    expect(trust(dir)).toEqual({ trusted: [], compile: [SPEC] });
    expect(run([], dir).code).toBe(0);
    const job = join(dir, "workflows/daily/jobs/extract_sales.yaml");
    writeFileSync(job, readFileSync(job, "utf8") + "# a comment\n");
    expect(trust(dir).compile).toEqual([SPEC]);
    expect(run([], dir).code).toBe(0);
    expect(trust(dir).compile).toEqual([]);
    rmSync(join(dir, GHA));
    expect(trust(dir).compile).toEqual([SPEC]);
  });

  it("given a file from another compiler version, then it is compiled and reported as such", () => {
    const dir = compiledProject();
    const path = join(dir, ARGO);
    const text = readFileSync(path, "utf8");
    const version = readHeader(text)!.version;
    // Sealed again, so only the version differs from what this compiler would trust.
    writeFileSync(
      path,
      sealOutput(
        "daily_sales_pipeline.yaml",
        text.replace(`kfm-compile ${version} `, "kfm-compile 0.0.1-old ").replace(/output digest: sha256:[0-9a-f]+/, "output digest: pending"),
      ),
    );
    expect(trust(dir).compile).toEqual([SPEC]);
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${ARGO}: stale: generated by another kfm-compile version`);
  });

  it("given an edit of the output digest line alone, then the file is compiled and reported as edited by hand", () => {
    const dir = compiledProject();
    const path = join(dir, ARGO);
    writeFileSync(path, readFileSync(path, "utf8").replace(/output digest: sha256:[0-9a-f]+/, `output digest: sha256:${"0".repeat(64)}`));
    expect(sealHolds("daily_sales_pipeline.yaml", readFileSync(path, "utf8"))).toBe(false);
    expect(trust(dir).compile).toEqual([SPEC]);
    expect(run(["check"], dir).stdout).toContain(`${ARGO}: edited by hand`);
  });

  it("given a generated file renamed by hand, then the spec is compiled: the file it writes is missing and the renamed one an orphan", () => {
    const dir = compiledProject();
    const renamed = "deploy/argo/renamed.yaml";
    writeFileSync(join(dir, renamed), readFileSync(join(dir, ARGO), "utf8"));
    rmSync(join(dir, ARGO));
    expect(trust(dir).compile).toEqual([SPEC]);
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Missing (run kfm-compile to write them):\n  ${ARGO}\n`);
    expect(r.stdout).toContain(`  ${renamed} (from ${SPEC}, which now writes other files)`);
  });

  it("given a generated file copied by hand, then the original is still trusted and the copy is an orphan", () => {
    const dir = compiledProject();
    const copy = "deploy/argo/copy.yaml";
    writeFileSync(join(dir, copy), readFileSync(join(dir, ARGO), "utf8"));
    expect(trust(dir)).toEqual({ trusted: [GHA, ARGO].sort(), compile: [] });
    expect(run(["check"], dir).stdout).toContain(`  ${copy} (from ${SPEC}, which now writes other files)`);
  });

  it("given a new spec writing the same files as a trusted one, then check refuses it (KFM208) as compiling does", () => {
    const dir = compiledProject();
    cpSync(join(dir, "workflows/daily"), join(dir, "workflows/again"), { recursive: true });
    expect(trust(dir)).toEqual({ trusted: [GHA, ARGO].sort(), compile: ["workflows/again/workflow.yaml"] });
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("workflows/again/workflow.yaml:1:1: error KFM208:");
    expect(r.stderr).toContain(`would write ${ARGO}, as ${SPEC} does`);
    expect(run([], dir).stderr).toContain("KFM208");
  });
});

describe("check --full", () => {
  it("given a hand edit whose output digest was recomputed, then plain check trusts it and --full finds the edit", () => {
    const dir = compiledProject();
    const path = join(dir, ARGO);
    const edited = readFileSync(path, "utf8").replace("lakehouse/extract:1.0", "lakehouse/extract:9.9");
    writeFileSync(path, sealOutput("daily_sales_pipeline.yaml", edited.replace(/output digest: sha256:[0-9a-f]+/, "output digest: pending")));
    expect(run(["check"], dir).code).toBe(0);
    const r = run(["check", "--full"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${ARGO}: edited by hand`);
  });
});

describe("the output digest", () => {
  const unsealed =
    "# Generated by kfm-compile 1.0.0 (target argo) from a.yaml\n# spec digest: sha256:00\n# output digest: pending\n# DO NOT EDIT\nkind: Workflow\n";

  it("seals a file under its name and holds until a byte or the name changes", () => {
    const sealed = sealOutput("a.yaml", unsealed);
    expect(sealed).toMatch(/^# output digest: sha256:[0-9a-f]{64}$/m);
    expect(readHeader(sealed)!.output).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(sealHolds("a.yaml", sealed)).toBe(true);
    expect(sealHolds("b.yaml", sealed)).toBe(false);
    expect(sealHolds("a.yaml", sealed.replace("kind: Workflow", "kind: Workflox"))).toBe(false);
    expect(sealHolds("a.yaml", sealed + " ")).toBe(false);
    expect(sealHolds("a.yaml", unsealed)).toBe(false);
  });

  it("holds on the file's bytes as read, whatever characters its body has", () => {
    const sealed = sealOutput("a.yaml", unsealed + "description: Überprüfung ✓ 日本 \u2028\n");
    expect(sealHolds("a.yaml", Buffer.from(sealed, "utf8"))).toBe(true);
    expect(sealHolds("a.yaml", Buffer.from(sealed.replace("✓", "✗"), "utf8"))).toBe(false);
  });

  it("refuses to seal a file without the pending line, or twice", () => {
    expect(() => sealOutput("a.yaml", "kind: Workflow\n")).toThrow(/unsealed/);
    expect(() => sealOutput("a.yaml", sealOutput("a.yaml", unsealed))).toThrow(/unsealed/);
  });
});

describe("check and symbolic links", () => {
  it("never reads, nor prints, a file an output path links to outside the output folder", () => {
    const dir = compiledProject();
    const outside = mkdtempSync(join(tmpdir(), "kfm-outside-"));
    writeFileSync(join(outside, "private.txt"), "do not print me\n");
    rmSync(join(dir, ARGO));
    symlinkSync(join(outside, "private.txt"), join(dir, ARGO));
    const r = run(["check"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("leads outside the output folder through a symbolic link");
    expect(r.stdout + r.stderr).not.toContain("do not print me");
  });
});
