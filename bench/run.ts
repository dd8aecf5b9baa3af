/**
 * `npm run bench`: kfm-compile's benchmark suite (issue 7). Not a test: it measures,
 * prints tables and writes bench/results/<date>.json; it never fails on a slow result.
 *
 *   npm run bench                      everything (about 10 minutes on 2 cores)
 *   npm run bench -- --quick           fewer repetitions, smaller workloads
 *   npm run bench -- --only bytes      sections: cold, scale, repo, airflow, dagster, peers, bytes
 *   npm run bench -- --profile         also write a CPU profile of the biggest miss and summarise it
 *   npm run bench -- --keep            keep the temporary folder of generated specs
 *
 * Every number is the median of repeated runs of a whole process (spawned from Node;
 * wall time with process.hrtime, peak resident memory with GNU time's %M, or by
 * polling VmHWM in /proc/<pid>/status when /usr/bin/time is missing). A series stops
 * early when it exceeds its time budget, so the table says how many runs each
 * median is over. Peers are installed by this script into scratch venvs under
 * .cache/bench/, pinned; a peer that cannot be installed is skipped with a message.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, appendFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem, release } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TARGETS } from "../targets/index.js";
import { formatSummary, summarise, type ProfileSummary } from "./profile.js";
import { chainWorkflow, dagFactoryConfig, dagFactoryLoader, fanOutWorkflow, heraScript, kfmSpec, mixedWorkflow, type Workflow } from "./specs.js";

// dist/bench/run.js -> the repository root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = join(ROOT, "bin", "kfm-compile.js");
const BENCH_CACHE = join(ROOT, ".cache", "bench");
// The pinned runners of the conformance suite (KFM_CONFORMANCE_CACHE, as conformance/setup.sh uses it).
const CONFORMANCE_CACHE = process.env.KFM_CONFORMANCE_CACHE ?? join(ROOT, ".cache", "conformance");
const AIRFLOW_PY = join(CONFORMANCE_CACHE, "venv", "bin", "python");
const PY_IMPORT = join(ROOT, "bench", "airflow_import.py");
const DAGSTER_PY = join(CONFORMANCE_CACHE, "dagster", "bin", "python");
const DAGSTER_IMPORT = join(ROOT, "bench", "dagster_import.py");
const NODE = process.execPath;
/** Every registered target, in the registry's order: each gets a column of the scale table. */
const TARGET_NAMES = TARGETS.map((t) => t.name);

// Pinned peer versions (PyPI).
const DAG_FACTORY_VERSION = "1.1.0";
const HERA_VERSION = "7.1.0";

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const KEEP = argv.includes("--keep");
const PROFILE = argv.includes("--profile");
const onlyArg = argv.indexOf("--only");
const ONLY = onlyArg >= 0 ? new Set((argv[onlyArg + 1] ?? "").split(",")) : null;
const want = (s: string) => ONLY === null || ONLY.has(s);

// ---------------------------------------------------------------------------------------------
// Measuring processes

interface Sample {
  ms: number;
  peakKiB: number | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Series {
  label: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  peakMiB: number | null;
  exit: number | null;
  /** Runs that did not end with the expected exit status. */
  failures: number;
  /** Standard output of each run, when short (a JSON line from a helper script). */
  stdouts?: string[];
}

interface Cmd {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run before each repetition, untimed (e.g. a fresh output folder). */
  before?: () => void;
  /** Whether a run ended as expected, instead of the series' exit status. */
  accept?: (s: Sample) => boolean;
}

const GNU_TIME = (() => {
  if (!existsSync("/usr/bin/time")) return false;
  const f = join(tmpdir(), `kfm-bench-time-${process.pid}`);
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", f, "true"]);
  const ok = r.status === 0 && existsSync(f) && /^\d+\s*$/.test(readFileSync(f, "utf8"));
  rmSync(f, { force: true });
  return ok;
})();

function vmHWM(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

let timeFileSeq = 0;
/** One run of a whole process: wall time, peak RSS, exit code, output. */
function runOnce(c: Cmd, timeoutMs = 600_000): Promise<Sample> {
  c.before?.();
  const timeFile = join(tmpdir(), `kfm-bench-${process.pid}-${timeFileSeq++}.time`);
  const [cmd, args] = GNU_TIME ? ["/usr/bin/time", ["-f", "%M", "-o", timeFile, c.cmd, ...c.args]] : [c.cmd, c.args];
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args as string[], { cwd: c.cwd ?? ROOT, env: c.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout.length < 1 << 20 ? (stdout += d) : undefined));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr.length < 1 << 20 ? (stderr += d) : undefined));
    let peak: number | null = null;
    const poll = GNU_TIME
      ? null
      : setInterval(() => {
          const v = child.pid === undefined ? null : vmHWM(child.pid);
          if (v !== null) peak = Math.max(peak ?? 0, v);
        }, 3);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", fail);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      if (GNU_TIME) {
        try {
          const t = readFileSync(timeFile, "utf8").trim().split("\n");
          peak = Number(t[t.length - 1]);
          if (!Number.isFinite(peak)) peak = null;
        } catch {
          peak = null;
        }
        rmSync(timeFile, { force: true });
      }
      done({ ms, peakKiB: peak, code, stdout, stderr });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Runs each command `reps` times, round-robin (so drift hits all of them alike), and
 * stops a command early once its runs exceed `budgetMs` (after at least one run).
 */
