#!/usr/bin/env node
// Hands GitHub Actions workflow files to GitHub's own parser, @actions/workflow-parser
// (the schema and converter behind the VS Code extension): parseWorkflow validates the
// file against the workflow schema, convertWorkflowTemplate builds the model of events,
// jobs, needs and steps. Prints ONE JSON document on stdout:
//
//   {"tool","versions","files":[{"file","ok","errors","parsed"}]}
//
// "parsed" is the converted model made plain (jobs, needs, if, env, steps, schedules
// with their timezone, workflow_dispatch inputs). A few job and step keys that the
// converter validates but leaves out of its model (timeout-minutes, continue-on-error,
// strategy, a step's `with`, shell, working-directory, timeout-minutes) are read from
// the same parser's token tree and listed under "fromTokens".
//
// A job that calls a local reusable workflow (`uses: ./.github/workflows/<file>`) is
// resolved the way GitHub resolves it: the converter fetches the called file (from the
// caller's own folder, which stands for the repository's .github/workflows), checks the
// caller's `with:` and `secrets:` against its `workflow_call` inputs and secrets, and
// converts its jobs; they are listed under the calling job's "jobs", with its
// "input-definitions", "input-values", "secret-values" and "outputs".
//
// Usage: node conformance/github/parse.mjs FILE...
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { register } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The package imports its JSON schemas without an import attribute, which bundlers
// accept and plain Node refuses: add `type: "json"` for .json modules, then load it.
register(
  "data:text/javascript," +
    encodeURIComponent(
      "export async function load(url, context, nextLoad) {" +
        " if (url.endsWith('.json') && !(context.importAttributes && context.importAttributes.type))" +
        " return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });" +
        " return nextLoad(url, context); }",
    ),
);
const { convertWorkflowTemplate, isBasicExpression, isBoolean, isMapping, isNumber, isSequence, isString, NoOperationTraceWriter, parseWorkflow } =
  await import("@actions/workflow-parser");

/** A template token as a plain JSON value; an expression becomes {"expr": ...}. */
function plain(token) {
  if (token === undefined || token === null) return null;
  if (isString(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isBasicExpression(token)) return { expr: token.expression };
  if (isSequence(token)) {
    const out = [];
    for (let i = 0; i < token.count; i++) out.push(plain(token.get(i)));
    return out;
  }
  if (isMapping(token)) {
    const out = {};
    for (const pair of token) out[keyText(pair.key)] = plain(pair.value);
    return out;
  }
  // null tokens and anything else the parser may add
  if (typeof token.toJSON === "function") {
    const v = token.toJSON();
    return v === undefined ? null : v;
  }
  return String(token);
}

function keyText(key) {
  if (isString(key)) return key.value;
  if (isBasicExpression(key)) return "${{ " + key.expression + " }}";
  return String(plain(key));
}

/** A value of the converted model: tokens made plain, plain data copied. */
function model(value) {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== "object") return value;
  if (typeof value.templateTokenType === "number") return plain(value);
  if (Array.isArray(value)) return value.map(model);
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    const m = model(v);
    if (m !== undefined) out[k] = m;
  }
  return out;
}

function mappingGet(token, key) {
  if (!token || !isMapping(token)) return undefined;
  return token.find(key);
}

const JOB_TOKEN_KEYS = ["timeout-minutes", "continue-on-error", "strategy", "permissions", "defaults"];
const STEP_TOKEN_KEYS = ["with", "shell", "working-directory", "timeout-minutes", "continue-on-error"];

function pick(token, keys) {
  const out = {};
  for (const k of keys) {
    const v = mappingGet(token, k);
    if (v !== undefined) out[k] = plain(v);
  }
  return out;
}

