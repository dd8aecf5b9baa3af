import { describe, expect, it } from "vitest";
import { analyze } from "../src/compile.js";
import { formatDiagnostic } from "../src/diagnostics.js";
import type { Workflow } from "../src/ir.js";
import { renderTemplate, runToken } from "../src/runtime.js";

function ir(text: string): Workflow {
  const a = analyze("spec.yaml", text);
  if (a.ir === null) throw new Error(a.diagnostics.map(formatDiagnostic).join("\n"));
  return a.ir;
}

function problems(text: string): string[] {
  return analyze("spec.yaml", text).diagnostics.map(formatDiagnostic);
}

const deps = (w: Workflow) => Object.fromEntries(w.jobs.map((j) => [j.name, j.dependsOn]));

describe("prerequisites", () => {
  it("make every job that is not upstream of the gate wait for it, once", () => {
    const w = ir(`
workflow:
  name: gated
  jobs:
    - {job: {name: schema, image: "x:1"}}
    - {job: {name: gate, image: "x:1"}, depends_on: [schema], prerequisite: true}
    - {job: {name: a, image: "x:1"}}
    - {job: {name: b, image: "x:1"}, depends_on: [a]}
    - {job: {name: c, image: "x:1"}, depends_on: [schema]}
`);
    expect(deps(w)).toEqual({ schema: [], gate: ["schema"], a: ["gate"], b: ["a"], c: ["schema", "gate"] });
    expect(w.jobs.map((j) => j.prerequisite)).toEqual([false, true, false, false, false]);
  });
});

describe("on_upstream_failure", () => {
  it("continue makes the job run once its dependencies are done; stop is the default", () => {
    const w = ir(`
workflow:
  name: w
  jobs:
    - {job: {name: a, image: "x:1"}}
    - {job: {name: b, image: "x:1"}, depends_on: [a], on_upstream_failure: continue}
    - {job: {name: c, image: "x:1"}, depends_on: [a], on_upstream_failure: stop}
`);
    expect(w.jobs.map((j) => j.runWhen)).toEqual(["all_succeeded", "all_done", "all_succeeded"]);
  });

  it("warns when continue has nothing to continue after", () => {
    expect(problems(`workflow: {name: w, jobs: [{job: {name: a, image: "x:1"}, on_upstream_failure: continue}]}\n`)).toEqual([
      "spec.yaml:1:59: warning KFM216: `on_upstream_failure: continue` has no effect on a job without `depends_on`.",
    ]);
  });
});

describe("secret references", () => {
  it("become secret env vars, never values", () => {
    const w = ir(`job: {name: a, image: "x:1", env: {PASSWORD: {secret: db-creds, key: password}}}\n`);
    expect(w.jobs[0]!.env[0]).toEqual({ name: "PASSWORD", secretRef: { secret: "db-creds", key: "password" } });
  });

  it("are checked for Kubernetes names", () => {
    expect(problems(`job: {name: a, image: "x:1", env: {P: {secret: DB_Creds, key: "pass word"}}}\n`)).toEqual([
      "spec.yaml:1:48: error KFM104: `DB_Creds` is not a Kubernetes Secret name: use lower-case letters, digits, `-` and `.`.",
      "spec.yaml:1:63: error KFM104: `pass word` is not a Secret key: use letters, digits, `-`, `_` and `.`.",
    ]);
  });
});

describe("the standard environment", () => {
  it("ends every job's env with the five KFM_ variables", () => {
    const w = ir(`job: {name: a, image: "x:1", env: {A: "1"}}\n`);
    expect(w.jobs[0]!.env.map((e) => e.name)).toEqual(["A", "KFM_WORKFLOW", "KFM_JOB", "KFM_LOGICAL_DATE", "KFM_ATTEMPT", "KFM_RUN_TOKEN"]);
  });

  it("gives one run token per workflow, logical date and params, whatever the runner", () => {
    const a = ir(`job: {name: a, image: "x:1", params: {p: "1"}}\n`);
    const b = ir(`job: {name: a, image: "y:2", params: {p: "1"}}\n`);
    const c = ir(`job: {name: a, image: "x:1", params: {p: "2"}}\n`);
    expect(a.runTokenSeed).toBe(b.runTokenSeed);
    expect(a.runTokenSeed).not.toBe(c.runTokenSeed);
    const day = Date.parse("2024-01-02T02:00:00Z");
    expect(runToken(a.runTokenSeed, day)).toMatch(/^[0-9a-f]{32}$/);
    expect(runToken(a.runTokenSeed, day)).toBe(runToken(a.runTokenSeed, day));
    expect(runToken(a.runTokenSeed, day)).not.toBe(runToken(a.runTokenSeed, day + 86400000));
    const env = Object.fromEntries(
      a.jobs[0]!.env.map((e) => [
        e.name,
        "value" in e ? renderTemplate(e.value, { logicalMs: day, attempt: 2, runTokenSeed: a.runTokenSeed, periodSeconds: null }) : "",
      ]),
    );
    expect(env).toMatchObject({ KFM_WORKFLOW: "a", KFM_JOB: "a", KFM_LOGICAL_DATE: "2024-01-02T02:00:00+00:00", KFM_ATTEMPT: "2" });
  });
});