async function series(cmds: Record<string, Cmd>, reps: number, budgetMs: number, expectExit: number | null = 0): Promise<Series[]> {
  const samples = new Map<string, Sample[]>(Object.keys(cmds).map((k) => [k, []]));
  const spent = new Map<string, number>(Object.keys(cmds).map((k) => [k, 0]));
  const failures = new Map<string, number>(Object.keys(cmds).map((k) => [k, 0]));
  for (let i = 0; i < reps; i++) {
    for (const [label, c] of Object.entries(cmds)) {
      const done = samples.get(label)!;
      if (done.length > 0 && spent.get(label)! + done[done.length - 1]!.ms > budgetMs) continue;
      const s = await runOnce(c);
      if (c.accept ? !c.accept(s) : expectExit !== null && s.code !== expectExit) {
        process.stderr.write(`bench: ${label} exited ${s.code}, expected ${expectExit}:\n${s.stderr.slice(-1500)}\n`);
        failures.set(label, failures.get(label)! + 1);
      }
      done.push(s);
      spent.set(label, spent.get(label)! + s.ms);
    }
  }
  return Object.keys(cmds).map((label) => {
    const ss = samples.get(label)!;
    const peaks = ss.map((s) => s.peakKiB).filter((p): p is number => p !== null);
    return {
      label,
      runs: ss.length,
      medianMs: median(ss.map((s) => s.ms)),
      minMs: Math.min(...ss.map((s) => s.ms)),
      maxMs: Math.max(...ss.map((s) => s.ms)),
      peakMiB: peaks.length ? median(peaks) / 1024 : null,
      exit: ss[ss.length - 1]!.code,
      failures: failures.get(label)!,
      ...(ss.every((s) => s.stdout.length < 4000 && s.stdout.trim().startsWith("{")) ? { stdouts: ss.map((s) => s.stdout.trim()) } : {}),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Printing

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const w = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "| " + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(" | ") + " |";
  return [line(headers), "| " + w.map((n, i) => (i === 0 ? "-".repeat(n) : "-".repeat(n - 1) + ":")).join(" | ") + " |", ...cells.slice(1).map(line)].join(
    "\n",
  );
}
const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtMiB = (m: number | null) => (m === null ? "?" : `${m.toFixed(0)} MiB`);
const fmtX = (r: number) => `${r.toFixed(r >= 10 ? 1 : 2)}x`;
const say = (s = "") => process.stdout.write(s + "\n");
const seriesRows = (ss: Series[], base?: number) =>
  ss.map((s) => [s.label, fmtMs(s.medianMs), `${fmtMs(s.minMs)}-${fmtMs(s.maxMs)}`, fmtMiB(s.peakMiB), s.runs, ...(base ? [fmtX(s.medianMs / base)] : [])]);

interface Verdict {
  target: string;
  measured: string;
  ratio: number | null;
  limit: string;
  met: boolean | null;
}
const verdicts: Verdict[] = [];
function verdict(target: string, measured: string, ratio: number | null, limit: string, met: boolean | null) {
  verdicts.push({ target, measured, ratio, limit, met });
}

// ---------------------------------------------------------------------------------------------
// Set-up

const TMP = mkdtempSync(join(tmpdir(), "kfm-bench-"));
const kfm = (...args: string[]): Cmd => ({ cmd: NODE, args: [CLI, ...args] });
let fresh = 0;
/** A command writing into a new, empty output folder each run. */
function kfmOut(specs: string[], target: string, cwd?: string): Cmd {
  const c: Cmd = { cmd: NODE, args: [], ...(cwd ? { cwd } : {}) };
  c.before = () => {
    const out = join(TMP, `out-${fresh++}`);
    c.args = [CLI, ...specs, "--target", target, "--out", out];
  };
  return c;
}
/** Exit 0, or exit 1 whose only errors are KFM302 (the GitHub file over 500 KB). */
function refusedOnlyForSize(s: Sample): boolean {
  if (s.code === 0) return true;
  const errors = s.stderr.split("\n").filter((l) => / error KFM\d+:/.test(l));
  return s.code === 1 && errors.length > 0 && errors.every((l) => / error KFM302:/.test(l));
}

function write(path: string, text: string) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
/** Workflows of about 20 jobs each, numbered; the mixed shape at 20 jobs. */
const repoWorkflows = (n: number): Workflow[] => Array.from({ length: n }, (_, i) => mixedWorkflow(`wf_${String(i).padStart(4, "0")}`, 20));

function pythonVenv(name: string, pkgs: string[], probe: string): { python: string; site: string } | string {
  const dir = join(BENCH_CACHE, name);
  const python = join(dir, "bin", "python");
  const site = () => spawnSync(python, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { encoding: "utf8" }).stdout.trim();
  if (existsSync(python) && spawnSync(python, ["-c", probe], { env: { ...process.env, PYTHONPATH: "" } }).status === 0) return { python, site: site() };
  const sys = process.env.KFM_PYTHON ?? "python3";
  rmSync(dir, { recursive: true, force: true });
  say(`  installing ${pkgs.join(" ")} into ${dir} ...`);
  let r = spawnSync(sys, ["-m", "venv", dir], { encoding: "utf8" });
  if (r.status !== 0) return `cannot create a venv with ${sys}: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`;
  r = spawnSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...pkgs], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) return `pip install ${pkgs.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim().split("\n").slice(-3).join(" ")}`;
  if (spawnSync(python, ["-c", probe]).status !== 0) return `installed, but \`${probe}\` fails`;
  return { python, site: site() };
}

/** The pinned venv's python (Airflow's or Dagster's), running conformance/setup.sh first when it is missing; else why not. */
function ensureVenv(python: string, what: string): string | null {
  if (existsSync(python)) return null;
  say(`  the pinned ${what} venv is missing: running bash conformance/setup.sh ...`);
  const r = spawnSync("bash", [join(ROOT, "conformance", "setup.sh")], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, KFM_CONFORMANCE_CACHE: CONFORMANCE_CACHE },
  });
  if (r.status !== 0 && !existsSync(python)) return `conformance/setup.sh failed (exit ${r.status})`;
  return existsSync(python) ? null : `conformance/setup.sh did not create the ${what} venv`;
}

