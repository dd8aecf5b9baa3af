import { describe, expect, it } from "vitest";
import { constantPeriod, dstGuard, gapHourShift, intervalToCron, nextFireTimes, parseCron, type Cron } from "../src/cron.js";
import { didYouMean } from "../src/diagnostics.js";
import { retryWaits } from "../src/ir.js";
import { parseTemplate } from "../src/template.js";
import { cpuCores, fromLocal, isZone, legacyZone, parseBound, parseDuration, quantityBytes } from "../src/values.js";
import { toYaml } from "../src/yaml.js";
import YAML from "yaml";

const cron = (s: string): Cron => {
  const c = parseCron(s);
  if (typeof c === "string") throw new Error(c);
  return c;
};
const iso = (ms: number) => new Date(ms).toISOString();

describe("durations", () => {
  it("reads units largest first and rejects anything else", () => {
    expect(parseDuration("1h30m")).toBe(5400);
    expect(parseDuration("2d")).toBe(172800);
    expect(parseDuration("0s")).toBe(0);
    expect(parseDuration("")).toBeNull();
    expect(parseDuration("30m1h")).toBeNull();
    expect(parseDuration("5 minutes")).toBeNull();
  });
});

describe("Kubernetes quantities", () => {
  it("converts memory exactly, binary and decimal suffixes apart", () => {
    expect(quantityBytes("1Gi")).toBe(1073741824n);
    expect(quantityBytes("1G")).toBe(1000000000n);
    expect(quantityBytes("1.5Mi")).toBe(1572864n);
    expect(quantityBytes("1e3")).toBe(1000n);
    expect(quantityBytes("2GB")).toBeNull();
  });
  it("converts CPU to cores to the millicore", () => {
    expect(cpuCores("500m")).toBe("0.5");
    expect(cpuCores("1000m")).toBe("1");
    expect(cpuCores("2.25")).toBe("2.25");
    expect(cpuCores("lots")).toBeNull();
  });
});

describe("time zones and dates", () => {
  it("accepts IANA names in their exact case, aliases included, and nothing else", () => {
    expect(isZone("UTC")).toBe(true);
    expect(isZone("America/New_York")).toBe(true);
    expect(isZone("US/Eastern")).toBe(true);
    expect(isZone("america/new_york")).toBe(false);
    expect(isZone("Mars/Olympus")).toBe(false);
    expect(isZone("+05:00")).toBe(false);
  });
  it("refuses names only ICU knows, which Python's and Go's tz databases refuse (issue 11)", () => {
    // Given names Node's Intl takes (Java's three-letter IDs, SystemV) but tzdata has no file for
    for (const z of ["PST", "CST", "IST", "JST", "SystemV/EST5", "US/Pacific-New"]) expect(isZone(z), z).toBe(false);
    // while the tz database's own old names and links are zones
    for (const z of ["EST", "MST", "HST", "EST5EDT", "CET", "Etc/GMT+5", "US/Eastern", "Asia/Calcutta"]) expect(isZone(z), z).toBe(true);
  });
  it("says EST and MST are fixed offsets, and legacy names have a region zone (issue 11)", () => {
    expect(legacyZone("EST")).toMatchObject({
      severity: "error",
      message: expect.stringMatching(/fixed UTC-5 .*Did you mean 'America\/New_York'\? .*'Etc\/GMT\+5'/),
    });
    expect(legacyZone("MST")).toMatchObject({ severity: "error", message: expect.stringMatching(/fixed UTC-7 .*'America\/Denver'.*'America\/Phoenix'/) });
    expect(legacyZone("EST5EDT")).toMatchObject({ severity: "warning", message: expect.stringMatching(/Did you mean 'America\/New_York'\?/) });
    expect(legacyZone("CET")).toMatchObject({ severity: "warning", message: expect.stringMatching(/Did you mean 'Europe\/Brussels'\?/) });
    for (const z of ["America/New_York", "UTC", "Etc/GMT+5", "US/Eastern"]) expect(legacyZone(z), z).toBeNull();
  });
  it("reads a date as midnight in the zone and converts an instant into it", () => {
    expect(parseBound("2024-01-01", "America/New_York")).toBe("2024-01-01T00:00:00");
    expect(parseBound("2024-01-01T12:00:00Z", "America/New_York")).toBe("2024-01-01T07:00:00");
    expect(parseBound("2024-02-30", "UTC")).toBeNull();
  });
  it("knows a spring-forward gap has no instant and a fall-back fold has two", () => {
    expect(fromLocal("2024-03-10T02:30:00", "America/New_York")).toEqual([]);
    expect(fromLocal("2024-11-03T01:30:00", "America/New_York").map(iso)).toEqual(["2024-11-03T05:30:00.000Z", "2024-11-03T06:30:00.000Z"]);
  });
});

