import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/compile.js";
import type { Scenario } from "../src/execution.js";
import type { Workflow } from "../src/ir.js";
import { NeverEnds, interpret, interpretTimed } from "../src/interpret.js";

// Expectations below are worked out by hand from the README's meanings, not recorded.

const ir = (yaml: string): Workflow => {
  const a = analyze("inline.yaml", yaml);
  if (a.ir === null) throw new Error(a.diagnostics.map((d) => d.message).join("\n"));
  return a.ir;
};

const DATE = "2024-03-10T02:00:00+00:00";
const scenario = (s: Partial<Scenario>): Scenario => ({ name: "s", description: "", logicalDate: DATE, ...s });

const DIAMOND = `workflow:
  name: diamond
  jobs:
    - job: {name: start, image: busybox:1}
    - job: {name: left, image: busybox:1, retry: {max_attempts: 2, delay: 3s}}
      depends_on: [start]
    - job: {name: right, image: busybox:1}
      depends_on: [start]
    - job: {name: join, image: busybox:1}
      depends_on: [left, right]
    - job: {name: audit, image: busybox:1}
`;

describe("dependencies (README 'Dependencies')", () => {
  it("a successful diamond: every job runs once, in dependency order, and the run succeeds", () => {
    const t = interpret(ir(DIAMOND), scenario({}));
    expect(t.run).toBe("succeeded");
    for (const name of ["start", "left", "right", "join", "audit"]) {
      expect(t.jobs[name]!.state).toBe("succeeded");
      expect(t.jobs[name]!.attempts.map((a) => [a.attempt, a.end, a.waitSeconds])).toEqual([[1, "succeeded", null]]);
    }
    expect(t.order).toEqual([
      ["start", "left"],
      ["start", "right"],
      ["start", "join"],
      ["left", "join"],
      ["right", "join"],
    ]);
    expect(t.notifications).toEqual([]);
  });

  it("a job that fails for good: its downstream does not run, the independent branch and job finish, the run fails", () => {
    const t = interpret(ir(DIAMOND), scenario({ attempts: { left: ["fail:1", "fail:2"] } }));
    expect(t.run).toBe("failed");
    expect(t.jobs.left!.state).toBe("failed");
    expect(t.jobs.left!.attempts.map((a) => [a.attempt, a.end, a.waitSeconds])).toEqual([
      [1, "failed", null],
      [2, "failed", 3],
    ]);
    expect(t.jobs.join).toEqual({ state: "not-run", attempts: [] });
    expect(t.jobs.right!.state).toBe("succeeded");
    expect(t.jobs.audit!.state).toBe("succeeded");
    // join never ran, so no fact names it.
    expect(t.order).toEqual([
      ["start", "left"],
      ["start", "right"],
    ]);
  });

  it("on_upstream_failure: continue runs after a failed upstream, and the run still fails", () => {
    const t = interpret(
      ir(`workflow:
  name: cont
  jobs:
    - job: {name: load, image: busybox:1}
    - job: {name: publish, image: busybox:1}
      depends_on: [load]
    - job: {name: cleanup, image: busybox:1}
      depends_on: [publish]
      on_upstream_failure: continue
`),
      scenario({ attempts: { load: ["fail:3"] } }),
    );
    expect(t.run).toBe("failed");
    expect(t.jobs.load!.state).toBe("failed");
    // publish did not run (a dependency that never ran has finished too), cleanup did.
    expect(t.jobs.publish!.state).toBe("not-run");
    expect(t.jobs.cleanup!.state).toBe("succeeded");
    expect(t.order).toEqual([["load", "cleanup"]]);
  });

  it("a failed prerequisite blocks every job not upstream of it", () => {
    const t = interpret(
      ir(`workflow:
  name: pre
  jobs:
    - job: {name: register, image: busybox:1}
    - job: {name: check, image: busybox:1}
      depends_on: [register]
      prerequisite: true
    - job: {name: transform, image: busybox:1}
    - job: {name: kpi, image: busybox:1}
      depends_on: [transform]
`),
      scenario({ attempts: { check: ["fail:1"] } }),
    );
    expect(t.run).toBe("failed");
    expect(Object.fromEntries(Object.entries(t.jobs).map(([k, v]) => [k, v.state]))).toEqual({
      register: "succeeded",
      check: "failed",
      transform: "not-run",
      kpi: "not-run",
    });
  });
});

