/**
 * The thirteen semantic traps of the design notes (semantics.md), each pinned to a
 * spec and checked on every target: the meaning holds in what each backend's output
 * says (its own reading, `lift`), and a copy of the output changed the way the
 * runner's trap would change it (a default leaking in, a field off by one) is read
 * as a different meaning or refused. So one target drifting into a trap fails here.
 */
import { describe, expect, it } from "vitest";
import { TARGETS } from "../targets/index.js";
import { analyze, compileFor } from "../src/compile.js";
import type { Summary } from "../src/summary.js";
import { summarize } from "../src/summary.js";
import { readSpec, withRun } from "./matrix.js";

type TargetName = "airflow" | "argo" | "tekton" | "github-actions" | "dagster";

interface Trap {
  readonly trap: string;
  readonly spec: string;
  /** What must hold in every compiling target's reading. */
  readonly holds: (s: Summary) => void;
  /** Targets that must refuse the spec (the trap cannot be avoided there). */
  readonly refusedBy?: readonly TargetName[];
  /** Per target: an edit of the output that falls into the trap ([pattern, replacement]). */
  readonly fallsIn: Partial<Record<TargetName, readonly [RegExp, string]>>;
}

const TRAPS: readonly Trap[] = [
  {
    trap: "1. attempts vs retries: max_attempts 3 is 3 attempts, 2 retries",
    spec: "specs/retry-defaults.yaml",
    holds: (s) => expect(s.jobs.thrice_constant!.attempts).toBe(3),
    fallsIn: {
      airflow: [/retries=2,/, "retries=3,"],
      argo: [/limit: 2\n/, "limit: 3\n"],
      tekton: [/retries: 2\n/, "retries: 3\n"],
      "github-actions": [/attempts: 3\n/, "attempts: 4\n"],
    },
  },
  {
    trap: "2. retry defaults: no retry stays no retry, with no wait (Airflow waits 300 s, Argo retries forever without a limit)",
    spec: "specs/retry-defaults.yaml",
    holds: (s) => {
      expect(s.jobs.once!.attempts).toBe(1);
      expect(s.jobs.thrice_constant!.waitsSeconds).toEqual([30, 30]);
    },
    fallsIn: {
      airflow: [/\n\s*retry_delay=timedelta\(seconds=0\),/, ""],
      argo: [/\n\s*limit: 0/, ""],
      tekton: [/retries: 2\n/, "retries: 5\n"],
      "github-actions": [/waits: 30 30\n/, "waits: 300 300\n"],
    },
  },
  {
    trap: "3. backoff jitter and multiplier: waits 60, 120, 240, capped at 300, no jitter",
    spec: "specs/retry-defaults.yaml",
    holds: (s) => expect(s.jobs.backoff!.waitsSeconds).toEqual([60, 120, 240, 300]),
    fallsIn: {
      airflow: [
        /retry_exponential_backoff=0,\n(\s*)max_retry_delay=None,\n(\s*)retry_policy=KfmRetryWaits/,
        "retry_exponential_backoff=2.0,\n$1max_retry_delay=None,\n$2retry_policy=KfmRetryWaits",
      ],
      argo: [/factor: 2\n/, "factor: 3\n"],
      tekton: [/60 120 240 300/, "60 120 240 480"],
      "github-actions": [/60 120 240 300/, "60 120 240 480"],
    },
  },
  {
    trap: "4. run status when an always-run leaf succeeds: the run still fails",
    spec: "specs/failure-continue.yaml",
    holds: (s) => {
      expect(s.jobs.cleanup!.runWhen).toBe("all_done");
      for (const j of Object.values(s.jobs)) expect(j.failureFailsRun).toBe(true);
    },
    fallsIn: {
      airflow: [/trigger_rule="all_done"/, 'trigger_rule="all_success"'],
      argo: [/\n\s*- name: kfm-run-status\n\s*template: kfm-run-status\n\s*depends: [^\n]*/, ""],
      tekton: [
        /(- name: cleanup\n\s*displayName: cleanup\n\s*runAfter:\n\s*- load\n)/,
        '$1      when:\n        - input: $(tasks.load.results.ok)\n          operator: in\n          values:\n            - "true"\n',
      ],
      "github-actions": [/if: "?!cancelled\(\)/, "if: success()"],
      // Steps wait for upstream success again: Dagster abandons `cleanup` after `load` failed.
      dagster: [/"require_upstream_step_success": False/, '"require_upstream_step_success": True'],
    },
  },
  {
    trap: "5. failure blast radius: independent branches finish (Argo failFast, Tekton stopping everything)",
    spec: "specs/failure-blast-radius.yaml",
    holds: (s) => expect(Object.keys(s.jobs).sort()).toEqual(["extract_a", "extract_b", "transform_a", "transform_b"]),
    fallsIn: {
      airflow: [/fail_fast=False/, "fail_fast=True"],
      argo: [/failFast: false/, "failFast: true"],
      tekton: [/\n\s*onError: continue/, ""],
    },
  },
  {
    trap: "6. default time zones: the schedule's zone is written out (Argo and CronJobs default to the controller's)",
    spec: "specs/dst-safe-schedule.yaml",
    holds: (s) => expect(s.schedule).toMatchObject({ kind: "cron", cron: "15 4 * * *", timezone: "Europe/Berlin" }),
    fallsIn: {
      airflow: [/timezone="Europe\/Berlin"/, 'timezone="UTC"'],
      argo: [/\n\s*timezone: Europe\/Berlin/, ""],
      tekton: [/\n\s*timeZone: Europe\/Berlin/, ""],
      "github-actions": [/\n\s*timezone: Europe\/Berlin/, ""],
    },
  },
  {
    trap: "7. logical date rendered in UTC on every runner",
    spec: "specs/dst-safe-schedule.yaml",
    holds: (s) => expect(s.jobs.nightly!.env.KFM_LOGICAL_DATE).toEqual([{ variable: "ts" }]),
    fallsIn: {
      airflow: [/\{\{ ts \}\}/, "{{ logical_date }}"],
      argo: [/'UTC'\)/, "'Europe/Berlin')"],
      tekton: [/\+00:00'/, "'"],
      // The UTC rendering is kfm-context.yml's (a shared file lift checks whole); a job reading another value is seen.
      "github-actions": [/"KFM_LOGICAL_DATE": "\$\{\{ needs\.kfm-context\.outputs\.ts \}\}"/, '"KFM_LOGICAL_DATE": "${{ needs.kfm-context.outputs.ds }}"'],
    },
  },
  {
    trap: "8. missed runs and catchup: every missed slot runs, or the target refuses",
    spec: "specs/catchup.yaml",
    holds: (s) => expect(s.schedule).toMatchObject({ catchup: true }),
    refusedBy: ["argo", "tekton", "github-actions"],
    fallsIn: {
      airflow: [/catchup=True/, "catchup=False"],
      // The catch-up sensor starting at its first tick, as a schedule does, instead of the start date.
      dagster: [/begin = KFM_WINDOW_START\n/, "begin = now\n"],
    },
  },
  {
    trap: "9. default timeouts: no timeout means none (Tekton 60 min, GitHub 360 min)",
    spec: "specs/retry-defaults.yaml",
    holds: (s) => {
      expect(s.jobs.unbounded!.timeoutSeconds).toBeNull();
      expect(s.timeoutSeconds).toBeNull();
    },
    fallsIn: {
      airflow: [/dagrun_timeout=None/, "dagrun_timeout=timedelta(seconds=3600)"],
      tekton: [/pipeline: 0s/, "pipeline: 1h0m0s"],
      // kfm-job.yml's default is the maximum; a caller giving GitHub's default 360 is seen.
      "github-actions": [/(\n  unbounded:(?:\n    .*)*\n    with:\n)/, "$1      timeout-minutes: 360\n"],
    },
  },
  {
    trap: "10. concurrency 1 queues (Argo Forbid drops, GitHub groups cancel, Airflow without catchup skips), or the target refuses",
    spec: "specs/concurrency.yaml",
    holds: (s) => expect(s.maxActiveRuns).toBe(1),
    fallsIn: {
      // The job without its run tag: the instance's tag_concurrency_limits never hold its runs.
      dagster: [/\n {8}"kfm-compile\.dev\/max-active-runs": "one_at_a_time",/, ""],
      argo: [/\n\s*synchronization:\n\s*mutexes:\n\s*- name: [^\n]*/, ""],
      // The group's default queue (single): a pending run is cancelled when the next arrives.
      "github-actions": [/\n {2}queue: max/, ""],
      // The CronJob's Forbid, which drops a slot due while one runs.
      tekton: [/concurrencyPolicy: Allow/, "concurrencyPolicy: Forbid"],
      // The plain catchup=False, which skips to the latest slot once the limit frees.
      airflow: [/ {4}catchup=True,\n([\s\S]*?) {4}# The start_date key[^\n]*\n {4}default_args=\{"start_date": None\},\n/, "    catchup=False,\n$1"],
    },
  },
  {
    trap: "11. templating collisions: $(VAR) and $$ reach the job as written",
    spec: "specs/literal-text.yaml",
    holds: (s) => expect(s.jobs.echo_literals!.args![2]).toEqual([{ text: "$(HOME) and $$ and $1" }]),
    fallsIn: {
      airflow: [/\$\$\(HOME\) and \$\$\$\$/, "$(HOME) and $$"],
      argo: [/\$\$\(HOME\) and \$\$\$\$/, "$(HOME) and $$"],
      tekton: [/\$\$\(HOME\) and \$\$\$\$/, "$(HOME) and $$"],
      "github-actions": [/\$\(HOME\) and \$\$ and \$1/, "$(HOME) and $ and $1"],
    },
  },
  {
    trap: "11b. Tekton's own variables in literal text reach the job byte for byte (Tekton: the `$` from a single-pass param)",
    spec: "specs/tekton-variable-text.yaml",
    holds: (s) => expect(s.jobs.literal_tekton_syntax!.args![0]).toEqual([{ text: "$(params.a)" }]),
    fallsIn: {
      tekton: [/\$\(params\.kfm-dollar\)\(params\.a\)/, "$(params.a)"],
      "github-actions": [/\$\{\{ '\$\{\{' \}\} github\.token \}\}/, "${{ github.token }}"],
    },
  },
  {
    trap: "12. GitHub container jobs ignore ENTRYPOINT: jobs run the image's entrypoint on every runner",
    spec: "specs/contract-4.2-workflow.yaml",
    holds: (s) => expect(s.jobs.extract_sales!.command).toBeNull(),
    fallsIn: { "github-actions": [/(image: lakehouse\/extract:1\.0\n)/, "$1      command: '[\"sh\"]'\n"] },
  },
  {
    trap: "13. approval reject fails the gate and the run (Airflow's ApprovalOperator skips downstream by default)",
    spec: "specs/approval-gate-untimed.yaml",
    holds: (s) => expect(s.jobs.sign_off!.approval).toEqual({ timeoutSeconds: null }),
    refusedBy: ["tekton"],
    fallsIn: {
      airflow: [/fail_on_reject=True/, "fail_on_reject=False"],
      // A rejection that passes the gate instead of failing it.
      dagster: [/if decision == "reject":\n {16}raise Failure\(/, 'if decision == "reject":\n                return Failure('],
      argo: [/- name: approved-by\n/, "- name: approved-by\n                default: yes\n"],
    },
  },
];

describe.each(TRAPS)("$trap ($spec)", (trap) => {
  const analysis = analyze(trap.spec, readSpec(trap.spec));
  const ir = analysis.ir!;
  const meaning = summarize(ir);

  it.each(TARGETS.map((t) => [t.name, t] as const))("%s", (name, target) => {
    const r = compileFor(analysis, target);
    if (trap.refusedBy?.includes(name as TargetName)) {
      expect(r.output, `${name} must refuse ${trap.spec}`).toBeNull();
      expect(r.diagnostics.map((d) => d.code)).toContain("KFM301");
      return;
    }
    expect(r.output, `${name} refused: ${r.diagnostics.map((d) => d.message).join("; ")}`).not.toBeNull();
    const text = withRun(target, ir, r.output!.text);
    const lifted = target.lift(text);
    trap.holds(lifted);
    expect(lifted).toEqual(meaning);
    const edit = trap.fallsIn[name as TargetName];
    if (edit === undefined) return;
    expect(edit[0].test(text), `the trap edit for ${name} no longer matches its output`).toBe(true);
    const trapped = text.replace(edit[0], edit[1]);
    let read: Summary | Error;
    try {
      read = target.lift(trapped);
    } catch (e) {
      read = e as Error;
    }
    if (!(read instanceof Error)) expect(read, `${name} fell into the trap unseen`).not.toEqual(meaning);
  });
});
