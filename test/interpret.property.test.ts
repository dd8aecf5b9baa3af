import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/compile.js";
import type { Decision, Outcome, Scenario } from "../src/execution.js";
import { retryWait, type Workflow } from "../src/ir.js";
import { NeverEnds, byteOrder, interpretTimed } from "../src/interpret.js";
import { propertyParams, specYaml } from "./hostile/arbitraries.js";
import { workflowSpec } from "./hostile/random-spec.js";

// The interpreter simulates a run; these are the README's meanings stated as properties of
// any finished trace, checked on random workflows (test/hostile/random-spec.ts) and random
// scenarios, so a simulation step that breaks one of them is caught whatever spec shows it.

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Outcome>("succeed") },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 255 }).map((n) => `fail:${n}` as Outcome) },
  { weight: 1, arbitrary: fc.constant<Outcome>("hang") },
  { weight: 1, arbitrary: fc.constant<Outcome>("no-start") },
);

function scenarioFor(ir: Workflow): fc.Arbitrary<Scenario> {
  const attempts = Object.fromEntries(
    ir.jobs.filter((j) => j.approval === null).map((j) => [j.name, fc.array(outcome, { maxLength: j.retry.maxAttempts })] as const),
  );
  const gates = Object.fromEntries(
    ir.jobs.filter((j) => j.approval !== null).map((j) => [j.name, fc.constantFrom<Decision>("approve", "reject", "none")] as const),
  );
  return fc
    .record({ attempts: fc.record(attempts), gates: fc.record(gates) })
    .map((s) => ({ name: "random", description: "", logicalDate: "2024-03-10T02:00:00+00:00", ...s }));
}

const END_OF = { succeed: "succeeded", hang: "timed-out", "no-start": "did-not-start" } as const;

