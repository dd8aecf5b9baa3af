/**
 * What the Python targets (Airflow, Dagster) share: Python literals for any text, and
 * source laid out the way `ruff format` (and Black) would leave it, by construction
 * rather than by imitating their line-fitting search: a bracketed group is written on one
 * line when that line fits in 88 columns, and otherwise one item per line with a trailing
 * comma. Ruff keeps both: a flat group that fits is what it writes itself, and a trailing
 * comma in a group ("magic trailing comma", `skip-magic-trailing-comma = false` by default)
 * makes it expand that group one item per line whatever the width. A string literal longer
 * than the line is left alone by ruff (it never splits strings), and so is it here.
 *
 * Widths are counted in characters: pyStr writes only printable ASCII, so every character is
 * one column.
 */

/** Ruff's default `line-length`. */
export const LINE_LENGTH = 88;
export const INDENT = "    ";

/** A piece of Python: an atom (name, number, string literal: never split) or a bracketed group. */
export type Py = string | PyGroup;

export interface PyGroup {
  /** Everything up to and including the opening bracket, e.g. `k8s.V1EnvVar(` or `[`. */
  readonly open: string;
  readonly items: readonly PyItem[];
  readonly close: string;
}

/** One item of a group: `prefix` is `name=` for a keyword argument, `"key": ` for a dict entry, else empty. */
export interface PyItem {
  readonly prefix: string;
  readonly value: Py;
}

export function pyCall(func: string, positional: readonly Py[], keywords: readonly (readonly [string, Py])[] = []): PyGroup {
  return {
    open: `${func}(`,
    items: [...positional.map((value) => ({ prefix: "", value })), ...keywords.map(([k, value]) => ({ prefix: `${k}=`, value }))],
    close: ")",
  };
}

export function pyList(items: readonly Py[]): PyGroup {
  return { open: "[", items: items.map((value) => ({ prefix: "", value })), close: "]" };
}

/** A tuple of two or more items (a one-item tuple needs its comma even on one line). */
export function pyTuple(items: readonly Py[]): PyGroup {
  if (items.length < 2) throw new Error("kfm-compile bug: pyTuple needs two or more items");
  return { open: "(", items: items.map((value) => ({ prefix: "", value })), close: ")" };
}

/** A dict; keys are finished atoms (string literals). */
export function pyDict(entries: readonly (readonly [string, Py])[]): PyGroup {
  return { open: "{", items: entries.map(([k, value]) => ({ prefix: `${k}: `, value })), close: "}" };
}

/** The one-line form. */
export function flat(p: Py): string {
  if (typeof p === "string") return p;
  return p.open + p.items.map((i) => i.prefix + flat(i.value)).join(", ") + p.close;
}

/**
 * The lines of `prefix + p + suffix` at `depth` indentation levels: one line when it fits
 * (or `p` is an atom or an empty group), else the group's items one per line, each laid out
 * the same way one level deeper, with a trailing comma.
 */
export function layout(p: Py, depth: number, prefix = "", suffix = ""): string[] {
  const indent = INDENT.repeat(depth);
  const one = indent + prefix + flat(p) + suffix;
  if (typeof p === "string" || p.items.length === 0 || one.length <= LINE_LENGTH) return [one];
  return [indent + prefix + p.open, ...p.items.flatMap((i) => layout(i.value, depth + 1, i.prefix, ",")), indent + p.close + suffix];
}

/**
 * `p` as the value of `key=` (or `key: `) in a group expanded at `depth` levels, for a template
 * that writes `<indent><key>=` before it and `,` after it: the laid-out lines without those.
 */
export function valueAt(p: Py, depth: number, prefix: string): string {
  const lines = layout(p, depth, prefix, ",");
  const head = INDENT.repeat(depth) + prefix;
  lines[0] = lines[0]!.slice(head.length);
  lines[lines.length - 1] = lines[lines.length - 1]!.slice(0, -1);
  return lines.join("\n");
}

