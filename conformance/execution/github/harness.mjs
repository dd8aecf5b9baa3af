#!/usr/bin/env node
// The GitHub Actions execution harness (issue 14): runs ONE generated workflow with
// nektos/act on this host (`-P <label>=-self-hosted`), the user's containers replaced by
// the stub docker beside this file, and writes what it observed as an `Observed`
// (src/execution.ts) to --out. See README.md beside this file for every place where act
// is not GitHub and what the harness does about it.
//
//   node conformance/execution/github/harness.mjs --act BIN --folder DIR --workflow FILE.yml \
//     --scenario scenario.json --out observed.json [--event workflow_dispatch|schedule|repository_dispatch]
//     [--schedule CRON] [--payload client_payload.json] [--created-at YYYY-MM-DDTHH:MM:SSZ] [--keep DIR]
//
// --folder holds the files kfm-compile wrote for the target (the workflow and the folder's
// shared kfm-*.yml); --workflow names the one to run. --created-at is the run's `created_at` the
// harness's REST API answers (default: when act starts), which kfm-context reads for a scheduled
// run of a workflow whose runs queue (max_active_runs). Exit status 0 when observed.json was
// written (whatever the run did), 2 when the harness itself failed.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, realpathSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const HERE = dirname(fileURLToPath(import.meta.url));

/** The run's temporary folder, removed on every exit unless --keep named it. */
let scratch = null;

function fail(message) {
  if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  process.stderr.write(`github execution harness: ${message}\n`);
  process.exit(2);
}

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) fail(`bad arguments near ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ["act", "folder", "workflow", "scenario", "out"]) if (out[k] === undefined) fail(`--${k} is required`);
  return out;
}

// --- Inlining the shared workflows --------------------------------------------------------------
//
// act v0.2.89 stops the whole run at the first failed job that calls a LOCAL reusable
// workflow (README "act runs no job after a failed caller"), where GitHub goes on with
// the jobs whose `if:` holds. The harness therefore hands act each caller job with the
// called workflow's one job in its place, GitHub's documented meaning of a call: the
// called job runs with the caller's `needs`/`if:`, `${{ inputs.X }}` is the caller's
// `with:` value (or the input's default), `${{ secrets.X }}` the caller's `secrets:`
// value (empty when not passed), and the caller's outputs are the called workflow's
// `on.workflow_call.outputs`, which name the called job's outputs.

const INPUT = /^\$\{\{ inputs\.([A-Za-z0-9_-]+) \}\}$/;
const SECRET = /^\$\{\{ secrets\.([A-Za-z0-9_]+) \}\}$/;
const JOB_OUTPUT = /^\$\{\{ jobs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_]+) \}\}$/;

/** The inlining cannot carry this file: an error naming what (the caller's `fail` reports it). */
function refuse(message) {
  throw new Error(`cannot inline: ${message}`);
}

function substitute(value, inputs, secrets, where) {
  if (typeof value === "string") {
    const i = INPUT.exec(value);
    if (i !== null) {
      if (!(i[1] in inputs)) refuse(`${where}: the input ${i[1]} is not declared`);
      return inputs[i[1]];
    }
    const s = SECRET.exec(value);
    if (s !== null) return s[1] in secrets ? secrets[s[1]] : "";
    if (/\$\{\{[^}]*\b(inputs|secrets)\./.test(value)) refuse(`${where}: an input or secret inside a longer value cannot be inlined: ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, n) => substitute(v, inputs, secrets, `${where}[${n}]`));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, inputs, secrets, `${where}.${k}`)]));
  }
  return value;
}

