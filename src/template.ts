/**
 * Spec strings are Jinja templates (contract 3.3). This reads the part of Jinja the
 * contract needs, and nothing that would mean something different elsewhere:
 * `{{ variable }}`, `{{ params.key }}` / `{{ params['key'] }}`, string literals
 * (`{{ '{{' }}` writes a literal `{{`), `{% raw %}...{% endraw %}`, and
 * `{# comments #}`. Filters, other tags and whitespace control are refused.
 */
import { RUNTIME_VARIABLES, type RuntimeVariable, type Segment, type Template } from "./ir.js";

/** A template as written: text, runtime variables, and parameter references still to resolve. */
export type RawPart = Segment | { readonly param: string };

export type ParseResult = { ok: true; parts: RawPart[] } | { ok: false; code: "KFM209" | "KFM210"; message: string; name?: string };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseTemplate(source: string): ParseResult {
  const parts: RawPart[] = [];
  let text = "";
  let i = 0;
  const flush = (): void => {
    if (text !== "") parts.push({ text });
    text = "";
  };
  while (i < source.length) {
    const open = source.indexOf("{", i);
    if (open === -1 || open === source.length - 1) {
      text += source.slice(i);
      break;
    }
    const kind = source[open + 1];
    if (kind !== "{" && kind !== "%" && kind !== "#") {
      text += source.slice(i, open + 2);
      i = open + 2;
      continue;
    }
    text += source.slice(i, open);
    const closer = kind === "{" ? "}}" : kind === "%" ? "%}" : "#}";
    const close = source.indexOf(closer, open + 2);
    if (close === -1) {
      return fail(
        "KFM210",
        `\`${source.slice(open, open + 2)}\` is not closed by \`${closer}\`; to write it literally use {{ '${source.slice(open, open + 2)}' }}.`,
      );
    }
    const inner = source.slice(open + 2, close);
    i = close + 2;
    if (kind === "#") continue;
    if (inner.startsWith("-") || inner.endsWith("-") || inner.startsWith("+") || inner.endsWith("+")) {
      return fail(
        "KFM210",
        "Jinja whitespace control (`{{-`, `-}}`, `{%-`) is not supported; it would trim text differently on runners that do not use Jinja.",
      );
    }
    const body = inner.trim();
    if (kind === "%") {
      if (body !== "raw")
        return fail(
          "KFM210",
          `The tag \`{% ${body} %}\` is not supported: only {% raw %}...{% endraw %} is, because no other runner evaluates Jinja statements.`,
        );
      const end = /\{%\s*endraw\s*%\}/g;
      end.lastIndex = i;
      const m = end.exec(source);
      if (m === null) return fail("KFM210", "`{% raw %}` is not closed by `{% endraw %}`.");
      text += source.slice(i, m.index);
      i = m.index + m[0].length;
      continue;
    }
    const literal = /^'((?:[^'\\]|\\.)*)'$|^"((?:[^"\\]|\\.)*)"$/.exec(body);
    if (literal !== null) {
      text += unescapeJinjaString(literal[1] ?? literal[2] ?? "");
      continue;
    }
    const param = /^params\.([A-Za-z_][A-Za-z0-9_]*)$|^params\[\s*'([^'\\]*)'\s*\]$|^params\[\s*"([^"\\]*)"\s*\]$/.exec(body);
    if (param !== null) {
      flush();
      parts.push({ param: param[1] ?? param[2] ?? param[3]! });
      continue;
    }
    if (IDENT.test(body)) {
      if ((RUNTIME_VARIABLES as readonly string[]).includes(body)) {
        flush();
        parts.push({ variable: body as RuntimeVariable });
        continue;
      }
      return { ok: false, code: "KFM209", message: "", name: body };
    }
    return fail(
      "KFM210",
      `\`{{ ${body} }}\` is not supported: a template may only name a variable (${RUNTIME_VARIABLES.join(", ")}, params.<key>) or a quoted string; filters and expressions render differently outside Airflow.`,
    );
  }
  flush();
  return { ok: true, parts: mergeText(parts) };
}

function fail(code: "KFM209" | "KFM210", message: string): ParseResult {
  return { ok: false, code, message };
}

function unescapeJinjaString(s: string): string {
  return s.replace(/\\(.)/gs, (_, c: string) => ({ n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' })[c] ?? "\\" + c);
}

export function mergeText<T extends RawPart>(parts: readonly T[]): T[] {
  const out: T[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if ("text" in p && p.text === "") continue;
    if (last !== undefined && "text" in last && "text" in p) out[out.length - 1] = { text: last.text + p.text } as T;
    else out.push(p);
  }
  return out;
}

/** A template with no runtime part, as the plain string it always renders to. */
export function constantText(t: Template): string | null {
  if (t.length === 0) return "";
  return t.length === 1 && "text" in t[0]! ? t[0].text : null;
}

export function literal(text: string): Template {
  return text === "" ? [] : [{ text }];
}

/** Writes a template back in the spec's own Jinja form (for messages and `explain`). */
export function showTemplate(t: Template): string {
  return t.map((s) => ("text" in s ? s.text.replace(/\{([{%#])/g, "{{ '{$1' }}") : `{{ ${s.variable} }}`)).join("");
}
