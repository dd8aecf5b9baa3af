import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../../targets/index.js";
import { analyze, compileFor } from "../../src/compile.js";
import { formatDiagnostic } from "../../src/diagnostics.js";
import { PACKAGE_ROOT } from "../../src/assets.js";
import type { SpecHost } from "../../src/spec/layout.js";
import { main } from "../../src/cli/index.js";

const ROOT = "/p";
const WORKFLOW = "/p/workflows/daily/workflow.yaml";

/** A host over files in memory; `links` maps a path to where its symbolic link resolves. */
function memory(files: Record<string, string>, links: Record<string, string> = {}): SpecHost {
  return {
    root: ROOT,
    readFile: (p) => links[p] ?? files[p] ?? { error: "No such file." },
    realPath: (p) => (p in links ? links[p]! : p in files ? p : null),
    display: (p) => relative(ROOT, p) || ".",
  };
}

const EXTRACT = `job:
  name: extract_sales
  image: lakehouse/extract:1.0
`;

function workflowNaming(...refs: string[]): string {
  return `workflow:
  name: daily
  jobs:
${refs.map((r) => `    - job: ${r}\n`).join("")}`;
}

function analyzeIn(files: Record<string, string>, links: Record<string, string> = {}) {
  return analyze("workflows/daily/workflow.yaml", files[WORKFLOW]!, { path: WORKFLOW, host: memory(files, links) });
}

const lines = (a: { diagnostics: Parameters<typeof formatDiagnostic>[0][] }) => a.diagnostics.map(formatDiagnostic);

