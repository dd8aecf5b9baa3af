import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/index.js";
import { PACKAGE_ROOT } from "../src/assets.js";
import { analyze } from "../src/compile.js";
import { diffText, semanticDiff, type FieldChange, type SemanticDiff } from "../src/diff.js";
import { summarize, type Summary } from "../src/summary.js";

/** The meaning of a spec written inline. */
function meaning(yaml: string): Summary {
  const a = analyze("inline.yaml", yaml);
  if (a.ir === null) throw new Error(a.diagnostics.map((d) => d.message).join("\n"));
  return summarize(a.ir);
}

function diff(oldYaml: string, newYaml: string): SemanticDiff {
  return semanticDiff("old.yaml", meaning(oldYaml), "new.yaml", meaning(newYaml));
}

/** The changes of one job, as `field: old -> new` JSON for short assertions. */
function jobChanges(d: SemanticDiff, job: string): FieldChange[] {
  return [...(d.jobs.changed.find((c) => c.job === job)?.changes ?? [])];
}

/** A workflow with one job; `job` and `top` are spliced in as YAML lines. */
function wf(job = "", top = "", name = "pipe"): string {
  return `workflow:\n  name: ${name}\n${top}  jobs:\n    - job:\n        name: load\n        image: lakehouse/load:1.0\n${job}`;
}

describe("no semantic change", () => {
  it("given the same spec written differently (order, quoting, defaults, equivalent spellings), then the diff is empty", () => {
    const d = diff(
      `workflow:
  name: p
  schedule: {cron: "@daily"}
  jobs:
    - job: {name: a, image: i:1, resources: {cpu: 500m, memory: 1Gi}, retry: {max_attempts: 3, delay: 60s}, env: {B: "2", A: "1"}, args: ["{{ ds }}"]}
    - job: {name: b, image: i:1}
      depends_on: [a, c]
    - job: {name: c, image: i:1}
`,
      `# a comment
workflow:
  name: p
  description: not compared
  schedule:
    cron: "0 0 * * *"
    timezone: UTC
    catchup: false
  jobs:
    - job:
        name: c
        image: "i:1"
        retry: {max_attempts: 1}
    - job:
        name: b
        image: i:1
      depends_on: [c, a]
      on_upstream_failure: stop
    - job:
        name: a
        image: i:1
        args: ["{{ds}}"]
        env: {A: "1", B: "2"}
        resources: {cpu: "0.5", memory: 1024Mi}
        retry: {max_attempts: 3, delay: 1m}
`,
    );
    expect(d.equal).toBe(true);
    expect(diffText(d)).toBe("No semantic change: old.yaml and new.yaml mean the same workflow (p).\n");
  });
});

describe("workflow-level changes", () => {
  it("given a new time zone, then only schedule.timezone changes", () => {
    const d = diff(wf("", '  schedule: {cron: "0 6 * * *"}\n'), wf("", '  schedule: {cron: "0 6 * * *", timezone: Europe/Berlin}\n'));
    expect(d.workflow).toEqual([{ field: "schedule.timezone", old: "UTC", new: "Europe/Berlin" }]);
    expect(diffText(d)).toContain("  schedule.timezone: UTC -> Europe/Berlin\n");
  });

  it("given a new cron, window and catch-up, then each is a change of its own", () => {
    const d = diff(
      wf("", '  schedule: {interval: "1h", start_date: "2024-01-01"}\n'),
      wf("", '  schedule: {cron: "*/30 * * * *", start_date: "2025-01-01", end_date: "2025-12-31", catchup: true}\n'),
    );
    expect(d.workflow.map((c) => c.field)).toEqual(["schedule.cron", "schedule.start_date", "schedule.end_date", "schedule.catchup"]);
    expect(d.workflow[2]).toEqual({ field: "schedule.end_date", old: null, new: "2025-12-31T23:59:59" });
  });

  it("given a schedule added, or changed from cron to an event, then the whole schedule is one change", () => {
    const added = diff(wf(), wf("", '  schedule: {cron: "0 2 * * *"}\n'));
    expect(added.workflow).toEqual([
      { field: "schedule", old: null, new: { kind: "cron", cron: "0 2 * * *", timezone: "UTC", start_date: null, end_date: null, catchup: false } },
    ]);
    expect(diffText(added)).toContain("  schedule: none (run by hand) -> cron 0 2 * * * in UTC, catchup false\n");
    const kind = diff(wf("", '  schedule: {cron: "0 2 * * *"}\n'), wf("", "  schedule: {trigger: s3_file_arrival, source: 's3://lakehouse-raw/p/'}\n"));
    expect(kind.workflow.map((c) => c.field)).toEqual(["schedule"]);
  });

  it("given a run timeout and a concurrency limit, then both are reported", () => {
    const d = diff(wf(), wf("", "  timeout: 6h\n  max_active_runs: 1\n"));
    expect(d.workflow).toEqual([
      { field: "timeout_seconds", old: null, new: 21600 },
      { field: "max_active_runs", old: null, new: 1 },
    ]);
    expect(diffText(d)).toContain("  timeout: none -> 6h\n  max_active_runs: no limit -> 1\n");
  });

  it("given a renamed workflow, then the name and the run token change, and the standard KFM_ variables are not listed", () => {
    const d = diff(wf("", "", "old_name"), wf("", "", "new_name"));
    expect(d.workflow.map((c) => c.field)).toEqual(["name", "run_token_seed"]);
    expect(d.jobs.changed).toEqual([]);
    expect(diffText(d)).toContain("(workflow old_name -> new_name)");
    expect(diffText(d)).toContain("  run token: changes for every logical date");
  });
});

