/**
 * Issue 6, item 1: injection-proof emission. Hostile text (quotes, backslashes,
 * newlines, NUL and other controls, lone surrogates, `"""`, `{{ }}`, `{% %}`, `$(X)`,
 * `$$`, `${{ }}`, YAML indicators, `#`, `: `, BOMs) in every user-controlled field that
 * reaches output either is refused (by the core, KFM240, exactly when it holds a
 * character no target carries: src/text.ts; or by a target with a diagnostic), or compiles to output
 * that parses (YAML with the `yaml` package, Python with the real `python3` parser), in
 * which every payload sits inside a string (the structure with strings masked equals
 * that of a benign spec with the same skeleton), and from which the target's `lift`
 * (after the template layer) and, for Airflow, `ast.literal_eval` read back exactly the
 * original values.
 *
 * Two paths: spec TEXT (YAML written by the yaml package, so the parser and the
 * template reader are exercised), and IR for what the spec grammar cannot carry
 * (lone surrogates, env names outside the POSIX grammar). Seeded: a failure prints the
 * seed; KFM_PROPERTY_SEED replays it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { analyze, compileFor } from "../../src/compile.js";
import { hasErrors } from "../../src/diagnostics.js";
import type { EnvVar, Job, Notification, Template, Workflow } from "../../src/ir.js";
import { airflowId, TEKTON_DOLLAR_PARAM } from "../../src/names.js";
import { summarize } from "../../src/summary.js";
import { toYaml } from "../../src/yaml.js";
import { readTemplate } from "../../targets/airflow/lift.js";
import { TARGETS, type Target } from "../../targets/index.js";
import { irFixture, jobFixture } from "../fixtures.js";
import { lifted } from "../matrix.js";
import { pyyamlPython, readPyYaml, readYamlPackage } from "../yaml-readers.js";
import {
  carriedText,
  diagnosticPositionsOk,
  fileSafeText,
  hasPython,
  hostileText,
  parseYamlStrict,
  propertyParams,
  readPython,
  specLiteral,
  specTemplate,
  specYaml,
  templateOf,
  UNCARRIED_CHARS,
  yamlShape,
} from "./arbitraries.js";

/** Everything user-controlled that a spec can put in output, as values (not yet spec syntax). */
interface Payload {
  readonly file: string;
  readonly workflowDescription: string;
  readonly jobDescription: string;
  readonly image: string;
  readonly command: readonly Template[];
  readonly args: readonly Template[];
  readonly param: Template;
  readonly env: readonly (readonly [string, Template])[];
  readonly gate: { readonly description: string } | null;
  readonly slack: { readonly channel: string } | null;
  readonly email: { readonly from: string; readonly recipients: readonly string[] } | null;
  /** How literal text is written in the spec (`specLiteral`). */
  readonly style: number;
}

const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((n) => !/^KFM[_-]/i.test(n) && !/^(KFM|GITHUB|RUNNER|CI)_/.test(n));

/**
 * An email address may only be one plain address (KFM245, every other text is refused
 * alike on every target), but that still holds what runners' template languages and
 * shells read: `{{`, `{%`, `${{`, `$`, quotes, backquotes, `|`, `&`, `%`.
 */
const address = fc
  .tuple(
    fc.array(fc.constantFrom(..."ab{}$%&'*+/=?^_`|~-#!", "{{", "{%", "%}", "}}", "${{", "$("), { minLength: 1, maxLength: 8 }),
    fc.constantFrom("example.com", "x.io"),
  )
  .map(([local, host]) => `${local.join("").replace(/\(/g, "")}@${host}`);