export function inline(workflow, called) {
  const jobs = {};
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const uses = job.uses;
    if (typeof uses !== "string") {
      jobs[id] = job;
      continue;
    }
    const file = uses.replace(/^\.\/\.github\/workflows\//, "");
    const target = called[file];
    if (target === undefined) refuse(`${id}: calls ${uses}, which is not in the folder`);
    const call = target.on.workflow_call;
    const inputs = {};
    for (const [name, def] of Object.entries(call.inputs ?? {})) {
      const given = (job.with ?? {})[name];
      if (given === undefined && def.required) refuse(`${id}: the required input ${name} is not given`);
      inputs[name] = given !== undefined ? given : def.default !== undefined ? def.default : "";
    }
    for (const name of Object.keys(job.with ?? {})) if (!(name in inputs)) refuse(`${id}: ${name} is not an input of ${file}`);
    const calledJobs = Object.entries(target.jobs);
    if (calledJobs.length !== 1) refuse(`${file} has ${calledJobs.length} jobs; the harness inlines one`);
    const [calledId, calledJob] = calledJobs[0];
    const body = substitute(calledJob, inputs, job.secrets ?? {}, `${file}.jobs.${calledId}`);
    const outputs = {};
    for (const [name, def] of Object.entries(call.outputs ?? {})) {
      const m = JOB_OUTPUT.exec(def.value);
      if (m === null || m[1] !== calledId) refuse(`${file}: output ${name} is not one of its job's outputs`);
      outputs[name] = (body.outputs ?? {})[m[2]];
    }
    const { uses: _uses, with: _with, secrets: _secrets, ...caller } = job;
    // The caller's permissions bound the called job's; ours ask for the same scopes.
    jobs[id] = { ...caller, ...body, ...(Object.keys(outputs).length > 0 ? { outputs } : {}) };
    delete jobs[id].outputs?.undefined;
  }
  return { ...workflow, jobs };
}

// --- The reviewers and the webhook ----------------------------------------------------------------

