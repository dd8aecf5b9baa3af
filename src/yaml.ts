/**
 * The one YAML writer. Every YAML file the compiler emits goes through `toYaml`, so
 * quoting is decided once: strings that a YAML 1.1 reader (PyYAML, Go's yaml.v2,
 * GitHub's parser) would take as a boolean, number, null or timestamp (`on`, `no`,
 * `0755`, `1e3`, `~`, `12:30`) are quoted, as cdk8s learnt the hard way (cdk8s#1231),
 * and strings holding characters some readers fold or drop are double-quoted with
 * escapes.
 *
 * It writes plain data straight to text. The output is, byte for byte, what the `yaml`
 * package writes for the same data as a YAML 1.1 document with `lineWidth: 0`,
 * `minContentWidth: 0` and `indentSeq: true`, which is how the goldens were made,
 * except where that did not read back: `<<`, `=`, `0o7` and what only go-yaml or PyYAML
 * take for a number or timestamp (`0X1F`, `-0o17`, `1e3_`, `2024-01-01T00:00:00+35`)
 * are quoted, a long string
 * with a line of one space no longer turns it into a backslash, and a top-level block
 * scalar opening with a space is indented; and where yamllint's default rules or PyYAML
 * would refuse it: no line ends in a blank (a multi-line string with a line ending in a
 * space is double-quoted, a space before a folded break is `\x20`, a block scalar's
 * leading empty lines are empty), and U+FFFE and U+FFFF are escaped.
 * test/yaml-writer.test.ts holds that writer and compares the two on generated data. Building the package's node tree for every
 * output took more than half of all compile time. Two more things differ, and no
 * emitter relies on them: data is taken as a tree (an object reached twice is written
 * twice, where the package wrote a `&a1` anchor and a `*a1` alias), and anything but
 * plain data is refused.
 */
import YAML from "yaml";

/**
 * Characters that must never stand unescaped in output: C0/C1 controls (tab included), NEL,
 * line/paragraph separators, BOM, lone surrogates, and U+FFFE and U+FFFF, which are outside
 * YAML's printable set (PyYAML, and so yamllint, refuses a file holding them raw:
 * `reader.py` `NON_PRINTABLE`).
 */
const NEEDS_ESCAPE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\t]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A line of only blanks in a multi-line string: in a block scalar such a line reads
 * back as empty (`"  \n"` came back as `"\n"`), so these strings are double-quoted.
 */
const BLANK_LINE = /(?:^|\n)[ \t]+(?:\n|$)/;

/**
 * A line ending in a space in a multi-line string: a block scalar would end that output line
 * in a blank, which yamllint's default `trailing-spaces` rule refuses (and editors strip),
 * so these strings are double-quoted, where the space is escaped.
 */
const TRAILING_BLANK = / (?:\n|$)/;

/**
 * Where a plain scalar would not read back as the same string: an indicator first
 * (`-`, `?` alone or before a blank, `#`, `&`, `%`, quotes, brackets...), `: ` or ` #`
 * inside, or a blank or `:` last. Tabs are left out: a string with one is always
 * double-quoted.
 */
