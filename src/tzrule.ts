/**
 * A zone's daylight-saving changes as a POSIX TZ rule (POSIX.1-2017 XBD 8.3 `TZ`, the
 * form the tz database writes as the footer of each TZif file, RFC 8536 section 3.3):
 * `<+01>-1<+02>,M3.5.0,M10.5.0/3` reads "standard time UTC+1, daylight time UTC+2 from
 * the last Sunday of March at 02:00 to the last Sunday of October at 03:00". glibc's
 * `tzset` applies such a string without any tz database (glibc `time/tzset.c`
 * `__tzset_parse_tz`, reached when no file of that name exists), so a shell script with
 * GNU `date` reads the zone's wall clock from it alone. Derived here from the zone as
 * the ICU of Node knows it (`transitions`), for the years the rule must hold.
 */
import { transitions, type Transition } from "./cron.js";
import { offsetMinutes } from "./values.js";

/** The years whose changes the rule must reproduce: from this one to the end of the core's window (`transitions`, 2050). */
export const RULE_FROM_YEAR = 2024;
const RULE_TO_YEAR = 2049;

/** A zone's POSIX TZ rule, or the sentence saying why its changes do not follow one. */
export type PosixTz = { readonly rule: string } | { readonly problem: string };

const cache = new Map<string, PosixTz>();

/**
 * The POSIX TZ rule giving `zone`'s UTC offset at every instant from 2024 to 2050, or why
 * there is none: the zone must change between the same two offsets twice every year, each
 * change on the same weekday of the same week of the same month at the same local time
 * (`Mm.w.d/time`, the time read on the clock in force before the change, from 0 to 47
 * hours as glibc reads it; week 5 is the month's last).
 */
export function posixTz(zone: string): PosixTz {
  let found = cache.get(zone);
  if (found === undefined) {
    found = derive(zone);
    cache.set(zone, found);
  }
  return found;
}

function derive(zone: string): PosixTz {
  const from = Date.UTC(RULE_FROM_YEAR, 0, 1);
  const changes = transitions(zone).filter((t) => t.atMs >= from);
  if (changes.length === 0) return { rule: name(offsetMinutes(from, zone)) + posixOffset(offsetMinutes(from, zone)) };
  const forward = changes.filter((t) => t.after > t.before);
  const back = changes.filter((t) => t.after < t.before);
  const [std, dst] = [forward[0]?.before, forward[0]?.after];
  if (
    std === undefined ||
    dst === undefined ||
    forward.some((t) => t.before !== std || t.after !== dst) ||
    back.some((t) => t.before !== dst || t.after !== std)
  ) {
    return { problem: `its UTC offset does not change between the same two offsets every time from ${RULE_FROM_YEAR} to 2050` };
  }
  for (let year = RULE_FROM_YEAR; year <= RULE_TO_YEAR; year++) {
    const inYear = (t: Transition) => new Date(t.atMs).getUTCFullYear() === year;
    if (forward.filter(inYear).length !== 1 || back.filter(inYear).length !== 1) {
      return { problem: `it does not change its clocks forward once and back once in ${year}` };
    }
  }
  const start = dateRule(forward);
  const end = dateRule(back);
  if (start === null || end === null) {
    return {
      problem: `its clocks do not change on the same weekday of the same week of the same month at the same time every year from ${RULE_FROM_YEAR} to 2050`,
    };
  }
  return { rule: `${name(std)}${posixOffset(std)}${name(dst)}${dst - std === 60 ? "" : posixOffset(dst)},${start},${end}` };
}

/**
 * `Mm.w.d[/time]` for changes that all follow it, or null. Each change is read at the wall
 * time before it; the same change can be written a day earlier at 24:00 plus its time
 * (Chile's "first Saturday of September at 24:00" is a Sunday at 00:00, but not always the
 * first Sunday), which is tried when the day itself gives no rule.
 */
function dateRule(changes: readonly Transition[]): string | null {
  for (const daysBack of [0, 1]) {
    let rule: { month: number; weekday: number; minutes: number; weeks: Set<number> } | null = null;
    for (const t of changes) {
      const wall = new Date(t.atMs + t.before * 60000);
      const day = new Date(Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() - daysBack));
      const minutes = wall.getUTCHours() * 60 + wall.getUTCMinutes() + daysBack * 1440;
      const month = day.getUTCMonth() + 1;
      const weekday = day.getUTCDay();
      const date = day.getUTCDate();
      const monthDays = new Date(Date.UTC(day.getUTCFullYear(), month, 0)).getUTCDate();
      const weeks = new Set<number>();
      if (date <= 28) weeks.add(Math.ceil(date / 7));
      if (date + 7 > monthDays) weeks.add(5);
      if (rule === null) rule = { month, weekday, minutes, weeks };
      else if (rule.month !== month || rule.weekday !== weekday || rule.minutes !== minutes) {
        rule = null;
        break;
      } else for (const w of [...rule.weeks]) if (!weeks.has(w)) rule.weeks.delete(w);
    }
    if (rule === null || rule.weeks.size === 0) continue;
    const week = rule.weeks.has(5) ? 5 : Math.min(...rule.weeks);
    const time = rule.minutes === 120 ? "" : `/${Math.floor(rule.minutes / 60)}${rule.minutes % 60 === 0 ? "" : `:${pad(rule.minutes % 60)}`}`;
    return `M${rule.month}.${week}.${rule.weekday}${time}`;
  }
  return null;
}

/** The rule's name of an offset, `<+01>`, `<-03>`, `<+0530>` (the tz database's numeric abbreviations). */
function name(minutes: number): string {
  const a = Math.abs(minutes);
  return `<${minutes < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}${a % 60 === 0 ? "" : pad(a % 60)}>`;
}

/** A POSIX offset: hours to ADD to local time to reach UTC (UTC+1 is `-1`, UTC-5 is `5`, UTC+10:30 is `-10:30`). */
function posixOffset(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes > 0 ? "-" : ""}${Math.floor(a / 60)}${a % 60 === 0 ? "" : `:${pad(a % 60)}`}`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
