import { describe, expect, it } from "vitest";
import type { Observed, ObservedAttempt, Scenario } from "../../src/execution.js";
import { interpretTimed } from "../../src/interpret.js";
import { compareTraces, traceOf, WAIT_TOLERANCE_SECONDS } from "./compare.js";
import { observedProblems } from "./harness.js";
import { specIr } from "./harness.js";

// A constructed runner: what a harness would write if the engine did exactly what the
// reference says (times from the interpreter's timeline, plus some start-up noise).
const ir = specIr("test/execution/specs/chain.yaml");
const scenario: Scenario = {
  name: "retry-recovers",
  description: "",
  logicalDate: "2024-03-10T02:00:00+00:00",
  attempts: { transform: ["fail:1", "fail:2"] },
};
const { trace: expected, timeline } = interpretTimed(ir, scenario);

function faithful(): Observed {
  const attempts: ObservedAttempt[] = timeline.attempts.map((a, i) => {
    const t = expected.jobs[a.job]!.attempts[a.attempt - 1]!;
    // Each attempt starts 0.2 s late and takes 0.1 s: within the tolerance.
    return {
      job: a.job,
      attempt: a.attempt,
      startedAt: a.startedAt + 0.2 + 0.1 * i,
      endedAt: a.endedAt + 0.3 + 0.1 * i,
      end: t.end,
      env: { ...t.env, PATH: "/usr/bin", HOSTNAME: "pod-1" },
      command: t.command,
      args: t.args,
    };
  });
  return {
    engine: "constructed",
    run: expected.run,
    jobs: Object.fromEntries(Object.entries(expected.jobs).map(([k, v]) => [k, v.state])),
    attempts,
    notifications: [],
  };
}

const LABEL = "chain.yaml / retry-recovers / test";
const compare = (o: Observed) => compareTraces(LABEL, expected, traceOf(o));

describe("traceOf", () => {
  it("groups attempts by job, takes waits from consecutive attempts and order from times", () => {
    const t = traceOf(faithful());
    expect(t.jobs.transform!.attempts.map((a) => [a.attempt, a.end, a.waitSeconds])).toEqual([
      [1, "failed", null],
      // attempt 1 ended at 0.4 (0 + 0.3 + 0.1), attempt 2 started at 2.4 (2 + 0.2 + 0.2)
      [2, "failed", 2],
      [3, "succeeded", 2],
    ]);
    expect(t.order).toEqual([
      ["extract", "transform"],
      ["extract", "load"],
      ["transform", "load"],
    ]);
  });
  it("refuses an attempt of a job the observed run does not list", () => {
    const o = faithful();
    expect(() => traceOf({ ...o, jobs: { extract: "succeeded" } })).toThrow(/not among its jobs/);
  });
});

