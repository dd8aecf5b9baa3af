/**
 * Cron expressions in the subset every runner reads the same way (Airflow's croniter,
 * robfig/cron used by Argo and Kubernetes CronJobs, GitHub's POSIX cron): five
 * numeric fields with `*`, `,`, `-` and `/`. Names (`MON`), `L`, `W`, `#`, `?`, a
 * day-of-week 7, and restricting both day-of-month and day-of-week are refused,
 * because the runners disagree on them (robfig/cron ANDs the two day fields when
 * one starts with `*`, croniter ORs them).
 */
import { fromLocal, offsetMinutes, toLocal } from "./values.js";

export const CRON_MACROS: Record<string, string> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day-of-week", min: 0, max: 6 },
] as const;

export interface Cron {
  /** The normalised text: five fields separated by one space. */
  readonly text: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: readonly number[];
  readonly months: readonly number[];
  readonly weekdays: readonly number[];
  /** Which fields were written as a plain `*`. */
  readonly star: readonly boolean[];
}

/** Parses `text`; returns the cron or a sentence saying what is wrong. */
export function parseCron(text: string): Cron | string {
  const expanded = CRON_MACROS[text.trim()] ?? text.trim();
  if (expanded.startsWith("@")) return `\`${text}\` is not a known macro; use ${Object.keys(CRON_MACROS).join(", ")} or five fields.`;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) return `a cron expression has five fields (minute hour day-of-month month day-of-week); \`${text}\` has ${parts.length}.`;
  const sets: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const r = parseField(parts[i]!, FIELDS[i]!);
    if (typeof r === "string") return r;
    sets.push(r);
  }
  const star = parts.map((p) => p === "*");
  if (!star[2] && !star[4]) {
    return "restricting both day-of-month and day-of-week is read differently by the runners (Airflow ORs them, Argo and Kubernetes AND them when one starts with `*`); restrict only one.";
  }
  return { text: parts.join(" "), minutes: sets[0]!, hours: sets[1]!, days: sets[2]!, months: sets[3]!, weekdays: sets[4]!, star };
}