describe("retries (README 'Retries')", () => {
  const BACKOFF = `workflow:
  name: backoff
  jobs:
    - job:
        name: flaky
        image: busybox:1
        retry: {max_attempts: 5, delay: 2s, exponential_backoff: true, backoff_multiplier: 3, max_delay: 10s}
`;
  it("exponential waits with a cap, counted from the end of each attempt", () => {
    const { trace, timeline } = interpretTimed(ir(BACKOFF), scenario({ attempts: { flaky: ["fail:1", "fail:2", "fail:3", "fail:4"] } }));
    expect(trace.run).toBe("succeeded");
    expect(trace.jobs.flaky!.attempts.map((a) => [a.attempt, a.end, a.waitSeconds])).toEqual([
      [1, "failed", null],
      [2, "failed", 2],
      [3, "failed", 6],
      [4, "failed", 10],
      [5, "succeeded", 10],
    ]);
    expect(trace.jobs.flaky!.attempts.map((a) => a.env.KFM_ATTEMPT)).toEqual(["1", "2", "3", "4", "5"]);
    expect(timeline.attempts.map((a) => a.startedAt)).toEqual([0, 2, 8, 18, 28]);
    expect(timeline.runEndedAt).toBe(28);
  });
  it("an attempt past the scenario's list succeeds; a job not named succeeds at once", () => {
    const t = interpret(ir(BACKOFF), scenario({ attempts: { flaky: ["fail:9"] } }));
    expect(t.jobs.flaky!.attempts.map((a) => a.end)).toEqual(["failed", "succeeded"]);
  });
});

describe("timeouts (README 'Timeouts')", () => {
  it("a per-attempt timeout stops a hanging attempt, which is retried", () => {
    const { trace, timeline } = interpretTimed(
      ir(`workflow:
  name: t
  jobs:
    - job: {name: slow, image: busybox:1, timeout: 4s, retry: {max_attempts: 3, delay: 1s}}
`),
      scenario({ attempts: { slow: ["hang", "hang"] } }),
    );
    expect(trace.jobs.slow!.attempts.map((a) => [a.end, a.waitSeconds])).toEqual([
      ["timed-out", null],
      ["timed-out", 1],
      ["succeeded", 1],
    ]);
    expect(timeline.attempts.map((a) => [a.startedAt, a.endedAt])).toEqual([
      [0, 4],
      [5, 9],
      [10, 10],
    ]);
    expect(trace.run).toBe("succeeded");
  });

  const RUN_TIMEOUT = `workflow:
  name: rt
  timeout: 20s
  jobs:
    - job: {name: prepare, image: busybox:1}
    - job: {name: crunch, image: busybox:1, retry: {max_attempts: 3, delay: 12s}}
      depends_on: [prepare]
    - job: {name: publish, image: busybox:1}
      depends_on: [crunch]
      on_upstream_failure: continue
    - job: {name: side, image: busybox:1, timeout: 5s}
`;
  it("a run timeout stops the hanging attempt (timed-out, job failed) and nothing starts after it", () => {
    const { trace, timeline } = interpretTimed(ir(RUN_TIMEOUT), scenario({ attempts: { crunch: ["hang"], side: ["hang"] } }));
    expect(trace.run).toBe("failed");
    expect(trace.jobs.crunch).toMatchObject({ state: "failed", attempts: [{ attempt: 1, end: "timed-out", waitSeconds: null }] });
    // A continue job does not start after the run's timeout.
    expect(trace.jobs.publish!.state).toBe("not-run");
    // side timed out by its own timeout at 5 s (before the run's) and got no retry: it failed.
    expect(trace.jobs.side).toMatchObject({ state: "failed", attempts: [{ end: "timed-out" }] });
    expect(timeline).toMatchObject({ runEndedAt: 20, timedOut: true });
    expect(timeline.attempts.find((a) => a.job === "crunch")).toMatchObject({ startedAt: 0, endedAt: 20 });
  });
  it("a retry wait that reaches past the run timeout: no further attempt, the job fails", () => {
    const { trace, timeline } = interpretTimed(ir(RUN_TIMEOUT), scenario({ attempts: { crunch: ["fail:1", "fail:1"] } }));
    // attempt 1 at 0, attempt 2 at 12, attempt 3 would start at 24 > 20.
    expect(trace.jobs.crunch!.attempts.map((a) => [a.attempt, a.end, a.waitSeconds])).toEqual([
      [1, "failed", null],
      [2, "failed", 12],
    ]);
    expect(trace.jobs.crunch!.state).toBe("failed");
    expect(trace.jobs.publish!.state).toBe("not-run");
    expect(trace.run).toBe("failed");
    expect(timeline.timedOut).toBe(true);
  });
  it("a run that ends before its timeout is not stopped by it", () => {
    const { trace, timeline } = interpretTimed(ir(RUN_TIMEOUT), scenario({ attempts: { crunch: ["fail:1"] } }));
    expect(trace.run).toBe("succeeded");
    expect(timeline).toMatchObject({ runEndedAt: 12, timedOut: false });
  });
  it("a hang with no timeout anywhere never ends: not a scenario", () => {
    const w = ir(`workflow:\n  name: forever\n  jobs:\n    - job: {name: a, image: busybox:1}\n`);
    expect(() => interpret(w, scenario({ attempts: { a: ["hang"] } }))).toThrow(NeverEnds);
  });
});

