/**
 * Target options: how a workflow is deployed on one runner (namespace, accounts, helper
 * images, runner labels, ...), never what it means. Each backend declares its options in
 * `targets/<t>/options.ts` with the builders below; the core validates what
 * `kfm.config.yaml` (`targets.<t>.options`) and the command line (`--option name=value`)
 * give, fills in defaults, and the header's `options:` line names each option given with
 * a digest of its value, so `check` sees, and names, a changed option.
 *
 * The declarations are data, so that the config schema (`npm run docs`), the README and
 * `kfm-compile targets` print them from the same place the validation reads.
 */
import { createHash } from "node:crypto";
import { problem, suggestion, type Problem } from "./diagnostics.js";
import type { SpecPath } from "./ir.js";

interface Common<T> {
  /** One or two sentences: what the option changes on the runner, and its default. */
  readonly description: string;
  /** The value when the option is not given; `undefined` for "not set". */
  readonly default: T;
}

export type OptionDecl =
  | (Common<string | undefined> & { readonly type: "string"; readonly pattern?: RegExp; readonly patternText?: string; readonly maxLength?: number })
  | (Common<readonly string[]> & { readonly type: "strings"; readonly pattern?: RegExp; readonly patternText?: string; readonly maxItems?: number })
  | (Common<boolean> & { readonly type: "boolean" })
  | (Common<number | undefined> & { readonly type: "integer"; readonly minimum: number; readonly maximum: number })
  | (Common<string> & { readonly type: "oneOf"; readonly values: readonly string[] })
  | (Common<Readonly<Record<string, unknown>> | undefined> & { readonly type: "mapping" });

export type OptionDecls = Readonly<Record<string, OptionDecl>>;

/** The value type of one declaration. */
export type OptionValue<D extends OptionDecl> = D["default"];

/** The options object a backend's `emit` receives: every declared option, defaults filled in. */
export type OptionValues<D extends OptionDecls> = { readonly [K in keyof D]: OptionValue<D[K]> };

type Decl<T extends OptionDecl["type"]> = Extract<OptionDecl, { type: T }>;
type Given<T extends OptionDecl["type"]> = Omit<Decl<T>, "type" | "default">;

/** Builders, so that a declaration reads as what it is (and keeps its value type). */
export const option = {
  string: (d: Given<"string"> & { default?: string }): Decl<"string"> => ({ ...d, type: "string", default: d.default }),
  strings: (d: Given<"strings"> & { default?: readonly string[] }): Decl<"strings"> => ({ ...d, type: "strings", default: d.default ?? [] }),
  boolean: (d: Given<"boolean"> & { default: boolean }): Decl<"boolean"> => ({ ...d, type: "boolean" }),
  integer: (d: Given<"integer"> & { default?: number }): Decl<"integer"> => ({ ...d, type: "integer", default: d.default }),
  oneOf: (d: Given<"oneOf"> & { default: string }): Decl<"oneOf"> => ({ ...d, type: "oneOf" }),
  mapping: (d: Given<"mapping">): Decl<"mapping"> => ({ ...d, type: "mapping", default: undefined }),
} as const;

/** The most characters one option value (or one list item) may have. */
const MAX_OPTION_CHARS = 4096;
const MAX_OPTION_ITEMS = 256;

/** The defaults of every declared option. */
export function defaultOptions(decls: OptionDecls): Record<string, unknown> {
  return Object.fromEntries(Object.entries(decls).map(([k, d]) => [k, d.default]));
}

export interface ResolvedOptions {
  /** Every declared option, given or default. */
  readonly values: Record<string, unknown>;
  /** What was given, for the header's digest (defaults are the compiler version's). */
  readonly given: Record<string, unknown>;
}

/**
 * Checks given option values against a target's declarations (`at` locates the mapping
 * in its file; `target` names it in messages). Unknown names get a did-you-mean. When
 * each value is valid, `related` (the target's `checkOptions`) checks them against each
 * other, its problems placed inside the mapping at `at`.
 */
