/**
 * Shape checks against the generated JSON Schema, with ajv's errors turned into
 * diagnostics that name the key, point at it, and suggest the nearest valid key.
 */
import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { assetPath } from "../assets.js";
import { problem, suggestion, type Problem } from "../diagnostics.js";
import * as generated from "./validators.generated.js";

const schema = JSON.parse(readFileSync(assetPath("schemas/workflow.schema.json"), "utf8")) as {
  definitions: Record<string, { properties?: Record<string, { pattern?: string }> }>;
};

/**
 * The validators are compiled from the schemas ahead of time (`npm run docs`,
 * scripts/gen-validators.ts): compiling them here took most of a cold start. Each
 * definition of the spec schema is one export; `ProjectConfig` is the root of
 * schemas/config.schema.json (kfm.config.yaml).
 */
const validators = generated as unknown as Record<string, ValidateFunction>;

function validator(definition: string): ValidateFunction {
  return validators[definition]!;
}

const DURATION_PATTERN = schema.definitions.JobSpec!.properties!.timeout!.pattern!;
const NAME_PATTERN = schema.definitions.JobSpec!.properties!.name!.pattern!;
const NAME_RE = new RegExp(NAME_PATTERN, "u");
const SECRET_PATTERN = schema.definitions.SecretRef!.properties!.secret!.pattern!;
const SECRET_KEY_PATTERN = schema.definitions.SecretRef!.properties!.key!.pattern!;

/** Which schedule shape a mapping means, by its distinguishing key. */
function scheduleKind(value: unknown): string {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    if ("interval" in value) return "IntervalSchedule";
    if ("trigger" in value) return "EventSchedule";
  }
  return "CronSchedule";
}

/** Validates a whole spec document; `data` must be a mapping with a `workflow` or `job` key. */
export function checkShape(data: Record<string, unknown>): Problem[] {
  const kind = "workflow" in data ? "WorkflowDocument" : "JobDocument";
  let problems = run(kind, data, []);
  // Unions (a schedule, a jobs entry, a notification): ajv reports every branch's
  // complaints, so each is checked again against the branch its keys select, and
  // only that branch speaks.
  const wf = data.workflow as Record<string, unknown> | undefined;
  const unions: { at: (string | number)[]; value: unknown; definition: string }[] = [];
  if (kind !== "WorkflowDocument" || !isRecord(wf)) {
    if (isRecord(data.job)) unions.push(...valueUnions(data.job, ["job"]));
    return narrow(problems, unions);
  }
  if ("schedule" in wf) unions.push({ at: ["workflow", "schedule"], value: wf.schedule, definition: scheduleKind(wf.schedule) });
  if (Array.isArray(wf.jobs)) {
    wf.jobs.forEach((item, i) =>
      unions.push({ at: ["workflow", "jobs", i], value: item, definition: isRecord(item) && "approval" in item ? "WorkflowApproval" : "WorkflowJob" }),
    );
    // `job` is a job or the path of a job file: a mapping is checked as a job only.
    wf.jobs.forEach((item, i) => {
      if (isRecord(item) && !("approval" in item) && isRecord(item.job)) {
        unions.push({ at: ["workflow", "jobs", i, "job"], value: item.job, definition: "JobSpec" });
        unions.push(...valueUnions(item.job, ["workflow", "jobs", i, "job"]));
      }
    });
  }
  const onFailure = isRecord(wf.notifications) ? wf.notifications.on_failure : undefined;
  if (Array.isArray(onFailure)) {
    onFailure.forEach((item, i) =>
      unions.push({
        at: ["workflow", "notifications", "on_failure", i],
        value: item,
        definition: isRecord(item) && item.type === "slack" ? "SlackNotification" : "EmailNotification",
      }),
    );
  }
  return narrow(problems, unions);
}

/** Each union member's problems replaced by those of the branch its keys select (outer unions first). */
function narrow(problems: Problem[], unions: readonly { at: (string | number)[]; value: unknown; definition: string }[]): Problem[] {
  for (const u of unions) {
    if (!isRecord(u.value)) continue;
    problems = [...problems.filter((p) => !isUnder(p.at, u.at)), ...run(u.definition, u.value, u.at)];
  }
  return problems;
}

/**
 * A job's env values and params given as mappings: a secret reference, or a value marked
 * `not_a_secret` (src/secrets.ts), told apart by their keys.
 */