describe("max_active_runs", () => {
  it("is carried as a whole number of at least one", () => {
    expect(ir(`workflow: {name: w, max_active_runs: 2, jobs: [{job: {name: a, image: "x:1"}}]}\n`).maxActiveRuns).toBe(2);
    expect(problems(`workflow: {name: w, max_active_runs: 0, jobs: [{job: {name: a, image: "x:1"}}]}\n`)).toEqual([
      "spec.yaml:1:38: error KFM104: `max_active_runs` must be at least 1.",
    ]);
  });
});

describe("bounds", () => {
  it("refuse waits and timeouts no runner can store", () => {
    expect(problems(`job: {name: a, image: "x:1", timeout: 4000d}\n`)).toEqual([
      "spec.yaml:1:39: error KFM206: `4000d` is longer than the ten years (3650d) any duration may be: runners store durations in types that end sooner. Use a shorter one, or leave the field out where that means no limit.",
    ]);
  });
  it("refuse a duration too long to count instead of reading it as no duration (issue 11)", () => {
    // Given durations whose seconds are past 2^53, in every duration field
    const huge = "30000000000000d";
    const spec = [
      "workflow:",
      `  name: w`,
      `  timeout: ${huge}`,
      `  schedule: {interval: ${huge}}`,
      "  jobs:",
      `    - job: {name: a, image: "x:1", timeout: ${huge}, retry: {max_attempts: 2, delay: ${huge}, exponential_backoff: true, max_delay: ${huge}}}`,
      `    - approval: {name: g, timeout: ${huge}}`,
      "",
    ].join("\n");
    // When it is lowered, then each one is refused where it is written
    const found = problems(spec);
    expect(found.filter((d) => d.includes("KFM206: `30000000000000d` is longer than the ten years"))).toHaveLength(6);
    expect(found.map((d) => d.split(":").slice(1, 3).join(":"))).toEqual(["3:12", "4:24", "6:45", "6:94", "6:149", "7:36"]);
    // and so is a cross-workflow dependency's timeout (checked once the jobs are valid)
    expect(
      problems(`workflow: {name: w, dependencies: [{workflow: up, timeout: ${huge}}], jobs: [{job: {name: a, image: "x:1"}}]}\n`).map((d) => d.slice(0, 34)),
    ).toEqual(["spec.yaml:1:60: error KFM206: `300"]);
  });
  it("refuse a max_active_runs past 32 bits instead of writing `1e+308`", () => {
    expect(problems(`workflow: {name: w, max_active_runs: 1e308, jobs: [{job: {name: a, image: "x:1"}}]}\n`)).toEqual([
      "spec.yaml:1:38: error KFM104: `max_active_runs` must be at most 2147483647.",
    ]);
    expect(problems(`job: {name: a, image: "x:1", retry: {max_attempts: 60, delay: 1s, exponential_backoff: true}}\n`)[0]).toMatch(
      /KFM216: The last retry would wait/,
    );
  });
});

