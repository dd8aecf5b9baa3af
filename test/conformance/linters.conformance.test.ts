/**
 * Generated files pass the linters a repository runs over them, unchanged (README
 * "Generated files and your linters"): every Airflow DAG file passes `ruff check` (default
 * rules) and `ruff format --check` with the ruff pinned in conformance/versions.env, and
 * every YAML file passes yamllint --strict with its default config less exactly the rules
 * conformance/lint/yamllint.yaml turns off (the README says why). Checked over the
 * goldens, over every spec in specs/ compiled, and over a seeded sample of random specs
 * carrying hostile text and the longest names a spec allows. Run by `npm run test:conformance`.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import { emit as emitAirflow } from "../../targets/airflow/emit.js";
import type { AirflowOptions } from "../../targets/airflow/options.js";
import { TARGETS } from "../../targets/index.js";
import { fileSafeText, specTemplate, specYaml, templateOf } from "../hostile/arbitraries.js";
import { workflowSpec } from "../hostile/random-spec.js";
import { CACHE, CONFORMANCE, compileAll, setup } from "./runners.js";

const RUFF = join(CACHE, "lint", "bin", "ruff");
const YAMLLINT = join(CACHE, "lint", "bin", "yamllint");
const YAMLLINT_CONFIG = join(CONFORMANCE, "lint", "yamllint.yaml");
/** Golden folders holding YAML: the three YAML targets, and the backfill manifests for Argo and Tekton. */
const YAML_GOLDENS = ["argo", "tekton", "github-actions", "backfill"];
/** How many random specs are compiled (seeded: the same sample on every run). */
const RANDOM_SPECS = 100;
const SEED = 11;

const dir = mkdtempSync(join(tmpdir(), "kfm-linters-"));
const rmOnExit = [dir];
afterAll(() => {
  for (const d of rmOnExit) rmSync(d, { recursive: true, force: true });
});