export function resolveOptions(
  target: string,
  decls: OptionDecls,
  given: Readonly<Record<string, unknown>>,
  at: SpecPath,
  related?: (values: Record<string, unknown>) => readonly Problem[],
): { options: ResolvedOptions | null; problems: Problem[] } {
  const problems: Problem[] = [];
  const values = defaultOptions(decls);
  const kept: Record<string, unknown> = {};
  const names = Object.keys(decls);
  for (const [name, value] of Object.entries(given)) {
    const decl = Object.hasOwn(decls, name) ? decls[name] : undefined;
    if (decl === undefined) {
      const known = names.length === 0 ? ` ${target} has no options.` : suggestion(name, names) || ` Its options: ${names.join(", ")}.`;
      problems.push(problem("KFM013", `Unknown ${target} option \`${name}\`.${known}`, [...at, name], true));
      continue;
    }
    const why = invalid(decl, value);
    if (why !== null) {
      problems.push(problem("KFM014", `The ${target} option \`${name}\` ${why}`, [...at, name]));
      continue;
    }
    values[name] = value;
    kept[name] = value;
  }
  if (problems.length === 0 && related !== undefined)
    for (const p of related(values)) problems.push({ ...p, at: [...at, ...p.at], atKey: p.at.length === 0 ? true : p.atKey });
  return { options: problems.some((p) => p.severity === "error") ? null : { values, given: kept }, problems };
}

function invalid(decl: OptionDecl, value: unknown): string | null {
  const text = (s: string): string | null => {
    if (s.length > MAX_OPTION_CHARS) return `is longer than ${MAX_OPTION_CHARS} characters.`;
    if (decl.type === "string" && decl.maxLength !== undefined && s.length > decl.maxLength) return `is longer than ${decl.maxLength} characters.`;
    if ((decl.type === "string" || decl.type === "strings") && decl.pattern !== undefined && !decl.pattern.test(s))
      return `must be ${decl.patternText ?? `text matching ${decl.pattern.source}`}; \`${s}\` is not.`;
    return null;
  };
  switch (decl.type) {
    case "string":
      return typeof value === "string" ? text(value) : `is text, not ${shown(value)}${quoteHint(value)}.`;
    case "strings": {
      if (!Array.isArray(value)) return `is a list of text, not ${shown(value)}.`;
      if (value.length > (decl.maxItems ?? MAX_OPTION_ITEMS)) return `has at most ${decl.maxItems ?? MAX_OPTION_ITEMS} items.`;
      for (const item of value) {
        if (typeof item !== "string") return `is a list of text; the item ${shown(item)} is not text${quoteHint(item)}.`;
        const why = text(item);
        if (why !== null) return why.replace(/^(is|must)/, "items $1");
      }
      return new Set(value).size === value.length ? null : "lists an item twice.";
    }
    case "boolean":
      return typeof value === "boolean" ? null : `is \`true\` or \`false\`, not ${shown(value)}.`;
    case "integer":
      return Number.isSafeInteger(value) && (value as number) >= decl.minimum && (value as number) <= decl.maximum
        ? null
        : `is a whole number from ${decl.minimum} to ${decl.maximum}, not ${shown(value)}.`;
    case "oneOf":
      return typeof value === "string" && decl.values.includes(value)
        ? null
        : `is one of ${decl.values.map((v) => `\`${v}\``).join(", ")}, not ${shown(value, true)}.${typeof value === "string" ? suggestion(value, decl.values) : ""}`;
    case "mapping": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return `is a mapping, not ${shown(value)}.`;
      return JSON.stringify(value).length > MAX_OPTION_CHARS ? `is longer than ${MAX_OPTION_CHARS} characters as JSON.` : null;
    }
  }
}

/** A value as a diagnostic quotes it: JSON (text in quotes, so "9" is not taken for 9), or `asText` text as it is; cut short. */
function shown(value: unknown, asText = false): string {
  const text = asText && typeof value === "string" && value !== "" ? value : (JSON.stringify(value) ?? String(value));
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\``;
}

/** For a number or boolean where text is wanted: YAML read it so because it was not quoted. */
function quoteHint(value: unknown): string {
  return typeof value === "number" || typeof value === "boolean" ? ` (quote it in YAML: '${String(value)}')` : "";
}

/**
 * Reads `--option name=value` text as the declared type: lists comma-separated,
 * `true`/`false`, integers, mappings as JSON. `null` and a message when it cannot.
 */
