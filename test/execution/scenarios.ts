/**
 * The execution suite's cases (issue 14, item 3): each scenario spec under
 * test/execution/specs/ with the scenarios every engine runs it through. The expected
 * trace of each is `interpret(ir, scenario)` (src/interpret.ts); conformance/execution/
 * README.md lists them with what each checks. Waits and timeouts are seconds, so a real
 * clock is fine; no scenario lets a run go on for ever (`NeverEnds`).
 */
import type { Scenario } from "../../src/execution.js";

export interface ExecutionCase {
  /** Repository-relative path of the spec. */
  readonly spec: string;
  readonly scenarios: readonly Scenario[];
  /** What an engine must know to run the case (said in reports and the README). */
  readonly note?: string;
}

/** Every scenario runs for the same logical date: a Sunday 02:00 UTC, the README's example. */
export const LOGICAL_DATE = "2024-03-10T02:00:00+00:00";

const scenario = (name: string, description: string, rest: Omit<Scenario, "name" | "description" | "logicalDate"> = {}): Scenario => ({
  name,
  description,
  logicalDate: LOGICAL_DATE,
  ...rest,
});

const SUCCESS = scenario("success", "Every attempt succeeds: each job runs once, in dependency order, and the run succeeds.");

export const EXECUTION_CASES: readonly ExecutionCase[] = [
  {
    spec: "test/execution/specs/chain.yaml",
    scenarios: [
      SUCCESS,
      scenario("retry-recovers", "`transform` fails twice (exit 1, then 2) and recovers on attempt 3, 2 s after each failure; `load` then runs.", {
        attempts: { transform: ["fail:1", "fail:2"] },
      }),
      scenario("retry-exhausted", "`transform` fails all 3 attempts (exit 3): it fails for good, `load` does not run, the run fails.", {
        attempts: { transform: ["fail:3", "fail:3", "fail:3"] },
      }),
    ],
  },
  {
    spec: "test/execution/specs/diamond.yaml",
    scenarios: [
      SUCCESS,
      scenario("branch-fails", "`left` fails both attempts: `join` does not run, `right` and the independent `audit` finish, the run fails.", {
        attempts: { left: ["fail:1", "fail:1"] },
      }),
    ],
  },
  {
    spec: "test/execution/specs/backoff.yaml",
    scenarios: [
      scenario("recovers-on-attempt-4", "`flaky` fails three times; waits 2 s, 4 s, then 5 s (8 s capped); attempt 4 succeeds.", {
        attempts: { flaky: ["fail:1", "fail:2", "fail:3"] },
      }),
      scenario("fails-for-good", "`flaky` fails all 4 attempts with the same waits: the run fails.", {
        attempts: { flaky: ["fail:4", "fail:4", "fail:4", "fail:4"] },
      }),
    ],
  },
  {
    spec: "test/execution/specs/continue.yaml",
    scenarios: [
      SUCCESS,
      scenario("continue-after-failure", "`load` fails: `publish` does not run, `cleanup` (continue) runs after it, and the run still fails.", {
        attempts: { load: ["fail:1"] },
      }),
    ],
  },
  {
    spec: "test/execution/specs/prerequisite.yaml",
    scenarios: [
      SUCCESS,
      scenario("prerequisite-fails", "The prerequisite `check` fails: `transform` and `kpi`, which wait for it, do not run; the run fails.", {
        attempts: { check: ["fail:1"] },
      }),
    ],
  },
  {
    spec: "test/execution/specs/attempt-timeout.yaml",
    scenarios: [
      scenario("timeout-retried", "Attempt 1 of `slow` hangs and is stopped by its 3 s timeout; attempt 2 starts 2 s later and succeeds.", {
        attempts: { slow: ["hang"] },
      }),
      scenario("timeout-for-good", "Every attempt of `slow` hangs and times out: it fails for good and the run fails.", {
        attempts: { slow: ["hang", "hang", "hang"] },
      }),
    ],
  },
  {
    spec: "test/execution/specs/timeout-diamond.yaml",
    scenarios: [
      SUCCESS,
      scenario("root-times-out-once", "Attempt 1 of the root `start` hangs until its 3 s timeout; attempt 2 (2 s later) succeeds and the diamond runs.", {
        attempts: { start: ["hang"] },
      }),
      scenario("root-times-out-for-good", "Both attempts of `start` time out: it fails for good, no branch runs, the run fails.", {
        attempts: { start: ["hang", "hang"] },
      }),
      scenario(
        "join-times-out-for-good",
        "Both attempts of the join time out after both branches finished (`audit`, beside it, runs to the end): the run fails.",
        {
          attempts: { join: ["hang", "hang"] },
        },
      ),
      scenario("branch-times-out", "The branch `right` (one attempt) times out: `join` and `audit` do not run, `left` finishes, the run fails.", {
        attempts: { right: ["hang"] },
      }),
    ],
  },
  {
    spec: "test/execution/specs/branch-timeouts.yaml",
    scenarios: [
      SUCCESS,
      scenario(
        "left-times-out-right-recovers",
        "`left` hangs on both attempts (timed out at 3 s and 16 s): it fails for good. `right` fails at 0 s and retries 30 s later, after that: attempt 2 succeeds. `join` does not run, the run fails.",
        { attempts: { left: ["hang", "hang"], right: ["fail:1"] } },
      ),
      scenario(
        "left-times-out-right-fails",
        "`left` times out twice (fails for good at 16 s); `right` fails at 0 s and again at 30 s, after that: both fail for good, `join` does not run, the run fails.",
        { attempts: { left: ["hang", "hang"], right: ["fail:1", "fail:2"] } },
      ),
      scenario("both-time-out", "Both branches hang on both attempts: each times out twice and fails for good, `join` does not run, the run fails.", {
        attempts: { left: ["hang", "hang"], right: ["hang", "hang"] },
      }),
      scenario(
        "branch-times-out-once",
        "`left` times out on attempt 1 and succeeds on attempt 2, 10 s later; `join` runs after both branches; the run succeeds.",
        {
          attempts: { left: ["hang"] },
        },
      ),
    ],
  },
  {
    spec: "test/execution/specs/literal-references.yaml",
    scenarios: [scenario("success", "The job receives its command, args and env exactly as the spec writes them, runner-variable look-alikes included.")],
  },
  {
    spec: "test/execution/specs/run-timeout.yaml",
    scenarios: [
      scenario("in-time", "Every job succeeds well before the 20 s timeout: `publish` (continue) starts after `crunch`; the run succeeds.", {}),
      scenario(
        "run-timeout-stops-attempt",
        "`crunch` hangs (no job timeout): the run's 20 s timeout stops it; `publish` (continue) never starts; the run fails.",
        {
          attempts: { crunch: ["hang"] },
        },
      ),
      scenario(
        "run-timeout-during-wait",
        "`crunch` fails at 0 s and 12 s; the next attempt would start at 24 s, past the 20 s timeout: none starts, the run fails.",
        {
          attempts: { crunch: ["fail:1", "fail:1"] },
        },
      ),
    ],
  },
  {
    spec: "test/execution/specs/run-timeout-notify.yaml",
    scenarios: [
      scenario(
        "run-timeout-notified",
        "`crunch` hangs: the run's 10 s timeout stops it and it fails; `publish` (continue) never starts; the Slack notification is sent once naming `crunch`.",
        {
          attempts: { crunch: ["hang"] },
        },
      ),
    ],
  },
  {
    spec: "test/execution/specs/gate.yaml",
    note: "GitHub Actions refuses a gate with a timeout (KFM301): gate-untimed.yaml covers it there.",
    scenarios: [
      scenario("approved", "The reviewer approves: `promote` runs after `build`.", { gates: { approve: "approve" } }),
      scenario("rejected", "The reviewer rejects: the gate fails, `promote` does not run, the run fails.", { gates: { approve: "reject" } }),
      scenario("timed-out", "No decision within the gate's 5 s: the gate fails, `promote` does not run, the run fails.", { gates: { approve: "none" } }),
    ],
  },
  {
    spec: "test/execution/specs/gate-untimed.yaml",
    note: "Tekton refuses a gate without a timeout and a job beside a gate (KFM301): gate.yaml covers it there.",
    scenarios: [
      scenario("approved", "The reviewer approves: `promote` runs after `build`.", { gates: { approve: "approve" } }),
      scenario("rejected", "The reviewer rejects: `promote` does not run, the independent `notes` finishes, the run fails.", { gates: { approve: "reject" } }),
    ],
  },
  {
    spec: "test/execution/specs/notify.yaml",
    scenarios: [
      scenario("failure-notified-once", "`load` fails: `report` does not run, `archive` finishes, and the Slack notification is sent once naming `load`.", {
        attempts: { load: ["fail:1"] },
      }),
      scenario("success-not-notified", "Every job succeeds: no notification is sent.", {}),
    ],
  },
  {
    spec: "test/execution/specs/no-start.yaml",
    note: "The attempt's pod never starts: it ends at the job's 10 s timeout (sooner than POD_START_SECONDS). Argo v4.0 holds this only once the pod reached a node (targets/argo/README.md, pod-start bound).",
    scenarios: [
      scenario("pod-never-starts", "Attempt 1's pod never starts: it ends did-not-start, counts as an attempt, and attempt 2 (2 s later) succeeds.", {
        attempts: { pull: ["no-start"] },
      }),
    ],
  },
  {
    // Issue 15's newcomer workflow itself (specs/), with its own minutes-long timeouts and
    // 30 s first retry wait: a five-job diamond, exponential retries bounded per attempt,
    // one run at a time.
    spec: "specs/newcomer.yaml",
    scenarios: [
      SUCCESS,
      scenario("branch-recovers", "`clean_orders` fails once and recovers on attempt 2, 30 s later (the first wait); `join` and `publish` then run.", {
        attempts: { clean_orders: ["fail:1"] },
      }),
    ],
  },
  {
    // Issue 15's daily 02:30 in Europe/Berlin, run for the slot the spring-forward gap moved:
    // 02:30 read with the offset before the gap, 01:30 UTC (README, Meanings, Schedules).
    spec: "specs/dst-daily-berlin.yaml",
    scenarios: [
      {
        name: "gap-slot",
        description: "The run of 2024-03-31's 02:30 slot, which the gap moved to 01:30 UTC: `ds` is 2024-03-31 and `ts` 01:30 UTC.",
        logicalDate: "2024-03-31T01:30:00+00:00",
      },
    ],
  },
  {
    spec: "test/execution/specs/concurrency.yaml",
    note: "A scenario is one run: the expected trace is the first run's. An engine that can start a second run while the first is active (Argo's operator; Airflow's scheduler) checks that it waits and then runs; the others run the first only. Tekton refuses max_active_runs (KFM301); on GitHub Actions act runs no concurrency group, so the first run only (the queue is checked by GitHub's parser, conformance); Dagster's execute_in_process runs no run queue, so the first run only (the queue is checked by Dagster's own daemon, conformance).",
    scenarios: [
      scenario(
        "second-run-due",
        "`refresh` hangs until its 5 s timeout and succeeds on attempt 2 at 7 s; a second run due meanwhile waits for the first to end, then runs (never dropped or cancelled).",
        {
          attempts: { refresh: ["hang"] },
        },
      ),
    ],
  },
];