function convertJob(job, rawJobs, calledRaw) {
  const id = plain(job.id);
  const rawJob = mappingGet(rawJobs, id);
  const rawSteps = mappingGet(rawJob, "steps");
  const out = {
    id,
    type: job.type,
    name: model(job.name) ?? null,
    needs: (job.needs ?? []).map(plain),
    if: model(job.if) ?? null,
    env: model(job.env) ?? null,
    "runs-on": model(job["runs-on"]) ?? null,
    container: model(job.container) ?? null,
    environment: model(job.environment) ?? null,
    concurrency: model(job.concurrency) ?? null,
    outputs: model(job.outputs) ?? null,
    fromTokens: pick(rawJob, JOB_TOKEN_KEYS),
  };
  if (job.type === "job") {
    out.steps = (job.steps ?? []).map((step, i) => {
      const s = model(step);
      const rawStep = rawSteps && isSequence(rawSteps) && i < rawSteps.count ? rawSteps.get(i) : undefined;
      s.fromTokens = pick(rawStep, STEP_TOKEN_KEYS);
      return s;
    });
  } else {
    out.ref = model(job.ref);
    out["input-definitions"] = model(job["input-definitions"]) ?? null;
    out["input-values"] = model(job["input-values"]) ?? null;
    out["secret-values"] = model(job["secret-values"]) ?? null;
    out["inherit-secrets"] = job["inherit-secrets"] ?? false;
    out.outputs = model(job.outputs) ?? null;
    const raw = calledRaw.get(out.ref);
    out.jobs = (job.jobs ?? []).map((j) => convertJob(j, raw === undefined ? undefined : mappingGet(raw, "jobs"), calledRaw));
  }
  return out;
}

function convertEvents(events) {
  const out = {};
  for (const [name, config] of Object.entries(events ?? {})) out[name] = model(config) ?? null;
  return out;
}

async function parseOne(path) {
  const result = { file: path, ok: false, errors: [], parsed: null };
  let content;
  try {
    content = await readFile(path, "utf8");
  } catch (e) {
    result.errors.push(String(e));
    return result;
  }
  const parsed = parseWorkflow({ name: path, content }, new NoOperationTraceWriter());
  for (const err of parsed.context.errors.getErrors()) result.errors.push(err.message);
  if (parsed.value === undefined) {
    if (result.errors.length === 0) result.errors.push("the parser returned no workflow");
    return result;
  }
  // The called workflows, from the caller's folder; their token trees are kept for "fromTokens".
  const calledRaw = new Map();
  const fileProvider = {
    getFileContent: async (ref) => {
      if (ref.repository !== undefined || !ref.path.startsWith(".github/workflows/") || ref.path.slice(18).includes("/"))
        throw new Error(`not a local reusable workflow: ${JSON.stringify(ref)}`);
      const name = join(dirname(path), ref.path.slice(18));
      const file = { name, content: await readFile(name, "utf8") };
      const own = parseWorkflow(file, new NoOperationTraceWriter());
      for (const err of own.context.errors.getErrors()) result.errors.push(`${ref.path}: ${err.message}`);
      calledRaw.set("./" + ref.path, own.value);
      return file;
    },
  };
  let template;
  try {
    template = await convertWorkflowTemplate(parsed.context, parsed.value, fileProvider, { fetchReusableWorkflowDepth: 1 });
  } catch (e) {
    result.errors.push(`convertWorkflowTemplate threw: ${e instanceof Error ? e.message : String(e)}`);
    return result;
  }
  // The converter reports into the same context and copies its errors onto the model.
  for (const err of template.errors ?? []) {
    if (!result.errors.includes(err.Message)) result.errors.push(err.Message);
  }
  const rawJobs = mappingGet(parsed.value, "jobs");
  result.parsed = {
    name: plain(mappingGet(parsed.value, "name")) ?? null,
    "run-name": plain(mappingGet(parsed.value, "run-name")) ?? null,
    events: convertEvents(template.events),
    env: model(template.env) ?? null,
    concurrency: model(template.concurrency) ?? null,
    jobs: (template.jobs ?? []).map((job) => convertJob(job, rawJobs, calledRaw)),
  };
  result.ok = result.errors.length === 0;
  return result;
}

function versionOf(pkg) {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
    for (let i = 0; i < 5; i++, dir = dirname(dir)) {
      try {
        const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
        if (meta.name === pkg) return meta.version;
      } catch {
        /* keep climbing */
      }
    }
  } catch {
    /* not installed */
  }
  return null;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node conformance/github/parse.mjs FILE...\n");
  process.exit(2);
}
const out = {
  tool: "github/parse.mjs",
  versions: { node: process.versions.node, "@actions/workflow-parser": versionOf("@actions/workflow-parser") },
  files: [],
};
for (const f of files) out.files.push(await parseOne(f));
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
// exitCode, not exit(): a pipe receives stdout asynchronously and exit() would cut it.
process.exitCode = out.files.every((f) => f.ok) ? 0 : 1;
