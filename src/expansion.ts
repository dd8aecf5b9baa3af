/**
 * What templates expand to, counted before anything is built (src/limits.ts, "Output
 * bounds"): a `{{ params.p }}` puts a whole parameter into a value, so sizes are added up
 * from the parsed parts and their multiplicity, and a value or a file that would be too
 * large is refused before its text exists.
 */
import { STANDARD_ENV, type RuntimeVariable, type Segment, type StandardVariable, type Template, type Workflow } from "./ir.js";

/**
 * The length of each variable's value at run time (`Segment` in src/ir.ts): `ds` is
 * `YYYY-MM-DD`, the other dates `YYYY-MM-DDTHH:MM:SS+00:00`, the run token 32 hex digits,
 * the attempt at least one digit.
 */
export const VARIABLE_CHARS: Readonly<Record<RuntimeVariable | StandardVariable, number>> = {
  ds: 10,
  ts: 25,
  execution_date: 25,
  prev_execution_date: 25,
  next_execution_date: 25,
  attempt: 1,
  run_token: 32,
};

/** The length of a template's value at run time, in UTF-16 code units, without building it. */
export function templateChars(parts: readonly Segment[]): number {
  let n = 0;
  for (const p of parts) n += "text" in p ? p.text.length : VARIABLE_CHARS[p.variable];
  return n;
}

/** The values a spec wrote: every job's command, args and env values (not the standard variables the compiler adds). */
export function* specTemplates(ir: Workflow): Generator<Template> {
  const standard = new Set<string>(STANDARD_ENV);
  for (const job of ir.jobs) {
    if (job.command !== null) yield* job.command;
    if (job.args !== null) yield* job.args;
    for (const e of job.env) if ("value" in e && !standard.has(e.name)) yield e.value;
  }
}

/**
 * A lower bound on the bytes a target writes for the spec's values: every text at least
 * as `textBytes` says (by default its UTF-8 bytes: escaping only adds), every runtime
 * variable as `variableBytes` says the target writes it. Targets build `minimumBytes` on it, so a file certain to be
 * over MAX_OUTPUT_BYTES is refused before it is built.
 */
export function leastTemplateBytes(
  ir: Workflow,
  variableBytes: (v: RuntimeVariable | StandardVariable) => number,
  textBytes: (text: string) => number = (text) => Buffer.byteLength(text),
): number {
  const cache = new Map<string, number>();
  const cost = (v: RuntimeVariable | StandardVariable): number => {
    let c = cache.get(v);
    if (c === undefined) cache.set(v, (c = variableBytes(v)));
    return c;
  };
  let n = 0;
  for (const t of specTemplates(ir)) for (const s of t) n += "text" in s ? textBytes(s.text) : cost(s.variable);
  return n;
}