function payloadOf(text: fc.Arbitrary<string>): fc.Arbitrary<Payload> {
  const tpl = templateOf(text);
  return fc.record({
    file: text.map((t) => `specs/${t}.yaml`),
    workflowDescription: text,
    jobDescription: text,
    // An image must be a reference every runtime pulls by (KFM223), so hostile text cannot
    // be one; the grammar's own odd corners (ports, `__`, runs of `-`, tags with `.` and
    // upper case, digests) are what reaches the output here.
    image: fc.oneof(
      fc.stringMatching(
        /^(?:[a-z0-9]{1,4}\.[a-z]{2,3}(?::[0-9]{1,5})?\/)?[a-z0-9]{1,4}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,3}){0,2}(?:\/[a-z0-9]{1,4}){0,2}(?::\w[\w.-]{0,12})?$/,
      ),
      fc.constantFrom("[::1]:5000/app:1", "localhost/app@sha256:" + "0123456789abcdef".repeat(4)),
    ),
    command: fc.array(tpl, { minLength: 1, maxLength: 3 }),
    args: fc.array(tpl, { minLength: 0, maxLength: 3 }),
    param: tpl,
    env: fc.uniqueArray(fc.tuple(envName, tpl), { minLength: 0, maxLength: 3, selector: (e) => e[0].toUpperCase() }),
    gate: fc.option(fc.record({ description: text }), { freq: 3 }),
    slack: fc.option(fc.record({ channel: text }), { freq: 3 }),
    email: fc.option(fc.record({ from: address, recipients: fc.array(address, { minLength: 1, maxLength: 2 }) }), { freq: 3 }),
    style: fc.integer({ min: 0, max: 2 }),
  });
}

/** The same skeleton with every piece of text replaced by a harmless word. */
function benign(p: Payload): Payload {
  const t = (x: Template): Template => x.map((s) => ("text" in s ? { text: "benign" } : s));
  return {
    ...p,
    file: "specs/benign.yaml",
    workflowDescription: "benign",
    jobDescription: "benign",
    image: "benign",
    command: p.command.map(t),
    args: p.args.map(t),
    param: t(p.param),
    env: p.env.map(([k, v]) => [k, t(v)] as const),
    gate: p.gate && { description: "benign" },
    slack: p.slack && { channel: "benign" },
    email: p.email && { from: "benign@example.com", recipients: p.email.recipients.map(() => "benign@example.com") },
  };
}

function specDocument(p: Payload): unknown {
  const jobs: unknown[] = [
    {
      job: {
        name: "run",
        description: p.jobDescription,
        image: p.image,
        command: p.command.map((c) => specTemplate(c, p.style)),
        args: [...p.args.map((a) => specTemplate(a, p.style)), "{{ params.p }}"],
        params: { p: specTemplate(p.param, p.style) },
        ...(p.env.length > 0 ? { env: Object.fromEntries(p.env.map(([k, v]) => [k, specTemplate(v, p.style)])) } : {}),
      },
    },
  ];
  if (p.gate) jobs.push({ approval: { name: "gate", description: p.gate.description, timeout: "1h" }, depends_on: ["run"] });
  const onFailure: unknown[] = [];
  if (p.slack) onFailure.push({ type: "slack", channel: p.slack.channel, webhook: { secret: "slack", key: "url" } });
  if (p.email) onFailure.push({ type: "email", recipients: p.email.recipients, from: p.email.from, smtp: { secret: "smtp", key: "url" } });
  return {
    workflow: {
      name: "hostile",
      description: p.workflowDescription,
      jobs,
      ...(onFailure.length > 0 ? { notifications: { on_failure: onFailure } } : {}),
    },
  };
}

/** What the IR must hold when the spec is accepted: the payloads, exactly. */
function expectIrHolds(ir: Workflow, p: Payload): void {
  expect(ir.description).toBe(p.workflowDescription);
  const job = ir.jobs.find((j) => j.name === "run")!;
  expect(job.description).toBe(p.jobDescription);
  expect(job.image).toBe(p.image);
  expect(job.command).toEqual(p.command);
  expect(job.args).toEqual([...p.args, p.param]);
  const user = job.env.filter((e) => !e.name.startsWith("KFM_"));
  expect(user).toEqual(p.env.map(([name, value]) => ({ name, value })));
  if (p.gate) expect(ir.jobs.find((j) => j.name === "gate")!.description).toBe(p.gate.description);
  const slack = ir.notifications.find((n) => n.kind === "slack");
  if (p.slack) expect(slack && slack.kind === "slack" && slack.channel).toBe(p.slack.channel);
  const email = ir.notifications.find((n) => n.kind === "email");
  if (p.email) {
    expect(email && email.kind === "email" && email.from).toBe(p.email.from);
    expect(email && email.kind === "email" && email.recipients).toEqual(p.email.recipients);
  }
}