export function parseOptionText(decl: OptionDecl | undefined, text: string): { value: unknown } | { error: string } {
  if (decl === undefined || decl.type === "string" || decl.type === "oneOf") return { value: text };
  switch (decl.type) {
    case "strings":
      return { value: text === "" ? [] : text.split(",").map((s) => s.trim()) };
    case "boolean":
      return text === "true" || text === "false" ? { value: text === "true" } : { error: "is `true` or `false`" };
    case "integer":
      return /^-?\d+$/.test(text) ? { value: Number(text) } : { error: "is a whole number" };
    case "mapping":
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: 'is a mapping written as JSON, for example {"key": "value"}' };
      }
  }
}

/** Hex digits of an option value's digest in the header: enough that a changed value is never taken for the old one by chance (2^-48). */
const VALUE_DIGEST_HEX = 12;

/** An option name as targets declare them (camelCase), so the header line parses back. */
const OPTION_NAME = "[A-Za-z][A-Za-z0-9_]*";
const OPTION_ENTRY = `${OPTION_NAME} sha256:[0-9a-f]{${VALUE_DIGEST_HEX}}`;
/** The header's `options:` value as `optionsDigest` writes it. */
export const OPTIONS_VALUE = new RegExp(`^(?:none|${OPTION_ENTRY}(?:, ${OPTION_ENTRY})*)$`);

/**
 * The header's `options:` value: `none`, or each option given (sorted by name) with a
 * short digest of its value, `namespace sha256:1a2b3c4d5e6f, runsOn sha256:0f1e2d3c4b5a`.
 * A person reads which options the file was made with, and `check` says which changed
 * (`changedOptions`); values are not written out, since a mapping's can be long and any
 * text, and the header is one line of printable ASCII.
 */
export function optionsDigest(given: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(given).sort();
  if (keys.length === 0) return "none";
  for (const k of keys) if (!new RegExp(`^${OPTION_NAME}$`).test(k)) throw new Error(`option name \`${k}\` does not fit the header`);
  const canonical = (v: unknown): unknown =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canonical)
        : v;
  const digest = (v: unknown) =>
    createHash("sha256")
      .update(JSON.stringify(canonical(v)))
      .digest("hex")
      .slice(0, VALUE_DIGEST_HEX);
  return keys.map((k) => `${k} sha256:${digest(given[k])}`).join(", ");
}

/**
 * The options whose value differs between two `options:` values, by name, each marked
 * when it was given only before (`removed`) or only now (`added`); null when either is
 * not in `optionsDigest`'s form (a header from before it named the options).
 */
export function changedOptions(before: string, now: string): { name: string; change: "changed" | "added" | "removed" }[] | null {
  const read = (v: string): Map<string, string> | null =>
    OPTIONS_VALUE.test(v) ? new Map(v === "none" ? [] : v.split(", ").map((e) => e.split(" ") as [string, string])) : null;
  const a = read(before);
  const b = read(now);
  if (a === null || b === null) return null;
  return [...new Set([...a.keys(), ...b.keys()])].sort().flatMap((name) => {
    const [x, y] = [a.get(name), b.get(name)];
    if (x === y) return [];
    return [{ name, change: x === undefined ? ("added" as const) : y === undefined ? ("removed" as const) : ("changed" as const) }];
  });
}

/** JSON Schema of a target's options mapping, for schemas/config.schema.json. */
export function optionsSchema(decls: OptionDecls): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(decls)) {
    const base = { description: d.description };
    switch (d.type) {
      case "string":
        properties[name] = {
          ...base,
          type: "string",
          ...(d.pattern ? { pattern: d.pattern.source } : {}),
          ...(d.default !== undefined ? { default: d.default } : {}),
        };
        break;
      case "strings":
        properties[name] = { ...base, type: "array", items: { type: "string", ...(d.pattern ? { pattern: d.pattern.source } : {}) }, default: d.default };
        break;
      case "boolean":
        properties[name] = { ...base, type: "boolean", default: d.default };
        break;
      case "integer":
        properties[name] = { ...base, type: "integer", minimum: d.minimum, maximum: d.maximum, ...(d.default !== undefined ? { default: d.default } : {}) };
        break;
      case "oneOf":
        properties[name] = { ...base, enum: [...d.values], default: d.default };
        break;
      case "mapping":
        properties[name] = { ...base, type: "object" };
        break;
    }
  }
  return { type: "object", additionalProperties: false, properties };
}
