/**
 * Shared generators and checks of the hostile-input suites (issue 6): hostile text,
 * spec documents built from it (written as YAML text with the project's `yaml`
 * package, so the spec parser is exercised), random valid DAGs, and the per-target
 * checks that generated output parses and keeps every payload inside a string.
 *
 * Seeds: every property prints its seed on failure; `KFM_PROPERTY_SEED=<n>` replays a
 * run (and `KFM_PROPERTY_PATH` a counterexample's path, as fast-check prints it).
 */
import { spawnSync } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import YAML from "yaml";
import type { Diagnostic } from "../../src/diagnostics.js";
import type { Segment, Template } from "../../src/ir.js";
import { toYaml } from "../../src/yaml.js";

/** fast-check parameters shared by every property: seed from the environment, printed on failure. */
export function propertyParams(numRuns: number): fc.Parameters<unknown> {
  const env = process.env.KFM_PROPERTY_SEED;
  const seed = env !== undefined && env !== "" ? Number(env) : (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const path = process.env.KFM_PROPERTY_PATH;
  return {
    seed,
    ...(path ? { path } : {}),
    numRuns,
    endOnFailure: false,
    reporter: (out) => {
      if (out.failed) {
        throw new Error(
          `${fc.defaultReportMessage(out)}\n${out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance)}\nReplay with KFM_PROPERTY_SEED=${out.seed}${out.counterexamplePath ? ` KFM_PROPERTY_PATH=${out.counterexamplePath}` : ""}`,
        );
      }
    },
  };
}

/** Pieces that mean something to some layer below: YAML, Python, Jinja, Argo, Tekton, Kubernetes, GitHub, shells. */
export const HOSTILE_TOKENS: readonly string[] = [
  '"',
  "'",
  "\\",
  "\\\\",
  "\\n",
  "\\x00",
  "\\u0041",
  "\\N{BULLET}",
  "\n",
  "\r",
  "\r\n",
  "\t",
  "\0",
  "\x01",
  "\x1b[31m",
  "\x7f",
  "\x85",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ufffe",
  '"""',
  "'''",
  "{{",
  "}}",
  "{{ ds }}",
  "{{ x }}",
  "{{=1}}",
  "{{ workflow.name }}",
  "{{inputs.parameters.x}}",
  "{%",
  "%}",
  "{% raw %}",
  "{% endraw %}",
  "{#",
  "#}",
  "{",
  "}",
  "$(X)",
  "$(HOME)",
  "$(params.a)",
  "$(context.pipelineRun.name)",
  "$$",
  "$",
  "${{ github.token }}",
  "${{",
  "${HOME}",
  "`uname`",
  "; rm -rf /",
  "' + __import__('os').system('id') + '",
  '" + __import__("os").system("id") + "',
  "- ",
  "? ",
  ": ",
  " #",
  "#",
  "&a",
  "*a",
  "!!python/object",
  "|",
  ">",
  "%YAML 1.2",
  "@",
  "---",
  "...",
  "[",
  "]",
  ",",
  "on",
  "yes",
  "No",
  "null",
  "~",
  "0755",
  "0x1F",
  "1e3",
  ".inf",
  "2024-01-01",
  "json",
  ".yaml",
  " ",
  "  ",
  "é",
  "日本",
  "🚀",
  "\u{10ffff}",
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const controlChar = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));

/** Any JavaScript string, biased towards hostile pieces (lone surrogates and controls included). */
export const hostileText: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) },
      { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 6 }) },
      { weight: 2, arbitrary: fc.string({ maxLength: 6 }) },
      { weight: 1, arbitrary: loneSurrogate },
      { weight: 1, arbitrary: controlChar },
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((parts) => parts.join(""))
  .filter((s) => s !== "");

/**
 * The characters no target carries (src/text.ts says why; the core refuses them with
 * KFM240): NUL, DEL, C1 controls, U+FFFE, U+FFFF and lone surrogates. Written here
 * again, from the readers' rules, so the tests do not take the rule from the code.
 */