/** Every string scalar of parsed YAML. */
function strings(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === "string") out.add(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** Airflow outputs waiting for one batched `python3` run. */
interface PendingPython {
  readonly label: string;
  readonly text: string;
  readonly benign: string | null;
  readonly ir: Workflow;
}

const counts: Record<string, { compiled: number; refused: number }> = {};
function count(name: string, compiled: boolean): void {
  const c = (counts[name] ??= { compiled: 0, refused: 0 });
  if (compiled) c.compiled++;
  else c.refused++;
}

/**
 * Compiles for one target and checks the output; returns the Airflow file for the
 * batched Python check. `benignText` is the same skeleton's output with harmless text.
 */
function checkTarget(
  target: Target,
  ir: Workflow,
  compile: () => { text: string | null; diagnostics: readonly { severity: string }[] },
  benignText: () => string | null,
  label: string,
  extraStrings: readonly string[],
): PendingPython | null {
  const r = compile();
  count(`${label}/${target.name}`, r.text !== null);
  if (r.text === null) {
    expect(r.diagnostics.some((d) => d.severity === "error")).toBe(true);
    return null;
  }
  const text = r.text;
  // The runner's reading, after its template layer, is the spec's meaning: every payload byte for byte.
  expect(lifted(target, ir, text)).toEqual(summarize(ir));
  if (target.name === "airflow") return { label, text, benign: benignText(), ir };
  // Dagster's module is Python too: its own lift above reads it; Dagster loads every spec's (conformance).
  if (target.extension === "py") return null;
  const docs = parseYamlStrict(text);
  yamlOutputs.push({ label: `${label}/${target.name}`, text });
  const b = benignText();
  // Hostile text changes scalars only, never the structure; except that Tekton declares the
  // params literal Tekton references need (README, Literal text), which benign text has not.
  if (b !== null) expect(yamlShape(withoutLiteralParams(docs))).toEqual(yamlShape(parseYamlStrict(b)));
  const seen = strings(docs);
  for (const s of extraStrings) expect(seen.has(s), `${target.name}: ${JSON.stringify(s)} is not a string of the output`).toBe(true);
  return null;
}

/**
 * The docs without the task params a Tekton job declares for literal Tekton references
 * (`kfm-dollar` first, then each literal `$(params.<name>)`'s name): benign text has none.
 */
function withoutLiteralParams(docs: unknown): unknown {
  if (Array.isArray(docs)) return docs.map(withoutLiteralParams);
  if (docs === null || typeof docs !== "object") return docs;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(docs)) out[k] = withoutLiteralParams(v);
  const params = out.params;
  if ("steps" in out && Array.isArray(params) && (params[0] as { name?: unknown } | undefined)?.name === TEKTON_DOLLAR_PARAM) delete out.params;
  return out;
}

/** Descriptions each YAML target writes (Argo: the workflow's; Tekton: workflow's and jobs'). */
function descriptionsIn(target: Target, ir: Workflow): string[] {
  const wf = ir.description === null ? [] : [ir.description];
  if (target.name === "argo") return wf;
  if (target.name === "tekton") return [...wf, ...ir.jobs.filter((j) => j.approval === null && j.description !== null).map((j) => j.description!)];
  return [];
}

/** Every YAML output of the run, for PyYAML to read in one process at the end. */
const yamlOutputs: { label: string; text: string }[] = [];

/** PyYAML reads each YAML output as the `yaml` package does (YAML 1.2 and 1.1): the same strings, byte for byte. */
function checkPyYaml(seed: number): void {
  const outputs = yamlOutputs.splice(0);
  const python = pyyamlPython();
  if (outputs.length === 0 || python === null) return;
  const read = readPyYaml(
    outputs.map((o) => o.text),
    python,
  );
  outputs.forEach((o, i) => {
    const yaml12 = readYamlPackage(o.text, "1.2");
    expect(read[i], `${o.label} (seed ${seed}): PyYAML reads it differently:\n${o.text}`).toEqual(yaml12);
    expect(readYamlPackage(o.text, "1.1"), `${o.label} (seed ${seed}): YAML 1.1`).toEqual(yaml12);
  });
}