describe("compareTraces", () => {
  it("a faithful run compares equal: extra variables and start-up time within the tolerance are not differences", () => {
    expect(compare(faithful())).toEqual([]);
  });

  it("reports the run's state, a job's state and its attempt count", () => {
    const o = faithful();
    const lines = compare({
      ...o,
      run: "failed",
      jobs: { ...o.jobs, load: "not-run" },
      attempts: o.attempts.filter((a) => a.job !== "load"),
    });
    expect(lines).toEqual([
      `${LABEL} / run: expected "succeeded", runner did "failed"`,
      `${LABEL} / jobs.load.state: expected "succeeded", runner did "not-run"`,
      `${LABEL} / jobs.load.attempts.length: expected 1, runner did 0`,
    ]);
  });

  it("reports one attempt too many", () => {
    const o = faithful();
    const last = o.attempts.find((a) => a.job === "transform" && a.attempt === 3)!;
    const extra: ObservedAttempt = { ...last, attempt: 4, startedAt: last.endedAt + 2, endedAt: last.endedAt + 2.1, env: { ...last.env, KFM_ATTEMPT: "4" } };
    const lines = compare({ ...o, attempts: [...o.attempts, extra] });
    expect(lines).toEqual([
      `${LABEL} / jobs.transform.attempts.length: expected 3, runner did 4`,
      `${LABEL} / order: expected "load starts after transform ended", runner did "load started before transform ended"`,
    ]);
  });

  it("reports a wait outside the tolerance, and not one inside it", () => {
    // Everything from transform's second attempt on happens `d` seconds later (or sooner).
    const shift = (d: number): Observed => {
      const o = faithful();
      const from = o.attempts.find((a) => a.job === "transform" && a.attempt === 2)!.startedAt;
      return { ...o, attempts: o.attempts.map((a) => (a.startedAt >= from ? { ...a, startedAt: a.startedAt + d, endedAt: a.endedAt + d } : a)) };
    };
    expect(compare(shift(WAIT_TOLERANCE_SECONDS - 0.1))).toEqual([]);
    expect(compare(shift(-2))).toEqual([`${LABEL} / jobs.transform.attempts[1].waitSeconds: expected "2 (±1)", runner did 0`]);
  });

  it("reports an attempt's end, number, env (wrong, missing, an extra KFM_ one), command and args", () => {
    const o = faithful();
    const lines = compare({
      ...o,
      attempts: o.attempts.map((a) => {
        if (a.job !== "transform" || a.attempt !== 1) return a;
        const { TABLE: _dropped, ...env } = a.env;
        return { ...a, end: "timed-out" as const, env: { ...env, KFM_ATTEMPT: "0", KFM_EXTRA: "x" }, command: ["sh"], args: ["--table", "sales"] };
      }),
    });
    expect(lines).toEqual([
      `${LABEL} / jobs.transform.attempts[0].end: expected "failed", runner did "timed-out"`,
      `${LABEL} / jobs.transform.attempts[0].env.TABLE: expected "sales", runner did (nothing)`,
      `${LABEL} / jobs.transform.attempts[0].env.KFM_ATTEMPT: expected "1", runner did "0"`,
      `${LABEL} / jobs.transform.attempts[0].env.KFM_EXTRA: expected (nothing), runner did "x"`,
      `${LABEL} / jobs.transform.attempts[0].command: expected null, runner did ["sh"]`,
      `${LABEL} / jobs.transform.attempts[0].args: expected ["--table","sales","--at","2024-03-10T02:00:00+00:00"], runner did ["--table","sales"]`,
    ]);
  });

  it("reports an order the meaning requires and the runner broke", () => {
    const o = faithful();
    // load starts while transform's last attempt runs
    const lines = compare({ ...o, attempts: o.attempts.map((a) => (a.job === "load" ? { ...a, startedAt: 4, endedAt: 4.1 } : a)) });
    expect(lines).toEqual([`${LABEL} / order: expected "load starts after transform ended", runner did "load started before transform ended"`]);
  });

  it("reports a notification not sent, sent twice, or naming other jobs, and a job the reference does not know", () => {
    const failed = interpretTimed(specIr("test/execution/specs/notify.yaml"), { ...scenario, attempts: { load: ["fail:1"] } }).trace;
    const runner = (notifications: Observed["notifications"], jobs: Observed["jobs"] = { load: "failed", report: "not-run", archive: "succeeded" }) =>
      compareTraces("n", { ...failed, order: [] }, traceOf({ engine: "x", run: "failed", jobs, attempts: [], notifications }));
    const strip = (lines: string[]) => lines.filter((l) => !l.includes(".attempts.length"));
    expect(strip(runner([{ index: 0, failedJobs: ["load"] }]))).toEqual([]);
    expect(strip(runner([]))).toEqual([`n / notifications: expected [{"index":0,"failedJobs":["load"]}], runner did []`]);
    expect(
      strip(
        runner([
          { index: 0, failedJobs: ["load"] },
          { index: 0, failedJobs: ["load"] },
        ]),
      ),
    ).toEqual([
      `n / notifications: expected [{"index":0,"failedJobs":["load"]}], runner did [{"index":0,"failedJobs":["load"]},{"index":0,"failedJobs":["load"]}]`,
    ]);
    expect(strip(runner([{ index: 0, failedJobs: ["report", "load"] }]))).toEqual([
      `n / notifications: expected [{"index":0,"failedJobs":["load"]}], runner did [{"index":0,"failedJobs":["load","report"]}]`,
    ]);
    expect(strip(runner([{ index: 0, failedJobs: ["load"] }], { load: "failed", report: "not-run", archive: "succeeded", kfm_watch: "succeeded" }))).toEqual([
      `n / jobs.kfm_watch: expected (nothing), runner did "succeeded"`,
    ]);
  });
});

describe("observed.json shape", () => {
  it("accepts a faithful one and names each problem of a broken one", () => {
    expect(observedProblems(faithful())).toEqual([]);
    expect(observedProblems([])).toEqual(["the file holds no JSON object"]);
    const o = faithful();
    const broken = {
      ...o,
      run: "ok",
      jobs: { ...o.jobs, load: "skipped" },
      attempts: [{ ...o.attempts[0]!, job: "nope", end: "killed", startedAt: 3, endedAt: 1 }],
    };
    expect(observedProblems(broken)).toEqual([
      'run: "succeeded" or "failed", not "ok"',
      'jobs.load: one of succeeded, failed, not-run, not "skipped"',
      "attempts[0].job: `nope` is not in jobs",
      "attempts[0]: ends before it starts",
      'attempts[0].end: one of succeeded, failed, timed-out, did-not-start, not "killed"',
    ]);
  });
});