function parseField(field: string, spec: (typeof FIELDS)[number]): number[] | string {
  const values = new Set<number>();
  for (const item of field.split(",")) {
    const m = /^(\*|([0-9]+)(?:-([0-9]+))?)(?:\/([0-9]+))?$/.exec(item);
    if (m === null) {
      return `\`${item}\` in the ${spec.name} field is not supported: write numbers with \`*\`, \`,\`, \`-\` and \`/\` only (names such as MON, and L, W, #, ? are read differently by the runners).`;
    }
    const lo = m[1] === "*" ? spec.min : Number(m[2]);
    const hi = m[1] === "*" ? spec.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? spec.max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < spec.min || hi > spec.max || lo > hi) {
      return `\`${item}\` is outside the ${spec.name} field's range ${spec.min}-${spec.max}${spec.name === "day-of-week" ? " (Sunday is 0)" : ""}.`;
    }
    if (step < 1) return `the step in \`${item}\` must be at least 1.`;
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function dayMatches(c: Cron, year: number, month: number, day: number): boolean {
  if (!c.months.includes(month)) return false;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return c.days.includes(day) && c.weekdays.includes(weekday);
}

/**
 * The next `count` fire times strictly after `afterMs` (UTC ms), reading the cron in
 * `zone` with the daylight-saving meaning (README "Meanings", Schedules; `slotInstants`).
 */
export function nextFireTimes(c: Cron, zone: string, afterMs: number, count: number): number[] {
  const out = new Set<number>();
  const start = toLocal(afterMs, zone);
  let y = Number(start.slice(0, 4));
  let mo = Number(start.slice(5, 7));
  let d = Number(start.slice(8, 10));
  // The day before too: a gap slot read with the offset before the gap can land on the next day.
  const first = new Date(Date.UTC(y, mo - 1, d - 1));
  [y, mo, d] = [first.getUTCFullYear(), first.getUTCMonth() + 1, first.getUTCDate()];
  const hourly = everyHour(c);
  // Bounded: a valid cron fires at least once in eight years (29 February every four).
  for (let i = 0; i < 366 * 8 && out.size < count; i++) {
    if (dayMatches(c, y, mo, d)) {
      for (const h of c.hours) {
        for (const m of c.minutes) {
          const local = `${String(y).padStart(4, "0")}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(m)}:00`;
          for (const t of slotInstants(local, zone, hourly)) if (t > afterMs) out.add(t);
        }
      }
    }
    const next = new Date(Date.UTC(y, mo - 1, d + 1));
    y = next.getUTCFullYear();
    mo = next.getUTCMonth() + 1;
    d = next.getUTCDate();
  }
  return [...out].sort((a, b) => a - b).slice(0, count);
}

/**
 * The instants a slot (local wall time `YYYY-MM-DDTHH:MM:SS`) fires at: the meaning of a
 * slot in a daylight-saving change (README "Meanings", Schedules). A cron that fires in
 * every hour (`everyHour`) runs on elapsed time: a slot in a spring-forward gap does not
 * exist and does not fire, one in a fall-back fold fires at both occurrences. Any other
 * cron fires each of its slots once: a gap slot at its wall time read with the offset in
 * force before the gap (02:30 in a 02:00-03:00 gap fires at 03:30), a fold slot at its
 * second occurrence, after the clocks went back. This is Airflow's CronTriggerTimetable
 * (airflow-core `timetables/_cron.py` `_get_next`, `_covers_every_hour`; `make_aware`
 * sets `fold=1`).
 */
export function slotInstants(local: string, zone: string, hourly: boolean): number[] {
  const instants = fromLocal(local, zone);
  if (instants.length > 0) return hourly ? instants : [instants[instants.length - 1]!];
  if (hourly) return [];
  // In a gap: the offset just before it (a day earlier is before any gap of the tz database).
  const wall = Date.parse(local + "Z");
  return [wall - offsetMinutes(wall - 86400000, zone) * 60000];
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Whether `zone` keeps one UTC offset from 2000 to 2050, sampled monthly. */
export function hasFixedOffset(zone: string): boolean {
  const first = offsetMinutes(Date.UTC(2000, 0, 1), zone);
  for (let year = 2000; year <= 2050; year++) {
    for (let month = 0; month < 12; month++) {
      if (offsetMinutes(Date.UTC(year, month, 15), zone) !== first) return false;
    }
  }
  return true;
}

/**
 * Seconds between consecutive fire times when that is the same for every pair, or
 * null. Only schedules that repeat every day or every week in a zone without
 * daylight saving qualify; that is what lets `prev_execution_date` and
 * `next_execution_date` be computed the same way on every runner.
 */
export function constantPeriod(c: Cron, zone: string): number | null {
  if (!c.star[3] || !c.star[2]) return null;
  if (!hasFixedOffset(zone)) return null;
  const times = c.hours.flatMap((h) => c.minutes.map((m) => h * 60 + m));
  if (c.star[4]) {
    const step = times.length > 1 ? times[1]! - times[0]! : 1440;
    for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! !== step) return null;
    if (1440 - times[times.length - 1]! + times[0]! !== step) return null;
    return step * 60;
  }
  return c.weekdays.length === 1 && times.length === 1 ? 7 * 86400 : null;
}

/** The cron grid an interval stands for, or null when it is not one (contract 7.1 `interval`). */
export function intervalToCron(seconds: number): string | null {
  if (seconds <= 0 || seconds % 60 !== 0) return null;
  const minutes = seconds / 60;
  if (minutes < 60) return 60 % minutes === 0 ? (minutes === 1 ? "* * * * *" : `*/${minutes} * * * *`) : null;
  if (minutes % 60 !== 0) return null;
  const hours = minutes / 60;
  if (hours < 24) return 24 % hours === 0 ? (hours === 1 ? "0 * * * *" : `0 */${hours} * * *`) : null;
  return hours === 24 ? "0 0 * * *" : null;
}

/** A daylight-saving change of a zone: the UTC instant and the offsets (minutes) before and after. */
export interface Transition {
  readonly atMs: number;
  readonly before: number;
  readonly after: number;
}

const transitionCache = new Map<string, Transition[]>();

/**
 * How far apart the zone's offset is sampled before each change is narrowed to the
 * minute. Two changes closer than this would be missed; the closest in the tz
 * database between 2020 and 2050 are about a week apart (Palestine, 2040), and
 * test/zones.test.ts compares the result with a daily scan.
 */
const SAMPLE_DAYS = 2;

/**
 * The zone's offset changes between 2020 and 2050: the window in which schedules are
 * checked, fixed so that the same spec gives the same answer on any day. Each change
 * is the first minute (counted from midnight UTC) with the new offset.
 */
export function transitions(zone: string): readonly Transition[] {
  let found = transitionCache.get(zone);
  if (found !== undefined) return found;
  found = [];
  const day = 86400000;
  const end = Date.UTC(2050, 0, 1);
  let t = Date.UTC(2020, 0, 1);
  let offset = offsetMinutes(t, zone);
  while (t < end) {
    const step = Math.min(SAMPLE_DAYS * day, end - t);
    const next = offsetMinutes(t + step, zone);
    if (next !== offset) {
      let lo = t;
      let hi = t + step;
      while (hi - lo > 60000) {
        const mid = lo + Math.floor((hi - lo) / 120000) * 60000;
        if (offsetMinutes(mid, zone) === offset) lo = mid;
        else hi = mid;
      }
      found.push({ atMs: hi, before: offset, after: next });
      offset = next;
    }
    t += step;
  }
  transitionCache.set(zone, found);
  return found;
}

const conflictCache = new Map<string, DstConflicts>();

/** The first slot of a cron in a daylight-saving gap, and the first in a fold (local wall times, `YYYY-MM-DDTHH:MM`). */
export interface DstConflicts {
  readonly gap: string | null;
  readonly fold: string | null;
}

/**
 * The first slot of the cron that falls into a daylight-saving gap (a wall time that
 * does not exist) or fold (a wall time that happens twice) of `zone` between 2020
 * and 2050, or null. There the meaning (`slotInstants`) is not the wall time read
 * plainly, and runners need a guard or refuse (`DaylightSaving`).
 */
export function dstConflict(c: Cron, zone: string, window: DstWindow = ANY_TIME): { kind: "gap" | "fold"; local: string } | null {
  const { gap, fold } = dstConflicts(c, zone, window);
  if (gap !== null && (fold === null || gap <= fold)) return { kind: "gap", local: gap };
  return fold === null ? null : { kind: "fold", local: fold };
}

/** Wall times (`YYYY-MM-DDTHH:MM…`, either open) a schedule's slots may fall between: its start and end dates. */
export interface DstWindow {
  readonly start: string | null;
  readonly end: string | null;
}

const ANY_TIME: DstWindow = { start: null, end: null };

/** The first gap slot and the first fold slot of the cron in `zone` inside the window, from 2020 to 2050 (see `dstConflict`). */
export function dstConflicts(c: Cron, zone: string, window: DstWindow = ANY_TIME): DstConflicts {
  // A repository's specs mostly share a few schedules: `check` asks once per (cron, zone, window).
  const key = `${c.text}\n${zone}\n${window.start ?? ""}\n${window.end ?? ""}`;
  const cached = conflictCache.get(key);
  if (cached !== undefined) return cached;
  const start = window.start?.slice(0, 16) ?? null;
  const end = window.end?.slice(0, 16) ?? null;
  const found = { gap: firstConflict(c, zone, "gap", start, end), fold: firstConflict(c, zone, "fold", start, end) };
  conflictCache.set(key, found);
  return found;
}

/** Whether the cron fires in every hour of the day: then it runs on elapsed time in a daylight-saving change (`slotInstants`). */
export function everyHour(c: Cron): boolean {
  return c.hours.length === 24;
}

/**
 * Whether the meaning's instants of the cron in `zone` are the cron's own read in UTC: it fires
 * every hour (elapsed time), on every day (no day field restricted, so no day boundary of the
 * zone matters), and every offset the zone takes from 2020 to 2050 is whole hours (so a
 * minute of the hour is the same in both).
 */
export function elapsedInUtc(c: Cron, zone: string): boolean {
  if (!everyHour(c) || !c.star[2] || !c.star[3] || !c.star[4]) return false;
  return offsetMinutes(Date.UTC(2020, 0, 1), zone) % 60 === 0 && transitions(zone).every((t) => t.after % 60 === 0);
}

/**
 * A cron with slots in a daylight-saving change, as a runner sees it: whether it fires in
 * every hour, and whether each of its gap slots is in a one-hour gap and an hour before
 * midnight or earlier (`dstGuard` can then add the hour the meaning fires it in).
 */
export interface DstCase {
  readonly everyHour: boolean;
  readonly hourShift: boolean;
  /** `gapSlotsOnTheHour`: every gap slot is at minute 0 of its hour. */
  readonly gapOnTheHour: boolean;
  /** `elapsedInUtc`: the meaning's instants are the cron's read in UTC. */
  readonly elapsedInUtc: boolean;
  /** Why the zone's changes follow no single POSIX TZ rule (src/tzrule.ts `posixTz`), or null when they do. */
  readonly posixTzProblem: string | null;
}

/**
 * What a runner does with a cron slot in a daylight-saving gap or fold: each target says
 * (Target.daylightSaving), as the end of a sentence starting with its name ("fires it
 * twice"). A target conforms when it says what `MEANING` says.
 */
export interface DaylightSaving {
  gap(c: DstCase): string;
  fold(c: DstCase): string;
}

/** The meaning (README "Meanings", Schedules; `slotInstants`), in a runner's words. */
export const MEANING: DaylightSaving = {
  gap: (c) => (c.everyHour ? "skips it (that hour did not elapse)" : "fires it at its wall time read with the offset before the gap (an hour late)"),
  fold: (c) => (c.everyHour ? "fires it at both occurrences" : "fires it once, at its second occurrence"),
};

/** A runner whose documentation does not say: it agrees with no other, nor with itself. */
export const UNDOCUMENTED = "does not document what it does";

/**
 * robfig/cron v3 walks the local clock (`spec.go` `Next` adds whole hours and minutes in
 * the schedule's location): a gap slot never comes, a fold slot comes twice. Argo's
 * CronWorkflow and Kubernetes' CronJob (Tekton's run creator) use it, and reach the
 * meaning with the schedule `dstGuard` gives: the hour after a gap slot is added to the
 * cron, and a guard keeps the meaning's instants only. It cannot add a slot's fire time
 * when the gap is not one hour long or the slot is in the day's last hour.
 */
export const ROBFIG_CRON_GUARDED: DaylightSaving = {
  gap: (c) =>
    c.everyHour || c.hourShift
      ? MEANING.gap(c)
      : "skips it, and one added hour cannot fire it later (the gap is not one hour long, or the slot is in the day's last hour)",
  fold: (c) => MEANING.fold(c),
};

/** robfig/cron v3 unguarded: it agrees with the meaning for a cron firing every hour only. */
export const ROBFIG_CRON: DaylightSaving = {
  gap: (c) => (c.everyHour ? MEANING.gap(c) : "skips it"),
  fold: (c) => (c.everyHour ? MEANING.fold(c) : "fires it twice (once per occurrence)"),
};

/**
 * What a robfig/cron runner's schedule and guard need for a cron's daylight-saving
 * slots in `zone` (from 2020 to 2050, inside the window): null when robfig/cron's own
 * schedule already fires the meaning's instants (no slot in a change, or a cron firing
 * every hour, which runs on elapsed time as robfig/cron does). Otherwise `cron` is the
 * schedule to give the runner (the hour after each gap slot added after the cron's own
 * hour field, so the cron can be read back from it), `added` the cron of
 * the added hours alone (null: none), `hours` the cron's own hours, and the guard keeps: a fire in one of `hours` unless it is the first
 * occurrence of a fold (the same wall time an hour later), and a fire in an added hour
 * only when the hour before it was a gap (the wall time an hour earlier is two hours
 * back). Null too when `ROBFIG_CRON_GUARDED` says the gap cannot be built (KFM220).
 */
export interface DstGuard {
  readonly cron: string;
  readonly added: string | null;
  readonly hours: readonly number[];
  readonly addedHours: readonly number[];
}

export function dstGuard(c: Cron, zone: string, window: DstWindow = ANY_TIME): DstGuard | null {
  const { gap, fold } = dstConflicts(c, zone, window);
  if ((gap === null && fold === null) || everyHour(c)) return null;
  const shifted = gapHourShift(c, zone, window);
  if (shifted === null) return null;
  const added = [...new Set(shifted.map((h) => h + 1))].filter((h) => !c.hours.includes(h)).sort((a, b) => a - b);
  const withHours = (hours: readonly (number | string)[]) => c.text.replace(/^(\S+) \S+/, (_, m: string) => `${m} ${hours.join(",")}`);
  if (added.length === 0) return { cron: c.text, added: null, hours: c.hours, addedHours: added };
  // The cron's own hour field as written, the added hours after it (`2` and `3` give `2,3`, `*/2` gives `*/2,3`).
  return { cron: withHours([c.text.split(" ")[1]!, ...added]), added: withHours(added), hours: c.hours, addedHours: added };
}

/**
 * The cron's slots (from 2020 to 2050, in the window) whose wall times a spring-forward gap
 * skips: each as its wall time (a Date read as UTC), the gap's length in minutes, and whether
 * it is the gap's first minute.
 */
function* gapSlots(c: Cron, zone: string, window: DstWindow): Generator<{ wall: Date; gapMinutes: number; atGapStart: boolean }> {
  const start = window.start?.slice(0, 16) ?? null;
  const end = window.end?.slice(0, 16) ?? null;
  for (const tr of transitions(zone)) {
    if (tr.after <= tr.before) continue;
    const wallBefore = tr.atMs / 60000 + tr.before;
    for (let m = wallBefore; m < wallBefore + (tr.after - tr.before); m++) {
      const wall = new Date(m * 60000);
      const local = wall.toISOString().slice(0, 16);
      if ((end !== null && local > end) || (start !== null && local < start)) continue;
      if (
        c.minutes.includes(wall.getUTCMinutes()) &&
        c.hours.includes(wall.getUTCHours()) &&
        dayMatches(c, wall.getUTCFullYear(), wall.getUTCMonth() + 1, wall.getUTCDate())
      )
        yield { wall, gapMinutes: tr.after - tr.before, atGapStart: m === wallBefore };
    }
  }
}

/**
 * The hours of the cron's gap slots (from 2020 to 2050, in the window) when each is in a
 * one-hour gap and before 23:00, so the hour after it is a wall time of the same day; null
 * otherwise.
 */
export function gapHourShift(c: Cron, zone: string, window: DstWindow = ANY_TIME): number[] | null {
  const hours = new Set<number>();
  for (const { wall, gapMinutes } of gapSlots(c, zone, window)) {
    if (gapMinutes !== 60 || wall.getUTCHours() === 23) return null;
    hours.add(wall.getUTCHours());
  }
  return [...hours];
}

/**
 * Whether every gap slot of the cron (from 2020 to 2050, in the window) is at minute 0: then the
 * meaning's instant (the wall time read with the offset before the gap) is the first wall time
 * after the gap, where a runner that moves a gap slot to the end of the gap fires it too.
 */
export function gapSlotsOnTheHour(c: Cron, zone: string, window: DstWindow = ANY_TIME): boolean {
  for (const { wall, atGapStart } of gapSlots(c, zone, window)) if (wall.getUTCMinutes() !== 0 || !atGapStart) return false;
  return true;
}

/** The first slot of the wanted kind whose wall time is within [start, end] (local `YYYY-MM-DDTHH:MM`, either open). */
function firstConflict(c: Cron, zone: string, want: "gap" | "fold", start: string | null, end: string | null): string | null {
  for (const tr of transitions(zone)) {
    // Wall times in [from, to) (minutes since the epoch, read as UTC) are skipped
    // (gap, clocks go forward) or repeated (fold, clocks go back).
    const wallBefore = tr.atMs / 60000 + tr.before;
    const wallAfter = tr.atMs / 60000 + tr.after;
    const [from, to, kind] = wallAfter > wallBefore ? [wallBefore, wallAfter, "gap" as const] : [wallAfter, wallBefore, "fold" as const];
    if (kind !== want) continue;
    for (let m = from; m < to; m++) {
      const d = new Date(m * 60000);
      const local = d.toISOString().slice(0, 16);
      if (end !== null && local > end) return null;
      if (start !== null && local < start) continue;
      if (
        c.minutes.includes(d.getUTCMinutes()) &&
        c.hours.includes(d.getUTCHours()) &&
        dayMatches(c, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())
      ) {
        return local;
      }
    }
  }
  return null;
}

/** One `on.schedule`-style entry of `utcCover`: a cron read in UTC, and the zone's offset (minutes) it stands for. */
export interface UtcEntry {
  readonly cron: string;
  readonly offset: number;
}

/**
 * Crons read in UTC (no daylight saving: POSIX cron) that together fire at every instant the
 * meaning gives a slot of `c` in `zone` (`slotInstants`), and never twice at one instant. A
 * slot's instant is its wall time minus one of the zone's offsets (the one in force, or the one
 * before a gap), so each offset the zone takes from 2020 to 2050, smallest first, shifts the
 * cron's times of day; a time of day an earlier offset already gave is left out, and the rest
 * are grouped by minute (minutes with the same hours share an entry). A shift across midnight
 * moves a slot to the UTC day before or after: each restricted day field is widened by those
 * days (a superset). An instant of an entry is a slot's for one offset only: a runner's guard
 * keeps those (`slotInstants`) and skips the rest.
 */
export function utcCover(c: Cron, zone: string): UtcEntry[] {
  const offsets = [...new Set([offsetMinutes(Date.UTC(2020, 0, 1), zone), ...transitions(zone).flatMap((t) => [t.before, t.after])])].sort((a, b) => a - b);
  const shifts = new Set<number>();
  const taken = new Set<number>();
  const byOffset: { offset: number; times: number[] }[] = [];
  for (const offset of offsets) {
    const times: number[] = [];
    for (const h of c.hours) {
      for (const m of c.minutes) {
        const t = h * 60 + m - offset;
        shifts.add(Math.floor(t / 1440));
        const time = ((t % 1440) + 1440) % 1440;
        if (!taken.has(time)) times.push(time);
        taken.add(time);
      }
    }
    byOffset.push({ offset, times });
  }
  const days = shiftedDays(c, shifts);
  const out: UtcEntry[] = [];
  for (const { offset, times } of byOffset) {
    const hoursOf = new Map<number, number[]>();
    for (const t of times) hoursOf.set(t % 60, [...(hoursOf.get(t % 60) ?? []), Math.floor(t / 60)]);
    const minutesOf = new Map<string, number[]>();
    for (const [m, hs] of [...hoursOf].sort((a, b) => a[0] - b[0])) {
      const key = cronField(
        hs.sort((a, b) => a - b),
        FIELDS[1],
      );
      minutesOf.set(key, [...(minutesOf.get(key) ?? []), m]);
    }
    for (const [hours, minutes] of minutesOf) out.push({ cron: `${cronField(minutes, FIELDS[0])} ${hours} ${days}`, offset });
  }
  return out;
}

/** The day fields (day-of-month month day-of-week) of `utcCover`'s entries: each restricted one widened by the day shifts. */
function shiftedDays(c: Cron, shifts: ReadonlySet<number>): string {
  const wrap = (v: number, lo: number, n: number) => ((((v - lo) % n) + n) % n) + lo;
  const days = new Set<number>();
  const months = new Set<number>(c.months);
  const weekdays = new Set<number>();
  for (const s of shifts) {
    for (const d of c.days) {
      if (d + s < 1) [28, 29, 30, 31].forEach((x) => days.add(x));
      else if (d + s <= 31) days.add(d + s);
      // The day after a month's last day is the 1st.
      if (s > 0 && d >= 28) days.add(1);
    }
    for (const w of c.weekdays) weekdays.add(wrap(w + s, 0, 7));
    const crosses = s < 0 ? c.days.includes(1) : s > 0 ? c.days.some((d) => d >= 28) : false;
    if (crosses) for (const m of c.months) months.add(wrap(m + s, 1, 12));
  }
  const field = (star: boolean, set: Set<number>, spec: (typeof FIELDS)[number]) =>
    star
      ? "*"
      : cronField(
          [...set].sort((a, b) => a - b),
          spec,
        );
  return [field(c.star[2]!, days, FIELDS[2]), field(c.star[3]!, months, FIELDS[3]), field(c.star[4]!, weekdays, FIELDS[4])].join(" ");
}

/** A sorted set of a field's values as cron text: `*` for all, `*\/n` for every n-th from the first, else ranges and lists. */
function cronField(values: readonly number[], spec: (typeof FIELDS)[number]): string {
  if (values.length === spec.max - spec.min + 1) return "*";
  const step = values.length > 2 ? values[1]! - values[0]! : 0;
  if (step > 1 && values[0] === spec.min && values.every((v, i) => v === spec.min + i * step) && values[values.length - 1]! + step > spec.max)
    return `*/${step}`;
  const parts: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${values[i]}-${values[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(values[k]));
    i = j + 1;
  }
  return parts.join(",");
}