function checkPython(pending: readonly PendingPython[], seed: number): void {
  if (pending.length === 0 || !hasPython()) return;
  const texts: string[] = [];
  for (const p of pending) texts.push(p.text, p.benign ?? p.text);
  const read = readPython(texts);
  pending.forEach((p, i) => {
    const where = `${p.label} (seed ${seed}, case ${i})`;
    const r = read[2 * i]!;
    const b = read[2 * i + 1]!;
    expect(r.ok, `${where}: python3 cannot parse the DAG: ${r.error}`).toBe(true);
    expect(b.ok, `${where}: python3 cannot parse the benign DAG`).toBe(true);
    expect(r.shape, `${where}: spec text changed the Python structure`).toBe(b.shape);
    expect(r.description).toBe(p.ir.description);
    for (const job of p.ir.jobs) {
      const t = r.tasks![airflowId(job.name)];
      expect(t, `${where}: no task for ${job.name}`).toBeDefined();
      if (job.approval !== null) {
        expect(t!.op).toBe("ApprovalOperator");
        if (job.description !== null) expect(readTemplate(t!.body!, false), where).toEqual([{ text: job.description }]);
        continue;
      }
      expect(t!.doc ?? null).toBe(job.description);
      expect(readTemplate(t!.image!, false), where).toEqual(job.image === "" ? [] : [{ text: job.image }]);
      expect(t!.cmds === null ? null : t!.cmds!.map((c) => readTemplate(c, true)), where).toEqual(job.command);
      expect(t!.arguments === null ? null : t!.arguments!.map((c) => readTemplate(c, true)), where).toEqual(job.args);
      const env = t!.env!.map(([name, value]) => [name, value === null ? null : readTemplate(value, true)]);
      const want = job.env.filter((e) => !e.name.startsWith("KFM_")).map((e) => [e.name, "value" in e ? e.value : null]);
      expect(env.slice(0, want.length), where).toEqual(want);
    }
  });
}

describe("hostile text in every spec field (spec text -> YAML parser -> every target)", () => {
  it("compiles to output that reads back exactly, or is refused with a diagnostic", () => {
    const params = propertyParams(220);
    const pending: PendingPython[] = [];
    let accepted = 0;
    let carried = 0;
    fc.assert(
      fc.property(
        fc.boolean().chain((clean) => payloadOf(clean ? carriedText : fileSafeText)),
        (p) => {
          const text = specYaml(specDocument(p));
          const analysis = analyze(p.file, text);
          expect(diagnosticPositionsOk(text, analysis.diagnostics)).toBeNull();
          // Text with a character no target carries is refused in the core (KFM240), the same for every target.
          const uncarried = holdsUncarried({ ...p, file: "" });
          expect(analysis.diagnostics.some((d) => d.code === "KFM240")).toBe(uncarried);
          if (!uncarried) carried++;
          if (analysis.ir === null) {
            expect(hasErrors(analysis.diagnostics)).toBe(true);
            return;
          }
          accepted++;
          expectIrHolds(analysis.ir, p);
          const benignAnalysis = analyze("specs/benign.yaml", specYaml(specDocument(benign(p))));
          for (const target of TARGETS) {
            const out = checkTarget(
              target,
              analysis.ir,
              () => {
                const r = compileFor(analysis, target);
                return { text: r.output?.text ?? null, diagnostics: r.diagnostics };
              },
              () => (benignAnalysis.ir === null ? null : (compileFor(benignAnalysis, target).output?.text ?? null)),
              "spec",
              descriptionsIn(target, analysis.ir),
            );
            if (out) pending.push(out);
          }
        },
      ),
      params,
    );
    checkPython(pending, params.seed!);
    checkPyYaml(params.seed!);
    // Not vacuous: most hostile specs every target can carry are accepted (literal text is always expressible in the spec).
    expect(accepted).toBeGreaterThan(carried * 0.8);
    // Argo compiles the fewest of these specs (16 to 25 of about 130 in sampled runs), so the
    // floor sits far below that: it fails when a target compiles (nearly) none, never by chance.
    // A target that refuses every gate and notification would take about a quarter of what Argo takes.
    const refusesMost = (t: (typeof TARGETS)[number]) =>
      t.features["gate.approval"].support === "refused" && t.features["notify.failure"].support === "refused";
    for (const t of TARGETS) expect(counts[`spec/${t.name}`]!.compiled, `${t.name} compiled none`).toBeGreaterThan(refusesMost(t) ? 0 : 4);
  }, 60_000);
});

/** Whether any text of the payload holds a character no target carries. */
function holdsUncarried(v: unknown): boolean {
  if (typeof v === "string") return new RegExp(UNCARRIED_CHARS.source).test(v);
  if (Array.isArray(v)) return v.some(holdsUncarried);
  if (v !== null && typeof v === "object") return Object.values(v).some(holdsUncarried);
  return false;
}

/**
 * IR-level payloads: what the spec grammar cannot carry (any env name, any text
 * anywhere), except the characters the core refuses before any target sees the IR.
 */
