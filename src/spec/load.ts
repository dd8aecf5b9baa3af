/**
 * Reading a spec file: YAML with source positions kept, so every later problem can
 * point at the offending key or value. Reading never throws for bad input; it
 * returns diagnostics.
 */
import { createHash } from "node:crypto";
import { Composer, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, type CST, type Document, type Node } from "yaml";
import { type Diagnostic, type Problem } from "../diagnostics.js";
import { MAX_ALIAS_COUNT, MAX_NESTING_DEPTH, MAX_SPEC_BYTES, MAX_YAML_TOKENS } from "../limits.js";
import type { SpecPath } from "../ir.js";

export interface LoadedSpec {
  readonly file: string;
  readonly text: string;
  readonly digest: string;
  /** The document as plain data; undefined when it could not be read. */
  readonly data: unknown;
  /** Turns spec paths into positions. */
  readonly locate: (p: Problem) => Diagnostic;
  /** The source text of the plain scalar at a path (`0755` rather than 755). */
  readonly scalarSource: (path: SpecPath) => string | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

export function digestOf(text: string | Uint8Array): string {
  return "sha256:" + createHash("sha256").update(text).digest("hex");
}

/** Parses `text` as the spec file `file` (the name is only used in diagnostics and headers). */
export function loadSpec(file: string, text: string): LoadedSpec {
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
  const digest = digestOf(text);
  const fail = (diagnostics: Diagnostic[]): LoadedSpec => ({
    file,
    text,
    digest,
    data: undefined,
    locate: (p) => at(p.code, p.message, 0),
    scalarSource: () => undefined,
    diagnostics,
  });

  // The bounds (src/limits.ts) come before the work they protect: size, then a streaming
  // pass of the lexer (tokens, flow nesting), then the syntax tree's depth, walked
  // without recursion, before it becomes data.
  if (text.length > MAX_SPEC_BYTES) {
    return fail([at("KFM008", `The file is larger than the ${MAX_SPEC_BYTES / 1024 / 1024} MiB a spec may be; split it (job files, contract 12.2).`, 0)]);
  }
  const lexed = lexBounds(text);
  if (lexed !== null) return fail([at("KFM008", lexed.message, lexed.offset)]);
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deep = depthBeyond(tokens, MAX_NESTING_DEPTH);
  if (deep !== null) {
    return fail([at("KFM008", `Mappings and sequences are nested more than ${MAX_NESTING_DEPTH} deep here; a spec needs far fewer levels.`, deep)]);
  }
  const list: Document.Parsed[] = Array.from(new Composer({ prettyErrors: false, uniqueKeys: true, strict: true }).compose(tokens));
  const real = list.filter((d) => d.contents !== null || d.errors.length > 0);
  if (real.length === 0) return fail([at("KFM004", "The file is empty: a spec holds one `workflow:` or `job:` document.", 0)]);
  const diagnostics: Diagnostic[] = [];
  if (real.length > 1) {
    diagnostics.push(at("KFM003", "A spec file holds exactly one YAML document; this one has more (remove the extra `---`).", real[1]!.range[0]));
  }
  const doc = real[0]!;
  for (const e of doc.errors) {
    if (e.code === "DUPLICATE_KEY") {
      diagnostics.push(at("KFM002", "This key appears twice in the same mapping; a spec keeps one of each.", e.pos[0]));
    } else {
      diagnostics.push(at("KFM001", yamlMessage(e.message), e.pos[0]));
    }
  }
  if (diagnostics.length > 0) return fail(diagnostics);

  let data: unknown;
  try {
    // Aliases are expanded into plain data; the cap stops alias bombs.
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const message = (e as Error).message.split("\n")[0]!;
    if (/alias/i.test(message)) {
      return fail([
        at(
          "KFM008",
          `Aliases (\`*name\`) here expand to more than ${MAX_ALIAS_COUNT} times the nodes they name, as in an alias bomb; write the values out.`,
          0,
        ),
      ]);
    }
    return fail([at("KFM001", `The YAML cannot be read: ${message.replace(/\.$/, "")}.`, 0)]);
  }
  return {
    file,
    text,
    digest,
    data,
    locate: locator(doc, file, position),
    scalarSource: (path) => {
      const { node } = walk(doc.contents, path);
      return isScalar(node) && typeof node.source === "string" && node.type === "PLAIN" ? node.source : undefined;
    },
    diagnostics: [],
  };
}

/** The first bound the lexer's token stream breaks: too many tokens, or flow collections nested too deep. */
function lexBounds(text: string): { message: string; offset: number } | null {
  let count = 0;
  let flow = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (++count > MAX_YAML_TOKENS) {
      return { message: `The file has more than ${MAX_YAML_TOKENS} YAML tokens (a 1,000-job workflow has about 100,000); split it.`, offset };
    }
    if (token === "[" || token === "{") {
      if (++flow > MAX_NESTING_DEPTH) {
        return { message: `Mappings and sequences are nested more than ${MAX_NESTING_DEPTH} deep here; a spec needs far fewer levels.`, offset };
      }
    } else if ((token === "]" || token === "}") && flow > 0) flow--;
    // Document start, flow end and scalar markers are not source text.
    if (token !== "\x02" && token !== "\x18" && token !== "\x1f") offset += token.length;
  }
  return null;
}

/** The offset of the first collection nested deeper than `max` in the syntax tree, found without recursion; null when none is. */
function depthBeyond(tokens: readonly CST.Token[], max: number): number | null {
  const stack: [unknown, number][] = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    const n = node as { type?: string; offset?: number; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    const d = n.type === "block-map" || n.type === "block-seq" || n.type === "flow-collection" ? depth + 1 : depth;
    if (d > max) return n.offset ?? 0;
    if (n.type === "document" || n.type === "block-scalar") stack.push([n.value, d]);
    if (Array.isArray(n.items)) {
      for (const it of n.items) {
        if (it.key) stack.push([it.key, d]);
        if (it.value) stack.push([it.value, d]);
      }
    }
  }
  return null;
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

/** The deepest node on `path`, and the key node of the last step that exists. */
function walk(root: Node | null, path: SpecPath): { node: Node | null; key: Node | null } {
  let node: Node | null = root;
  let key: Node | null = null;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(step));
      if (!pair) return { node, key };
      key = pair.key as Node;
      node = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof step === "number" && step < node.items.length) {
      key = null;
      node = node.items[step] as Node;
    } else {
      return { node, key };
    }
  }
  return { node, key };
}
