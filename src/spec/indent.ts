/**
 * Indentation mistakes, said in the spec's words. When a key is indented one space too
 * many or too few, the YAML reader reports what it sees where the structure breaks,
 * which is often the line above ("Nested mappings are not allowed in compact
 * mappings" at the value of the previous key), and several errors for one mistake.
 * This reads the block structure of the lines itself, only once the reader has failed:
 * each key or list item must line up with a key or item above it at the same level, or
 * be nested under a key that has no value on its line. The first line that does neither
 * is the mistake, with the keys it could have meant to line up with.
 *
 * It reads lines, not YAML: lines inside block scalars (`|`, `>`), multi-line flow
 * collections and quoted scalars are skipped, and a line that is not a key or list item
 * (a plain scalar's continuation) is never the mistake.
 */

export interface IndentMistake {
  /** 1-based line and column of the key or `-` that is out of line. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

interface Level {
  readonly indent: number;
  readonly line: number;
  /** What stands at this indentation on that line: a key or a list item. */
  readonly what: string;
}

/** A key on a line: quoted, or plain (a `#` after a space would start a comment, and `: ` ends it). */
const KEY = /^((?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|(?:[^\s#'"{[\]}&*!|>%@`,?:-]|[?:-](?=\S))(?:[^\s:]|:(?=\S)|[ \t]+(?=[^\s#]))*?)):(?:\s|$)/;

/** The first indentation mistake in `text`, or null when its lines line up. */
export function indentationMistake(text: string): IndentMistake | null {
  const lines = text.split(/\r?\n/);
  const stack: Level[] = [];
  // The indentation a nested block must exceed (the key without a value above), or null.
  let opener: Level | null = null;
  let blockScalarAbove = -1; // lines indented more than this belong to a block scalar
  let flowDepth = 0;
  let openQuote: '"' | "'" | null = null;
  // A line of text where a key was expected (`name w` under `workflow:`), if any yet.
  let bare: { line: number; indent: number; text: string; under: Level } | null = null;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const indent = raw.length - raw.trimStart().length;
    const body = raw.trim();
    if (blockScalarAbove >= 0) {
      if (body === "" || indent > blockScalarAbove) continue;
      blockScalarAbove = -1;
    }
    if (openQuote !== null || flowDepth > 0) {
      ({ flowDepth, openQuote } = scan(body, flowDepth, openQuote));
      continue;
    }
    if (body === "" || body.startsWith("#") || body === "---" || body === "..." || body.startsWith("%")) continue;
    if (raw.slice(0, indent).includes("\t")) return null; // the reader says it: tabs are not indentation
    // The levels on this line: each `- ` opens a list item, then perhaps a key.
    const levels: Level[] = [];
    let col = indent;
    let rest = body;
    while (/^-(\s|$)/.test(rest)) {
      levels.push({ indent: col, line: n + 1, what: "a list item `-`" });
      const after = rest.slice(1);
      const pad = after.length - after.trimStart().length;
      col += 1 + pad;
      rest = after.trimStart();
    }
    const key = KEY.exec(rest);
    if (key !== null) levels.push({ indent: col, line: n + 1, what: `\`${key[1]!.replace(/^["']|["']$/g, "")}\`` });
    if (levels.length === 0) {
      // A value on a line of its own (a plain scalar's continuation): never the mistake
      // itself, but where a key was expected under `key:` it is a key without its `:`
      // when a key follows at its indentation.
      if (opener !== null && indent > opener.indent && /^[A-Za-z_][\w-]*\s+\S/.test(rest)) bare = { line: n + 1, indent, text: rest, under: opener };
      ({ flowDepth, openQuote } = scan(rest, 0, null));
      opener = null;
      continue;
    }
    const head = levels[0]!;
    if (
      opener !== null &&
      (head.indent > opener.indent || (head.indent === opener.indent && head.what.startsWith("a list") && !opener.what.startsWith("a list")))
    ) {
      // Nested under the key above (a list may stand at its key's own indentation).
    } else {
      const last = stack[stack.length - 1];
      const before = [...stack];
      while (stack.length > 0 && stack[stack.length - 1]!.indent > head.indent) stack.pop();
      const top = stack[stack.length - 1];
      if (top === undefined && last === undefined) {
        // The document's first line sets the top level.
      } else if (top === undefined || top.indent !== head.indent) {
        if (bare !== null && bare.indent === head.indent) {
          const word = bare.text.split(/\s/)[0]!;
          return {
            line: bare.line,
            column: bare.indent + 1,
            message: `\`${bare.text.length > 40 ? bare.text.slice(0, 40) + "..." : bare.text}\` stands where ${bare.under.what} on line ${bare.under.line} expects keys, but it has no \`:\`; write \`${word}: ...\` (a key, a colon and a space before the value).`,
          };
        }
        return { line: n + 1, column: head.indent + 1, message: describe(head, top === last ? last : undefined, before) };
      } else stack.pop();
    }
    stack.push(...levels);
    // What follows the last key on this line decides whether the next lines nest under it.
    const value = key === null ? rest : rest.slice(key[0].length).trim();
    const valueText = value.replace(/^(?:[&!][^\s]*\s*)+/, "");
    opener = /^(?:#.*)?$/.test(valueText) ? levels[levels.length - 1]! : null;
    if (/^[|>][-+0-9]*(?:\s+#.*)?$/.test(valueText)) {
      blockScalarAbove = indent;
      opener = null;
    } else ({ flowDepth, openQuote } = scan(valueText, 0, null));
  }
  return null;
}

function describe(head: Level, above: Level | undefined, stack: readonly Level[]): string {
  const spaces = (k: number) => `${k} space${k === 1 ? "" : "s"}`;
  if (above !== undefined && above.indent < head.indent) {
    // Deeper than the line above, which has its value on its line.
    return `${cap(head.what)} is indented ${spaces(head.indent)}, more than ${above.what} on line ${above.line}, which has a value on its line, so nothing can be nested under it. Indent it ${spaces(above.indent)} to line up with ${above.what}, or move that value onto lines of its own.`;
  }
  const options = [...stack]
    .reverse()
    .filter((l, i, all) => all.findIndex((o) => o.indent === l.indent) === i)
    .slice(0, 3)
    .map((l) => `${l.what} on line ${l.line} at ${spaces(l.indent)}`)
    .join(", ");
  return `${cap(head.what)} is indented ${spaces(head.indent)}, which lines up with no key or list item above it${options === "" ? "" : ` (${options})`}; indent it as the one it belongs beside.`;
}

const cap = (s: string) => (s.startsWith("a ") ? "A " + s.slice(2) : s);

/**
 * Flow brackets and quotes left open at the end of `text`, outside quotes and comments.
 * A value opens a flow collection or a quoted scalar only with its first character; in
 * a plain scalar (`({`, `it's`) brackets and quotes are text.
 */
function scan(text: string, depth: number, quote: '"' | "'" | null): { flowDepth: number; openQuote: '"' | "'" | null } {
  if (depth === 0 && quote === null && !/^["'[{]/.test(text)) return { flowDepth: 0, openQuote: null };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === '"') {
      if (c === "\\") i++;
      else if (c === '"') quote = null;
    } else if (quote === "'") {
      if (c === "'" && text[i + 1] === "'") i++;
      else if (c === "'") quote = null;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) break;
    else if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) quote = c;
    else if (depth === 0)
      break; // a quoted scalar ended; what follows on its line is not a value
    else if (c === "[" || c === "{") depth++;
    else if ((c === "]" || c === "}") && depth > 0) depth--;
  }
  return { flowDepth: depth, openQuote: quote };
}