// ---------------------------------------------------------------------------------------------
// Sections

const results: Record<string, unknown> = {};
let nodeBaseMs = NaN;
const profileCandidates: { label: string; cmd: Cmd; missBy: number }[] = [];

async function cold() {
  say("\n## 1. Cold start (whole processes, small spec: specs/contract-4.2-workflow.yaml)\n");
  const spec = join(ROOT, "specs", "contract-4.2-workflow.yaml");
  const ss = await series(
    {
      "node -e 0": { cmd: NODE, args: ["-e", "0"] },
      "kfm-compile --version": kfm("--version"),
      "kfm-compile validate": kfm("validate", spec),
      "kfm-compile --target argo": kfm(spec, "--target", "argo"),
    },
    QUICK ? 7 : 21,
    QUICK ? 10_000 : 40_000,
  );
  nodeBaseMs = ss[0]!.medianMs;
  say(table(["command", "median", "range", "peak RSS", "runs", "vs node -e 0"], seriesRows(ss, nodeBaseMs)));
  const v = ss[2]!.medianMs / nodeBaseMs;
  verdict("cold `validate` of a small spec", `${fmtMs(ss[2]!.medianMs)} vs ${fmtMs(nodeBaseMs)}`, v, "<= 3x node -e 0", v <= 3);
  profileCandidates.push({ label: "cold validate of a small spec", cmd: kfm("validate", spec), missBy: v / 3 });
  results.cold = ss;
}