describe("pods that cannot start (README 'Meanings at a real cluster's edges')", () => {
  it("count as an attempt, end at the pod-start bound and are retried", () => {
    const { trace, timeline } = interpretTimed(
      ir(`workflow:
  name: ns
  jobs:
    - job: {name: a, image: busybox:1, retry: {max_attempts: 2, delay: 1s}}
`),
      scenario({ attempts: { a: ["no-start"] } }),
    );
    expect(trace.jobs.a!.attempts.map((x) => [x.attempt, x.end, x.waitSeconds])).toEqual([
      [1, "did-not-start", null],
      [2, "succeeded", 1],
    ]);
    expect(timeline.attempts.map((a) => [a.startedAt, a.endedAt])).toEqual([
      [0, 600],
      [601, 601],
    ]);
  });
  it("the job's timeout bounds the attempt, its start included", () => {
    const { timeline } = interpretTimed(
      ir(`workflow:\n  name: ns\n  jobs:\n    - job: {name: a, image: busybox:1, timeout: 7s}\n`),
      scenario({ attempts: { a: ["no-start"] } }),
    );
    expect(timeline.attempts).toEqual([{ job: "a", attempt: 1, startedAt: 0, endedAt: 7, end: "did-not-start" }]);
  });
});

describe("gates", () => {
  const GATE = `workflow:
  name: gate
  jobs:
    - job: {name: build, image: busybox:1}
    - approval: {name: approve, timeout: 5s}
      depends_on: [build]
    - job: {name: promote, image: busybox:1}
      depends_on: [approve]
    - job: {name: audit, image: busybox:1}
  notifications:
    on_failure:
      - {type: slack, channel: "#alerts", webhook: {secret: hook, key: url}}
`;
  it("approved: the downstream runs after the gate's upstream", () => {
    const t = interpret(ir(GATE), scenario({ gates: { approve: "approve" } }));
    expect(t.run).toBe("succeeded");
    expect(t.jobs.approve).toEqual({ state: "succeeded", attempts: [] });
    expect(t.order).toEqual([["build", "promote"]]);
    expect(t.notifications).toEqual([]);
  });
  it("rejected: the gate fails, its downstream does not run, the run fails and names it", () => {
    const t = interpret(ir(GATE), scenario({ gates: { approve: "reject" } }));
    expect(t.run).toBe("failed");
    expect(t.jobs.approve!.state).toBe("failed");
    expect(t.jobs.promote!.state).toBe("not-run");
    expect(t.jobs.audit!.state).toBe("succeeded");
    expect(t.notifications).toEqual([{ index: 0, failedJobs: ["approve"] }]);
  });
  it("no decision: the gate fails at its timeout", () => {
    const { trace, timeline } = interpretTimed(ir(GATE), scenario({ gates: { approve: "none" } }));
    expect(trace.jobs.approve!.state).toBe("failed");
    expect(timeline.gates.approve).toEqual({ startedAt: 0, endedAt: 5 });
    expect(timeline.runEndedAt).toBe(5);
  });
  it("no decision at a gate without a timeout never ends, unless the run's timeout ends it", () => {
    const untimed = GATE.replace("timeout: 5s", "description: x");
    expect(() => interpret(ir(untimed), scenario({ gates: { approve: "none" } }))).toThrow(NeverEnds);
    const bounded = untimed.replace("  name: gate\n", "  name: gate\n  timeout: 30s\n");
    const { trace, timeline } = interpretTimed(ir(bounded), scenario({ gates: { approve: "none" } }));
    expect(trace.jobs.approve!.state).toBe("failed");
    expect(trace.run).toBe("failed");
    expect(timeline).toMatchObject({ runEndedAt: 30, timedOut: true });
  });
});