describe("jobs and edges", () => {
  const base = `workflow:
  name: p
  jobs:
    - job: {name: load, image: i:1}
    - job: {name: legacy, image: i:0}
      depends_on: [load]
    - job: {name: report, image: i:1}
      depends_on: [load]
`;
  const next = `workflow:
  name: p
  jobs:
    - job: {name: load, image: i:1}
    - job: {name: publish, image: i:2}
      depends_on: [load]
    - job: {name: report, image: i:1}
      depends_on: [publish]
`;

  it("given a job added and one removed, then both are listed with their image and upstream jobs", () => {
    const d = diff(base, next);
    expect(d.jobs.added).toEqual([{ job: "publish", image: "i:2", after: ["load"] }]);
    expect(d.jobs.removed).toEqual([{ job: "legacy", image: "i:0", after: ["load"] }]);
    expect(diffText(d)).toContain("job added: publish (image i:2; after load)\njob removed: legacy (image i:0; after load)\n");
  });

  it("given a job rewired, then its edges added and removed are listed", () => {
    const d = diff(base, next);
    expect(d.jobs.changed).toEqual([{ job: "report", edges: { added: ["publish"], removed: ["load"] }, changes: [] }]);
    expect(diffText(d)).toContain("job report:\n  edge added: publish -> report\n  edge removed: load -> report\n");
  });
});

describe("per-job changes", () => {
  it("given on_upstream_failure changed, then it shows stop -> continue", () => {
    const two = (extra: string) =>
      `workflow:\n  name: p\n  jobs:\n    - job: {name: a, image: i:1}\n    - job: {name: b, image: i:1}\n      depends_on: [a]\n${extra}`;
    const d = diff(two(""), two("      on_upstream_failure: continue\n"));
    expect(jobChanges(d, "b")).toEqual([{ field: "on_upstream_failure", old: "stop", new: "continue" }]);
  });

  it("given image, command and args changed, then each shows old and new, templates in spec syntax", () => {
    const d = diff(
      wf('        args: ["--epochs", "10"]\n'),
      wf('        command: ["python", "-m", "train"]\n        args: ["--day", "{{ ds }}"]\n').replace("load:1.0", "load:1.1"),
    );
    expect(jobChanges(d, "load")).toEqual([
      { field: "image", old: "lakehouse/load:1.0", new: "lakehouse/load:1.1" },
      { field: "command", old: null, new: ["python", "-m", "train"] },
      { field: "args", old: ["--epochs", "10"], new: ["--day", "{{ ds }}"] },
    ]);
    expect(diffText(d)).toContain('  command: none (image entrypoint) -> ["python", "-m", "train"]\n');
  });

  it("given resources changed, then cpu is in cores and memory in bytes (shown in binary units)", () => {
    const d = diff(wf("        resources: {cpu: 500m, memory: 512Mi}\n"), wf("        resources: {cpu: 2, memory: 1536Mi}\n"));
    expect(jobChanges(d, "load")).toEqual([
      { field: "cpu", old: "0.5", new: "2" },
      { field: "memory", old: "536870912", new: "1610612736" },
    ]);
    expect(diffText(d)).toContain("  cpu: 0.5 cores -> 2 cores\n  memory: 512Mi -> 1536Mi\n");
  });

  it("given a retry and timeout change, then attempts, waits and timeout are reported", () => {
    const d = diff(
      wf("        timeout: 2h\n        retry: {max_attempts: 3, delay: 5m}\n"),
      wf("        timeout: 45m\n        retry: {max_attempts: 5, delay: 5m, exponential_backoff: true, max_delay: 30m}\n"),
    );
    expect(jobChanges(d, "load")).toEqual([
      { field: "attempts", old: 3, new: 5 },
      { field: "waits_seconds", old: [300, 300], new: [300, 600, 1200, 1800] },
      { field: "timeout_seconds", old: 7200, new: 2700 },
    ]);
    expect(diffText(d)).toContain("  attempts: 3 -> 5\n  waits: 5m, 5m -> 5m, 10m, 20m, 30m\n  timeout: 2h -> 45m\n");
  });

  it("given env names added, removed and changed, and a secret rotated, then each name is listed and secrets appear only as references", () => {
    const d = diff(
      wf("        env:\n          DEBUG: 'true'\n          URL: http://dev\n          PASSWORD: {secret: creds, key: password}\n"),
      wf("        env:\n          URL: http://prod\n          PASSWORD: {secret: creds-2025, key: password}\n          TOKEN: {secret: tok, key: value}\n"),
    );
    expect(jobChanges(d, "load")).toEqual([
      { field: "env.DEBUG", old: "true", new: null },
      { field: "env.PASSWORD", old: { secret: "creds", key: "password" }, new: { secret: "creds-2025", key: "password" } },
      { field: "env.TOKEN", old: null, new: { secret: "tok", key: "value" } },
      { field: "env.URL", old: "http://dev", new: "http://prod" },
    ]);
    const text = diffText(d);
    expect(text).toContain('  env DEBUG: removed (was "true")\n');
    expect(text).toContain("  env PASSWORD: {secret: creds, key: password} -> {secret: creds-2025, key: password}\n");
    expect(text).toContain("  env TOKEN: added {secret: tok, key: value}\n");
    expect(text).toContain('  env URL: "http://dev" -> "http://prod"\n');
    expect(text).not.toMatch(/KFM_/);
  });

  it("given a meaning the summary gains later, then it is reported under its own name rather than missed", () => {
    const a = meaning(wf());
    const b = { ...a, jobs: { load: { ...a.jobs.load!, futureMeaning: 2 } }, futureWorkflowMeaning: true } as unknown as Summary;
    const d = semanticDiff("old.yaml", a, "new.yaml", b);
    expect(d.equal).toBe(false);
    expect(d.workflow).toContainEqual({ field: "futureWorkflowMeaning", old: null, new: true });
    expect(jobChanges(d, "load")).toEqual([{ field: "futureMeaning", old: null, new: 2 }]);
  });
});