export const UNCARRIED_CHARS = /[\0\x7f-\x9f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Hostile text every target must carry: none of UNCARRIED_CHARS (other controls, BOM, U+2028 stay). */
export const carriedText: fc.Arbitrary<string> = hostileText.map((s) => s.replace(UNCARRIED_CHARS, "")).filter((s) => s !== "");

/** Hostile text a YAML file can hold: no lone surrogates (a UTF-8 file cannot encode them). */
export const fileSafeText: fc.Arbitrary<string> = hostileText.map((s) => s.replace(/[\ud800-\udfff]/g, (c, i: number) => (isPaired(s, i) ? c : "\ufffd")));

function isPaired(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const n = s.charCodeAt(i + 1);
    return n >= 0xdc00 && n <= 0xdfff;
  }
  const p = s.charCodeAt(i - 1);
  return c >= 0xdc00 && c <= 0xdfff && p >= 0xd800 && p <= 0xdbff;
}

/** Runtime variables a template may use without a schedule. */
const VARIABLES = ["ds", "ts", "execution_date"] as const;

/** A template: hostile text with runtime variables in between. */
export function templateOf(text: fc.Arbitrary<string>, withVariables = true): fc.Arbitrary<Template> {
  const seg: fc.Arbitrary<Segment> = withVariables
    ? fc.oneof({ weight: 4, arbitrary: text.map((t) => ({ text: t })) }, { weight: 1, arbitrary: fc.constantFrom(...VARIABLES).map((v) => ({ variable: v })) })
    : text.map((t) => ({ text: t }));
  return fc.array(seg, { minLength: 1, maxLength: 4 }).map(merge);
}

export function merge(segs: readonly Segment[]): Template {
  const out: Segment[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if ("text" in s && s.text === "") continue;
    if (last !== undefined && "text" in last && "text" in s) out[out.length - 1] = { text: last.text + s.text };
    else out.push(s);
  }
  return out;
}

/**
 * Writes literal text in the spec's template language so that it reads back exactly:
 * `{` becomes `{{ '{' }}` (style 0), or the text goes inside `{% raw %}` when it holds
 * no `{%` (style 1), or into a Jinja string expression (style 2).
 */