const NOT_PLAIN = /^[\n ,[\]{}#&*!|>'"%@`]|^[?-](?: |$)|[\n:] | \n|[\n ]#|[\n :]$/;

/**
 * Plain text that some YAML reader on the way resolves to something other than a
 * string; the union of their rules is quoted:
 * - YAML 1.1 (PyYAML resolver.py, the `yaml` package's yaml-1.1 schema): null,
 *   booleans (`y`, `on`, `off`...), ints in base 2, 8, 10 or 16 with `_` anywhere after
 *   the first digit, floats, infinities and NaN, sexagesimal numbers (`1:20`),
 *   timestamps (PyYAML: a zone of any two digits, `+35`, which it then fails to load; a
 *   fraction of no digits, `00:00:00.`), and the merge key `<<` and value key `=`
 *   (bare, a YAML 1.1 reader merges at `<<:`, and PyYAML cannot load either);
 * - YAML 1.2 (the `yaml` package's core schema): octal `0o7`;
 * - go-yaml v2 (go.yaml.in/yaml/v2 resolve.go, under `sigs.k8s.io/yaml`: kubectl, the
 *   argo CLI, controllers, the API server): text opening with a digit or sign is an int
 *   when Go's `strconv.ParseInt(s, 0, 64)` takes it once every `_` is removed, so
 *   prefixes in either case and signed (`0X1F`, `0B101`, `-0o17`, `+0o17`, `0o1_7`),
 *   and a float when `yamlStyleFloat` matches it then (`1e3_`, `-_1`); see GO_NUMBER.
 */
const NOT_A_STRING = new RegExp(
  "^(?:" +
    [
      // null (also the empty string)
      "~|[Nn]ull|NULL|",
      // the merge key and the value key
      "<<|=",
      // booleans
      "[Yy]|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON|[Nn]|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF",
      // ints: binary, octal, hex (either case, signed: go-yaml), decimal (octal `0755` is one too)
      "[-+]?(?:0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)",
      // infinities, NaN
      "[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)",
      // floats with an exponent (`1e3`, `e5`)
      "[-+]?(?:[0-9][0-9_]*)?(?:\\.[0-9_]*)?[eE][-+]?[0-9]+",
      // floats (`1.5`, `.5`, `1.`, `.`)
      "[-+]?(?:[0-9][0-9_]*)?\\.[0-9_]*",
      // sexagesimal ints and floats (`1:20`, `1:20:30.5`)
      "[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\\.[0-9_]*)?",
      // timestamps (`2024-01-01`, `2024-01-01 12:00:00 +1`, PyYAML's `...T00:00:00.+35`)
      "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \\t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?",
    ].join("|") +
    ")$",
);

/**
 * go-yaml v2's numbers, matched against the text with every `_` removed (resolve.go
 * strips them before `strconv.ParseInt(plain, 0, 64)`, `ParseUint` and `yamlStyleFloat`),
 * for text opening with a digit or a sign (its resolve table's hints `D` and `S`).
 */
const GO_NUMBER = /^[-+]?(?:0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/;
const GO_NUMBER_START = /^[-+0-9]/;

/** Whether a YAML reader would resolve plain `s` to something other than a string. */
function resolvesToNonString(s: string): boolean {
  return NOT_A_STRING.test(s) || (GO_NUMBER_START.test(s) && s.includes("_") && GO_NUMBER.test(s.replace(/_/g, "")));
}

/**
 * Text that is plain as it stands: it starts with a letter (not `e`/`E`, which can open a
 * YAML 1.1 float such as `e5`) and holds only printable ASCII other than blanks and `:`.
 * Among such text only the YAML 1.1 words below read as something else. Most keys and
 * values are like this, so they skip the checks below.
 */
const SIMPLE = /^[A-DF-Za-df-z][!-9;-~]*$/;
const YAML_1_1_WORDS = new Set("y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF null Null NULL".split(" "));

/** A line starting like a directive or a document marker would end the document if it stood at column 0. */
const DOCUMENT_MARKER = /^(?:%|---|\.\.\.)/m;

/** YAML's own escapes for controls JSON writes as `\u00NN`; the others become `\xNN`. */
const SHORT_ESCAPES: Readonly<Record<string, string>> = { "0000": "\\0", "0007": "\\a", "000b": "\\v", "001b": "\\e" };

/** Characters the double-quoted form leaves raw that some YAML 1.1 readers take as line breaks, drop or refuse. */
const RAW_BREAKS = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** A key longer than this must be written as an explicit `? key` (YAML's implicit-key limit). */
const MAX_IMPLICIT_KEY = 1024;

/** Double-quoted strings at least this long (as JSON) fold their line breaks onto real lines. */
const FOLD_FROM = 40;

export interface YamlOptions {
  /**
   * Strings to write once, where they first occur, with an anchor (`&name`), and as
   * an alias (`*name`) everywhere else: a value every job repeats. Only a string that
   * occurs more than once gets its anchor (an anchor no alias uses is an error to
   * some readers, actionlint among them).
   */
  readonly anchors?: ReadonlyMap<string, string>;
}

/**
 * Writes plain data: strings, numbers, booleans, null, arrays and plain objects.
 * `undefined` is left out of objects and written as `null` in arrays and at the top.
 * Anything else (Map, Date, class instances, functions, bigints) is refused.
 */
export function toYaml(value: unknown, options: YamlOptions = {}): string {
  try {
    if (options.anchors !== undefined && options.anchors.size > 0) {
      for (const [text, count] of countStrings(value, options.anchors)) if (count > 1) anchored.set(text, { name: options.anchors.get(text)!, written: false });
    }
    return node(value, "") + "\n";
  } finally {
    repeated.clear();
    anchored.clear();
  }
}

/** The anchored strings of the document being written, and whether each was written yet. */
const anchored = new Map<string, { name: string; written: boolean }>();

/** How often each of `wanted` occurs as a value in `value`, walked without recursion. */
function countStrings(value: unknown, wanted: ReadonlyMap<string, string>): Map<string, number> {
  const counts = new Map<string, number>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (wanted.has(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    } else if (typeof v === "object" && v !== null) {
      for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push(item);
    }
  }
  return counts;
}

/**
 * Emitters put the same long text in every job (GitHub Actions' run script, Tekton's
 * step scripts): within one document each is worked out once per indentation.
 */
const repeated = new Map<string, { indent: string; text: string }>();
const REPEATED_FROM = 256;

/** Several YAML documents in one stream, each starting with `---` (anchors are per document). */
export function toYamlStream(values: readonly unknown[], options: YamlOptions = {}): string {
  return values.map((v) => "---\n" + toYaml(v, options)).join("");
}

/** Parses output written by `toYaml` back (lifters use this; user specs go through `src/spec/load.ts`). */
export function parseYamlStream(text: string): unknown[] {
  return YAML.parseAllDocuments(text, { version: "1.1" }).map((d) => {
    if (d.errors.length > 0) throw new Error(`generated YAML does not parse: ${d.errors[0]!.message}`);
    // Our own output: its aliases (one per job) are no alias bomb.
    return d.toJS({ maxAliasCount: -1 });
  });
}

/**
 * One value, starting where the cursor already is (after `- `, `key: ` or at the top).
 * `indent` is the indentation of the lines that continue it: its own entries, or the
 * body of a block scalar.
 */
function node(v: unknown, indent: string): string {
  switch (typeof v) {
    case "string": {
      if (anchored.size > 0) {
        const a = anchored.get(v);
        if (a !== undefined) {
          if (a.written) return "*" + a.name;
          a.written = true;
          return "&" + a.name + " " + scalar(v, false, indent);
        }
      }
      if (v.length < REPEATED_FROM) return scalar(v, false, indent);
      const seen = repeated.get(v);
      if (seen !== undefined && seen.indent === indent) return seen.text;
      const text = scalar(v, false, indent);
      repeated.set(v, { indent, text });
      return text;
    }
    case "number":
      return number(v);
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      return "null";
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) return sequence(v, indent);
      if (isPlainObject(v)) return mapping(v as Record<string, unknown>, indent);
  }
  throw new TypeError(`toYaml writes plain data only, not ${kindOf(v)}`);
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function kindOf(v: unknown): string {
  if (typeof v !== "object" || v === null) return typeof v;
  return (v.constructor as { name?: string } | undefined)?.name ?? "an object";
}

function number(n: number): string {
  if (Number.isNaN(n)) return ".nan";
  if (n === Infinity) return ".inf";
  if (n === -Infinity) return "-.inf";
  return Object.is(n, -0) ? "-0" : String(n);
}

function sequence(items: readonly unknown[], indent: string): string {
  if (items.length === 0) return "[]";
  // indentSeq: a sequence's items sit two columns in from its dashes.
  const inner = indent + "  ";
  let out = "- " + node(items[0], inner);
  for (let i = 1; i < items.length; i++) out += "\n" + indent + "- " + node(items[i], inner);
  return out;
}

function mapping(obj: Record<string, unknown>, indent: string): string {
  const inner = indent + "  ";
  let out = "";
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined) continue;
    if (out !== "") out += "\n" + indent;
    const key = scalar(k, true, inner);
    if (key.length > MAX_IMPLICIT_KEY) out += "? " + key + "\n" + indent + ": " + node(v, inner);
    else if (isNonEmptyCollection(v)) out += key + ":\n" + inner + node(v, inner);
    else out += key + ": " + node(v, inner);
  }
  // Every entry was undefined (or there were none): an empty flow mapping.
  return out === "" ? "{}" : out;
}

/** Whether `v` is written as a block collection on the lines below its key (an empty one stays on the key's line as `[]` or `{}`). */
function isNonEmptyCollection(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  for (const k in v) if (Object.hasOwn(v, k) && (v as Record<string, unknown>)[k] !== undefined) return true;
  return false;
}

/**
 * A string as a key (`key`: on one line, never a block scalar) or as a value, choosing
 * the first form that reads back exactly: plain, single-quoted (when it holds `"` but
 * no `'`), a `|` block scalar (multi-line), or double-quoted with escapes.
 */
function scalar(s: string, key: boolean, indent: string): string {
  if (SIMPLE.test(s)) return s.length <= 5 && YAML_1_1_WORDS.has(s) ? '"' + s + '"' : s;
  const multiLine = s.includes("\n");
  if (NEEDS_ESCAPE.test(s) || (multiLine && (BLANK_LINE.test(s) || TRAILING_BLANK.test(s)))) return doubleQuoted(s, key, indent);
  if (multiLine) return key ? quoted(s, key, indent) : block(s, indent);
  if (NOT_PLAIN.test(s)) return quoted(s, key, indent);
  if (s.startsWith("---") || s.startsWith("...")) {
    // At column 0 the text would end the document, so a top-level one becomes an
    // indented block scalar; a key of the top mapping is quoted.
    if (indent === "") return block(s, indent);
    if (key && indent === "  ") return quoted(s, key, indent);
  }
  return resolvesToNonString(s) ? quoted(s, key, indent) : s;
}

function quoted(s: string, key: boolean, indent: string): string {
  // Single quotes escape nothing but `'`, so they are used only for one-line text that
  // has a `"` and no `'`.
  return s.includes('"') && !s.includes("'") && !s.includes("\n") ? "'" + s + "'" : doubleQuoted(s, key, indent);
}

/**
 * A `|` literal block scalar: the header, then the text with each line indented and
 * empty lines left empty. No line of `s` is only blanks (those go double-quoted), so
 * the text opens and ends with line breaks alone, and spaces can only open a line.
 */
function block(s: string, indent: string): string {
  let end = s.length;
  while (end > 0 && s[end - 1] === "\n") end--;
  let start = 0;
  while (start < end && s[start] === "\n") start++;
  const breaks = s.length - end;
  // Chomping: `-` drops the final break, none keeps one, `+` keeps them all.
  const chomp = breaks === 0 ? "-" : breaks === 1 && end > 0 ? "" : "+";
  const body = s.slice(start, end);
  // The first content line's own spaces would otherwise set the block's indentation, so
  // an indentation indicator says where it is. At the top, a block is indented when a
  // line would read as a marker, and when it has such an indicator: readers (the yaml
  // package, PyYAML) do not agree on `|1` at column 0.
  const leadingSpace = body[0] === " ";
  const pad = indent !== "" ? indent : leadingSpace || DOCUMENT_MARKER.test(s) ? "  " : "";
  // Empty lines are written empty, without the indentation: a line of only blanks is
  // what yamllint's `trailing-spaces` refuses, and a reader needs no spaces on an empty line.
  const head = start > 0 ? s.slice(0, start) + pad : "";
  const tail = breaks > 1 ? s.slice(end + 1) : "";
  const first = start > 0 || body === "" ? "" : pad;
  return "|" + (leadingSpace ? "2" : "") + chomp + "\n" + first + head + body.replace(/\n+/g, "$&" + pad) + tail;
}

/**
 * A double-quoted scalar, from the JSON form of `s`: controls take YAML's short escapes
 * (`\0`, `\a`, `\v`, `\e`, `\xNN`), a space before a line break is escaped (`\ `, or `\x20`
 * at the end of a line) so no reader trims it, and outside keys a long string's line
 * breaks become real lines (a run of n breaks is written as n + 1 line ends, as YAML
 * folds them back to n).
 */
function doubleQuoted(s: string, key: boolean, indent: string): string {
  const json = JSON.stringify(s);
  const fold = !key && json.length >= FOLD_FROM;
  const pad = indent !== "" ? indent : DOCUMENT_MARKER.test(s) ? "  " : "";
  let out = "";
  let from = 0;
  let i = json.indexOf("\\");
  while (i !== -1) {
    const e = json[i + 1];
    if (e === "n") {
      if (json[i - 1] === " ") {
        // Before a break that becomes a real line end, `\x20` rather than `\ `: the same
        // space, but no line ends in a blank (yamllint's `trailing-spaces`).
        out += json.slice(from, i - 1) + (fold && json[i + 2] !== '"' ? "\\x20" : "\\ ");
        from = i;
      }
      // The final break stays `\n`: a folded one there would be trimmed.
      if (!fold || json[i + 2] === '"') {
        i = json.indexOf("\\", i + 2);
        continue;
      }
      out += json.slice(from, i) + "\n";
      i += 2;
      while (json[i] === "\\" && json[i + 1] === "n" && json[i + 2] !== '"') {
        out += "\n";
        i += 2;
      }
      out += "\n" + pad;
      // A space opening the next line would be trimmed away; escape it, unless a break
      // follows it and so it is escaped as `\ ` above (both made `\\ `, a backslash).
      if (json[i] === " " && !(json[i + 1] === "\\" && json[i + 2] === "n")) out += "\\";
      from = i;
    } else if (e === "u") {
      const code = json.slice(i + 2, i + 6);
      const short = SHORT_ESCAPES[code] ?? (code.startsWith("00") ? "\\x" + code.slice(2) : null);
      if (short !== null) {
        out += json.slice(from, i) + short;
        from = i + 6;
      }
      i += 6;
    } else {
      i += 2;
    }
    i = json.indexOf("\\", i);
  }
  out += json.slice(from);
  // JSON leaves these raw; YAML 1.1 readers treat some as line breaks.
  return out.replace(RAW_BREAKS, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}