/** The names a piece of Python calls (`k8s.V1EnvVar(` -> `k8s`), to know what the file must import. */
export function calledNames(p: Py, into: Set<string>): Set<string> {
  if (typeof p !== "string") {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)[A-Za-z0-9_.]*\($/.exec(p.open);
    if (m) into.add(m[1]!);
    for (const i of p.items) calledNames(i.value, into);
  }
  return into;
}

// ---------------------------------------------------------------- Python literals

/**
 * A Python string literal for any JS string: printable ASCII as is (except `\` and the
 * quote), `\n` `\r` `\t`, everything else as `\xNN`, `\uNNNN` or `\UNNNNNNNN` of its code
 * point (a surrogate pair becomes one `\U`, a lone surrogate its `\u`). Never an f-string,
 * so `{` is plain text. Double-quoted unless the text holds more `"` than `'`: the quote
 * `ruff format` picks (ruff `normalize.rs` `QuoteMetadataKind::regular` counts both quote
 * characters and prefers double quotes on a tie), so that ruff leaves the literal as written.
 */
export function pyStr(s: string): string {
  let single = 0;
  let double = 0;
  for (const ch of s) {
    if (ch === "'") single++;
    else if (ch === '"') double++;
  }
  const quote = single < double ? "'" : '"';
  return `${quote}${escapeCodePoints(s, quote)}${quote}`;
}

/** What `escapeCodePoints` escapes, per quote: the quote, backslash, and every code point outside printable ASCII. */
const ESCAPED = { "'": /[\\'\n\r\t]|[^\x20-\x7e]/gu, '"': /[\\"\n\r\t]|[^\x20-\x7e]/gu } as const;

/**
 * The escaping shared by Python and Jinja string literals (Jinja decodes with `unicode-escape`).
 * One `replace` rather than a string grown a character at a time: a DAG may hold megabytes
 * of values (src/limits.ts, "Output bounds"), and growing a string by characters kept the
 * garbage collector busy for seconds under the stated heap.
 */
export function escapeCodePoints(s: string, quote: "'" | '"'): string {
  return s.replace(ESCAPED[quote], (ch) => {
    if (ch === "\\") return "\\\\";
    if (ch === quote) return "\\" + quote;
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    const cp = ch.codePointAt(0)!;
    return cp < 0x100 ? "\\x" + hex(cp, 2) : cp < 0x10000 ? "\\u" + hex(cp, 4) : "\\U" + hex(cp, 8);
  });
}

/**
 * The length of `escapeCodePoints(s, quote)`, counted without building it: a Python
 * target's lower bound on the bytes a value takes (`minimumBytes`, src/limits.ts "Output
 * bounds"), since every text a DAG file holds is written through it at least once.
 */
export function escapedLength(s: string, quote: "'" | '"'): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c || c === quote.charCodeAt(0) || c === 0x0a || c === 0x0d || c === 0x09) n += 2;
    else if (c >= 0x20 && c <= 0x7e) n += 1;
    else if (c < 0x100) n += 4;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      n += 10;
      i++;
    } else n += 6;
  }
  return n;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** A Python number literal that parses to the same IEEE double (JS and Python both print the shortest round-trip form). */
export function pyNum(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`kfm-compile bug: non-finite number ${n}`);
  return String(n);
}

/** A JSON value, as options and Kubernetes objects hold them. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export function pyBool(b: boolean): string {
  return b ? "True" : "False";
}

/** A JSON value from the config as a Python literal (dict keys as they are: a security context keeps Kubernetes' spelling). */
export function pyJson(v: JsonValue): Py {
  if (v === null) return "None";
  if (typeof v === "boolean") return pyBool(v);
  if (typeof v === "number") return pyNum(v);
  if (typeof v === "string") return pyStr(v);
  if (Array.isArray(v)) return pyList((v as readonly JsonValue[]).map(pyJson));
  return pyDict(Object.entries(v as { readonly [key: string]: JsonValue }).map(([k, x]) => [pyStr(k), pyJson(x)]));
}