async function scale() {
  say("\n## 2. Scale (one generated spec per size, jobs written inline: a third chain, a third fan-out/fan-in, a third stacked diamonds)\n");
  const sizes = [10, 100, 1000, 10000];
  const targets = ["validate", ...TARGET_NAMES, "all"];
  const rows: Record<number, Series[]> = {};
  for (const n of sizes) {
    const dir = join(TMP, "scale", `jobs-${n}`);
    const text = kfmSpec(mixedWorkflow(`scale_${n}`, n, true));
    write(join(dir, "workflow.yaml"), text);
    const cmds: Record<string, Cmd> = {};
    for (const t of targets) {
      if (QUICK && n === 10000 && t !== "all" && t !== "validate") continue;
      cmds[t] = t === "validate" ? { ...kfm("validate", "workflow.yaml"), cwd: dir } : kfmOut(["workflow.yaml"], t, dir);
      // GitHub does not start a workflow file over 500 KB: from about 300 jobs on, the
      // GitHub file is emitted, measured and refused (KFM302), and with it `all`.
      if (t === "github-actions" || t === "all") cmds[t]!.accept = refusedOnlyForSize;
    }
    const reps = n <= 100 ? (QUICK ? 3 : 5) : QUICK ? 1 : 3;
    say(`  ${n} jobs (${(text.length / 1024).toFixed(0)} KiB of YAML) ...`);
    rows[n] = await series(cmds, reps, n === 10000 ? 60_000 : 30_000);
  }
  const labels = targets;
  const cell = (n: number, t: string) => rows[n]!.find((s) => s.label === t);
  say("");
  say(
    table(
      ["target", ...sizes.map((n) => `${n} jobs`), "x (100->1k)", "x (1k->10k)", "peak @10k"],
      labels.map((t) => {
        const c = (n: number) => cell(n, t);
        const g = (a: number, b: number) => (c(a) && c(b) ? fmtX(c(b)!.medianMs / c(a)!.medianMs) : "-");
        return [t, ...sizes.map((n) => (c(n) ? fmtMs(c(n)!.medianMs) : "-")), g(100, 1000), g(1000, 10000), fmtMiB(c(10000)?.peakMiB ?? null)];
      }),
    ),
  );
  say(`  (runs per median: ${sizes.map((n) => `${n}: ${rows[n]!.map((s) => s.runs).join("/")}`).join(", ")})`);
  const all1k = cell(1000, "all")!;
  const all10k = cell(10000, "all")!;
  const growth = all10k.medianMs / all1k.medianMs;
  verdict("growth 1,000 -> 10,000 jobs (all targets)", `${fmtMs(all1k.medianMs)} -> ${fmtMs(all10k.medianMs)}`, growth, "<= 12x", growth <= 12);
  for (const t of ["validate", ...TARGET_NAMES]) {
    if (cell(10000, t)) {
      const gt = cell(10000, t)!.medianMs / cell(1000, t)!.medianMs;
      verdict(`growth 1,000 -> 10,000 jobs (${t})`, `${fmtMs(cell(1000, t)!.medianMs)} -> ${fmtMs(cell(10000, t)!.medianMs)}`, gt, "<= 12x", gt <= 12);
    }
  }
  verdict("10,000 jobs to every target: time", fmtMs(all10k.medianMs), all10k.medianMs / 3000, "< 3 s", all10k.medianMs < 3000);
  verdict(
    "10,000 jobs to every target: peak memory",
    fmtMiB(all10k.peakMiB),
    all10k.peakMiB === null ? null : all10k.peakMiB / 1024,
    "< 1 GiB",
    all10k.peakMiB === null ? null : all10k.peakMiB < 1024,
  );
  profileCandidates.push({
    label: "10,000 jobs to every target",
    cmd: kfmOut(["workflow.yaml"], "all", join(TMP, "scale", "jobs-10000")),
    missBy: all10k.medianMs / 3000,
  });
  results.scale = rows;
}

async function repo() {
  const count = QUICK ? 100 : 500;
  say(`\n## 3. A repository: ${count} specs of 20 jobs, kfm.config.yaml with all four targets\n`);
  const dir = join(TMP, "repo");
  const wfs = repoWorkflows(count);
  for (const w of wfs) write(join(dir, "workflows", w.name, "workflow.yaml"), kfmSpec(w));
  write(
    join(dir, "kfm.config.yaml"),
    [
      "specs:",
      "  - workflows/*/workflow.yaml",
      "targets:",
      "  airflow:",
      "    out: deploy/airflow",
      "  argo:",
      "    out: deploy/argo",
      "  tekton:",
      "    out: deploy/tekton",
      "  github-actions:",
      "    out: .github/workflows",
      "",
    ].join("\n"),
  );
  const inRepo = (...args: string[]): Cmd => ({ cmd: NODE, args: [CLI, ...args], cwd: dir });
  const [compileAll] = await series({ "kfm-compile (first compile)": inRepo() }, 1, 0);
  const clean = await series(
    {
      "node -e 0": { cmd: NODE, args: ["-e", "0"], cwd: dir },
      "kfm-compile check (clean tree)": inRepo("check"),
      "kfm-compile check --full (clean tree, compiles everything)": inRepo("check", "--full"),
    },
    QUICK ? 2 : 3,
    60_000,
  );
  // A pre-commit hook runs after an edit: one spec changed (a comment is enough to change its digest).
  const touched = join(dir, "workflows", wfs[0]!.name, "workflow.yaml");
  appendFileSync(touched, "# edited\n");
  const [edited] = await series({ "kfm-compile check (one spec edited)": inRepo("check") }, QUICK ? 1 : 3, 60_000, 1);
  const ss = [compileAll!, ...clean, edited!];
  const base = clean[0]!.medianMs;
  say(table(["command", "median", "range", "peak RSS", "runs", "vs node -e 0"], seriesRows(ss, base)));
  const r = clean[1]!.medianMs / base;
  verdict(`check of the ${count}-spec repository, nothing changed`, `${fmtMs(clean[1]!.medianMs)} vs ${fmtMs(base)}`, r, "<= 5x node -e 0", r <= 5);
  profileCandidates.push({ label: `check of the ${count}-spec repository`, cmd: inRepo("check"), missBy: r / 5 });
  results.repo = { specs: count, jobsPerSpec: 20, series: ss };
}