describe("job files (contract 12.2 repository layout)", () => {
  it("given a workflow naming job files, when analysed, then the jobs are read from them", () => {
    const a = analyzeIn({
      [WORKFLOW]: workflowNaming("jobs/extract_sales.yaml", "../../jobs/report.yaml"),
      "/p/workflows/daily/jobs/extract_sales.yaml": EXTRACT,
      "/p/jobs/report.yaml": "job:\n  name: report\n  image: lakehouse/report:1.0\n",
    });
    expect(lines(a)).toEqual([]);
    expect(a.ir!.jobs.map((j) => j.name)).toEqual(["extract_sales", "report"]);
    expect(a.jobFiles).toEqual(["workflows/daily/jobs/extract_sales.yaml", "jobs/report.yaml"]);
  });

  it("given the example project in test/layout, when compiled, then the output is the inline contract 4.2 spec's, header aside", () => {
    const dir = join(PACKAGE_ROOT, "test/layout");
    const path = join(dir, "workflows/daily/workflow.yaml");
    const host: SpecHost = {
      root: dir,
      readFile: (p) => readFileSync(p, "utf8"),
      realPath: (p) => p,
      display: (p) => relative(dir, p),
    };
    const layout = analyze("workflows/daily/workflow.yaml", readFileSync(path, "utf8"), { path, host });
    const inlinePath = join(PACKAGE_ROOT, "specs/contract-4.2-workflow.yaml");
    const inline = analyze("specs/contract-4.2-workflow.yaml", readFileSync(inlinePath, "utf8"));
    expect(layout.diagnostics).toEqual([]);
    const body = (t: string) => t.split("\n").slice(3).join("\n");
    for (const target of TARGETS) {
      expect(body(compileFor(layout, target).output!.text)).toBe(body(compileFor(inline, target).output!.text));
    }
  });

  it("given a typo in a job file, then the diagnostic points into the job file", () => {
    const a = analyzeIn({
      [WORKFLOW]: workflowNaming("jobs/extract.yaml"),
      "/p/workflows/daily/jobs/extract.yaml": "job:\n  name: extract\n  image: x:1\n  comand: [run]\n",
    });
    expect(lines(a)).toEqual(["workflows/daily/jobs/extract.yaml:4:3: error KFM101: Unknown key `comand` in `job`. Did you mean 'command'?"]);
  });

  it("given a problem found after shape checks (an unknown template variable), then it points into the job file too", () => {
    const a = analyzeIn({
      [WORKFLOW]: workflowNaming("jobs/extract.yaml"),
      "/p/workflows/daily/jobs/extract.yaml": 'job:\n  name: extract\n  image: x:1\n  args: ["{{ dss }}"]\n',
    });
    expect(lines(a)).toHaveLength(1);
    expect(lines(a)[0]).toMatch(/^workflows\/daily\/jobs\/extract\.yaml:4:10: error KFM209: /);
  });

  it("given a dependency on an unknown job, then the diagnostic stays in the workflow file", () => {
    const a = analyzeIn({
      [WORKFLOW]: workflowNaming("jobs/extract.yaml") + '      depends_on: ["nope"]\n',
      "/p/workflows/daily/jobs/extract.yaml": EXTRACT,
    });
    expect(lines(a)[0]).toMatch(/^workflows\/daily\/workflow\.yaml:5:20: error KFM201: /);
  });

  it.each([
    ["../../../outside.yaml", "leads outside the project root"],
    ["jobs/../../../../outside.yaml", "leads outside the project root"],
    ["/etc/passwd", "is an absolute path"],
    ["/p/workflows/daily/jobs/extract.yaml", "is an absolute path"],
    ["C:\\\\jobs\\\\extract.yaml", "is an absolute path"],
  ])("given the reference %s, then it is refused (KFM006) at the reference", (ref, message) => {
    const a = analyzeIn({ [WORKFLOW]: workflowNaming(JSON.stringify(ref)), "/outside.yaml": EXTRACT, "/p/workflows/daily/jobs/extract.yaml": EXTRACT });
    expect(a.ir).toBeNull();
    expect(lines(a)).toHaveLength(1);
    expect(lines(a)[0]).toMatch(/^workflows\/daily\/workflow\.yaml:4:12: error KFM006: /);
    expect(lines(a)[0]).toContain(message);
  });

  it("given a job file that is a symbolic link out of the project root, then it is refused", () => {
    const a = analyzeIn({ [WORKFLOW]: workflowNaming("jobs/link.yaml") }, { "/p/workflows/daily/jobs/link.yaml": "/elsewhere/extract.yaml" });
    expect(lines(a)).toEqual([
      expect.stringMatching(/^workflows\/daily\/workflow\.yaml:4:12: error KFM006: `jobs\/link\.yaml` is a symbolic link .* outside the project root/),
    ]);
  });

  it("given a real symbolic link out of the folder kfm-compile runs in, then validate refuses it", () => {
    const outside = mkdtempSync(join(tmpdir(), "kfm-outside-"));
    writeFileSync(join(outside, "extract.yaml"), EXTRACT);
    const dir = mkdtempSync(join(tmpdir(), "kfm-layout-"));
    mkdirSync(join(dir, "jobs"));
    symlinkSync(join(outside, "extract.yaml"), join(dir, "jobs", "extract.yaml"));
    writeFileSync(join(dir, "workflow.yaml"), workflowNaming("jobs/extract.yaml"));
    let stderr = "";
    const code = main(["validate", "workflow.yaml"], { stdout: () => {}, stderr: (s) => (stderr += s), cwd: dir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^workflow\.yaml:4:12: error KFM006: `jobs\/extract\.yaml` is a symbolic link/m);
  });

  it("given a missing job file, then KFM005 points at the reference", () => {
    const a = analyzeIn({ [WORKFLOW]: workflowNaming("jobs/missing.yaml") });
    expect(lines(a)).toEqual([
      "workflows/daily/workflow.yaml:4:12: error KFM005: The job file `jobs/missing.yaml` (workflows/daily/jobs/missing.yaml) cannot be read: No such file.",
    ]);
  });

  it("given a job file holding a workflow, then KFM004 is reported in the job file", () => {
    const a = analyzeIn({ [WORKFLOW]: workflowNaming("jobs/wf.yaml"), "/p/workflows/daily/jobs/wf.yaml": "workflow:\n  name: x\n" });
    expect(lines(a)[0]).toMatch(/^workflows\/daily\/jobs\/wf\.yaml:1:1: error KFM004: .*holds a workflow/);
  });

  it("given a YAML error in a job file, then it is reported there", () => {
    const a = analyzeIn({ [WORKFLOW]: workflowNaming("jobs/bad.yaml"), "/p/workflows/daily/jobs/bad.yaml": "job:\n  name: [x\n" });
    expect(lines(a)[0]).toMatch(/^workflows\/daily\/jobs\/bad\.yaml:\d+:\d+: error KFM001: /);
  });

  it("given no host (library use without a file), then a reference is refused rather than guessed", () => {
    const a = analyze("w.yaml", workflowNaming("jobs/extract.yaml"));
    expect(lines(a)).toEqual([expect.stringMatching(/^w\.yaml:4:12: error KFM005: .*compiled from its file/)]);
  });

  it("given a changed job file, then the spec digest changes (it covers every file read)", () => {
    const files = { [WORKFLOW]: workflowNaming("jobs/extract.yaml"), "/p/workflows/daily/jobs/extract.yaml": EXTRACT };
    const before = analyzeIn(files).ir!.source.digest;
    expect(analyzeIn(files).ir!.source.digest).toBe(before);
    const after = analyzeIn({ ...files, "/p/workflows/daily/jobs/extract.yaml": EXTRACT.replace("1.0", "1.1") }).ir!.source.digest;
    expect(after).not.toBe(before);
  });

  it("given an inline job with a missing key, then only that is reported (no noise from the path alternative)", () => {
    const a = analyze("w.yaml", "workflow:\n  name: w\n  jobs:\n    - job:\n        image: x:1\n");
    expect(lines(a)).toEqual(["w.yaml:4:7: error KFM102: `job` is missing the required key `name`."]);
  });
});