function startServer(scenario, record, createdAt) {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = req.url ?? "";
      const run = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/([^/]+)$/.exec(url);
      if (req.method === "GET" && run !== null) {
        // REST "Get a workflow run": when GitHub created the run (kfm-context of a queued workflow reads it).
        record.push({ kind: "run", t: Date.now() / 1000 });
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ id: Number(run[1]) || 1, created_at: createdAt() }));
        return;
      }
      const approvals = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/[^/]+\/approvals$/.exec(url);
      if (req.method === "GET" && approvals !== null) {
        // GitHub's environment protection, played from the scenario: the review history of the run.
        record.push({ kind: "approvals", t: Date.now() / 1000 });
        const reviews = [];
        for (const [gate, environment] of record.gateEnvironments) {
          const decision = (scenario.gates ?? {})[gate] ?? "approve";
          if (decision === "none") continue;
          reviews.push({
            state: decision === "approve" ? "approved" : "rejected",
            environments: [{ name: environment }],
            user: { login: "kfm-reviewer" },
            comment: "",
          });
        }
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(reviews));
        return;
      }
      const hook = /^\/hook\/([A-Za-z0-9_]+)$/.exec(url);
      if ((req.method === "POST" || req.method === "PUT") && hook !== null) {
        // Slack: a POSTed JSON {"text"}; email: curl --upload-file to a non-SMTP URL PUTs the message.
        record.push({ kind: "notify", secret: hook[1], body, t: Date.now() / 1000 });
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("ok");
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// --- Running act ----------------------------------------------------------------------------------

function runAct(bin, argv, env, cwd) {
  return new Promise((resolve) => {
    const child = spawn(bin, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (code, signal) => resolve({ code: code ?? 128, signal, out }));
  });
}

/** The failed jobs a notification's text names: its "Failed jobs:" line (src/notify.ts LAYOUT). */
function failedJobsOf(text) {
  const line = text
    .replace(/\r/g, "")
    .split("\n")
    .find((l) => l.startsWith("Failed jobs: "));
  if (line === undefined) return null;
  const list = line.slice("Failed jobs: ".length);
  return list === "none" ? [] : list.split(", ").sort();
}

async function main() {
  const a = args(process.argv.slice(2));
  const scenario = JSON.parse(readFileSync(a.scenario, "utf8"));
  const work = a.keep ?? mkdtempSync(join(tmpdir(), "kfm-act-"));
  if (a.keep === undefined) scratch = work;
  const repo = join(work, "repo");
  const wfDir = join(repo, ".github", "workflows");
  const stub = join(work, "stub");
  const bin = join(stub, "bin");
  mkdirSync(wfDir, { recursive: true });
  mkdirSync(bin, { recursive: true });
  // The stub starts on every docker call: give it the interpreter itself (a version
  // manager's shim would add its own start-up to every wait the run measures).
  const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
  const stubText = readFileSync(join(HERE, "stub", "docker"), "utf8").replace(/^#!.*\n/, `#!${python} -IS\n`);
  writeFileSync(join(bin, "docker"), stubText, { mode: 0o755 });
  writeFileSync(join(stub, "scenario.json"), JSON.stringify(scenario));

  const docs = {};
  for (const f of readdirSync(a.folder)) if (f.endsWith(".yml")) docs[f] = parse(readFileSync(join(a.folder, f), "utf8"));
  const wf = docs[a.workflow];
  if (wf === undefined) fail(`${a.workflow} is not in ${a.folder}`);
  const inlined = inline(wf, docs);
  // act v0.2.89 validates a workflow against its own schema, whose concurrency mapping has only
  // group and cancel-in-progress (pkg/schema/workflow_schema.json), so `queue: max` (GitHub, 2026-05)
  // fails the file ("Unknown Property queue"); act runs no concurrency group anyway (README).
  if (inlined.concurrency !== null && typeof inlined.concurrency === "object" && "queue" in inlined.concurrency) {
    const { queue: _queue, ...group } = inlined.concurrency;
    inlined.concurrency = group;
  }
  // JSON is YAML: act reads the file as written here.
  writeFileSync(join(wfDir, a.workflow), JSON.stringify(inlined, null, 2));

  // Spec names of the jobs (job ids are spec names; src/names.ts githubJobId) and gates.
  const specJobs = Object.keys(wf.jobs).filter((id) => !id.startsWith("kfm-"));
  const record = [];
  record.gateEnvironments = [];
  for (const id of specJobs) {
    const job = wf.jobs[id];
    if (job.uses === "./.github/workflows/kfm-approval.yml") record.gateEnvironments.push([id, job.with.environment]);
  }
  let actStarted = null;
  const createdAt = () => a["created-at"] ?? new Date((actStarted ?? Date.now() / 1000) * 1000).toISOString().replace(/\.[0-9]{3}Z$/, "Z");
  const server = await startServer(scenario, record, createdAt);
  const base = `http://127.0.0.1:${server.address().port}`;

  // Every secret the workflow reads gets a value: the webhook secrets a URL of the server
  // (a secret per notification, so the request says which one sent it), the others a text.
  const secretNames = new Set([...JSON.stringify(wf).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]));
  const secretArgs = [];
  for (const s of secretNames) secretArgs.push("-s", `${s}=${base}/hook/${s}`);
  // GitHub gives every run a token (github.token); act only when told one (its secret GITHUB_TOKEN).
  secretArgs.push("-s", "GITHUB_TOKEN=kfm-execution-token");
  const notifySecret = new Map();
  for (const [id, job] of Object.entries(wf.jobs)) {
    const m = /^kfm-notify-([0-9]+)$/.exec(id);
    if (m === null) continue;
    const url = job.steps?.[0]?.env?.KFM_NOTIFY_SECRET_URL ?? "";
    const s = /secrets\.([A-Za-z0-9_]+)/.exec(url);
    if (s !== null) notifySecret.set(s[1], Number(m[1]) - 1);
  }

  // workflow_dispatch with the scenario's logical date (a manual run, a backfill); or, with
  // --event schedule, the event GitHub sends for one of the workflow's crons (kfm-context then
  // takes the latest slot before the host's clock, whatever the scenario says).
  // With --event repository_dispatch, the dispatch a relay posts for an object-store event: the
  // workflow's one on.repository_dispatch type as `action` and the JSON of --payload as
  // `client_payload` (the webhook payload's fields, github/docs webhook-events-and-payloads,
  // repository_dispatch).
  const event = a.event ?? "workflow_dispatch";
  if (event !== "workflow_dispatch" && event !== "schedule" && event !== "repository_dispatch")
    fail(`--event ${event}: workflow_dispatch, schedule or repository_dispatch`);
  const types = wf.on?.repository_dispatch?.types ?? [];
  if (event === "repository_dispatch" && (types.length !== 1 || a.payload === undefined))
    fail("--event repository_dispatch: the workflow needs one on.repository_dispatch type, and --payload a JSON file");
  // --schedule names which on.schedule entry fired (github.event.schedule); the first by default.
  const entries = (wf.on?.schedule ?? []).map((e) => e.cron);
  const cron = a.schedule ?? entries[0];
  if (event === "schedule" && cron === undefined) fail("--event schedule: the workflow has no schedule");
  if (a.schedule !== undefined && !entries.includes(a.schedule)) fail(`--schedule ${a.schedule}: not an on.schedule entry (${entries.join(", ")})`);
  const payload =
    event === "schedule"
      ? { schedule: cron }
      : event === "repository_dispatch"
        ? { action: types[0], client_payload: JSON.parse(readFileSync(a.payload, "utf8")) }
        : { inputs: { logical_date: scenario.logicalDate } };
  writeFileSync(join(work, "event.json"), JSON.stringify(payload));
  const labels = new Set();
  for (const d of Object.values(docs)) for (const j of Object.values(d.jobs ?? {})) for (const l of [j["runs-on"] ?? []].flat()) labels.add(l);
  const platforms = [...labels].flatMap((l) => ["-P", `${l}=-self-hosted`]);
  const git = spawn("git", ["init", "-q", repo], { stdio: "ignore" });
  await new Promise((r) => git.on("close", r));
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    KFM_STUB_DIR: stub,
    XDG_CACHE_HOME: join(work, "cache"),
    // act reads extra arguments from $XDG_CONFIG_HOME/act/actrc (and creates the folder).
    XDG_CONFIG_HOME: join(work, "config"),
  };
  // act also reads arguments from ~/.actrc (nektos/act cmd/root.go configLocations): they
  // would change what is run, so the harness does not run under one.
  if (existsSync(join(homedir(), ".actrc"))) fail(`${join(homedir(), ".actrc")} would add arguments to act: move it away to run the harness`);
  const started = Date.now() / 1000;
  actStarted = started;
  const result = await runAct(
    a.act,
    [
      event,
      "-W",
      join(".github", "workflows", a.workflow),
      "-e",
      join(work, "event.json"),
      ...platforms,
      "--json",
      "--no-cache-server",
      "--concurrent-jobs",
      "64",
      "--env",
      `GITHUB_API_URL=${base}`,
      ...secretArgs,
    ],
    env,
    repo,
  );
  server.close();
  writeFileSync(join(work, "act.log"), result.out);

  // Job states: act's own result of each job (`jobResult` on its "Job succeeded/failed"
  // line); a job act never started (its `if:` was false) has no such line: not run.
  const jobs = {};
  for (const id of specJobs) jobs[id] = "not-run";
  let version = "";
  let contextRan = false;
  for (const line of result.out.split("\n")) {
    let d;
    try {
      d = JSON.parse(line);
    } catch {
      continue;
    }
    if (d.jobResult !== undefined && d.jobID === "kfm-context") contextRan = true;
    if (d.jobResult === undefined || !(d.jobID in jobs)) continue;
    // "skipped" (a false `if:`, pkg/runner/run_context.go isEnabled) is a job that never started.
    jobs[d.jobID] = d.jobResult === "success" ? "succeeded" : d.jobResult === "skipped" ? "not-run" : "failed";
  }

  // kfm-context runs in every run: no result of it means act did not run the workflow at all
  // (a file it cannot read, a missing tool), which is the harness's failure, not the run's.
  if (!contextRan) fail(`act ran no kfm-context job (exit ${result.code}):\n${result.out.slice(-4000)}`);

  // Attempts from the stub's log.
  const log = existsSync(join(stub, "docker.log"))
    ? readFileSync(join(stub, "docker.log"), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l))
    : [];
  const attempts = [];
  const open = new Map();
  for (const r of log) {
    const at = r.t - started;
    if (r.call === "inspect" && !r.present) {
      // What the attempt was to be given: the step's inputs (the stub reads them; no container got them).
      attempts.push({
        job: r.job,
        attempt: r.attempt,
        startedAt: at,
        endedAt: at,
        end: "did-not-start",
        env: r.env,
        command: r.command === null || r.command.length === 0 ? null : r.command,
        args: r.args ?? [],
      });
      open.set(`${r.job}/${r.attempt}`, attempts[attempts.length - 1]);
    } else if (r.call === "pull") {
      const last = [...attempts].reverse().find((x) => x.job === r.job && x.end === "did-not-start");
      if (last !== undefined) last.endedAt = at;
    } else if (r.call === "run" && r.event === "start") {
      // The spec's command is the entrypoint plus the first argv words (RUN_SCRIPT puts command[1:] before args).
      const commandLength = r.command_json === "" ? 0 : JSON.parse(r.command_json).length;
      const command = commandLength === 0 ? null : [r.entrypoint, ...r.argv.slice(0, commandLength - 1)];
      const argsOf = commandLength === 0 ? r.argv : r.argv.slice(commandLength - 1);
      const name = r.options.find((o) => o.startsWith("--name="))?.slice("--name=".length);
      const x = { job: r.job, attempt: r.attempt, startedAt: at, endedAt: null, end: "timed-out", env: r.env, command, args: argsOf, container: name };
      attempts.push(x);
      open.set(`${r.job}/${r.attempt}`, x);
    } else if (r.call === "run" && r.event === "end") {
      const x = open.get(`${r.job}/${r.attempt}`);
      if (x === undefined) continue;
      x.endedAt = at;
      x.end = r.end === "killed" ? "timed-out" : r.code === 0 ? "succeeded" : "failed";
    } else if (r.call === "rm") {
      // A client killed without a word (SIGKILL after the grace) ends when its container is removed.
      const x = attempts.find((y) => y.container === r.argv[r.argv.length - 1] && y.endedAt === null);
      if (x !== undefined) x.endedAt = at;
    }
  }
  for (const x of attempts) {
    if (x.endedAt === null) x.endedAt = Date.now() / 1000 - started;
    delete x.container;
  }

  const notifications = [];
  for (const r of record) {
    if (r.kind !== "notify") continue;
    let text = r.body;
    try {
      text = JSON.parse(r.body).text;
    } catch {
      // email bodies are plain text
    }
    notifications.push({ index: notifySecret.get(r.secret) ?? -1, failedJobs: failedJobsOf(text) ?? ["<no Failed jobs line>"] });
  }

  const versionOut = await runAct(a.act, ["--version"], process.env, work);
  version = versionOut.out.trim().replace(/^act version /, "");
  const observed = {
    engine: `act ${version} (GitHub Actions, host runner, stub docker)`,
    // act exits non-zero when a job failed (pkg/runner/runner.go handleFailure), as a GitHub run's conclusion is failure.
    run: result.code === 0 ? "succeeded" : "failed",
    jobs,
    attempts,
    notifications,
  };
  writeFileSync(a.out, JSON.stringify(observed, null, 2) + "\n");
  if (a.keep === undefined) rmSync(work, { recursive: true, force: true });
}

// Run as a command; imported (the unit test of `inline`), only the functions.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => fail(e instanceof Error && e.message.startsWith("cannot inline") ? e.message : (e.stack ?? String(e))));
}