async function airflowSection() {
  const count = QUICK ? 10 : 40;
  say(`\n## 4. Airflow's cost: DagBag import of ${count} workflows of 20 jobs (pinned Airflow venv)\n`);
  const missing = ensureVenv(AIRFLOW_PY, "Airflow");
  if (missing) {
    say(`  skipped: ${missing}`);
    verdict("our DAG files import >= 2x faster than dag-factory's", "skipped", null, ">= 2x", null);
    results.airflow = { skipped: missing };
    return;
  }
  const wfs = repoWorkflows(count);
  const specDir = join(TMP, "airflow-specs");
  for (const w of wfs) write(join(specDir, `${w.name}.yaml`), kfmSpec(w));
  const ours = join(TMP, "airflow-ours");
  const r = spawnSync(NODE, [CLI, ...wfs.map((w) => join(specDir, `${w.name}.yaml`)), "--target", "airflow", "--out", ours], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`compiling the Airflow workflows failed: ${r.stderr}`);
  const oursDags = join(ours, "airflow");
  const cmds: Record<string, Cmd> = { "kfm-compile DAG files": { cmd: AIRFLOW_PY, args: [PY_IMPORT, oursDags] } };
  const df = pythonVenv(
    "dag-factory",
    ["--no-deps", `dag-factory==${DAG_FACTORY_VERSION}`],
    "import importlib.util as u, sys; sys.exit(u.find_spec('dagfactory') is None)",
  );
  let dfNote: string | null = null;
  if (typeof df === "string") {
    dfNote = `dag-factory ${DAG_FACTORY_VERSION} skipped: ${df}`;
    say(`  ${dfNote}`);
  } else {
    const dfDags = join(TMP, "airflow-dag-factory");
    const dfYaml = join(TMP, "airflow-dag-factory-config");
    for (const w of wfs) {
      const cfg = join(dfYaml, `${w.name}.yaml`);
      write(cfg, dagFactoryConfig(w));
      // DagBag's safe mode only imports files that mention both "airflow" and "dag".
      write(join(dfDags, `${w.name}.py`), "# An Airflow DAG file\n" + dagFactoryLoader(cfg));
    }
    // dag-factory's own dependencies (pyyaml, packaging, pathspec, typer) come with Airflow.
    cmds[`dag-factory ${DAG_FACTORY_VERSION} YAML`] = {
      cmd: AIRFLOW_PY,
      args: [PY_IMPORT, dfDags],
      env: { ...process.env, PYTHONPATH: df.site },
    };
  }
  const ss = await series(cmds, QUICK ? 3 : 7, 120_000, 0);
  // The DagBag time measured inside Python (the import of Airflow itself excluded).
  type Info = { ms: number; dags: number; tasks: number; import_errors: Record<string, string> };
  const infos: Info[][] = ss.map((s) =>
    (s.stdouts ?? []).flatMap((o) => {
      try {
        return [JSON.parse(o.split("\n").pop()!) as Info];
      } catch {
        return [];
      }
    }),
  );
  const info = infos.map((xs) => xs[xs.length - 1]);
  info.forEach((x, i) => {
    if (x && Object.keys(x.import_errors).length) say(`  import errors in ${ss[i]!.label}: ${JSON.stringify(x.import_errors).slice(0, 600)}`);
  });
  const dagbag = infos.map((xs) => (xs.length ? median(xs.map((x) => x.ms)) : NaN));
  say(
    table(
      ["DAG files", "DagBag parse (median)", "per workflow", "whole process", "peak RSS", "DAGs", "tasks"],
      ss.map((s, i) => [
        s.label,
        fmtMs(dagbag[i]!),
        fmtMs(dagbag[i]! / count),
        fmtMs(s.medianMs),
        fmtMiB(s.peakMiB),
        info[i]?.dags ?? "?",
        info[i]?.tasks ?? "?",
      ]),
    ),
  );
  if (ss.length > 1 && ss.every((s) => s.failures === 0) && Number.isFinite(dagbag[0]!) && Number.isFinite(dagbag[1]!)) {
    const ratio = dagbag[1]! / dagbag[0]!;
    say(`  dag-factory / kfm-compile DagBag parse time: ${fmtX(ratio)}`);
    verdict("our DAG files import >= 2x faster than dag-factory's", `${fmtMs(dagbag[0]!)} vs ${fmtMs(dagbag[1]!)}`, ratio, ">= 2x", ratio >= 2);
  } else {
    verdict("our DAG files import >= 2x faster than dag-factory's", dfNote ?? "not measured", null, ">= 2x", null);
  }
  results.airflow = { workflows: count, jobsPerWorkflow: 20, series: ss, dagbagMs: dagbag, info, note: dfNote };
}