describe("images", () => {
  it("are templates that render to constant text, so params and Jinja escapes mean what they say", () => {
    expect(ir(`job: {name: a, image: "registry/app:{{ params.tag }}", params: {tag: "1.2"}}\n`).jobs[0]!.image).toBe("registry/app:1.2");
    // an escape renders to its literal text, which is then no image reference
    expect(problems(`job: {name: a, image: "registry/{{ '{{' }}odd:1"}\n`)).toEqual([
      expect.stringMatching(/^spec\.yaml:1:23: error KFM223: `registry\/\{\{odd:1` is not a container image reference/),
    ]);
  });
  it.each([
    ["Busybox Latest", "it contains white space", "busybox:latest"],
    ["ghcr.io/Org/Repo:V1", "the repository name has upper-case letters", "ghcr.io/org/repo:V1"],
    ["busybox:-1", "a tag is 1 to 128 letters", null],
    ["app@sha256:abc", "a digest is `algorithm:hex`", null],
  ])("refuse `%s`, which no container runtime pulls by (issue 11)", (image, reason, fix) => {
    const [d] = problems(`job: {name: a, image: "${image}"}\n`);
    expect(d).toContain(`error KFM223: \`${image}\` is not a container image reference: ${reason}`);
    if (fix === null) expect(d).not.toContain("Did you mean");
    else expect(d).toContain(`Did you mean '${fix}'?`);
  });
  it.each(["busybox", "busybox:1.36", "registry.example.com:5000/team/img:1.0", "[::1]:5000/a__b/c---d:T_1.0-rc", "localhost/app@sha256:" + "ab".repeat(32)])(
    "accept `%s`",
    (image) => expect(problems(`job: {name: a, image: "${image}"}\n`)).toEqual([]),
  );
});

describe("approval gates", () => {
  it("cannot make a workflow on their own (found by the random-spec property test)", () => {
    expect(problems(`workflow: {name: w, jobs: [{approval: {name: gate}}]}\n`)).toEqual([
      "spec.yaml:1:21: error KFM104: A workflow needs at least one job that runs a container; approval gates alone do nothing.",
    ]);
  });
});

describe("prerequisites are bounded (KFM008)", () => {
  // Each prerequisite is put before every job not upstream of it: work in proportion to prerequisites x jobs.
  const spec = (jobs: number, prerequisites: number): string =>
    [
      "workflow:",
      "  name: many_checks",
      "  jobs:",
      ...Array.from({ length: jobs }, (_, i) =>
        [`    - job: {name: j${i}, image: "busybox:1.37"}`, ...(i < prerequisites ? ["      prerequisite: true"] : [])].join("\n"),
      ),
      "",
    ].join("\n");

  it("given prerequisites x jobs at the bound, then the workflow compiles; one prerequisite more, then KFM008 at the first one", () => {
    expect(problems(spec(1000, 100))).toEqual([]);
    expect(problems(spec(1000, 101))).toEqual([
      "spec.yaml:5:7: error KFM008: This workflow has 101 prerequisite jobs among 1000; prerequisites times jobs may be at most 100,000 (src/limits.ts). Make fewer jobs prerequisites, or let jobs depend on one check job.",
    ]);
  }, 60_000);
});

describe("job parameters no template uses", () => {
  it("are a warning at the key (KFM224), naming a near undeclared name a template uses as the other half of a misspelling", () => {
    expect(
      problems(`job:
  name: a
  image: "x:1"
  params: {tabel: sales, region: eu, spare: "1"}
  command: [echo, "{{ params.table }}", "{{ params['region'] }}"]
`),
    ).toEqual([
      "spec.yaml:4:12: warning KFM224: No template of this job (image, command, args, env) uses the parameter `tabel`. A template names `table`, which this job does not declare: one of the two is misspelt.",
      "spec.yaml:4:38: warning KFM224: No template of this job (image, command, args, env) uses the parameter `spare`. Use it as `{{ params.spare }}`, or remove it.",
      "spec.yaml:5:19: error KFM209: `params.table` is not a parameter of this job. Did you mean 'tabel'?",
    ]);
  });

  it("count a use in the image, args and env, name a key that is not a name by its quoted form, and say nothing when a template could not be read", () => {
    expect(
      problems(`job: {name: a, image: "x:{{ params.tag }}", args: ["{{ params.b }}"], env: {E: "{{ params.c }}"}, params: {tag: "1", b: "2", c: "3"}}\n`),
    ).toEqual([]);
    expect(problems(`job: {name: a, image: "x:1", args: ["{{ params.b }}"], params: {"a key": "1", b: "2"}}\n`)).toEqual([
      "spec.yaml:1:65: warning KFM224: No template of this job (image, command, args, env) uses the parameter `a key`. Use it as `{{ params['a key'] }}`, or remove it.",
    ]);
    expect(problems(`job: {name: a, image: "x:1", args: ["{{ params.p | upper }}"], params: {p: "1"}}\n`).map((l) => l.split(": ")[1])).toEqual([
      "error KFM210",
    ]);
  });

  it("are not warned about in a job whose templates name no parameter (as the contract's examples declare them)", () => {
    expect(problems(`job: {name: a, image: "x:1", args: ["{{ ds }}"], params: {source_table: raw.sales, execution_date: "{{ ds }}"}}\n`)).toEqual([]);
  });
});
