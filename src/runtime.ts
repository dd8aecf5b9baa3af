/**
 * The reference rendering of runtime values: what every runner must produce for a
 * given run. Backends do not call this (they make their runner compute it); tests
 * and the conformance suite compare what runners render with it.
 */
import { createHash } from "node:crypto";
import type { Template } from "./ir.js";

export interface RunContext {
  /** The logical date, UTC milliseconds. */
  readonly logicalMs: number;
  /** 1-based attempt of the job. */
  readonly attempt: number;
  readonly runTokenSeed: string;
  /** The schedule's constant period, for prev/next. */
  readonly periodSeconds: number | null;
}

/** `YYYY-MM-DDTHH:MM:SS+00:00`, Airflow's `ts`. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + "+00:00";
}

export function runToken(seed: string, logicalMs: number): string {
  return createHash("sha256")
    .update(seed + isoUtc(logicalMs))
    .digest("hex")
    .slice(0, 32);
}

export function renderTemplate(t: Template, run: RunContext): string {
  const shifted = (sign: number): string => {
    if (run.periodSeconds === null) throw new Error("prev/next need a constant period");
    return isoUtc(run.logicalMs + sign * run.periodSeconds * 1000);
  };
  return t
    .map((s) => {
      if ("text" in s) return s.text;
      switch (s.variable) {
        case "ds":
          return isoUtc(run.logicalMs).slice(0, 10);
        case "ts":
        case "execution_date":
          return isoUtc(run.logicalMs);
        case "prev_execution_date":
          return shifted(-1);
        case "next_execution_date":
          return shifted(1);
        case "attempt":
          return String(run.attempt);
        case "run_token":
          return runToken(run.runTokenSeed, run.logicalMs);
      }
    })
    .join("");
}