async function dagsterSection() {
  const count = QUICK ? 10 : 40;
  say(`\n## 4b. Dagster's cost: loading ${count} generated modules of 20 jobs (pinned Dagster venv)\n`);
  const missing = ensureVenv(DAGSTER_PY, "Dagster");
  if (missing) {
    say(`  skipped: ${missing}`);
    results.dagster = { skipped: missing };
    return;
  }
  const wfs = repoWorkflows(count);
  const specDir = join(TMP, "dagster-specs");
  for (const w of wfs) write(join(specDir, `${w.name}.yaml`), kfmSpec(w));
  const specs = wfs.map((w) => join(specDir, `${w.name}.yaml`));
  const out = join(TMP, "dagster-ours");
  const compiled = await series({ [`kfm-compile --target dagster, ${count} specs`]: kfmOut(specs, "dagster") }, QUICK ? 3 : 7, 60_000);
  const r = spawnSync(NODE, [CLI, ...specs, "--target", "dagster", "--out", out], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`compiling the Dagster workflows failed: ${r.stderr}`);
  const load = await series({ "load and validate the modules": { cmd: DAGSTER_PY, args: [DAGSTER_IMPORT, join(out, "dagster")] } }, QUICK ? 3 : 7, 120_000);
  type Info = { ms: number; import_ms: number; modules: number; jobs: number; ops: number; errors: Record<string, string> };
  const infos = (load[0]!.stdouts ?? []).flatMap((o) => {
    try {
      return [JSON.parse(o.split("\n").pop()!) as Info];
    } catch {
      return [];
    }
  });
  const last = infos[infos.length - 1];
  if (last && Object.keys(last.errors).length) say(`  load errors: ${JSON.stringify(last.errors).slice(0, 600)}`);
  const inside = infos.length ? median(infos.map((x) => x.ms)) : NaN;
  const imported = infos.length ? median(infos.map((x) => x.import_ms)) : NaN;
  say(
    table(
      ["measurement", "median", "per workflow", "whole process", "peak RSS", "modules", "ops"],
      [
        [
          compiled[0]!.label,
          fmtMs(compiled[0]!.medianMs),
          fmtMs(compiled[0]!.medianMs / count),
          fmtMs(compiled[0]!.medianMs),
          fmtMiB(compiled[0]!.peakMiB),
          count,
          "-",
        ],
        ["import the modules (Dagster imported first)", fmtMs(imported), fmtMs(imported / count), "-", "-", last?.modules ?? "?", last?.ops ?? "?"],
        [
          "import and validate the Definitions",
          fmtMs(inside),
          fmtMs(inside / count),
          fmtMs(load[0]!.medianMs),
          fmtMiB(load[0]!.peakMiB),
          last?.modules ?? "?",
          last?.ops ?? "?",
        ],
      ],
    ),
  );
  results.dagster = { workflows: count, jobsPerWorkflow: 20, compile: compiled, load, loadMs: inside, importMs: imported, info: last };
}

