/**
 * The POSIX TZ rules derived from the zones (src/tzrule.ts), against the tz database of this
 * machine: the footer of each TZif file (RFC 8536 section 3.3, the rule zic writes for the
 * years after its last explicit change) and glibc's `date` reading the derived rule with no
 * tz database at all, as the Tekton run creator's guard does in the kubectl image.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { transitions } from "../src/cron.js";
import { posixTz } from "../src/tzrule.js";

const ZONEINFO = "/usr/share/zoneinfo";
const hasTzdb = existsSync(join(ZONEINFO, "Europe/Berlin"));
const hasGnuDate = spawnSync("date", ["--version"], { encoding: "utf8" }).stdout?.includes("GNU coreutils") === true;

/** The last line of a TZif file: its POSIX TZ rule. */
function footer(zone: string): string {
  const lines = readFileSync(join(ZONEINFO, zone), "latin1").trimEnd().split("\n");
  return lines[lines.length - 1]!;
}

/** The rule with its abbreviations (`CET`, `<+01>`) replaced: ICU has no abbreviations, so the derived rule writes numeric ones. */
const withoutNames = (rule: string) => rule.replace(/<[^>]*>|[A-Za-z]{3,}/g, "N");

const rule = (zone: string) => {
  const r = posixTz(zone);
  return "rule" in r ? r.rule : `no rule: ${r.problem}`;
};

describe.skipIf(!hasTzdb)("POSIX TZ rules derived from the zones, against the TZif footers of the tz database", () => {
  it("given the zones of the daylight-saving comparison, when derived, then the rule is the footer's (numeric names aside)", () => {
    expect(rule("Europe/Berlin")).toBe("<+01>-1<+02>,M3.5.0,M10.5.0/3");
    expect(rule("America/Santiago")).toBe("<-04>4<-03>,M9.1.6/24,M4.1.6/24");
    for (const zone of ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Santiago"]) {
      expect(withoutNames(rule(zone)), zone).toBe(withoutNames(footer(zone)));
    }
  });

  it("given zones with half-hour offsets or daylight saving, southern ones, and one without a change, when derived, then the rule is the footer's", () => {
    const zones = [
      "America/St_Johns",
      "Australia/Lord_Howe",
      "Pacific/Chatham",
      "Pacific/Auckland",
      "Asia/Jerusalem",
      "America/Havana",
      "Europe/Chisinau",
      "Asia/Kolkata",
      "UTC",
    ];
    for (const zone of zones) expect(withoutNames(rule(zone)), zone).toBe(withoutNames(footer(zone)));
  });

  it("given zones whose changes follow no single rule from 2024 to 2050, when derived, then the reason is given", () => {
    // Morocco's clocks change around Ramadan; Gaza's too; Paraguay stopped changing them in 2024.
    expect(posixTz("Africa/Casablanca")).toEqual({ problem: expect.stringMatching(/does not change its clocks forward once and back once in/) });
    expect(posixTz("Asia/Gaza")).toHaveProperty("problem");
    expect(posixTz("America/Asuncion")).toHaveProperty("problem");
  });
});

describe.skipIf(!hasTzdb || !hasGnuDate)("glibc's date reading the derived rules without a tz database, against the zones read from the tz database", () => {
  const empty = mkdtempSync(join(tmpdir(), "kfm-no-tzdata-"));
  /** `date` of every instant of `file` in the zone TZ names, with TZDIR as given. */
  const dates = (tz: string, file: string, tzdir: string) => {
    const r = spawnSync("date", ["-f", file, "+%FT%T%z"], { env: { TZ: tz, TZDIR: tzdir, LC_ALL: "C", PATH: process.env.PATH }, encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trimEnd().split("\n");
  };

  it("given every zone with a rule and daylight saving, when read an hour and a minute around each change from 2024 to 2050, then glibc gives the zone's wall time and offset", () => {
    const zones = Intl.supportedValuesOf("timeZone").filter((z) => existsSync(join(ZONEINFO, z)) && rule(z).includes(","));
    expect(zones).toContain("Europe/Berlin");
    const dir = mkdtempSync(join(tmpdir(), "kfm-tzrule-"));
    const wrong: string[] = [];
    for (const zone of zones) {
      const instants = transitions(zone)
        .filter((t) => t.atMs >= Date.UTC(2024, 0, 1))
        .flatMap((t) => [-3600, -60, 0, 60, 3600].map((s) => Math.floor(t.atMs / 1000) + s));
      const file = join(dir, zone.replace(/\//g, "_"));
      writeFileSync(file, instants.map((s) => `@${s}\n`).join(""));
      const fromRule = dates(rule(zone), file, empty);
      const fromTzdb = dates(zone, file, ZONEINFO);
      fromRule.forEach((d, i) => d !== fromTzdb[i] && wrong.push(`${zone} @${instants[i]}: rule ${d}, tz database ${fromTzdb[i]}`));
    }
    expect(wrong.slice(0, 10)).toEqual([]);
  }, 120_000);
});