function valueUnions(job: Record<string, unknown>, at: (string | number)[]): { at: (string | number)[]; value: unknown; definition: string }[] {
  const out: { at: (string | number)[]; value: unknown; definition: string }[] = [];
  const marked = (v: Record<string, unknown>) => "value" in v || "not_a_secret" in v;
  if (isRecord(job.env)) {
    for (const [k, v] of Object.entries(job.env)) {
      if (isRecord(v)) out.push({ at: [...at, "env", k], value: v, definition: marked(v) ? "NotASecret" : "SecretRef" });
    }
  }
  if (isRecord(job.params)) {
    for (const [k, v] of Object.entries(job.params)) if (isRecord(v)) out.push({ at: [...at, "params", k], value: v, definition: "NotASecret" });
  }
  return out;
}

/** Validates a parsed `kfm.config.yaml` against schemas/config.schema.json. */
export function checkConfigShape(data: unknown): Problem[] {
  return run("ProjectConfig", data, []);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function run(definition: string, data: unknown, base: (string | number)[]): Problem[] {
  const validate = validator(definition);
  if (validate(data)) return [];
  const out: Problem[] = [];
  const seen = new Set<string>();
  // Unknown keys per object: `corn:` is one mistake, so "missing `cron`" is not said again
  // beside "Unknown key `corn`. Did you mean 'cron'?".
  const unknown = new Map<string, string[]>();
  for (const e of validate.errors ?? []) {
    if (e.keyword !== "additionalProperties") continue;
    const keys = unknown.get(e.instancePath) ?? [];
    keys.push(String((e.params as { additionalProperty: string }).additionalProperty));
    unknown.set(e.instancePath, keys);
  }
  const misspelt = (e: ErrorObject) => {
    const missing = String((e.params as { missingProperty: string }).missingProperty);
    return (unknown.get(e.instancePath) ?? []).some((k) => suggestion(k, [missing]) !== "");
  };
  for (const e of validate.errors ?? []) {
    // anyOf/oneOf summaries add nothing the branch errors have not said.
    if (e.keyword === "anyOf" || e.keyword === "if") continue;
    if (e.keyword === "required" && misspelt(e)) continue;
    const p = toProblem(e, base);
    const key = `${p.code}|${p.at.join("/")}|${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  // In a union (an env value is text or a secret reference), a value that reached
  // the mapping branch has errors inside it; the scalar branch's "wrong type" at the
  // same place is noise then.
  const inside = (outer: Problem, inner: Problem) => inner.at.length > outer.at.length && outer.at.every((s, i) => inner.at[i] === s);
  return out.filter((p) => p.code !== "KFM103" || !out.some((q) => inside(p, q)));
}

function isUnder(path: readonly (string | number)[], prefix: readonly (string | number)[]): boolean {
  return prefix.every((s, i) => path[i] === s);
}

function pathOf(instancePath: string, base: (string | number)[]): (string | number)[] {
  const steps = instancePath === "" ? [] : instancePath.slice(1).split("/");
  return [...base, ...steps.map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")).map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s))];
}

function describe(path: readonly (string | number)[]): string {
  const last = path[path.length - 1];
  if (last === undefined) return "the document";
  if (typeof last === "number") return `item ${last + 1} of \`${String(path[path.length - 2])}\``;
  return `\`${last}\``;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return "a string";
  return `a ${typeof value}`;
}

function toProblem(e: ErrorObject, base: (string | number)[]): Problem {
  const at = pathOf(e.instancePath, base);
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const where = at.length === 0 ? "at the top level" : `in ${describe(at)}`;
      const known = allowed.length > 0 ? ` Known keys: ${allowed.join(", ")}.` : "";
      // A job's key beside `job:` or `approval:` in a list entry: indented two spaces too little.
      const data = e.data as Record<string, unknown> | null;
      const inner =
        data !== null && typeof data === "object" ? (["job", "approval"] as const).find((k) => data[k] !== null && typeof data[k] === "object") : undefined;
      const innerKeys = inner === undefined ? [] : Object.keys(schema.definitions[inner === "job" ? "JobSpec" : "ApprovalSpec"]?.properties ?? {});
      if (inner !== undefined && innerKeys.includes(key)) {
        return problem(
          "KFM101",
          `Unknown key \`${key}\` ${where}: \`${key}\` is a key of \`${inner}\`, so it is probably indented too little; indent it to line up with the keys under \`${inner}:\`.`,
          [...at, key],
          true,
        );
      }
      return problem("KFM101", `Unknown key \`${key}\` ${where}.${suggestion(key, allowed) || known}`, [...at, key], true);
    }
    case "required": {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      const what = describe(at);
      return problem("KFM102", `${what[0]!.toUpperCase()}${what.slice(1)} is missing the required key \`${key}\`.`, at, true);
    }
    case "type": {
      const expected = String((e.params as { type: string | string[] }).type).replace(/,/g, " or ");
      return problem("KFM103", `${describe(at)} must be ${article(expected)}, not ${typeName(e.data)}${typeHint(e, expected)}.`, at);
    }
    case "pattern": {
      const pattern = (e.params as { pattern: string }).pattern;
      if (pattern === DURATION_PATTERN) {
        return problem(
          "KFM206",
          `\`${String(e.data)}\` is not a duration: write one or more <integer><unit> parts, largest first, with units d, h, m, s (for example 90s, 5m, 1h30m).`,
          at,
        );
      }
      if (pattern === SECRET_PATTERN) {
        return problem("KFM104", `\`${String(e.data)}\` is not a Kubernetes Secret name: use lower-case letters, digits, \`-\` and \`.\`.`, at);
      }
      if (pattern === SECRET_KEY_PATTERN) {
        return problem("KFM104", `\`${String(e.data)}\` is not a Secret key: use letters, digits, \`-\`, \`_\` and \`.\`.`, at);
      }
      if (pattern === NAME_PATTERN) {
        return problem(
          "KFM104",
          `The name \`${String(e.data)}\` is not allowed: use lower-case letters, digits, \`_\` and \`-\`, starting with a letter and not ending with \`_\` or \`-\`, so it maps to every runner${nameHint(String(e.data))}.`,
          at,
        );
      }
      return problem("KFM104", `${describe(at)} must match ${pattern}.`, at);
    }
    case "maxLength":
    case "minLength":
    case "minItems":
    case "maxItems":
    case "minimum":
    case "maximum": {
      const limit = (e.params as { limit: number }).limit;
      const rule = {
        maxLength: `at most ${limit} characters long`,
        minLength: limit === 1 ? "non-empty" : `at least ${limit} characters long`,
        minItems: `a list of at least ${limit} item${limit === 1 ? "" : "s"}`,
        maxItems: `a list of at most ${limit} items`,
        minimum: `at least ${limit}`,
        maximum: `at most ${limit}`,
      }[e.keyword];
      return problem("KFM104", `${describe(at)} must be ${rule}.`, at);
    }
    default:
      return problem("KFM104", `${describe(at)} ${e.message ?? "is invalid"}.`, at);
  }
}