async function peers() {
  const count = QUICK ? 10 : 50;
  say(`\n## 5. Peers: the same workflows as Argo YAML (${count} workflows of 20 jobs; one of 1,000 jobs)\n`);
  const hera = pythonVenv("hera", [`hera[yaml]==${HERA_VERSION}`], "import hera.workflows, yaml");
  const notes: string[] = [];
  const out: Record<string, Series[]> = {};
  if (typeof hera === "string") {
    notes.push(`hera ${HERA_VERSION} skipped: ${hera}`);
  } else {
    for (const [name, wfs] of [
      [`${count} x 20 jobs`, repoWorkflows(count)],
      ["1 x 1,000 jobs", [mixedWorkflow("big_1000", 1000)]],
    ] as [string, Workflow[]][]) {
      const dir = join(TMP, "peers", name.replace(/\W+/g, "-"));
      const specs = wfs.map((w) => join(dir, "specs", `${w.name}.yaml`));
      wfs.forEach((w, i) => write(specs[i]!, kfmSpec(w)));
      const heraOut = join(dir, "hera-out");
      mkdirSync(heraOut, { recursive: true });
      write(join(dir, "hera_workflows.py"), heraScript(wfs, heraOut));
      const ss = await series(
        {
          "kfm-compile --target argo": kfmOut(specs, "argo"),
          [`hera ${HERA_VERSION} (python script, to_yaml)`]: { cmd: hera.python, args: [join(dir, "hera_workflows.py")] },
        },
        QUICK ? 3 : 5,
        45_000,
      );
      if (readdirSync(heraOut).length !== wfs.length) notes.push(`hera wrote ${readdirSync(heraOut).length} files for ${wfs.length} workflows (${name})`);
      out[name] = ss;
    }
    say(
      table(
        ["workload", "kfm-compile", "hera", "hera / kfm-compile"],
        Object.entries(out).map(([name, ss]) => [name, fmtMs(ss[0]!.medianMs), fmtMs(ss[1]!.medianMs), fmtX(ss[1]!.medianMs / ss[0]!.medianMs)]),
      ),
    );
    for (const [name, ss] of Object.entries(out)) {
      if (ss.some((s) => s.failures > 0)) {
        verdict(`faster than hera (${name} to Argo YAML)`, "a run failed (see above)", null, "> 1x", null);
        continue;
      }
      const ratio = ss[1]!.medianMs / ss[0]!.medianMs;
      verdict(`faster than hera (${name} to Argo YAML)`, `${fmtMs(ss[0]!.medianMs)} vs ${fmtMs(ss[1]!.medianMs)}`, ratio, "> 1x", ratio > 1);
    }
  }
  notes.push(
    "dag-factory: compared in section 4 (it has no compile step; its cost is paid at Airflow parse time)",
    "Couler: not measured (PyPI holds only couler 0.0.0.dev0 of 2019; the project is archived)",
    "Metaflow: not measured (its Argo compile, `argo-workflows create --only-json`, needs a configured Kubernetes and S3 datastore, and its flows are Python steps rather than container jobs)",
  );
  for (const n of notes) say(`  ${n}`);
  results.peers = { series: out, notes };
}

/** Every file under `dir`, by the first folder below it (one per target with `--target all`): total bytes. */
function bytesByFolder(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string, top: string | null) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, top ?? e.name);
      else out.set(top ?? "(top)", (out.get(top ?? "(top)") ?? 0) + readFileSync(p).length);
    }
  };
  walk(dir, null);
  return out;
}

/** Least squares over (jobs, bytes): the fixed overhead (intercept) and the bytes per extra job (slope). */
function fitLine(points: readonly (readonly [number, number])[]): { fixed: number; perJob: number } {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const perJob = sxx === 0 ? 0 : sxy / sxx;
  return { fixed: my - perJob * mx, perJob };
}

/**
 * Bytes per job (issue 13, item 8): each synthetic workflow (the contract's shape: a daily
 * schedule, jobs with an image, a command and two params, one a `{{ ds }}`) is compiled to
 * all four targets at 1, 2, 4 and 8 jobs, and a line fitted through the bytes each target
 * writes: the intercept is the fixed overhead of a file, the slope what each extra job adds.
 * Output size is deterministic, so each size is compiled once.
 */