describe("kfm-compile diff", () => {
  function run(args: string[], cwd = PACKAGE_ROOT) {
    let stdout = "";
    let stderr = "";
    const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
    return { code, stdout, stderr };
  }

  it("exits 0 with 'no semantic change' when the specs mean the same", () => {
    const r = run(["diff", "test/diff/reformatted.old.yaml", "test/diff/reformatted.new.yaml"]);
    expect(r).toEqual({ code: 0, stdout: readFileSync(join(PACKAGE_ROOT, "golden/diff/reformatted.txt"), "utf8"), stderr: "" });
  });

  it("exits 1 and prints the changes when they differ, as text or JSON", () => {
    const r = run(["diff", "test/diff/retry.old.yaml", "test/diff/retry.new.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(readFileSync(join(PACKAGE_ROOT, "golden/diff/retry.txt"), "utf8"));
    const j = run(["diff", "test/diff/retry.old.yaml", "test/diff/retry.new.yaml", "--format", "json"]);
    expect(j.code).toBe(1);
    const parsed = JSON.parse(j.stdout) as SemanticDiff;
    expect(Object.keys(parsed)).toEqual(["equal", "old", "new", "workflow", "jobs"]);
    expect(Object.keys(parsed.jobs)).toEqual(["added", "removed", "changed"]);
    expect(parsed.equal).toBe(false);
  });

  it("exits 1 with diagnostics on stderr and nothing on stdout when a spec is invalid or missing", () => {
    const r = run(["diff", "test/invalid/cycle.yaml", "missing.yaml", "--format", "json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^test\/invalid\/cycle\.yaml:\d+:\d+: error KFM202: /m);
    expect(r.stderr).toContain("missing.yaml:1:1: error KFM005: No such file.");
  });

  it.each([
    [["diff", "a.yaml"], /diff takes two specs/],
    [["diff", "a.yaml", "b.yaml", "c.yaml"], /diff takes two specs/],
    [["diff", "a.yaml", "b.yaml", "--format", "yaml"], /--format is text or json, not 'yaml'/],
    [["diff", "git:HEAD", "b.yaml"], /'git:HEAD' is not git:<ref>:<path>/],
    [["diff", "git::specs/a.yaml", "b.yaml"], /is not git:<ref>:<path>/],
    [["diff", "git:--output=/tmp/x:a.yaml", "b.yaml"], /a ref does not start with '-'/],
  ])("usage error %j exits 2", (args, message) => {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("the README's example is what diff prints for test/diff/retry", () => {
    const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");
    expect(readme).toContain("```text\n" + run(["diff", "test/diff/retry.old.yaml", "test/diff/retry.new.yaml"]).stdout + "```\n");
  });

  it("documents its exit status and JSON shape in --help, and is listed in the main help", () => {
    const help = run(["diff", "--help"]).stdout;
    expect(help).toMatch(/Exit status \(as diff\(1\)\): 0 the specs mean the same, 1 they differ, or a spec is\ninvalid/);
    expect(help).toContain('"changed": [{"job", "edges": {"added": [names], "removed": [names]},');
    expect(run(["--help"]).stdout).toContain("kfm-compile diff <old-spec> <new-spec> [--format text|json]");
  });
});

describe("kfm-compile diff against a git ref", () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=kfm test", "-c", "user.email=kfm@example.invalid", "-c", "commit.gpgsign=false", ...args], { cwd, stdio: "pipe" });

  /** A scratch repository whose HEAD holds specs/p.yaml (retry.old) and whose work tree has retry.new. */
  function repo(): string {
    const dir = mkdtempSync(join(tmpdir(), "kfm-diff-git-"));
    git(dir, "init", "-q");
    mkdirSync(join(dir, "specs"));
    writeFileSync(join(dir, "specs", "p.yaml"), readFileSync(join(PACKAGE_ROOT, "test/diff/retry.old.yaml")));
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "v1");
    writeFileSync(join(dir, "specs", "p.yaml"), readFileSync(join(PACKAGE_ROOT, "test/diff/retry.new.yaml")));
    return dir;
  }

  function run(args: string[], cwd: string) {
    let stdout = "";
    let stderr = "";
    const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
    return { code, stdout, stderr };
  }

  it("given git:HEAD:<path>, when the work tree changed the spec, then the diff is against the committed version", () => {
    const dir = repo();
    const r = run(["diff", "git:HEAD:specs/p.yaml", "specs/p.yaml"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Semantic changes from git:HEAD:specs\/p\.yaml to specs\/p\.yaml \(workflow nightly_ingest\):\n/);
    expect(r.stdout).toContain("  attempts: 3 -> 5\n");
    expect(run(["diff", "git:HEAD:specs/p.yaml", "git:HEAD:specs/p.yaml"], dir).code).toBe(0);
  });

  it("given a path starting with ./, then it is read from the current folder inside the repository", () => {
    const dir = repo();
    const r = run(["diff", "git:HEAD:./p.yaml", "p.yaml"], join(dir, "specs"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
  });

  it.each([
    ["git:HEAD:specs/missing.yaml", /git:HEAD:specs\/missing\.yaml:1:1: error KFM005: git could not read it: .*missing\.yaml/],
    ["git:no-such-ref:specs/p.yaml", /git:no-such-ref:specs\/p\.yaml:1:1: error KFM005: git could not read it: /],
    ["git:HEAD:specs", /git:HEAD:specs:1:1: error KFM005: This is a folder in HEAD; give a spec file\./],
  ])("given %s, then it is a diagnostic and exit 1, not a stack trace", (source, message) => {
    const dir = repo();
    const r = run(["diff", source, "specs/p.yaml"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
  });

  it("given a workflow that names job files, then the job files are read from the same ref", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-diff-layout-"));
    git(dir, "init", "-q");
    mkdirSync(join(dir, "workflows", "daily", "jobs"), { recursive: true });
    const workflow = "workflow:\n  name: daily\n  jobs:\n    - job: jobs/extract.yaml\n";
    writeFileSync(join(dir, "workflows", "daily", "workflow.yaml"), workflow);
    writeFileSync(join(dir, "workflows", "daily", "jobs", "extract.yaml"), "job:\n  name: extract\n  image: lakehouse/extract:1.0\n");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "v1");
    writeFileSync(join(dir, "workflows", "daily", "jobs", "extract.yaml"), "job:\n  name: extract\n  image: lakehouse/extract:2.0\n");
    const r = run(["diff", "git:HEAD:./workflow.yaml", "workflow.yaml"], join(dir, "workflows", "daily"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("job extract:\n  image: lakehouse/extract:1.0 -> lakehouse/extract:2.0\n");
    git(dir, "rm", "-q", "--cached", "workflows/daily/jobs/extract.yaml");
    git(dir, "commit", "-q", "-m", "v2");
    const missing = run(["diff", "git:HEAD:workflows/daily/workflow.yaml", "workflows/daily/workflow.yaml"], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /error KFM005: The job file `jobs\/extract\.yaml` \(git:HEAD:workflows\/daily\/jobs\/extract\.yaml\) cannot be read: git could not read it: /,
    );
  });

  it("given a folder that is not a git repository, then it is a diagnostic", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-diff-nogit-"));
    writeFileSync(join(dir, "p.yaml"), readFileSync(join(PACKAGE_ROOT, "test/diff/retry.new.yaml")));
    const r = run(["diff", "git:HEAD:p.yaml", "p.yaml"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^git:HEAD:p\.yaml:1:1: error KFM005: git could not read it: not a git repository/m);
  });
});