export function specLiteral(text: string, style: number): string {
  if (style === 1 && !text.includes("{%") && !/\{%\s*endraw/.test(text) && !text.includes("%}")) return `{% raw %}${text}{% endraw %}`;
  if (style === 2 && !text.includes("}}")) {
    const body = text.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
    return `{{ '${body}' }}`;
  }
  return text.replace(/\{/g, "{{ '{' }}");
}

/** A template in the spec's own syntax. */
export function specTemplate(t: Template, style: number): string {
  return t.map((s) => ("text" in s ? specLiteral(s.text, style) : `{{ ${s.variable} }}`)).join("");
}

/** The spec text of a document, with every string double-quoted by the yaml package. */
export function specYaml(doc: unknown, quoting: "double" | "plain" = "double"): string {
  const text = YAML.stringify(doc, { defaultStringType: quoting === "double" ? "QUOTE_DOUBLE" : "PLAIN", lineWidth: 0, defaultKeyType: "PLAIN" });
  // The package's stringifier writes a line of one space in a folded double-quoted
  // string as a backslash (test/yaml-writer.test.ts shows it); the spec must mean `doc`,
  // so such a document is written by our own writer instead.
  return isDeepStrictEqual(YAML.parse(text), doc) ? text : toYaml(doc);
}

/** Every diagnostic must point inside the file. */
export function diagnosticPositionsOk(text: string, ds: readonly Diagnostic[]): string | null {
  const lines = text.split(/\r\n|\r|\n/);
  for (const d of ds) {
    if (!(Number.isInteger(d.line) && Number.isInteger(d.column) && d.line >= 1 && d.column >= 1)) return `bad position ${d.line}:${d.column} for ${d.code}`;
    if (d.line > lines.length + 1) return `line ${d.line} beyond the file's ${lines.length} lines (${d.code})`;
  }
  return null;
}

/**
 * The structure of parsed YAML with every string replaced by `S`: payloads must only
 * change strings, never keys, nesting or scalar types.
 */
export function yamlShape(value: unknown): unknown {
  if (typeof value === "string") return "S";
  if (Array.isArray(value)) return value.map(yamlShape);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = yamlShape((value as Record<string, unknown>)[k]);
    return out;
  }
  return value === null ? null : typeof value === "number" ? `number:${String(value)}` : `${typeof value}:${String(value)}`;
}

/** Parses a YAML output file strictly (every document); throws with the parser's message when it does not parse. */
export function parseYamlStrict(text: string): unknown[] {
  const docs = YAML.parseAllDocuments(text, { strict: true, uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    if (d.errors.length > 0) throw new Error(`output YAML does not parse: ${d.errors[0]!.message}`);
    if (d.warnings.length > 0) throw new Error(`output YAML has warnings: ${d.warnings[0]!.message}`);
  }
  return list.map((d) => d.toJS({ maxAliasCount: -1 }));
}

/** What the real Python parser sees in an Airflow DAG file. */
export interface PythonReading {
  readonly ok: boolean;
  readonly error?: string;
  /** `ast.dump` of the module with every string constant replaced by `S`. */
  readonly shape?: string;
  /** The DAG call's `description`. */
  readonly description?: string | null;
  /** Every KubernetesPodOperator / ApprovalOperator call, by `task_id`. */
  readonly tasks?: Record<
    string,
    {
      readonly op: string;
      readonly image?: string;
      readonly cmds?: string[] | null;
      readonly arguments?: string[] | null;
      readonly env?: [string, string | null][];
      readonly doc?: string | null;
      readonly subject?: string;
      readonly body?: string | null;
    }
  >;
}

const PYTHON_READER = String.raw`
import ast, json, sys
docs = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogatepass"))
out = []
class Mask(ast.NodeTransformer):
    def visit_Constant(self, node):
        if isinstance(node.value, str):
            return ast.copy_location(ast.Constant(value="S"), node)
        return node
def name_of(f):
    return f.id if isinstance(f, ast.Name) else (f.attr if isinstance(f, ast.Attribute) else None)
def lit(node):
    return ast.literal_eval(node)
for src in docs:
    try:
        tree = ast.parse(src)
    except SyntaxError as e:
        out.append({"ok": False, "error": str(e)})
        continue
    r = {"ok": True, "tasks": {}, "description": None}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = name_of(node.func)
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        if fn == "DAG" and "description" in kw:
            r["description"] = lit(kw["description"])
        if fn in ("KubernetesPodOperator", "ApprovalOperator") and "task_id" in kw:
            t = {"op": fn}
            for k in ("image", "cmds", "arguments", "doc", "subject", "body"):
                if k in kw:
                    t[k] = lit(kw[k])
            if "env_vars" in kw:
                env = []
                for e in kw["env_vars"].elts:
                    ekw = {k.arg: k.value for k in e.keywords}
                    env.append([lit(ekw["name"]), lit(ekw["value"]) if "value" in ekw else None])
                t["env"] = env
            r["tasks"][lit(kw["task_id"])] = t
    r["shape"] = ast.dump(Mask().visit(tree))
    out.append(r)
sys.stdout.buffer.write(json.dumps(out).encode("ascii"))
`;

let pythonChecked: boolean | null = null;

/** Whether `python3` is available (the Airflow checks need a real Python parser). */
export function hasPython(): boolean {
  if (pythonChecked === null) pythonChecked = spawnSync("python3", ["-c", "import ast"], { encoding: "utf8" }).status === 0;
  return pythonChecked;
}

/** Reads many DAG files with one `python3` process: `ast.parse`, then `ast.literal_eval` of the fields user text reaches. */
export function readPython(sources: readonly string[]): PythonReading[] {
  if (sources.length === 0) return [];
  const r = spawnSync("python3", ["-c", PYTHON_READER], { input: JSON.stringify(sources), maxBuffer: 1 << 30, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr?.toString()}`);
  return JSON.parse(r.stdout.toString("ascii")) as PythonReading[];
}
