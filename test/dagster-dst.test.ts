/**
 * Dagster's daylight-saving guard as written and read back (targets/dagster/emit.ts
 * `dagsterDstGuard`, lift.ts `ownCron`): a gap slot not on the hour gets the hour after it in
 * `cron_schedule` and `kfm_is_slot` in the schedule function; lift reads the cron back and refuses
 * a module whose guard is missing. Dagster's own code runs it in
 * test/conformance/dagster-dst.conformance.test.ts.
 */
import { describe, expect, it } from "vitest";
import { analyze, compileFor } from "../src/compile.js";
import { TARGETS } from "../targets/index.js";

const DAGSTER = TARGETS.find((t) => t.name === "dagster")!;

function compile(cron: string, zone: string): { text: string | null; codes: string[]; messages: string[] } {
  const spec = `workflow:\n  name: w\n  schedule:\n    cron: "${cron}"\n    timezone: "${zone}"\n  jobs:\n    - job: {name: a, image: "busybox:1.36"}\n`;
  const r = compileFor(analyze("w.yaml", spec, undefined, { targets: [] }), DAGSTER);
  return { text: r.output?.text ?? null, codes: r.diagnostics.map((d) => d.code), messages: r.diagnostics.map((d) => d.message) };
}

describe("dagster: a daylight-saving gap slot not on the hour", () => {
  it("adds the hour after the slot and the guard, and lift reads the cron back", () => {
    const { text } = compile("30 2 * * *", "Europe/Berlin");
    expect(text).toContain('cron_schedule="30 2,3 * * *"');
    expect(text).toContain("KFM_SLOT_HOURS = {2}\nKFM_SLOT_MINUTES = {30}\n");
    expect(text).toContain("    if not kfm_is_slot(fire):\n        return SkipReason(");
    expect(DAGSTER.lift(text!).schedule).toMatchObject({ cron: "30 2 * * *", timezone: "Europe/Berlin" });
  });

  it("tells a cron whose own hours hold the added one apart by the guard's hours", () => {
    const { text } = compile("30 2,3 * * *", "Europe/Berlin");
    expect(text).toContain('cron_schedule="30 2,3 * * *"');
    expect(text).toContain("KFM_SLOT_HOURS = {2, 3}");
    expect(DAGSTER.lift(text!).schedule).toMatchObject({ cron: "30 2,3 * * *" });
  });

  it("guards at midnight too (America/Santiago's gap is 00:00-01:00)", () => {
    const { text } = compile("30 0 * * *", "America/Santiago");
    expect(text).toContain('cron_schedule="30 0,1 * * *"');
    expect(DAGSTER.lift(text!).schedule).toMatchObject({ cron: "30 0 * * *" });
  });

  it("writes no guard where Dagster's iterator already fires the meaning's instants", () => {
    for (const [cron, zone] of [
      ["0 2 * * *", "Europe/Berlin"],
      ["0 * * * *", "America/New_York"],
      ["30 2 * * *", "UTC"],
      // A fold slot only: Dagster fires its later occurrence (`_apply_fold`).
      ["30 1 * * *", "America/New_York"],
    ] as const) {
      const { text } = compile(cron, zone);
      expect(text, `${cron} in ${zone}`).toContain(`cron_schedule="${cron}"`);
      expect(text, `${cron} in ${zone}`).not.toContain("kfm_is_slot");
    }
  });

  it("lift refuses a module whose guard was removed, or whose added hour was", () => {
    const { text } = compile("30 2 * * *", "Europe/Berlin");
    expect(() => DAGSTER.lift(text!.replace(/\n {4}if not kfm_is_slot\(fire\):\n {8}return SkipReason\([^\n]*\)/, ""))).toThrow(/daylight-saving/);
    expect(() => DAGSTER.lift(text!.replace('cron_schedule="30 2,3 * * *"', 'cron_schedule="30 2 * * *"'))).toThrow(/daylight-saving/);
    expect(() => DAGSTER.lift(text!.replace("KFM_SLOT_HOURS = {2}", "KFM_SLOT_HOURS = {3}"))).toThrow(/daylight-saving/);
  });

  it("still refuses (KFM220) a gap slot one added hour cannot fire: a half-hour gap (Australia/Lord_Howe)", () => {
    const { text, codes, messages } = compile("15 2 * * *", "Australia/Lord_Howe");
    expect(text).toBeNull();
    expect(codes).toContain("KFM220");
    expect(messages.join("\n")).toMatch(/dagster fires it at the end of the gap, on the hour, and one added hour of the same day cannot fire it later/);
  });
});
