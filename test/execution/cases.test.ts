import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { TARGETS } from "../../targets/index.js";
import { cases, compileSpec } from "./harness.js";
import { EXECUTION_CASES } from "./scenarios.js";

// The execution suite's cases themselves: every spec lowers, every scenario has a trace
// (none runs for ever), and each spec compiles on the targets it is meant for, so an
// engine that skips a case does so because its target refuses it, as written here.

/** The targets that refuse each spec (KFM301); every other target must compile it. */
const REFUSED_BY: Record<string, readonly string[]> = {
  "gate.yaml": ["github-actions"],
  "gate-untimed.yaml": ["tekton"],
  "run-timeout.yaml": ["dagster"],
};

/**
 * What each scenario's description promises, worked out by hand: the run's state, then
 * each job's state with its attempts as `end@wait` (`s` succeeded, `f` failed, `t`
 * timed-out, `d` did-not-start; no wait before the first), gates as their state alone.
 */
const PROMISED: Record<string, string> = {
  "chain/success": "succeeded | extract s: s | transform s: s | load s: s",
  "chain/retry-recovers": "succeeded | extract s: s | transform s: f f@2 s@2 | load s: s",
  "chain/retry-exhausted": "failed | extract s: s | transform f: f f@2 f@2 | load n:",
  "diamond/success": "succeeded | start s: s | left s: s | right s: s | join s: s | audit s: s",
  "diamond/branch-fails": "failed | start s: s | left f: f f@2 | right s: s | join n: | audit s: s",
  "timeout-diamond/success": "succeeded | start s: s | left s: s | right s: s | join s: s | audit s: s",
  "timeout-diamond/root-times-out-once": "succeeded | start s: t s@2 | left s: s | right s: s | join s: s | audit s: s",
  "timeout-diamond/root-times-out-for-good": "failed | start f: t t@2 | left n: | right n: | join n: | audit n:",
  "timeout-diamond/join-times-out-for-good": "failed | start s: s | left s: s | right s: s | join f: t t@2 | audit s: s",
  "timeout-diamond/branch-times-out": "failed | start s: s | left s: s | right f: t | join n: | audit n:",
  "branch-timeouts/success": "succeeded | start s: s | left s: s | right s: s | join s: s",
  "branch-timeouts/left-times-out-right-recovers": "failed | start s: s | left f: t t@10 | right s: f s@30 | join n:",
  "branch-timeouts/left-times-out-right-fails": "failed | start s: s | left f: t t@10 | right f: f f@30 | join n:",
  "branch-timeouts/both-time-out": "failed | start s: s | left f: t t@10 | right f: t t@30 | join n:",
  "branch-timeouts/branch-times-out-once": "succeeded | start s: s | left s: t s@10 | right s: s | join s: s",
  "literal-references/success": "succeeded | literal_references s: s",
  "backoff/recovers-on-attempt-4": "succeeded | flaky s: f f@2 f@4 s@5",
  "backoff/fails-for-good": "failed | flaky f: f f@2 f@4 f@5",
  "continue/success": "succeeded | load s: s | publish s: s | cleanup s: s",
  "continue/continue-after-failure": "failed | load f: f | publish n: | cleanup s: s",
  "prerequisite/success": "succeeded | register s: s | check s: s | transform s: s | kpi s: s",
  "prerequisite/prerequisite-fails": "failed | register s: s | check f: f | transform n: | kpi n:",
  "attempt-timeout/timeout-retried": "succeeded | slow s: t s@2",
  "attempt-timeout/timeout-for-good": "failed | slow f: t t@2 t@2",
  "run-timeout/in-time": "succeeded | prepare s: s | crunch s: s | publish s: s | side s: s",
  "run-timeout/run-timeout-stops-attempt": "failed | prepare s: s | crunch f: t | publish n: | side s: s",
  "run-timeout/run-timeout-during-wait": "failed | prepare s: s | crunch f: f f@12 | publish n: | side s: s",
  "run-timeout-notify/run-timeout-notified": "failed | crunch f: t | publish n: | notified 0:crunch",
  "gate/approved": "succeeded | build s: s | approve s: | promote s: s",
  "gate/rejected": "failed | build s: s | approve f: | promote n:",
  "gate/timed-out": "failed | build s: s | approve f: | promote n:",
  "gate-untimed/approved": "succeeded | build s: s | approve s: | promote s: s | notes s: s",
  "gate-untimed/rejected": "failed | build s: s | approve f: | promote n: | notes s: s",
  "notify/failure-notified-once": "failed | load f: f | report n: | archive s: s | notified 0:load",
  "notify/success-not-notified": "succeeded | load s: s | report s: s | archive s: s",
  "no-start/pod-never-starts": "succeeded | pull s: d s@2",
  "concurrency/second-run-due": "succeeded | refresh s: t s@2",
  "newcomer/success": "succeeded | extract s: s | clean_orders s: s | clean_customers s: s | join s: s | publish s: s",
  "newcomer/branch-recovers": "succeeded | extract s: s | clean_orders s: f s@30 | clean_customers s: s | join s: s | publish s: s",
  "dst-daily-berlin/gap-slot": "succeeded | nightly s: s",
};

describe("execution cases", () => {
  it("give the traces their descriptions promise", () => {
    const short = { succeeded: "s", failed: "f", "not-run": "n", "timed-out": "t", "did-not-start": "d" } as const;
    const got: Record<string, string> = {};
    for (const item of cases()) {
      const t = item.expected;
      const jobs = Object.entries(t.jobs).map(
        ([name, j]) => `${name} ${short[j.state]}:${j.attempts.map((a) => ` ${short[a.end]}${a.waitSeconds === null ? "" : `@${a.waitSeconds}`}`).join("")}`,
      );
      const notified = t.notifications.map((n) => ` | notified ${n.index}:${n.failedJobs.join(",")}`).join("");
      got[`${item.spec.replace(/^.*\/|\.yaml$/g, "")}/${item.scenario.name}`] = [t.run, ...jobs].join(" | ") + notified;
    }
    expect(got).toEqual(PROMISED);
  });

  it("list every spec of test/execution/specs once, and issue 15's two workflows of specs/, with scenario names unique per spec", () => {
    const specs = readdirSync(join(PACKAGE_ROOT, "test/execution/specs")).map((f) => `test/execution/specs/${f}`);
    expect(EXECUTION_CASES.map((c) => c.spec).sort()).toEqual([...specs, "specs/dst-daily-berlin.yaml", "specs/newcomer.yaml"].sort());
    for (const c of EXECUTION_CASES) expect(new Set(c.scenarios.map((s) => s.name)).size).toBe(c.scenarios.length);
  });

  it("have an expected trace for every scenario, at least 15 of them", () => {
    const all = [...cases()];
    expect(all.length).toBeGreaterThanOrEqual(15);
    for (const item of all) expect(["succeeded", "failed"]).toContain(item.expected.run);
  });

  for (const c of EXECUTION_CASES) {
    const name = c.spec.replace(/^.*\//, "");
    it(`${name} compiles on every target but ${(REFUSED_BY[name] ?? ["none"]).join(", ")}`, () => {
      for (const t of TARGETS) {
        const r = compileSpec(c.spec, t.name);
        const refused = (REFUSED_BY[name] ?? []).includes(t.name);
        expect(r.refused === null ? "compiled" : "refused", `${name} on ${t.name}: ${r.refused ?? ""}`).toBe(refused ? "refused" : "compiled");
        if (r.compiled !== null) expect(r.compiled.files.some((f) => f.includes(`/${t.name}/`))).toBe(true);
      }
    });
  }
});
