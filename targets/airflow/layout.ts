/**
 * Python source laid out the way `ruff format` (and Black) would leave it, by construction
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
