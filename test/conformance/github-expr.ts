/**
 * Evaluates GitHub Actions expressions with GitHub's own expression engine,
 * @actions/expressions (the lexer, parser and evaluator behind @actions/workflow-parser,
 * which depends on it), so that the expressions the workflow parser read from a
 * generated file can be compared with what the spec means.
 *
 * The contexts (`needs`, `steps`, `secrets`) are given by the caller. The job status
 * functions (`success()`, `failure()`, `cancelled()`, `always()`) are the runner's, not
 * the engine's: they are given per scenario, with the values GitHub's documentation
 * states for a job ("Status check functions": `success()` is true when no job it
 * depends on, directly or not, failed or was cancelled, actions/runner#2205 for
 * ancestors; `failure()` when one failed; `cancelled()` when the run was cancelled;
 * `always()` always).
 */
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";

export type Plain = string | number | boolean | null | { readonly [k: string]: Plain } | readonly Plain[];

function toData(v: Plain): data.ExpressionData {
  if (v === null) return new data.Null();
  if (typeof v === "string") return new data.StringData(v);
  if (typeof v === "number") return new data.NumberData(v);
  if (typeof v === "boolean") return new data.BooleanData(v);
  if (Array.isArray(v)) {
    const a = new data.Array();
    for (const x of v) a.add(toData(x));
    return a;
  }
  return new data.Dictionary(...Object.entries(v as Record<string, Plain>).map(([key, value]) => ({ key, value: toData(value) })));
}

export interface JobStatus {
  readonly success: boolean;
  readonly failure: boolean;
  readonly cancelled: boolean;
}

const CONTEXTS = ["github", "inputs", "needs", "steps", "secrets", "env", "vars", "job", "jobs", "runner", "strategy", "matrix"];

/** Evaluates one expression (the text inside `${{ }}`) and returns the engine's value as the runner stringifies it. */
export function evaluate(expression: string, contexts: Record<string, Plain>, status: JobStatus = SUCCEEDING): string {
  return run(expression, contexts, status).coerceString();
}

const SUCCEEDING: JobStatus = { success: true, failure: false, cancelled: false };

function run(expression: string, contexts: Record<string, Plain>, status: JobStatus): data.ExpressionData {
  const fn = (name: string, value: boolean) => ({ name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value) });
  const functions = [fn("success", status.success), fn("failure", status.failure), fn("cancelled", status.cancelled), fn("always", true)];
  const tree = new Parser(new Lexer(expression).lex().tokens, CONTEXTS, functions).parse();
  return new Evaluator(tree, toData(contexts as Plain) as data.Dictionary, new Map(functions.map((f) => [f.name, f]))).evaluate();
}

/** A value the workflow parser read: a plain string, or `{expr}` for an expression (parse.mjs). */
export function valueOf(v: unknown, contexts: Record<string, Plain>, status?: JobStatus): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v !== null && typeof v === "object" && typeof (v as { expr?: unknown }).expr === "string") {
    try {
      return evaluate((v as { expr: string }).expr, contexts, status);
    } catch (e) {
      return `<expression error: ${e instanceof Error ? e.message : String(e)}>`;
    }
  }
  return undefined;
}

/** Whether an `if:` expression lets the job run: the engine's value, by the runner's truthiness. */
export function evaluateBool(expression: string, contexts: Record<string, Plain>, status: JobStatus): boolean {
  const v = run(expression, contexts, status);
  switch (v.kind) {
    case data.Kind.Boolean:
      return (v as data.BooleanData).value;
    case data.Kind.Null:
      return false;
    case data.Kind.Number:
      return (v as data.NumberData).value !== 0 && !Number.isNaN((v as data.NumberData).value);
    case data.Kind.String:
      return (v as data.StringData).value !== "";
    default:
      return true;
  }
}
