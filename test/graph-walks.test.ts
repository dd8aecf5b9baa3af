/**
 * The backends walk the job graph once rather than once per job (issue 7: 10,000 jobs).
 * Each walk is compared here with the plain per-job definition it replaced, on random
 * graphs whose jobs are listed in any order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Job } from "../src/ir.js";
import { belowAllDone } from "../targets/github-actions/emit.js";
import { layered, okGuards } from "../targets/tekton/emit.js";
import { TEKTON_CONTEXT_TASK } from "../src/names.js";

type Node = Pick<Job, "name" | "dependsOn" | "runWhen" | "approval">;

/** A random acyclic graph: job i may wait for jobs before it in a hidden order; the list is then shuffled. */
const graphs = fc
  .integer({ min: 0, max: 9 })
  .chain((n) =>
    fc.tuple(
      fc.array(fc.tuple(fc.subarray([...Array(n).keys()]), fc.boolean(), fc.integer({ min: 0, max: 3 })), { minLength: n, maxLength: n }),
      fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    ),
  )
  .map(([specs, order]): Node[] => {
    const jobs = specs.map(([deps, continues, kind], i): Node => {
      const dependsOn = deps.filter((d) => d < i).map((d) => `job_${d}`);
      return {
        name: `job_${i}`,
        dependsOn,
        runWhen: continues && dependsOn.length > 0 ? "all_done" : "all_succeeded",
        approval: kind === 0 ? { timeoutSeconds: 60 } : null,
      };
    });
    return order.map((i) => jobs[i]!);
  });

function ancestors(jobs: readonly Node[], name: string): Set<string> {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const seen = new Set<string>();
  const stack = [...byName.get(name)!.dependsOn];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...byName.get(n)!.dependsOn);
  }
  return seen;
}

describe("walks over the job graph agree with their definitions", () => {
  it("layered: every job neither upstream nor downstream of a job has all its parents upstream of it", () => {
    fc.assert(
      fc.property(graphs, (jobs) => {
        const up = new Map(jobs.map((j) => [j.name, ancestors(jobs, j.name)]));
        const pairwise = jobs.every((x) =>
          jobs.every((y) => x === y || up.get(x.name)!.has(y.name) || up.get(y.name)!.has(x.name) || y.dependsOn.every((d) => up.get(x.name)!.has(d))),
        );
        expect(layered(jobs)).toBe(pairwise);
      }),
      { numRuns: 1000 },
    );
  });
  it("layered: a chain in any listing, a diamond; not a chain beside one more job, nor two chains after a fork", () => {
    const job = (name: string, ...dependsOn: string[]) => ({ name, dependsOn });
    const chain = [job("c0"), job("c1", "c0"), job("c2", "c1")];
    expect(layered([chain[2]!, chain[0]!, chain[1]!])).toBe(true);
    expect(layered([job("a"), job("b", "a"), job("c", "a"), job("d", "b", "c"), job("e", "d")])).toBe(true);
    expect(layered([job("a"), job("b")])).toBe(true);
    expect(layered([...chain, job("x", "c0")])).toBe(false);
    expect(layered([job("a"), job("b", "a"), job("c", "a"), job("d", "b"), job("e", "c")])).toBe(false);
    expect(layered([job("a"), job("b", "a"), job("c")])).toBe(false);
  });
  it("below an all_done job: some job upstream continues after failures", () => {
    fc.assert(
      fc.property(graphs, (jobs) => {
        const byName = new Map(jobs.map((j) => [j.name, j]));
        const below = belowAllDone(byName);
        for (const j of jobs) expect(below.has(j.name)).toBe([...ancestors(jobs, j.name)].some((a) => byName.get(a)!.runWhen === "all_done"));
      }),
      { numRuns: 500 },
    );
  });
  it("ok guards: the parents (kfm-context for a root), each approval gate replaced by its own guards, first mention first", () => {
    const reference = (job: Node, byName: ReadonlyMap<string, Node>): string[] => {
      const out = job.dependsOn.length === 0 ? [TEKTON_CONTEXT_TASK] : [];
      for (const d of job.dependsOn) {
        const parent = byName.get(d)!;
        for (const n of parent.approval === null ? [d.replace(/_/g, "-")] : reference(parent, byName)) if (!out.includes(n)) out.push(n);
      }
      return out;
    };
    fc.assert(
      fc.property(graphs, (jobs) => {
        const byName = new Map(jobs.map((j) => [j.name, j]));
        const guards = okGuards(jobs as Job[]);
        for (const j of jobs) expect(guards(j as Job)).toEqual(reference(j, byName));
      }),
      { numRuns: 500 },
    );
  });
});
