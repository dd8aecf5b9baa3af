/**
 * Reading a spec file: YAML with source positions kept, so every later problem can
 * point at the offending key or value. Reading never throws for bad input; it
 * returns diagnostics.
 */
import { createHash } from "node:crypto";
import YAML, { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from "yaml";
import { problem, type Diagnostic, type Problem } from "../diagnostics.js";
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
  const docs = YAML.parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
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

  const list = Array.isArray(docs) ? docs : [docs];
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
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return fail([at("KFM001", `The YAML cannot be read: ${(e as Error).message.split("\n")[0]}.`, 0)]);
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
