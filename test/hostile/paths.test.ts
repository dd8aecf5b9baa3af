// Issue 6, item 5: names and references never lead reads or writes outside the project
// root or the output folder. Names are restricted by the grammar (proved here over
// hostile names); the write layer checks again that every output path resolves inside
// the output folder, and refuses linked folders and files pointing out of it.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/compile.js";
import { main } from "../../src/cli/index.js";
import { formatDiagnostic } from "../../src/diagnostics.js";
import { isWindowsDeviceName } from "../../src/names.js";
import { outsideOutput, writeOutputs } from "../../src/write.js";

function run(cwd: string, args: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = main(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd }) as number; // no apply here: synchronous
  return { code, out, err };
}

function project(): { root: string; outside: string } {
  const base = mkdtempSync(join(tmpdir(), "kfm-paths-"));
  const root = join(base, "project");
  const outside = join(base, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "keep.txt"), "outside\n");
  writeFileSync(join(root, "wf.yaml"), `job: {name: wf, image: "x:1"}\n`);
  return { root, outside };
}

const HOSTILE_NAMES = ["../x", "..", ".", "a/b", "a\\b", "/etc/passwd", "C:\\x", "x/../../y", "a\u0000b", "CON", "Con", "con.yaml", "a.b", "-x", "x-", ""];

describe("names cannot become paths", () => {
  it.each(HOSTILE_NAMES)("a workflow named %j is refused", (name) => {
    for (const spec of [
      `workflow: {name: ${JSON.stringify(name)}, jobs: [{job: {name: a, image: "x:1"}}]}\n`,
      `job: {name: ${JSON.stringify(name)}, image: "x:1"}\n`,
    ]) {
      const a = analyze("spec.yaml", spec);
      expect(a.ir).toBeNull();
      expect(a.diagnostics.map(formatDiagnostic).join("\n")).toMatch(/error KFM104: /);
    }
  });

  it.each(["con", "nul", "aux", "prn", "com1", "lpt9"])("`%s`, a Windows device name, is refused as an output file name (KFM211)", (name) => {
    const a = analyze("spec.yaml", `job: {name: ${name}, image: "x:1"}\n`);
    expect(a.diagnostics.map(formatDiagnostic)).toEqual([expect.stringMatching(/^spec\.yaml:1:\d+: error KFM211: .*device name on Windows/)]);
    const w = analyze("spec.yaml", `workflow: {name: ${name}, jobs: [{job: {name: a, image: "x:1"}}]}\n`);
    expect(w.diagnostics.map((d) => d.code)).toEqual(["KFM211"]);
    // As a job name inside a workflow it names no file, so it is fine.
    expect(analyze("spec.yaml", `workflow: {name: w, jobs: [{job: {name: ${name}, image: "x:1"}}]}\n`).diagnostics).toEqual([]);
  });

  it("device names are recognised whatever the case or extension", () => {
    expect(["CON", "con.txt", "Nul", "COM3", "lpt1.yaml", "conin$"].every(isWindowsDeviceName)).toBe(true);
    expect(["cons", "console", "com10", "null", "auxiliary", "lpt"].some(isWindowsDeviceName)).toBe(false);
  });
});