describe("notifications", () => {
  it("each entry is sent once when the run failed, naming the failed jobs in byte order", () => {
    const t = interpret(
      ir(`workflow:
  name: n
  notifications:
    on_failure:
      - {type: slack, channel: "#a", webhook: {secret: hook, key: url}}
      - {type: email, recipients: [a@example.com], from: b@example.com, smtp: {secret: smtp, key: url}}
  jobs:
    - job: {name: zeta, image: busybox:1}
    - job: {name: beta, image: busybox:1}
    - job: {name: alpha, image: busybox:1}
`),
      scenario({ attempts: { zeta: ["fail:1"], alpha: ["fail:1"] } }),
    );
    expect(t.notifications).toEqual([
      { index: 0, failedJobs: ["alpha", "zeta"] },
      { index: 1, failedJobs: ["alpha", "zeta"] },
    ]);
  });
});

describe("environment, command and args (README 'Job environment', 'Runtime values')", () => {
  it("renders the user's env, the standard variables and the args per attempt; secrets are left out", () => {
    const w = ir(`workflow:
  name: env_demo
  schedule: {cron: "0 2 * * *", timezone: UTC, start_date: "2024-01-01"}
  jobs:
    - job:
        name: load
        image: busybox:1
        command: [sh, -c]
        args: ["echo {{ ds }} {{ params.table }}", "{{ next_execution_date }}"]
        params: {table: sales}
        env:
          STAMP: "{{ ts }}"
          TABLE: "{{ params.table }}"
          PASSWORD: {secret: db, key: password}
        retry: {max_attempts: 2}
`);
    const t = interpret(w, scenario({ attempts: { load: ["fail:7"] } }));
    const token = createHash("sha256")
      .update(w.runTokenSeed + DATE)
      .digest("hex")
      .slice(0, 32);
    const [a1, a2] = t.jobs.load!.attempts;
    expect(a1!.env).toEqual({
      STAMP: DATE,
      TABLE: "sales",
      KFM_WORKFLOW: "env_demo",
      KFM_JOB: "load",
      KFM_LOGICAL_DATE: DATE,
      KFM_ATTEMPT: "1",
      KFM_RUN_TOKEN: token,
    });
    expect(a2!.env.KFM_ATTEMPT).toBe("2");
    expect(a2!.env.KFM_RUN_TOKEN).toBe(token);
    expect(a1!.command).toEqual(["sh", "-c"]);
    expect(a1!.args).toEqual(["echo 2024-03-10 sales", "2024-03-11T02:00:00+00:00"]);
  });
  it("no command keeps the image's entrypoint (null) and no args pass none", () => {
    const t = interpret(ir(`job: {name: solo, image: busybox:1}\n`), scenario({}));
    expect(t.jobs.solo!.attempts[0]).toMatchObject({ command: null, args: [] });
  });
});

describe("scenarios are checked", () => {
  it("names only jobs and gates of the workflow, and no more outcomes than attempts", () => {
    const w = ir(DIAMOND);
    expect(() => interpret(w, scenario({ attempts: { nope: ["fail:1"] } }))).toThrow(/not a job/);
    expect(() => interpret(w, scenario({ attempts: { start: ["fail:1", "fail:1"] } }))).toThrow(/1 attempts/);
    expect(() => interpret(w, scenario({ attempts: { start: ["fail:0" as "fail:1"] } }))).toThrow(/not an outcome/);
    expect(() => interpret(w, scenario({ logicalDate: "2024-03-10" }))).toThrow(/logical date/);
  });
});
