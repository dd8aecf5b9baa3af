/**
 * Reading a spec file. Every problem points at the offending key or value, so the exact
 * reader (the `yaml` package) keeps source positions, but on a large spec that takes
 * more than ten times as long as reading the data alone. So a spec is first read by a
 * fast reader (js-yaml, with a schema that resolves plain scalars as the exact reader
 * does), which gives the data only, and the exact reader runs when it is needed: when
 * the fast reader gives up (broken YAML, anchors, tags, odd keys: anything where the two
 * could differ), and the first time a problem has to be placed on a line. Valid specs
 * never pay for positions. Reading never throws for bad input; it returns diagnostics.
 */
import { createHash } from "node:crypto";
import { load as loadYaml, Schema, Type, type LoadOptions, type State } from "js-yaml";
import { Composer, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, type CST, type Document, type Node } from "yaml";
import { type Diagnostic, type Problem } from "../diagnostics.js";
import { MAX_ALIAS_COUNT, MAX_NESTING_DEPTH, MAX_SPEC_BYTES, MAX_YAML_TOKENS } from "../limits.js";
import type { SpecPath } from "../ir.js";
import { indentationMistake } from "./indent.js";

export interface LoadedSpec {
  readonly file: string;
  readonly text: string;
  readonly digest: string;
  /** The document as plain data; undefined when it could not be read. */
  readonly data: unknown;
  /** Turns spec paths into positions. */
  readonly locate: (p: Problem) => Diagnostic;
  /** The source text of the number or boolean at a path, as written in a plain scalar (`0755` rather than 755). */
  readonly scalarSource: (path: SpecPath) => string | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

export function digestOf(text: string | Uint8Array): string {
  return "sha256:" + createHash("sha256").update(text).digest("hex");
}

let exactReads = 0;

/** How many times the exact reader has run in this process (the tests check that valid specs do not need it). */
export function exactReaderRuns(): number {
  return exactReads;
}

/** Parses `text` as the spec file `file` (the name is only used in diagnostics and headers). */
export function loadSpec(file: string, text: string): LoadedSpec {
  const digest = digestOf(text);
  // The size bound comes before either reader (src/limits.ts).
  const fast = text.length > MAX_SPEC_BYTES ? null : readFast(text);
  if (fast === null) return readExact(file, text, digest);
  return { file, text, digest, data: fast.data, locate: exactLocator(file, text), scalarSource: fast.scalarSource, diagnostics: [] };
}

/** How much of a large file the exact reader reads first to place a problem. */
const FIRST_PART = 16 * 1024;

/**
 * Places problems in a text the fast reader read, with the exact reader, which runs on
 * the first problem. On a large file it reads only as much as it needs: the lines up
 * to FIRST_PART, then four times as many, until a part would be over a quarter of the
 * file, then the whole (so at most a third more work than the whole at once). A problem
 * at the top of a 10,000-job spec is so placed in milliseconds rather than seconds.
 *
 * A node is placed from a part of the file only once the part holds a line with content
 * after the node: a part that ended just after `key:` would read the key's value, on
 * the next lines, as empty. A part the exact reader cannot read whole (one ending inside
 * a flow collection or a quoted scalar) is read further.
 */
export function exactLocator(file: string, text: string, first = FIRST_PART): (p: Problem) => Diagnostic {
  let part: { end: number; read: ExactRead } | undefined;
  const readTo = (size: number): { end: number; read: ExactRead } => {
    const newline = size > text.length / 4 ? -1 : text.indexOf("\n", size);
    const end = newline === -1 ? text.length : newline + 1;
    return (part = { end, read: parseExact(file, end === text.length ? text : text.slice(0, end)) });
  };
  return (p) => {
    let { end, read } = part ?? readTo(first);
    while (end < text.length) {
      if (!Array.isArray(read)) {
        const offset = placeIn(read.doc, p, text, end);
        if (offset !== null) return { file, ...read.position(offset), severity: p.severity, code: p.code, message: p.message };
      } else if (read.some((d) => d.code === "KFM008")) {
        // Past the token bound here, so for every larger part too.
        break;
      }
      ({ end, read } = readTo(end * 4));
    }
    // The exact reader refuses what the fast one read only by its token bound: the problem is then reported on the first line.
    if (Array.isArray(read)) return { file, line: 1, column: 1, severity: p.severity, code: p.code, message: p.message };
    return locator(read.doc, file, read.position)(p);
  };
}

/** The offset of the node a problem points at, read from the first `end` characters of `text`, or null if that part cannot tell. */
function placeIn(doc: Document.Parsed, p: Problem, text: string, end: number): number | null {
  const { node, key, rest } = walk(doc.contents, p.at);
  const target = p.atKey && key ? key : (node ?? key);
  if (rest > 0 || target?.range === undefined || target.range === null) return null;
  const contentAfter = /\n *[^\s#]/g;
  contentAfter.lastIndex = target.range[1];
  const next = contentAfter.exec(text);
  return next !== null && next.index + next[0].length <= end ? target.range[0] : null;
}

// ---------------------------------------------------------------------------------
// The fast reader.

/**
 * Text the fast reader leaves to the exact one: where js-yaml reads YAML differently
 * from the `yaml` package, or less strictly, as test/spec-reading.property.test.ts
 * found. Quoted text that merely looks like one of these only costs the fast path. Each
 * test looks for a plain string first, much quicker than a regular expression on a
 * large file.
 */
const BLANKS = " ".repeat(64);
const LEFT_TO_EXACT: readonly ((text: string) => boolean)[] = [
  // Directives: `%YAML 1.1` changes the schema.
  (t) => /^\uFEFF?%/.test(t) || t.includes("\n%") || t.includes("\r%"),
  // Characters one reader takes as text and the other as a separator or a line break.
  (t) => t.includes("\t") || t.indexOf("\uFEFF", 1) !== -1 || (t.includes("\r") && /\r(?!\n)/.test(t)),
  // Anything after `---` or `...` on its line but a comment (js-yaml even reads `---a` as `---`).
  (t) => (t.includes("---") || t.includes("...")) && /(?:^\uFEFF?|[\n\r])(?:---|\.\.\.)(?! +#| *(?:[\n\r]|$))/.test(t),
  // Block scalars with an indentation indicator, keep chomping (js-yaml adds a line
  // break to a file without a last one), or a more indented blank line first.
  (t) => (t.includes("|") || t.includes(">")) && /[|>](?:[-+]?[0-9]|\+|-? *(?:#[^\r\n]*)?\r?\n(?: *\r?\n)* +(?=\r?\n|$))/.test(t),
  // A comment right after an indicator or a quote: the exact reader wants a blank first.
  (t) => t.includes("#") && /[[{,\]}:"'|>]#/.test(t),
  // An empty sequence entry: js-yaml reads the next, less indented `-` into the same sequence.
  (t) => /(?:^|\s)- *(?:#[^\n\r]*)?(?=[\n\r]|$)/.test(t),
  // Explicit keys (`? `) and flow collections as keys (`[a]: b`, js-yaml joins them into a string).
  (t) => (t.includes("?") && /(?:^|[\s[{,])\?(?=[\s,[\]{}]|$)/m.test(t)) || /[\]}] *:/.test(t),
  // `\U` escapes (js-yaml takes code points past Unicode) and an escaped line break before an empty line.
  (t) => t.includes("\\U") || ((t.includes("\\\n") || t.includes("\\\r")) && /\\\r?\n *\r?\n/.test(t)),
  // A long run of blanks before a `:`: the exact reader refuses a `:` more than 1024 characters after its key's start.
  (t) => t.includes(BLANKS) && / {300}:/.test(t),
];

/**
 * Keys the fast reader leaves to the exact one. js-yaml turns a key that is not a
 * string into one with String(), the exact reader too but for null (`""` there, `"null"`
 * here); such keys are spelled like these. Integer-like keys also come first in a JS
 * object's key order, which would break the walk in document order below.
 */
const NOT_A_PLAIN_KEY = /^(?:null|true|false|NaN|-?Infinity|-?\d[\d.e+-]*)$/;

/** Longer keys go to the exact reader: with `\uXXXX` escapes a 64-character key is at most 386 characters of source, with fewer than 300 blanks before its `:` still within the 1024 it allows. */
const MAX_FAST_KEY = 64;

/** The core schema's plain scalars (YAML 1.2), in the order and with the functions of the `yaml` package's schema/core, so both readers give the same values. */
function coreValue(s: string): unknown {
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === "t" || s[0] === "T";
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    return s.slice(-3).toLowerCase() === "nan" ? NaN : s[0] === "-" ? -Infinity : Infinity;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return NOT_CORE;
}
const NOT_CORE = Symbol("not a core scalar");

/** Characters a core scalar can start with: most plain scalars are words, ruled out by their first character. */
const CORE_START = /^[-+.~0-9nNtTfF]|^$/;

/** What js-yaml reported during the current load (loading is synchronous, one at a time). */
interface Seen {
  /** The numbers and booleans constructed, and their source text, in document order. */
  readonly values: unknown[];
  readonly sources: string[];
  /** Every mapping and sequence read: one missing from the data was used as a key. */
  readonly collections: Set<object>;
  nodes: number;
}
const seeing = (): Seen => ({ values: [], sources: [], collections: new Set(), nodes: 0 });
let seen = seeing();

/** A tag with blanks cannot be written in YAML (`!<...>` must be a URI), so only implicit resolution reaches this type. */
const CORE_TAG = "kfm-compile core scalar";
const SCHEMA = new Schema({
  implicit: [
    new Type(CORE_TAG, {
      kind: "scalar",
      resolve: (s: string) => CORE_START.test(s) && coreValue(s) !== NOT_CORE,
      construct: (s: string) => {
        const value = coreValue(s);
        if (typeof value === "number" || typeof value === "boolean") {
          seen.values.push(value);
          seen.sources.push(s);
        }
        return value;
      },
    }),
  ],
});

/** Thrown inside js-yaml to hand the text to the exact reader. */
const GIVE_UP = new Error("left to the exact reader");

/** Called when js-yaml closes a node: anchors (and so aliases, which need one) and explicit tags go to the exact reader, which counts aliases against MAX_ALIAS_COUNT and resolves tags its own way. */
function onNode(event: string, state: State): void {
  if (event !== "close") return;
  const { tag, anchor, kind, result } = state as State & { tag: string | null; anchor: string | null };
  if (anchor !== null || (tag !== null && tag !== "?" && tag !== CORE_TAG)) throw GIVE_UP;
  // Past the bound the exact reader decides, by its token count (a node is at least one token).
  if (++seen.nodes > MAX_YAML_TOKENS) throw GIVE_UP;
  if (kind === "mapping" || kind === "sequence") seen.collections.add(result as object);
}

const OPTIONS = {
  schema: SCHEMA,
  listener: onNode,
  // Deeper documents go to the exact reader, which refuses them; this also bounds js-yaml's
  // recursion. Its depth counts scalars too, so a scalar at the deepest level goes there too.
  maxDepth: MAX_NESTING_DEPTH,
  // js-yaml warns where it reads on and the exact reader stops (a quoted scalar's lines indented too little).
  onWarning: () => {
    throw GIVE_UP;
  },
} as LoadOptions;

type Sources = Map<object, Map<string | number, string>>;

export interface FastRead {
  readonly data: Record<string, unknown>;
  readonly scalarSource: (path: SpecPath) => string | undefined;
}

/** The fast reader alone: the data of a spec mapping and the sources of its numbers and booleans, or null to leave the text to the exact reader. */
export function readFast(text: string): FastRead | null {
  if (LEFT_TO_EXACT.some((test) => test(text))) return null;
  const { values, sources, collections } = (seen = seeing());
  let data: unknown;
  try {
    data = loadYaml(text, OPTIONS);
  } catch {
    // Broken YAML, a stack overflow, or GIVE_UP: the exact reader says what is wrong, if anything.
    return null;
  } finally {
    seen = seeing();
  }
  // Only a mapping can be a spec; anything else (or an empty file) is refused, with the exact reader's words.
  if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
  const where: Sources = new Map();
  let next = 0;
  // The numbers and booleans were constructed in document order; the data is walked in the same order to pair each with its source.
  const visit = (node: object): boolean => {
    collections.delete(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) if (!leaf(node, i, node[i])) return false;
      return true;
    }
    for (const key of Object.keys(node)) {
      if (key.length > MAX_FAST_KEY || NOT_A_PLAIN_KEY.test(key) || key === "__proto__") return false;
      if (!leaf(node, key, (node as Record<string, unknown>)[key])) return false;
    }
    return true;
  };
  const leaf = (container: object, key: string | number, value: unknown): boolean => {
    if (typeof value === "number" || typeof value === "boolean") {
      if (next >= values.length || !Object.is(values[next], value)) return false;
      let m = where.get(container);
      if (m === undefined) where.set(container, (m = new Map()));
      m.set(key, sources[next++]!);
      return true;
    }
    return value === null || typeof value !== "object" || visit(value);
  };
  if (!visit(data) || next !== values.length || collections.size > 0) return null;
  const record = data as Record<string, unknown>;
  return { data: record, scalarSource: (path) => fastSource(record, where, path) };
}

function fastSource(data: object, where: Sources, path: SpecPath): string | undefined {
  let node: unknown = data;
  for (let i = 0; i < path.length - 1; i++) {
    node = child(node, path[i]!);
    if (node === undefined) return undefined;
  }
  const last = path[path.length - 1];
  if (last === undefined || node === null || typeof node !== "object") return undefined;
  return where.get(node)?.get(Array.isArray(node) ? last : String(last));
}

/** One step down a path, as the exact reader's walk takes it: array items by number, mapping values by key. */
function child(node: unknown, step: string | number): unknown {
  if (Array.isArray(node)) return typeof step === "number" ? node[step] : undefined;
  if (node === null || typeof node !== "object") return undefined;
  const key = String(step);
  return Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
}

// ---------------------------------------------------------------------------------
// The exact reader.

/** A document the exact reader read, with a way to turn offsets into lines and columns; or why it could not. */
type ExactRead = { readonly doc: Document.Parsed; readonly position: (offset: number) => { line: number; column: number } } | Diagnostic[];

/** The exact reader alone, as loadSpec uses it when the fast reader gives up. */
export function readExact(file: string, text: string, digest = digestOf(text)): LoadedSpec {
  const read = parseExact(file, text);
  // A file that cannot be read has its problems on its first line.
  const first = (code: Diagnostic["code"], message: string): Diagnostic => ({ file, line: 1, column: 1, severity: "error", code, message });
  const fail = (diagnostics: Diagnostic[]): LoadedSpec => ({
    file,
    text,
    digest,
    data: undefined,
    locate: (p) => first(p.code, p.message),
    scalarSource: () => undefined,
    diagnostics,
  });
  if (Array.isArray(read)) return fail(read);
  const { doc, position } = read;
  let data: unknown;
  try {
    // Aliases are expanded into plain data; the cap stops alias bombs.
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const message = (e as Error).message.split("\n")[0]!;
    if (/alias/i.test(message)) {
      return fail([
        first(
          "KFM008",
          `Aliases (\`*name\`) here expand to more than ${MAX_ALIAS_COUNT} times the nodes they name, as in an alias bomb; write the values out.`,
        ),
      ]);
    }
    return fail([first("KFM001", `The YAML cannot be read: ${message.replace(/\.$/, "")}.`)]);
  }
  return {
    file,
    text,
    digest,
    data,
    locate: locator(doc, file, position),
    scalarSource: (path) => {
      const { node, key, rest } = walk(doc.contents, path);
      // A key with no value stands for its null value: not a number's source.
      const found = rest === 0 && node !== key && isScalar(node) && node.type === "PLAIN" && typeof node.source === "string";
      return found && (typeof node.value === "number" || typeof node.value === "boolean") ? node.source : undefined;
    },
    diagnostics: [],
  };
}

/** The exact reader's parse, within the bounds of src/limits.ts: the document, or why it cannot be read. */
function parseExact(file: string, text: string): ExactRead {
  exactReads++;
  const lineCounter = new LineCounter();
  const position = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { line: p.line, column: p.col };
  };
  const at = (code: Diagnostic["code"], message: string, offset: number): Diagnostic => ({
    file,
    ...position(offset),
    severity: "error",
    code,
    message,
  });

  // The bounds (src/limits.ts) come before the work they protect: size, then tokens and
  // flow nesting, counted as the lexer streams them into the parser (which holds at most
  // MAX_YAML_TOKENS of them), then the syntax tree's depth, walked without recursion,
  // before it becomes data.
  if (text.length > MAX_SPEC_BYTES) {
    return [at("KFM008", `The file is larger than the ${MAX_SPEC_BYTES / 1024 / 1024} MiB a spec may be; split it (job files, contract 12.2).`, 0)];
  }
  const tokens: CST.Token[] = [];
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  let count = 0;
  let flow = 0;
  let offset = 0;
  for (const lexeme of new Lexer().lex(text)) {
    if (++count > MAX_YAML_TOKENS) {
      return [
        at("KFM008", `The file has more than ${MAX_YAML_TOKENS} YAML tokens, too many to read it with positions; split it (job files, contract 12.2).`, offset),
      ];
    }
    if (lexeme === "[" || lexeme === "{") {
      if (++flow > MAX_NESTING_DEPTH) {
        return [at("KFM008", `Mappings and sequences are nested more than ${MAX_NESTING_DEPTH} deep here; a spec needs far fewer levels.`, offset)];
      }
    } else if ((lexeme === "]" || lexeme === "}") && flow > 0) flow--;
    // Document start, flow end and scalar markers are not source text.
    if (lexeme !== "\x02" && lexeme !== "\x18" && lexeme !== "\x1f") offset += lexeme.length;
    for (const token of parser.next(lexeme)) tokens.push(token);
  }
  for (const token of parser.end()) tokens.push(token);
  const deep = depthBeyond(tokens, MAX_NESTING_DEPTH);
  if (deep !== null) {
    return [at("KFM008", `Mappings and sequences are nested more than ${MAX_NESTING_DEPTH} deep here; a spec needs far fewer levels.`, deep)];
  }
  const list: Document.Parsed[] = Array.from(new Composer({ prettyErrors: false, uniqueKeys: true, strict: true }).compose(tokens));
  const real = list.filter((d) => d.contents !== null || d.errors.length > 0);
  if (real.length === 0) return [at("KFM004", "The file is empty: a spec holds one `workflow:` or `job:` document.", 0)];
  const diagnostics: Diagnostic[] = [];
  if (real.length > 1) {
    diagnostics.push(at("KFM003", "A spec file holds exactly one YAML document; this one has more (remove the extra `---`).", real[1]!.range[0]));
  }
  const doc = real[0]!;
  // One diagnostic per mistake: an indentation mistake in the spec's words at its own
  // line (src/spec/indent.ts) stands for the reader's errors it causes; otherwise the
  // reader's first error on each line (the rest there follow from it).
  const syntax = doc.errors.filter((e) => e.code !== "DUPLICATE_KEY");
  const indent = syntax.length > 0 ? indentationMistake(text) : null;
  if (indent !== null) diagnostics.push({ file, line: indent.line, column: indent.column, severity: "error", code: "KFM001", message: indent.message });
  const lines = new Set<number>();
  for (const e of doc.errors) {
    if (e.code === "DUPLICATE_KEY") {
      diagnostics.push(at("KFM002", duplicateMessage(text, e.pos[0]), e.pos[0]));
    } else if (indent === null) {
      const d = at("KFM001", yamlMessage(e.message), e.pos[0]);
      if (!lines.has(d.line)) diagnostics.push(d);
      lines.add(d.line);
    }
  }
  return diagnostics.length > 0 ? diagnostics : { doc, position };
}

/** The offset of the first collection nested deeper than `max` in the syntax tree, found without recursion; null when none is. */
function depthBeyond(tokens: readonly CST.Token[], max: number): number | null {
  // Two stacks rather than one of pairs: a large tree is walked without a pair per node.
  const nodes: unknown[] = [...tokens];
  const depths: number[] = tokens.map(() => 0);
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop()!;
    if (node === null || typeof node !== "object") continue;
    const n = node as { type?: string; offset?: number; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    const d = n.type === "block-map" || n.type === "block-seq" || n.type === "flow-collection" ? depth + 1 : depth;
    if (d > max) return n.offset ?? 0;
    if (n.type === "document" || n.type === "block-scalar") {
      nodes.push(n.value);
      depths.push(d);
    }
    if (Array.isArray(n.items)) {
      for (const it of n.items) {
        if (it.key) {
          nodes.push(it.key);
          depths.push(d);
        }
        if (it.value) {
          nodes.push(it.value);
          depths.push(d);
        }
      }
    }
  }
  return null;
}

/** KFM002, naming the key: the duplicate is the plain or quoted scalar at `offset`. */
function duplicateMessage(text: string, offset: number): string {
  const m = /^(?:"((?:[^"\\\n]|\\.){0,200})"|'((?:[^'\n]|''){0,200})'|([^\n:#]{1,200}?))\s*:/.exec(text.slice(offset, offset + 420));
  const key = m === null ? null : (m[1] ?? m[2] ?? m[3] ?? "").trim();
  return key === null || key === ""
    ? "This key appears twice in the same mapping; a spec keeps one of each."
    : `The key \`${key}\` appears twice in the same mapping; a spec keeps one of each (remove one, or merge them).`;
}

function yamlMessage(message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return /[.!?]$/.test(first) ? first : first + ".";
}

function locator(doc: Document.Parsed, file: string, position: (offset: number) => { line: number; column: number }): (p: Problem) => Diagnostic {
  return (p) => {
    const { node, key } = walk(doc.contents, p.at);
    const target = p.atKey && key ? key : (node ?? key);
    const offset = target?.range?.[0] ?? 0;
    return { file, ...position(offset), severity: p.severity, code: p.code, message: p.message };
  };
}

/** The deepest node on `path`, the key node of the last step that exists, and how many steps were left. */
function walk(root: Node | null, path: SpecPath): { node: Node | null; key: Node | null; rest: number } {
  let node: Node | null = root;
  let key: Node | null = null;
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(step));
      if (!pair) return { node, key, rest: path.length - i };
      key = pair.key as Node;
      node = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof step === "number" && step < node.items.length) {
      key = null;
      node = node.items[step] as Node;
    } else {
      return { node, key, rest: path.length - i };
    }
  }
  return { node, key, rest: 0 };
}