describe("the write layer keeps every output inside the output folder", () => {
  it.each(["../x.yaml", "/etc/x.yaml", "a/../../x.yaml", "a\\..\\x.yaml", "", "a//b.yaml", "./a.yaml", "a/./b.yaml", "C:/x.yaml", "a\u0000.yaml"])(
    "refuses the output path %j and writes nothing",
    (rel) => {
      const { root, outside } = project();
      expect(outsideOutput(join(root, "out"), rel)).not.toBeNull();
      const r = writeOutputs(join(root, "out"), [{ path: rel, text: "x\n" }], { force: true });
      expect(r.written).toEqual([]);
      expect(r.refused).toHaveLength(1);
      expect(existsSync(join(root, "out"))).toBe(false);
      expect(readdirSync(outside)).toEqual(["keep.txt"]);
    },
  );

  it("refuses an output folder that is a symbolic link pointing outside, and writes nothing", () => {
    const { root, outside } = project();
    mkdirSync(join(root, "out"));
    symlinkSync(outside, join(root, "out", "argo"));
    const r = run(root, ["wf.yaml", "--target", "argo,tekton", "--out", "out"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/argo\/wf\.yaml: argo is a symbolic link \(or passes through one\) to .*outside, outside the output folder; nothing was written\./);
    expect(readdirSync(outside)).toEqual(["keep.txt"]);
    expect(existsSync(join(root, "out", "tekton"))).toBe(false); // all paths are checked before any file is touched
  });

  it("refuses an output file that is a symbolic link pointing outside, even with --force", () => {
    const { root, outside } = project();
    mkdirSync(join(root, "out", "argo"), { recursive: true });
    symlinkSync(join(outside, "keep.txt"), join(root, "out", "argo", "wf.yaml"));
    const r = run(root, ["wf.yaml", "--target", "argo", "--out", "out", "--force"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("outside the output folder");
    expect(readFileSync(join(outside, "keep.txt"), "utf8")).toBe("outside\n");
  });

  it("refuses a dangling symbolic link at an output path", () => {
    const { root, outside } = project();
    mkdirSync(join(root, "out", "argo"), { recursive: true });
    symlinkSync(join(outside, "missing.yaml"), join(root, "out", "argo", "wf.yaml"));
    const r = run(root, ["wf.yaml", "--target", "argo", "--out", "out", "--force"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("points nowhere");
    expect(readdirSync(outside)).toEqual(["keep.txt"]);
  });

  it("accepts links that stay inside the output folder, and an output folder that is itself a link", () => {
    const { root, outside } = project();
    mkdirSync(join(root, "out", "real"), { recursive: true });
    symlinkSync(join(root, "out", "real"), join(root, "out", "argo"));
    expect(run(root, ["wf.yaml", "--target", "argo", "--out", "out"]).code).toBe(0);
    expect(readdirSync(join(root, "out", "real"))).toEqual(["wf.yaml"]);
    // --out naming a link is the user's own choice of folder: its target is the output folder.
    symlinkSync(outside, join(root, "linked-out"));
    expect(run(root, ["wf.yaml", "--target", "tekton", "--out", "linked-out"]).code).toBe(0);
    // Tekton writes its shared StepActions beside the workflow (a folder file).
    expect(readdirSync(join(outside, "tekton"))).toEqual(["kfm-step-actions.yaml", "wf.yaml"]);
  });

  it("--prune never removes generated files behind a linked folder pointing outside", () => {
    const { root, outside } = project();
    writeFileSync(join(root, "kfm.config.yaml"), "specs: [wf.yaml]\ntargets:\n  argo: {out: deploy}\n");
    expect(run(root, []).code).toBe(0);
    const generated = readFileSync(join(root, "deploy", "wf.yaml"), "utf8");
    // An orphan with the kfm-compile header, outside the project, reached through a link.
    writeFileSync(join(outside, "old.yaml"), generated);
    writeFileSync(join(root, "kfm.config.yaml"), "specs: [wf.yaml]\ntargets:\n  argo: {out: deploy}\n  tekton: {out: linked}\n");
    symlinkSync(outside, join(root, "linked"));
    const r = run(root, ["--prune"]);
    expect(r.err).not.toContain("removed");
    expect(readdirSync(outside).sort()).toEqual(["keep.txt", "old.yaml"]);
  });
});

describe("job-file references stay inside the project root", () => {
  it.each([
    ["`..` leading out", "../outside/job.yaml", /leads outside the project root/],
    ["an absolute path", "/etc/passwd", /is an absolute path/],
    ["a link pointing out", "jobs/link.yaml", /is a symbolic link .* outside the project root/],
  ])("%s is refused (KFM006) and the file is not read", (_label, ref, message) => {
    const { root, outside } = project();
    writeFileSync(join(outside, "job.yaml"), `job: {name: secret_job, image: "leaked:1"}\n`);
    mkdirSync(join(root, "jobs"));
    symlinkSync(join(outside, "job.yaml"), join(root, "jobs", "link.yaml"));
    writeFileSync(join(root, "w.yaml"), `workflow:\n  name: w\n  jobs:\n    - job: ${ref}\n`);
    const r = run(root, ["validate", "w.yaml"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^w\.yaml:4:12: error KFM006: /);
    expect(r.err).toMatch(message);
    expect(r.err).not.toContain("leaked");
  });
});
