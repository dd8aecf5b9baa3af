/**
 * Diagnostics are the user interface: every user mistake becomes one of these, with
 * a code from the catalogue below, a full sentence, and a position. They are
 * collected and reported together; `throw` is kept for compiler bugs.
 */
import type { SpecPath } from "./ir.js";
import { MAX_SUGGESTION_LENGTH } from "./limits.js";

export type Severity = "error" | "warning";

/** The catalogue: one code per kind of problem, so users can search for it and tests can name it. */
export const CODES = {
  // Reading the file.
  KFM001: "YAML syntax error",
  KFM002: "duplicate key",
  KFM003: "more than one YAML document",
  KFM004: "the file is not a spec document",
  KFM005: "the file cannot be read",
  KFM006: "a reference leaves the project root",
  KFM007: "a project glob matches no file",
  KFM008: "the input exceeds a resource bound (src/limits.ts)",
  KFM009: "what the spec expands to exceeds an output bound (src/limits.ts)",
  // The project config and what the command line selects of it.
  KFM010: "a spec entry names a target the project does not configure",
  KFM011: "a spec on the command line is not one of the project's specs",
  KFM012: "an output folder is inside another project",
  KFM013: "unknown target option",
  KFM014: "invalid target option value",
  KFM015: "a target's runs folder is its output folder or nested with it",
  // Shape (JSON Schema).
  KFM101: "unknown key",
  KFM102: "missing required key",
  KFM103: "wrong type",
  KFM104: "value out of range or malformed",
  // Meaning.
  KFM201: "unknown dependency",
  KFM202: "dependency cycle",
  KFM203: "duplicate job name",
  KFM204: "invalid cron expression",
  KFM205: "unknown time zone",
  KFM206: "malformed duration",
  KFM207: "malformed Kubernetes quantity",
  KFM208: "names collide after mapping to a target",
  KFM209: "unknown template variable",
  KFM210: "template syntax error",
  KFM211: "reserved name",
  KFM212: "invalid environment variable name",
  KFM213: "interval is not a cron grid",
  KFM214: "malformed date",
  KFM215: "a job depends on itself",
  KFM216: "inconsistent or ineffective setting",
  KFM217: "runtime variable where none can be used",
  KFM218: "previous/next date without a regular schedule",
  KFM219: "schedule window is empty",
  KFM220: "schedule slot in a daylight-saving change",
  KFM221: "a literal value looks like a credential",
  KFM222: "a legacy or fixed-offset time zone name",
  KFM223: "malformed container image reference",
  KFM224: "a job parameter no template uses",
  KFM240: "text holds a character no target can pass on",
  KFM241: "unknown event trigger",
  KFM242: "an event trigger's source is not an object-store location",
  KFM245: "not a single email address",
  KFM255: "a scheduled approval gate nobody may approve (tekton)",
  KFM233: "a run may outlast the runs a queue holds (github-actions)",
  KFM260: "GitHub Actions options that go together are given in part",
  // Targets.
  KFM301: "the target cannot express this feature",
  KFM302: "the output is larger than the runner accepts",
  // Backfill.
  KFM401: "backfill range reversed or too large",
  KFM402: "backfill range holds no run",
  // Applying to a cluster (kfm-compile apply).
  KFM500: "the API server refused an object",
  KFM501: "another field manager changed a field the spec sets",
  KFM502: "an object's namespace is not the one asked for",
  KFM503: "an object without a name cannot be applied",
  KFM504: "the cluster does not serve a kind the output holds",
  KFM505: "the API server forbids the request",
  KFM506: "the API server warns about an object",
  KFM507: "the namespace does not exist",
} as const;

export type Code = keyof typeof CODES;

/** A problem found before positions are known: where it is, as a path into the spec. */
export interface Problem {
  readonly code: Code;
  readonly severity: Severity;
  readonly message: string;
  readonly at: SpecPath;
  /** Point at the key rather than its value (unknown keys, for example). */
  readonly atKey?: boolean;
}

export interface Diagnostic {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units like every editor's column. */
  readonly column: number;
  readonly severity: Severity;
  readonly code: Code;
  readonly message: string;
}

export function problem(code: Code, message: string, at: SpecPath, atKey = false): Problem {
  return { code, severity: "error", message, at, atKey };
}

export function warning(code: Code, message: string, at: SpecPath, atKey = false): Problem {
  return { code, severity: "warning", message, at, atKey };
}

/**
 * One diagnostic as one line of safe text. Messages and paths quote spec text (keys,
 * names, values, suggestions), so everything that would act on a terminal or a CI log
 * is escaped here, the one place diagnostics become text (SECURITY.md, "Diagnostics as
 * safe text"): no line break can start a line of its own, no escape sequence reaches
 * the terminal, and no line reads as a GitHub Actions workflow command. The runner takes
 * a line as a command when, leading white space trimmed, it starts with `::`
 * (actions/runner src/Runner.Common/ActionCommand.cs `TryParseV2`), or when it holds
 * `##[` anywhere (the legacy form, `TryParse`, which `ActionCommandManager.TryProcessCommand`
 * still falls back to). A line here starts with the file, written `./` first when it
 * would start with `::`.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const file = safeText(d.file);
  return `${/^\s*::/.test(file) ? "./" : ""}${file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${safeText(d.message)}`;
}

/**
 * Characters that act on a terminal or split a line: C0 and C1 controls and DEL (ESC
 * starts terminal escape sequences; CR, LF, VT, FF, NEL and the Unicode line and paragraph
 * separators break lines), the bidirectional controls (they reorder what is shown, so a
 * message could read differently from what it says), the byte order mark, and lone
 * surrogates (not text; a terminal shows them as whatever it likes).
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|##\[/g;

const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|##\[/g;

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, "0");

/**
 * Text that may quote spec text, made safe to print on one line (see `formatDiagnostic`):
 * `\n`, `\r`, `\t`, `\xHH` below U+0100, `\uHHHH` above, and `##[` as `#\x23[`.
 */
export function safeText(s: string): string {
  return s.replace(UNSAFE, (c) =>
    c === "##[" ? "#\\x23[" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`,
  );
}

/**
 * JSON text with the same characters written as `\uHHHH` escapes (and `##[` as
 * `##\u005b`), so `--format json` gives back every string exactly, and the text itself is
 * as safe to print as `formatDiagnostic`'s. `JSON.stringify` already escapes C0 controls
 * and lone surrogates inside strings (raw ones are the layout's own line breaks); `##[`
 * can only occur inside a string.
 */
export function safeJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => (c === "##[" ? "##\\u005b" : `\\u${hex(c, 4)}`));
}

export function hasErrors(ds: readonly { severity: Severity }[]): boolean {
  return ds.some((d) => d.severity === "error");
}

/** Sorted by file, position, then code, so output is the same however checks are ordered. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.column - b.column ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

/** The closest candidate by edit distance, if it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | null {
  // A huge word (a 1 MB value) would cost a quadratic comparison per candidate.
  if (word.length > MAX_SUGGESTION_LENGTH) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c.length > MAX_SUGGESTION_LENGTH) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance || (d === bestDistance && best !== null && c < best)) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== null && bestDistance <= limit ? best : null;
}

export function suggestion(word: string, candidates: Iterable<string>): string {
  const m = didYouMean(word, candidates);
  return m === null ? "" : ` Did you mean '${m}'?`;
}

function editDistance(a: string, b: string): number {
  // Damerau (adjacent transposition) so `depnds_on` and `dpeends_on` both count as near.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