describe("cron", () => {
  it("refuses what the runners read differently", () => {
    expect(parseCron("0 2 * * MON")).toMatch(/not supported/);
    expect(parseCron("0 2 1 * 1")).toMatch(/both day-of-month and day-of-week/);
    expect(parseCron("0 2 * * 7")).toMatch(/outside the day-of-week field's range 0-6/);
    expect(parseCron("0 2 * *")).toMatch(/five fields/);
  });
  it("expands macros", () => {
    expect(cron("@daily").text).toBe("0 0 * * *");
  });
  it("fires a fixed-hour slot in a spring-forward gap once, read with the offset before the gap", () => {
    const times = nextFireTimes(cron("30 2 * * *"), "America/New_York", Date.parse("2024-03-08T12:00:00Z"), 3).map(iso);
    // 2024-03-10 02:30 does not exist in New York: it fires at 03:30 EDT (02:30 EST).
    expect(times).toEqual(["2024-03-09T07:30:00.000Z", "2024-03-10T07:30:00.000Z", "2024-03-11T06:30:00.000Z"]);
  });
  it("fires a fixed-hour slot in a fall-back fold once, at its second occurrence", () => {
    const times = nextFireTimes(cron("30 1 * * *"), "America/New_York", Date.parse("2024-11-02T12:00:00Z"), 2).map(iso);
    expect(times).toEqual(["2024-11-03T06:30:00.000Z", "2024-11-04T06:30:00.000Z"]);
  });
  it("runs a cron firing every hour on elapsed time: no run for the skipped hour, two for the repeated one", () => {
    const spring = nextFireTimes(cron("0 * * * *"), "America/New_York", Date.parse("2024-03-10T05:30:00Z"), 3).map(iso);
    expect(spring).toEqual(["2024-03-10T06:00:00.000Z", "2024-03-10T07:00:00.000Z", "2024-03-10T08:00:00.000Z"]);
    const fall = nextFireTimes(cron("0 * * * *"), "America/New_York", Date.parse("2024-11-03T04:30:00Z"), 3).map(iso);
    // 01:00 EDT (05:00Z) and 01:00 EST (06:00Z) both run.
    expect(fall).toEqual(["2024-11-03T05:00:00.000Z", "2024-11-03T06:00:00.000Z", "2024-11-03T07:00:00.000Z"]);
  });
  it("gives robfig/cron runners the hour after a gap slot and keeps a guard only where the meaning needs one", () => {
    expect(dstGuard(cron("30 2 * * *"), "Europe/Berlin")).toEqual({ cron: "30 2,3 * * *", added: "30 3 * * *", hours: [2], addedHours: [3] });
    expect(dstGuard(cron("30 1-3 * * *"), "Europe/Berlin")).toMatchObject({ added: null, addedHours: [] });
    expect(dstGuard(cron("30 1 * * *"), "America/New_York")).toMatchObject({ added: null, hours: [1] });
    expect(dstGuard(cron("0 * * * *"), "America/New_York")).toBeNull();
    expect(dstGuard(cron("15 4 * * *"), "Europe/Berlin")).toBeNull();
    // A 30-minute gap (Lord Howe) cannot be met by adding an hour.
    expect(dstGuard(cron("15 2 * * *"), "Australia/Lord_Howe")).toBeNull();
    expect(gapHourShift(cron("15 2 * * *"), "Australia/Lord_Howe")).toBeNull();
  });
  it("knows when runs are a fixed time apart", () => {
    expect(constantPeriod(cron("0 2 * * *"), "UTC")).toBe(86400);
    expect(constantPeriod(cron("*/15 * * * *"), "UTC")).toBe(900);
    expect(constantPeriod(cron("0 0 * * 1"), "Asia/Tokyo")).toBe(604800);
    expect(constantPeriod(cron("0 2 * * *"), "America/New_York")).toBeNull();
    expect(constantPeriod(cron("0 9,17 * * *"), "UTC")).toBeNull();
    expect(constantPeriod(cron("0 0 1 * *"), "UTC")).toBeNull();
  });
  it("turns only grid intervals into crons", () => {
    expect(intervalToCron(3600)).toBe("0 * * * *");
    expect(intervalToCron(900)).toBe("*/15 * * * *");
    expect(intervalToCron(6 * 3600)).toBe("0 */6 * * *");
    expect(intervalToCron(86400)).toBe("0 0 * * *");
    expect(intervalToCron(5400)).toBeNull();
    expect(intervalToCron(7 * 60)).toBeNull();
    expect(intervalToCron(30)).toBeNull();
  });
});

describe("retry waits", () => {
  it("are the delay times the multiplier to the power k-1, capped", () => {
    expect(retryWaits({ maxAttempts: 3, delaySeconds: 300, multiplier: 1, maxDelaySeconds: null })).toEqual([300, 300]);
    expect(retryWaits({ maxAttempts: 3, delaySeconds: 300, multiplier: 2, maxDelaySeconds: null })).toEqual([300, 600]);
    expect(retryWaits({ maxAttempts: 5, delaySeconds: 60, multiplier: 3, maxDelaySeconds: 300 })).toEqual([60, 180, 300, 300]);
    expect(retryWaits({ maxAttempts: 1, delaySeconds: 60, multiplier: 2, maxDelaySeconds: null })).toEqual([]);
  });
});

describe("templates", () => {
  it("reads variables, params and the Jinja ways of writing literal braces", () => {
    expect(parseTemplate("--date={{ ds }}")).toEqual({ ok: true, parts: [{ text: "--date=" }, { variable: "ds" }] });
    expect(parseTemplate("{{params.table}}")).toEqual({ ok: true, parts: [{ param: "table" }] });
    expect(parseTemplate("{{ '{{' }} x }}")).toEqual({ ok: true, parts: [{ text: "{{ x }}" }] });
    expect(parseTemplate("{% raw %}{{ a }}{% endraw %}")).toEqual({ ok: true, parts: [{ text: "{{ a }}" }] });
    expect(parseTemplate("a{# note #}b")).toEqual({ ok: true, parts: [{ text: "ab" }] });
    expect(parseTemplate("${HOME} {x}")).toEqual({ ok: true, parts: [{ text: "${HOME} {x}" }] });
  });
  it("refuses what only Jinja would understand", () => {
    expect(parseTemplate("{{ ds | upper }}")).toMatchObject({ ok: false, code: "KFM210" });
    expect(parseTemplate("{{- ds }}")).toMatchObject({ ok: false, code: "KFM210" });
    expect(parseTemplate("{% if x %}")).toMatchObject({ ok: false, code: "KFM210" });
    expect(parseTemplate("{{ dss }}")).toMatchObject({ ok: false, code: "KFM209", name: "dss" });
  });
});

describe("did-you-mean", () => {
  it("suggests close names and stays quiet for far ones", () => {
    expect(didYouMean("depnds_on", ["depends_on", "job"])).toBe("depends_on");
    expect(didYouMean("comand", ["command", "args"])).toBe("command");
    expect(didYouMean("pipeline", ["workflow", "job"])).toBeNull();
  });
});

describe("the YAML writer", () => {
  it("quotes what YAML 1.1 readers would turn into booleans or numbers", () => {
    const text = toYaml({ on: "on", a: "yes", b: "0755", c: "1e3", d: "~", e: "12:30", f: "no" });
    expect(text).toBe('"on": "on"\na: "yes"\nb: "0755"\nc: "1e3"\nd: "~"\ne: "12:30"\nf: "no"\n');
  });
  it("escapes characters readers fold or drop, and reads back exactly", () => {
    const value = { s: "tab\there \u2028 \ufeff \u0000 \u0085", t: "line1\nline2\n" };
    const text = toYaml(value);
    expect(text).not.toMatch(/[\t\u2028\ufeff\u0000\u0085]/);
    expect(YAML.parse(text, { version: "1.1" })).toEqual(value);
  });
});