function irOf(p: Payload, envNames: readonly string[]): Workflow {
  const base = jobFixture("run", {}, "hostile");
  const env: EnvVar[] = [...p.env.map(([_, value], i) => ({ name: envNames[i] ?? `V${i}`, value })), ...base.env];
  const job: Job = {
    ...base,
    description: p.jobDescription,
    image: p.image,
    command: p.command,
    args: [...p.args, p.param],
    env,
  };
  const jobs: Job[] = [job];
  if (p.gate) {
    jobs.push(
      jobFixture("gate", {
        at: ["workflow", "jobs", 1, "approval"],
        description: p.gate.description,
        image: "",
        env: [],
        dependsOn: ["run"],
        approval: { timeoutSeconds: 3600 },
      }),
    );
  }
  const message: Template = [{ text: "Workflow hostile failed for " }, { variable: "ts" }];
  const notifications: Notification[] = [];
  if (p.slack)
    notifications.push({ kind: "slack", at: ["workflow", "notifications"], message, channel: p.slack.channel, webhook: { secret: "slack", key: "url" } });
  if (p.email) {
    notifications.push({
      kind: "email",
      at: ["workflow", "notifications"],
      message,
      recipients: p.email.recipients,
      from: p.email.from,
      smtp: { secret: "smtp", key: "url" },
    });
  }
  return irFixture({
    name: "hostile",
    description: p.workflowDescription,
    jobs,
    notifications,
    source: { path: p.file, digest: "sha256:0000" },
    runTokenSeed: "kfm-run-token/v1\nhostile\n0123456789abcdef\n",
  });
}

describe.each(TARGETS.map((t) => [t.name, t] as const))("hostile text in the IR, %s", (_name, target) => {
  it("emits output that parses and lifts back exactly, or refuses", () => {
    const params = propertyParams(350);
    const pending: PendingPython[] = [];
    const label = `ir-${target.name}`;
    fc.assert(
      fc.property(payloadOf(carriedText), fc.array(fc.oneof(envName, carriedText), { minLength: 3, maxLength: 3 }), (p, names) => {
        // The index last: two names can end alike only at the same index (`${n}${"_".repeat(i)}` made ["__", "_"] one name).
        const unique = names.map((n, i) => `${n}_${i}`);
        const ir = irOf(p, unique);
        const b = irOf(
          benign(p),
          unique.map((_n, i) => `B${i}`),
        );
        const out = checkTarget(
          target,
          ir,
          () => {
            const problems = target.check(ir);
            return hasErrors(problems.map((q) => ({ ...q, file: "", line: 1, column: 1 })))
              ? { text: null, diagnostics: problems }
              : { text: target.emit(ir), diagnostics: problems };
          },
          () => (target.check(b).some((q) => q.severity === "error") ? null : target.emit(b)),
          label,
          descriptionsIn(target, ir),
        );
        if (out) pending.push(out);
      }),
      params,
    );
    checkPython(pending, params.seed!);
    checkPyYaml(params.seed!);
    // A target that refuses every gate and notification (Dagster, for now) compiles about half as many (9 to 20 seen).
    const refusesMost = target.features["gate.approval"].support === "refused" && target.features["notify.failure"].support === "refused";
    expect(counts[`${label}/${target.name}`]?.compiled ?? 0, `${target.name} compiled none`).toBeGreaterThan(refusesMost ? 2 : 10);
  }, 60_000);
});

describe("the one YAML writer (src/yaml.ts)", () => {
  const blanks = fc
    .array(fc.constantFrom(" ", "  ", "\n", "\n\n", "\t", "a", "#", ": ", "- ", "\r", "'", '"', "|", ">"), { minLength: 1, maxLength: 10 })
    .map((a) => a.join(""));
  it("reads back every string exactly, as YAML 1.1 and 1.2 (regression: a blank line in a block scalar)", () => {
    // Found by this suite: "  \n" was written as a `|+` block scalar and read back as "\n".
    expect((YAML.parse(toYaml({ k: "  \n" })) as { k: string }).k).toBe("  \n");
    fc.assert(
      fc.property(fc.oneof(blanks, hostileText), (s) => {
        const y = toYaml({ k: s, l: [s] });
        for (const version of ["1.1", "1.2"] as const) {
          const back = YAML.parse(y, { version }) as { k: string; l: string[] };
          expect(back).toEqual({ k: s, l: [s] });
        }
      }),
      propertyParams(3000),
    );
  });
});
