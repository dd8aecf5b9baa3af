import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dstConflict, parseCron, transitions, type Cron, type Transition } from "../src/cron.js";
import { offsetMinutes, toLocal } from "../src/values.js";

// The readings these replaced, kept as references: the offset from a formatted wall
// time, and the zone's changes found by sampling every day.
const wallClockOffset = (utcMs: number, zone: string): number => Math.round((Date.parse(toLocal(utcMs, zone) + "Z") - Math.floor(utcMs / 1000) * 1000) / 60000);

function dailyTransitions(zone: string): Transition[] {
  const found: Transition[] = [];
  const day = 86400000;
  let offset = wallClockOffset(Date.UTC(2020, 0, 1), zone);
  for (let t = Date.UTC(2020, 0, 1); t < Date.UTC(2050, 0, 1); t += day) {
    const next = wallClockOffset(t + day, zone);
    if (next === offset) continue;
    let lo = t;
    let hi = t + day;
    while (hi - lo > 60000) {
      const mid = lo + Math.floor((hi - lo) / 120000) * 60000;
      if (wallClockOffset(mid, zone) === offset) lo = mid;
      else hi = mid;
    }
    found.push({ atMs: hi, before: offset, after: next });
    offset = next;
  }
  return found;
}

const cron = (s: string): Cron => {
  const c = parseCron(s);
  if (typeof c === "string") throw new Error(c);
  return c;
};

describe("time-zone offsets", () => {
  it("agree with the wall time Intl formats, in every zone, from 1900 to 2100", () => {
    const zones = [...Intl.supportedValuesOf("timeZone"), "UTC", "Etc/UTC", "GMT", "Etc/GMT", "US/Eastern"];
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }), (zone, t) => {
        expect(offsetMinutes(t, zone)).toBe(wallClockOffset(t, zone));
      }),
      { numRuns: 2000 },
    );
  });
  it("read half-hour and negative offsets", () => {
    expect(offsetMinutes(Date.UTC(2024, 0, 1), "Asia/Kolkata")).toBe(330);
    expect(offsetMinutes(Date.UTC(2024, 0, 1), "America/St_Johns")).toBe(-210);
    expect(offsetMinutes(Date.UTC(2024, 6, 1), "America/St_Johns")).toBe(-150);
    expect(offsetMinutes(Date.UTC(2024, 0, 1), "UTC")).toBe(0);
  });
});

describe("daylight-saving changes", () => {
  // Zones with changes close together (Palestine and Morocco around Ramadan, Fiji),
  // half-hour changes (Lord Howe), two-hour ones (Troll), southern seasons, and none.
  const zones = [
    "Asia/Gaza",
    "Africa/Casablanca",
    "Pacific/Fiji",
    "Australia/Lord_Howe",
    "Antarctica/Troll",
    "America/Santiago",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "UTC",
  ];
  it.each(zones)("are those a daily scan finds in %s", (zone) => {
    expect(transitions(zone)).toEqual(dailyTransitions(zone));
  });
  it("put a slot in the gap or the fold the clocks make, answered per schedule and zone", () => {
    expect(dstConflict(cron("30 2 * * *"), "America/New_York")).toEqual({ kind: "gap", local: "2020-03-08T02:30" });
    expect(dstConflict(cron("30 1 * * *"), "America/New_York")).toEqual({ kind: "fold", local: "2020-11-01T01:30" });
    // The same schedule again, and in zones where it is safe or changes on other days.
    expect(dstConflict(cron("30 2 * * *"), "America/New_York")).toEqual({ kind: "gap", local: "2020-03-08T02:30" });
    expect(dstConflict(cron("30 2 * * *"), "Europe/Berlin")).toEqual({ kind: "gap", local: "2020-03-29T02:30" });
    expect(dstConflict(cron("30 2 * * *"), "Asia/Kolkata")).toBeNull();
    // Within a schedule's window: the first change it can hit, and none when it hits none (issue 11)
    expect(dstConflict(cron("30 2 * * *"), "America/New_York", { start: "2026-01-01T00:00:00", end: null })).toEqual({
      kind: "gap",
      local: "2026-03-08T02:30",
    });
    expect(dstConflict(cron("30 1 * * *"), "America/New_York", { start: "2026-04-01T00:00:00", end: null })).toEqual({
      kind: "fold",
      local: "2026-11-01T01:30",
    });
    expect(dstConflict(cron("30 2 * * *"), "America/New_York", { start: "2026-04-01T00:00:00", end: "2026-10-31T23:59:59" })).toBeNull();
    expect(dstConflict(cron("30 2 * * *"), "UTC")).toBeNull();
  });
});
