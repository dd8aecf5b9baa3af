/**
 * Driving the two Python engines of the execution suite, shared by their own tests and
 * by the contract's portability test (§14.2, portability.execution.test.ts): Airflow's
 * `dag.test()` harness takes a batch of cases per process (each process imports Airflow
 * and copies its metadata database once), Dagster's `execute_in_process` harness one
 * case per process. A harness that fails writes `{ "error": ... }` in place of
 * observed.json, so one broken case is reported by its own test, not by all of them.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Observed } from "../../src/execution.js";
import { CACHE, CONFORMANCE } from "../conformance/runners.js";
import { readObserved, runHarness } from "./harness.js";

export const AIRFLOW_PYTHON = join(CACHE, "venv", "bin", "python");
export const AIRFLOW_HARNESS = join(CONFORMANCE, "execution", "airflow", "run.py");
export const DAGSTER_PYTHON = join(CACHE, "dagster", "bin", "python");
export const DAGSTER_HARNESS = join(CONFORMANCE, "execution", "dagster", "run.py");

/** One Airflow case: the DAG file, its scenario.json, where observed.json goes, and a weight for sharding (seconds it may take). */
export interface AirflowCase {
  readonly dag: string;
  readonly scenario: string;
  readonly out: string;
  readonly weight: number;
}

/** Runs `tasks` with at most `n` at once, keeping their order in the result. */
export async function pool<T>(tasks: readonly (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

/**
 * Runs Airflow cases in `processes` harness processes, the heaviest first onto the
 * least loaded shard. Returns the harnesses' logs and the error of every process that
 * failed as a whole.
 */
export async function runAirflowCases(
  batch: readonly AirflowCase[],
  opts: { readonly processes: number; readonly dir: string },
): Promise<{ log: string; errors: string[] }> {
  const shards: AirflowCase[][] = Array.from({ length: opts.processes }, () => []);
  const load = (shard: readonly AirflowCase[]) => shard.reduce((n, c) => n + c.weight, 0);
  for (const c of [...batch].sort((a, b) => b.weight - a.weight)) shards.reduce((min, sh) => (load(sh) < load(min) ? sh : min)).push(c);
  const errors: string[] = [];
  const logs = await Promise.all(
    shards
      .filter((shard) => shard.length > 0)
      .map(async (shard, i) => {
        const casesPath = join(opts.dir, `cases-${i + 1}.json`);
        writeFileSync(
          casesPath,
          JSON.stringify(
            shard.map(({ dag, scenario, out }) => ({ dag, scenario, out })),
            null,
            2,
          ),
        );
        try {
          return (await runHarness(AIRFLOW_PYTHON, [AIRFLOW_HARNESS, casesPath], { env: { KFM_CONFORMANCE_CACHE: CACHE }, timeoutSeconds: 1500 })).stderr;
        } catch (e) {
          errors.push((e as Error).message);
          return "";
        }
      }),
  );
  return { log: logs.join("\n"), errors };
}

/** Runs one Dagster case (a generated module and its scenario.json); a failure is written into `observedPath` as `{ error }`. */
export async function runDagsterCase(module: string, scenario: string, observedPath: string): Promise<void> {
  try {
    await runHarness(DAGSTER_PYTHON, [DAGSTER_HARNESS, module, scenario, observedPath], { timeoutSeconds: 600 });
  } catch (e) {
    writeFileSync(observedPath, JSON.stringify({ error: (e as Error).message }));
  }
}

/** The harness's observed.json, or the error it wrote in its place (thrown). */
export function observedOf(path: string): Observed {
  const doc = JSON.parse(readFileSync(path, "utf8")) as { error?: string };
  if (doc.error !== undefined) throw new Error(`the harness failed on this case:\n${doc.error}`);
  return readObserved(path);
}