/** Runs a linter from `dir`, a folder with no pyproject.toml, ruff.toml or .yamllint above it that matters (`--isolated`, `-c`). */
function run(command: string, args: readonly string[]): { status: number | null; output: string } {
  const r = spawnSync(command, args, { cwd: dir, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const ruffCheck = (files: readonly string[]) => run(RUFF, ["check", "--isolated", "--no-cache", "--output-format", "concise", ...files]);
const ruffFormatCheck = (files: readonly string[]) => run(RUFF, ["format", "--isolated", "--no-cache", "--check", "--diff", ...files]);
const yamllint = (files: readonly string[], config: readonly string[] = ["-c", YAMLLINT_CONFIG]) =>
  run(YAMLLINT, ["--strict", "-f", "parsable", ...config, ...files]);

/** Copies a repository file into `dir`, keeping its relative path. */
function copied(rel: string): string {
  const to = join(dir, "repo", rel);
  mkdirSync(join(to, ".."), { recursive: true });
  copyFileSync(join(PACKAGE_ROOT, rel), to);
  return to;
}

function goldens(target: string, ext: RegExp): string[] {
  return readdirSync(join(PACKAGE_ROOT, "golden", target))
    .filter((f) => ext.test(f))
    .sort()
    .map((f) => copied(join("golden", target, f)));
}

/** A random valid spec with hostile text in the workflow and job descriptions, the args and one env value. */
const hostileSpec = fc
  .tuple(
    workflowSpec,
    fileSafeText,
    fileSafeText,
    fc.array(templateOf(fileSafeText), { maxLength: 4 }),
    templateOf(fileSafeText),
    fc.integer({ min: 0, max: 2 }),
  )
  .map(([doc, wfDescription, jobDescription, args, env, style]) => {
    const wf = structuredClone(doc).workflow as { description?: string; jobs: Record<string, unknown>[] };
    wf.description = wfDescription;
    const entry = wf.jobs.find((e) => "job" in e);
    if (entry !== undefined) {
      const job = entry.job as Record<string, unknown>;
      job.description = jobDescription;
      job.args = args.map((t) => specTemplate(t, style));
      job.env = { ...(job.env as Record<string, unknown>), HOSTILE: specTemplate(env, style) };
    }
    return { workflow: wf };
  });

/** The longest names a spec allows (63-character jobs, a 52-character workflow), with long texts: the widest lines. */
function longNamesSpec(): unknown {
  const job = (c: string, deps: string[]) => ({
    job: {
      name: `${c}${"a".repeat(61)}${c}`,
      description: `${"A long description with \"double\" and 'single' quotes. ".repeat(4)}`,
      image: `registry.example.com/${"team/".repeat(10)}image:1.0`,
      command: ["/bin/sh", "-c", `echo ${"word ".repeat(40)}`],
      args: ["{{ ds }}", "x".repeat(100)],
      env: { LONG_VALUE: "v".repeat(120), SECRET_VALUE: { secret: "s".repeat(63), key: "k".repeat(63) } },
      resources: { cpu: "500m", memory: "512Mi" },
      retry: { max_attempts: 6, delay: "10s", exponential_backoff: true, backoff_multiplier: 2, max_delay: "1h" },
      timeout: "2h",
    },
    ...(deps.length > 0 ? { depends_on: deps.map((d) => `${d}${"a".repeat(61)}${d}`) } : {}),
  });
  return {
    workflow: {
      name: `w${"_".repeat(50)}w`,
      description: "d".repeat(200),
      schedule: { cron: "0 2 * * *", timezone: "America/Argentina/ComodRivadavia", start_date: "2024-01-01", end_date: "2030-12-31" },
      jobs: [job("b", []), job("c", ["b"]), job("d", ["b", "c"])],
    },
  };
}

/** Every spec in specs/, the long-names spec and the random sample, compiled for every target that accepts them. */
function compiledFiles(): { airflow: string[]; yaml: string[] } {
  const airflow: string[] = [];
  const yaml: string[] = [];
  const all = compileAll();
  rmOnExit.push(all.dir);
  for (const o of all.outputs) {
    if (o.drift !== undefined) continue;
    const to = join(dir, "specs", o.target, relative(join(o.file, "..", ".."), o.file));
    mkdirSync(join(to, ".."), { recursive: true });
    copyFileSync(o.file, to);
    // Python (Airflow's DAG files and Dagster's modules) goes to ruff, the rest to the YAML linters.
    (o.file.endsWith(".py") ? airflow : yaml).push(to);
  }
  const texts = [specYaml(longNamesSpec()), ...fc.sample(hostileSpec, { seed: SEED, numRuns: RANDOM_SPECS }).map((doc) => specYaml(doc))];
  for (const [i, text] of texts.entries()) {
    const a = analyze(`specs/random-${i}.yaml`, text);
    if (a.ir === null) continue;
    for (const t of TARGETS) {
      const r = compileFor(a, t);
      if (r.output === null) continue;
      const to = join(dir, "random", t.name, String(i), r.output.path.replace(/^.*\//, ""));
      mkdirSync(join(to, ".."), { recursive: true });
      writeFileSync(to, r.output.text);
      (t.extension === "py" ? airflow : yaml).push(to);
    }
  }
  // Deployment options, with long values: the default_args block must stay as ruff writes it too.
  for (const [i, text] of [specYaml(longNamesSpec()), readFileSync(join(PACKAGE_ROOT, "specs", "notifications.yaml"), "utf8")].entries()) {
    const a = analyze(`specs/options-${i}.yaml`, text);
    if (a.ir === null) throw new Error(`options-${i} is invalid`);
    const to = join(dir, "options", String(i), "dag.py");
    mkdirSync(join(to, ".."), { recursive: true });
    writeFileSync(to, emitAirflow(a.ir, AIRFLOW_OPTIONS));
    airflow.push(to);
  }
  return { airflow, yaml };
}

/** Every Airflow deployment option set, with values long enough to need splitting. */
const AIRFLOW_OPTIONS: AirflowOptions = {
  kubernetesConnId: `k8s_${"c".repeat(60)}`,
  namespace: `ns-${"n".repeat(59)}`,
  pausedOnCreation: true,
  serviceAccount: `sa-${"s".repeat(100)}`,
  imagePullSecrets: ["registry-creds", `mirror-${"m".repeat(80)}`],
  podSecurityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" }, supplementalGroups: [1, 2, 3] },
  containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"], add: [] } },
  pool: "kubernetes",
  queue: `q-${"q".repeat(90)}`,
};

let dags: { golden: string[]; compiled: string[] };
let yamls: { golden: string[]; compiled: string[] };

beforeAll(() => {
  setup();
  const compiled = compiledFiles();
  dags = { golden: goldens("airflow", /\.py$/), compiled: compiled.airflow };
  yamls = { golden: YAML_GOLDENS.flatMap((t) => goldens(t, /\.ya?ml$/)), compiled: compiled.yaml };
}, 1_800_000);

describe("ruff accepts every generated DAG file unchanged", () => {
  it("the pinned ruff is the one installed", () => {
    const pinned = /^RUFF_VERSION=(.+)$/m.exec(readFileSync(join(CONFORMANCE, "versions.env"), "utf8"))![1];
    expect(run(RUFF, ["--version"]).output.trim()).toBe(`ruff ${pinned}`);
  });

  it.each(["golden", "compiled"] as const)("ruff check (default rules) finds nothing in the %s DAG files", (which) => {
    const files = dags[which];
    // Not vacuous: the goldens, and the specs plus the random sample that compile (the
    // random hostile text is often refused in the core, KFM240, or as an image, KFM223).
    expect(files.length).toBeGreaterThan(which === "golden" ? 20 : 30);
    const r = ruffCheck(files);
    expect(r.output).toContain("All checks passed!");
    expect(r.status).toBe(0);
  });

  it.each(["golden", "compiled"] as const)("ruff format --check would change none of the %s DAG files", (which) => {
    const files = dags[which];
    const r = ruffFormatCheck(files);
    expect(r.output).toContain(`${files.length} files already formatted`);
    expect(r.status).toBe(0);
  });

  it("the compiled files include lines ruff cannot shorten (long strings) and values it would split (long calls)", () => {
    const text = dags.compiled.map((f) => readFileSync(f, "utf8")).join("\n");
    expect(text.split("\n").some((l) => l.length > 88)).toBe(true);
    expect(text).toContain("        (\n            ");
    expect(text).toMatch(/^ {12}k8s\.V1EnvVar\($/m);
  });
});

describe("the ruff checks can fail", () => {
  const original = (): string => readFileSync(join(PACKAGE_ROOT, "golden", "airflow", "every-field.py"), "utf8");
  const variant = (name: string, text: string): string => {
    const file = join(dir, "variants", name, "every_field.py");
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, text);
    return file;
  };

  it("given one keyword argument written as `key = value`, when format-checked, then ruff would reformat the file", () => {
    const text = original();
    expect(text).toContain("    catchup=");
    const file = variant("spaced", text.replace("    catchup=", "    catchup = "));
    const r = ruffFormatCheck([file]);
    expect(r.status).toBe(1);
    expect(r.output).toContain("-    catchup = ");
    expect(r.output).toContain("+    catchup=");
  });

  it("given two arguments joined onto one line, when format-checked, then ruff would split them again", () => {
    const text = original();
    const joined = text.replace(/(\n {4}catchup=[^\n]*,)\n {4}/, "$1 ");
    expect(joined).not.toBe(text);
    expect(ruffFormatCheck([variant("joined", joined)]).status).toBe(1);
  });

  it("given an import the file does not use, when checked, then ruff reports F401", () => {
    const text = original();
    const file = variant("unused", text.replace("import hashlib\n", "import hashlib\nimport os\n"));
    const r = ruffCheck([file]);
    expect(r.status).toBe(1);
    expect(r.output).toContain("F401");
  });
});

describe("yamllint accepts every generated YAML file, but for the rules the README names", () => {
  it("the pinned yamllint is the one installed", () => {
    const pinned = /^YAMLLINT_VERSION=(.+)$/m.exec(readFileSync(join(CONFORMANCE, "versions.env"), "utf8"))![1];
    expect(run(YAMLLINT, ["--version"]).output.trim()).toBe(`yamllint ${pinned}`);
  });

  it.each(["golden", "compiled"] as const)("yamllint --strict with the documented exceptions finds nothing in the %s YAML files", (which) => {
    const files = yamls[which];
    expect(files.length).toBeGreaterThan(which === "golden" ? 40 : 60);
    const r = yamllint(files);
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  it("the sample CI workflow the README says to copy into .github/workflows/ passes the same yamllint", () => {
    const r = yamllint([copied("docs/ci/kfm-check.yml")]);
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  it("with yamllint's default config the goldens break exactly the rules the exceptions turn off", () => {
    const r = yamllint(yamls.golden, ["-d", "default"]);
    const rules = new Set([...r.output.matchAll(/\(([a-z-]+)\)$/gm)].map((m) => m[1]));
    const disabled = [...readFileSync(YAMLLINT_CONFIG, "utf8").matchAll(/^ {2}([a-z-]+): disable$/gm)].map((m) => m[1]);
    expect([...rules].sort()).toEqual(disabled.sort());
  });

  it("the README shows the exceptions file as it is, and the pinned versions", () => {
    const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");
    expect(readme).toContain("```yaml\n" + readFileSync(YAMLLINT_CONFIG, "utf8") + "```\n");
    const versions = readFileSync(join(CONFORMANCE, "versions.env"), "utf8");
    expect(readme).toContain(`ruff ${/^RUFF_VERSION=(.+)$/m.exec(versions)![1]}`);
    expect(readme).toContain(`yamllint ${/^YAMLLINT_VERSION=(.+)$/m.exec(versions)![1]}`);
  });

  it("given a golden with a line ending in a blank, when linted, then yamllint reports trailing-spaces", () => {
    const text = readFileSync(join(PACKAGE_ROOT, "golden", "argo", "every-field.yaml"), "utf8");
    const file = join(dir, "variants", "trailing", "every-field.yaml");
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, text.replace("\nkind: ", " \nkind: "));
    const r = yamllint([file]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("(trailing-spaces)");
  });
});