describe("the interpreter on random workflows and scenarios", () => {
  it("gives traces that hold the README's meanings", () => {
    const tally = { traces: 0, neverEnds: 0, timedOut: 0, failed: 0 };
    const valid = workflowSpec
      .map((doc) => analyze("random.yaml", specYaml(doc)).ir)
      .filter((ir): ir is Workflow => ir !== null)
      // Random specs continue after failures only without prerequisites (KFM216): let any job
      // with dependencies continue, which the interpreter must read the same way.
      .chain((ir) =>
        fc
          .array(fc.boolean(), { minLength: ir.jobs.length, maxLength: ir.jobs.length })
          .map((flip): Workflow => ({ ...ir, jobs: ir.jobs.map((j, i) => (flip[i] && j.dependsOn.length > 0 ? { ...j, runWhen: "all_done" } : j)) })),
      )
      .chain((ir) => fc.tuple(fc.constant(ir), scenarioFor(ir)));
    fc.assert(
      fc.property(valid, ([ir, scenario]) => {
        let result;
        try {
          result = interpretTimed(ir, scenario);
        } catch (e) {
          if (!(e instanceof NeverEnds)) throw e;
          tally.neverEnds++;
          // Only an unbounded wait never ends: a hang without a job timeout, or a gate
          // without a timeout left undecided, in a run without a timeout.
          expect(ir.timeoutSeconds).toBeNull();
          const unbounded =
            ir.jobs.some((j) => j.approval === null && j.timeoutSeconds === null && (scenario.attempts?.[j.name] ?? []).includes("hang")) ||
            ir.jobs.some((j) => j.approval?.timeoutSeconds === null && scenario.gates?.[j.name] === "none");
          expect(unbounded).toBe(true);
          return;
        }
        const { trace, timeline } = result;
        tally.traces++;
        const deadline = ir.timeoutSeconds ?? Infinity;
        const byName = new Map(ir.jobs.map((j) => [j.name, j]));
        expect(Object.keys(trace.jobs)).toEqual(ir.jobs.map((j) => j.name));
        // When a job or gate was over: its last attempt's end, the gate's end, or for one that
        // never started, when its own dependencies were over.
        const finished = (name: string): number => {
          const j = byName.get(name)!;
          const over = j.approval !== null ? (timeline.gates[name]?.endedAt ?? null) : (span(name)?.end ?? null);
          return over ?? Math.max(0, ...j.dependsOn.map(finished));
        };
        const span = (name: string) => {
          const own = timeline.attempts.filter((a) => a.job === name);
          return own.length === 0 ? null : { start: own[0]!.startedAt, end: own[own.length - 1]!.endedAt };
        };
        for (const job of ir.jobs) {
          const t = trace.jobs[job.name]!;
          const outcomes = scenario.attempts?.[job.name] ?? [];
          if (job.approval !== null || t.state === "not-run") expect(t.attempts).toEqual([]);
          // Retries: attempts 1..n of at most max_attempts, waits by the formula, outcomes as the scenario says.
          expect(t.attempts.length).toBeLessThanOrEqual(job.retry.maxAttempts);
          t.attempts.forEach((a, i) => {
            expect(a.attempt).toBe(i + 1);
            expect(a.waitSeconds).toBe(i === 0 ? null : retryWait(job.retry, i));
            const o = outcomes[i] ?? "succeed";
            const stoppedByRun = timeline.timedOut && i === t.attempts.length - 1 && (o === "hang" || o === "no-start" || span(job.name)!.end === deadline);
            const expectedEnd = o.startsWith("fail:") ? "failed" : END_OF[o as keyof typeof END_OF];
            if (!stoppedByRun) expect(a.end).toBe(expectedEnd);
            expect(a.env.KFM_ATTEMPT).toBe(String(i + 1));
            expect(a.env.KFM_JOB).toBe(job.name);
            expect(a.env.KFM_WORKFLOW).toBe(ir.name);
            if (i < t.attempts.length - 1) expect(a.end).not.toBe("succeeded");
          });
          if (t.attempts.length > 0) expect(t.state).toBe(t.attempts.at(-1)!.end === "succeeded" ? "succeeded" : "failed");
          // Dependencies: a job that ran after a dependency that did not succeed continues after failures.
          const deps = job.dependsOn.map((d) => trace.jobs[d]!.state);
          if (t.state !== "not-run" && deps.some((s) => s !== "succeeded")) expect(job.runWhen).toBe("all_done");
          // ... and a job is left out only when a dependency did not succeed and it stops after
          // failures, or the run's timeout came first.
          if (t.state === "not-run" && !timeline.timedOut) {
            expect(job.runWhen).toBe("all_succeeded");
            expect(deps.every((s) => s === "succeeded")).toBe(false);
          }
          // A job or gate starts as soon as its dependencies have finished, with no delay of its own.
          const start = job.approval !== null ? (timeline.gates[job.name]?.startedAt ?? null) : (span(job.name)?.start ?? null);
          if (start !== null) expect(start).toBe(Math.max(0, ...job.dependsOn.map(finished)));
          // Timeouts: nothing starts at or after the run's timeout, nothing runs past it.
          for (const a of timeline.attempts.filter((x) => x.job === job.name)) {
            expect(a.startedAt).toBeLessThan(deadline);
            expect(a.endedAt).toBeLessThanOrEqual(Math.min(deadline, timeline.runEndedAt));
          }
        }
        // Order: each fact is a dependency (direct or not), and the times agree with it.
        for (const [before, after] of trace.order) {
          const a = span(before)!;
          const b = span(after)!;
          expect(a.end).toBeLessThanOrEqual(b.start);
          const upstream = new Set<string>();
          const walk = (n: string): void => byName.get(n)!.dependsOn.forEach((d) => (upstream.has(d) ? undefined : (upstream.add(d), walk(d))));
          walk(after);
          expect(upstream.has(before)).toBe(true);
        }
        // Run state and notifications.
        const failed = ir.jobs.filter((j) => trace.jobs[j.name]!.state === "failed").map((j) => j.name);
        expect(trace.run).toBe(failed.length > 0 || timeline.timedOut ? "failed" : "succeeded");
        if (timeline.timedOut) {
          tally.timedOut++;
          expect(timeline.runEndedAt).toBe(deadline);
        }
        if (trace.run === "failed") tally.failed++;
        expect(trace.notifications).toEqual(
          trace.run === "failed" ? ir.notifications.map((_, index) => ({ index, failedJobs: [...failed].sort(byteOrder) })) : [],
        );
      }),
      propertyParams(80),
    );
    // The draws reach every kind of ending.
    expect(tally.traces).toBeGreaterThan(0);
    expect(tally.failed).toBeGreaterThan(0);
    expect(tally.timedOut + tally.neverEnds).toBeGreaterThan(0);
  }, 120_000);
});