async function bytes() {
  say("\n## 6. Bytes per job (one spec per size, compiled with --target all; a line fitted through 1, 2, 4 and 8 jobs)\n");
  const sizes = [1, 2, 4, 8];
  const shapes: [string, (name: string, n: number) => Workflow][] = [
    ["chain", chainWorkflow],
    ["fan-out", fanOutWorkflow],
  ];
  const out: Record<string, Record<string, { bytes: number[]; fixed: number; perJob: number }>> = {};
  for (const [shape, make] of shapes) {
    const measured = new Map<string, number[]>();
    for (const n of sizes) {
      const dir = join(TMP, "bytes", shape, `jobs-${n}`);
      write(join(dir, "workflow.yaml"), kfmSpec(make(`bytes_${n}`, n)));
      const r = spawnSync(NODE, [CLI, "workflow.yaml", "--target", "all", "--out", "out"], { cwd: dir, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`bytes: ${shape} of ${n} jobs did not compile (exit ${r.status}):\n${r.stderr}`);
      for (const [folder, b] of bytesByFolder(join(dir, "out"))) measured.set(folder, [...(measured.get(folder) ?? []), b]);
    }
    out[shape] = {};
    const rows: (string | number)[][] = [];
    for (const [folder, bs] of [...measured].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const fit = fitLine(bs.map((b, i) => [sizes[i]!, b] as const));
      out[shape]![folder] = { bytes: bs, ...fit };
      rows.push([
        folder,
        ...bs.map((b) => b.toLocaleString("en-US")),
        Math.round(fit.fixed).toLocaleString("en-US"),
        Math.round(fit.perJob).toLocaleString("en-US"),
      ]);
    }
    say(`${shape}:\n`);
    say(table(["target", ...sizes.map((n) => `${n} job${n === 1 ? "" : "s"}`), "fixed", "per job"], rows));
    say("");
  }
  results.bytes = out;
}

async function profileBiggestMiss() {
  const worst = [...profileCandidates].sort((a, b) => b.missBy - a.missBy)[0];
  if (!worst) return;
  say(`\n## Profile: ${worst.label} (missed its target by ${fmtX(worst.missBy)})\n`);
  const dir = join(TMP, "profile");
  mkdirSync(dir, { recursive: true });
  const c = worst.cmd;
  c.before?.();
  const r = spawnSync(NODE, ["--cpu-prof", "--cpu-prof-dir", dir, ...c.args], { cwd: c.cwd ?? ROOT, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) say(`  (exit ${r.status})`);
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) return say("  no profile written");
  const s: ProfileSummary = summarise(join(dir, file), 12);
  say(formatSummary(s));
  results.profile = { label: worst.label, ...s };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (!existsSync(join(ROOT, "dist", "src", "cli", "index.js"))) throw new Error("dist/ is missing: run npm run bundle (npm run bench does)");
  const started = new Date();
  const cpu = cpus();
  const machine = {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? "?",
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    os: `${process.platform} ${release()}`,
    peakMemory: GNU_TIME ? "GNU time %M" : "VmHWM polling",
    loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
    commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim(),
    dirtyWorkTree: spawnSync("git", ["status", "--porcelain", "--", "src", "targets"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() !== "",
  };
  say(`kfm-compile bench, ${started.toISOString()}${QUICK ? " (--quick)" : ""}`);
  say(
    `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}; peak memory by ${machine.peakMemory}`,
  );
  say(
    `git ${machine.commit}${machine.dirtyWorkTree ? " with uncommitted changes in src/ or targets/" : ""}; load average ${machine.loadAverageAtStart.join(" ")} (other processes on the machine inflate every number, ratios less so)`,
  );
  say(`generated specs in ${TMP}`);
  if (want("cold")) await cold();
  if (want("scale")) await scale();
  if (want("repo")) await repo();
  if (want("airflow")) await airflowSection();
  if (want("dagster")) await dagsterSection();
  if (want("peers")) await peers();
  if (want("bytes")) await bytes();
  if (PROFILE) await profileBiggestMiss();

  say("\n## Targets (issue 7)\n");
  say(
    table(
      ["target", "measured", "ratio", "limit", "met"],
      verdicts.map((v) => [v.target, v.measured, v.ratio === null ? "-" : fmtX(v.ratio), v.limit, v.met === null ? "not measured" : v.met ? "yes" : "NO"]),
    ),
  );
  const seconds = (Date.now() - started.getTime()) / 1000;
  const day = started.toISOString().slice(0, 10);
  const file = join(ROOT, "bench", "results", `${day}${QUICK ? "-quick" : ""}.json`);
  const loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));
  say(`load average at the end: ${loadAverageAtEnd.join(" ")}`);
  write(
    file,
    JSON.stringify(
      { date: started.toISOString(), quick: QUICK, seconds, machine: { ...machine, loadAverageAtEnd }, targets: verdicts, sections: results },
      null,
      2,
    ) + "\n",
  );
  say(`\nwrote ${file} (${seconds.toFixed(0)} s)`);
  if (!KEEP) rmSync(TMP, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
  if (!KEEP) rmSync(TMP, { recursive: true, force: true });
  process.exitCode = 1;
});
