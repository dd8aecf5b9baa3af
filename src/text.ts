/**
 * What text survives: one rule for every string of a spec (keys and values, every
 * field, every target), checked before anything is lowered, so a spec is refused the
 * same way whichever target it is compiled for.
 *
 * The readers on the way, and what each cannot carry:
 * - YAML readers (PyYAML, the `yaml` package, go-yaml v2 under `sigs.k8s.io/yaml`, which
 *   kubectl, the argo CLI, the controllers and the API server use) refuse raw characters
 *   outside YAML's printable set: C0 controls other than TAB, LF and CR, DEL, C1 controls
 *   other than NEL, surrogates, U+FFFE and U+FFFF (go.yaml.in/yaml/v2 readerc.go
 *   "control characters are not allowed"; PyYAML reader.py NON_PRINTABLE). Escaped in a
 *   double-quoted scalar, each reads back, and src/yaml.ts escapes them, except:
 * - a lone surrogate: go-yaml refuses even the escape `\ud800` ("found invalid Unicode
 *   character escape code", scannerc.go), and UTF-8 cannot encode it (Go's JSON and
 *   Python's `str.encode` replace or refuse it);
 * - server-side apply: kubectl sends the object as JSON from Go's encoding/json, which
 *   escapes C0 controls, U+2028 and U+2029 but writes DEL, C1 and U+FFFE/U+FFFF raw, and
 *   the API server reads that body with `sigs.k8s.io/yaml` (apiserver handlers/patch.go,
 *   applyPatcher), which then refuses DEL, C1 and U+FFFE/U+FFFF, and reads a raw NEL
 *   (U+0085) inside a quoted scalar as a line break folded to a space;
 * - a process: no argument or environment variable (C strings) can hold NUL.
 * Checked with the real readers: conformance/go/k8syaml (sigs.k8s.io/yaml v1.6.0,
 * server-side apply reproduced), PyYAML and the `yaml` package in the property tests.
 * Everything else (other C0 controls, BOM, U+2028, noncharacters such as U+FDD0 or
 * U+1FFFE) every reader carries when escaped, and the writers escape it.
 */
import { problem, type Problem } from "./diagnostics.js";
import type { SpecPath } from "./ir.js";

/** Characters no path to a runner carries (the reasons above); one per match. */
const UNCARRIED = /[\u0000\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why the character `c` cannot be carried, as the end of a sentence. */
function reason(c: string): string {
  const code = c.charCodeAt(0);
  if (code === 0) return "no process argument or environment variable can hold NUL";
  if (code >= 0xd800 && code <= 0xdfff)
    return "it is half of a UTF-16 surrogate pair, not a character, so UTF-8 cannot encode it and the Kubernetes YAML reader refuses even its escape";
  if (code === 0x85)
    return "Kubernetes server-side apply would turn it into a space (kubectl sends it raw in JSON, and the API server's YAML reader takes a raw U+0085 as a line break)";
  return 'Kubernetes server-side apply refuses it (kubectl sends it raw in JSON, and the API server\'s YAML reader does not allow it raw: "control characters are not allowed")';
}

/** `U+007F (DEL)` for a character (a lone surrogate is one UTF-16 unit). */
function codePoint(c: string): string {
  const code = c.charCodeAt(0);
  const name =
    code === 0 ? "NUL" : code === 0x7f ? "DEL" : code === 0x85 ? "NEL" : code < 0xa0 ? "a C1 control" : code >= 0xfffe ? "a noncharacter" : "a lone surrogate";
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")} (${name})`;
}

/** The first character of `s` no reader carries, as a sentence, or null. */
export function uncarriedText(s: string): string | null {
  const m = UNCARRIED.exec(s);
  if (m === null) return null;
  // Characters, not UTF-16 units, so a position reads the same in any editor that counts code points.
  const at = [...s.slice(0, m.index)].length + 1;
  return `This text holds ${codePoint(m[0])} at character ${at}, which no target can pass on: ${reason(m[0])}. Remove the character; to pass arbitrary bytes, encode them (base64, for example) and decode them in the container.`;
}

/**
 * Every string of `data` (keys and values) that holds a character no reader carries,
 * one problem each, at the string (a key's problem points at the key). Walked without
 * recursion: specs can nest deeply.
 */
export function checkText(data: unknown, at: SpecPath = []): Problem[] {
  const problems: Problem[] = [];
  const stack: Array<[unknown, SpecPath]> = [[data, at]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      const message = uncarriedText(v);
      if (message !== null) problems.push(problem("KFM240", message, path));
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], [...path, i]]);
    } else if (typeof v === "object" && v !== null) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        const message = uncarriedText(k);
        if (message !== null) problems.push(problem("KFM240", message, [...path, k], true));
        stack.push([(v as Record<string, unknown>)[k], [...path, k]]);
      }
    }
  }
  return problems;
}

/** `word` as one POSIX shell word: as is when it holds only characters no shell treats specially, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