/** `, for example \`bad_name\`` for `Bad Name`: the name made allowed, when something of it is left. */
function nameHint(name: string): string {
  const fixed = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "_")
    .replace(/^[^a-z]+/, "")
    .replace(/[_-]+$/, "");
  return fixed !== "" && NAME_RE.test(fixed) ? ` (for example \`${fixed}\`)` : "";
}

/**
 * How to write what was meant, for the type mistakes that are usually a missing unit or
 * missing brackets: a number where a duration goes (`timeout: 10`), one value where a
 * list goes (`depends_on: b`).
 */
function typeHint(e: ErrorObject, expected: string): string {
  const data = e.data;
  const pattern = (e.parentSchema as { pattern?: string } | undefined)?.pattern;
  if (pattern === DURATION_PATTERN && typeof data === "number" && Number.isSafeInteger(data) && data >= 0)
    return `: a duration has a unit, for example \`${data}s\`, \`${data}m\` or \`${data}h\``;
  if (expected === "array" && (typeof data === "string" || typeof data === "number") && /^[A-Za-z0-9_.-]{1,64}$/.test(String(data)))
    return `: write \`[${String(data)}]\` for a list of one`;
  return "";
}

function article(typeList: string): string {
  return typeList
    .split(" or ")
    .map((t) => ({ integer: "a whole number", number: "a number", string: "a string", boolean: "true or false", array: "a list", object: "a mapping" })[t] ?? t)
    .join(" or ");
}
