/** Parsing of the scalar formats the spec uses: durations, Kubernetes quantities, dates, time zones. */

const DURATION = /^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/;

/**
 * Seconds in a duration like `1h30m`; null when malformed or empty. A well-formed
 * duration too long to count exactly (`30000000000000d`) is `Infinity`, not null, so
 * callers refuse it as too long instead of taking it for "not given".
 */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text);
  if (m === null || text === "") return null;
  const [d, h, min, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const total = d! * 86400 + h! * 3600 + min! * 60 + s!;
  return Number.isSafeInteger(total) ? total : Infinity;
}

/** Writes seconds back in the spec's own duration form (largest units first). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join("");
}

// apimachinery's resource.Quantity grammar: a signed decimal number with an optional
// decimal SI suffix (n u m k M G T P E), binary SI suffix (Ki ... Ei) or exponent.
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXP: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** An exact rational value of a quantity; null when malformed or negative. */
export function parseQuantity(text: string): { numerator: bigint; denominator: bigint } | null {
  const m = QUANTITY.exec(text);
  if (m === null || m[1] === "-") return null;
  const [whole, frac = ""] = m[2]!.split(".");
  let numerator = BigInt((whole || "0") + frac);
  let denominator = 10n ** BigInt(frac.length);
  const suffix = m[3] ?? "";
  if (suffix in BINARY_EXP) {
    numerator *= 2n ** BigInt(BINARY_EXP[suffix]!);
  } else {
    const exp = suffix in DECIMAL_EXP ? DECIMAL_EXP[suffix]! : Number(suffix.slice(1));
    if (Math.abs(exp) > 30) return null;
    if (exp >= 0) numerator *= 10n ** BigInt(exp);
    else denominator *= 10n ** BigInt(-exp);
  }
  return { numerator, denominator };
}

/** Bytes in a memory quantity, rounded up as Kubernetes rounds sub-byte quantities. */
export function quantityBytes(text: string): bigint | null {
  const q = parseQuantity(text);
  if (q === null) return null;
  return (q.numerator + q.denominator - 1n) / q.denominator;
}

/** A CPU quantity as a decimal string of cores (`500m` -> `0.5`), exact to the millicore as Kubernetes keeps it. */
export function cpuCores(text: string): string | null {
  const q = parseQuantity(text);
  if (q === null) return null;
  const milli = (q.numerator * 1000n + q.denominator - 1n) / q.denominator;
  const whole = milli / 1000n;
  const frac = (milli % 1000n).toString().padStart(3, "0").replace(/0+$/, "");
  return frac === "" ? whole.toString() : `${whole}.${frac}`;
}

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const INSTANT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

/**
 * A schedule bound as local wall time `YYYY-MM-DDTHH:MM:SS` in `zone`: a date is its
 * midnight; an instant with an offset is converted into the zone. Null when malformed.
 */
export function parseBound(text: string, zone: string): string | null {
  const d = DATE.exec(text);
  if (d !== null) return validDate(+d[1]!, +d[2]!, +d[3]!) ? `${d[1]}-${d[2]}-${d[3]}T00:00:00` : null;
  const t = INSTANT.exec(text);
  if (t === null || !validDate(+t[1]!, +t[2]!, +t[3]!) || +t[4]! > 23 || +t[5]! > 59 || +(t[6] ?? 0) > 59) return null;
  const local = `${t[1]}-${t[2]}-${t[3]}T${t[4]}:${t[5]}:${t[6] ?? "00"}`;
  if (t[7] === undefined) return local;
  const offsetMinutes = t[7] === "Z" ? 0 : (t[7][0] === "-" ? -1 : 1) * (+t[7].slice(1, 3) * 60 + +t[7].slice(4, 6));
  const utc = Date.parse(local + "Z") - offsetMinutes * 60000;
  return toLocal(utc, zone);
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Local wall time of a UTC instant (ms) in `zone`, as `YYYY-MM-DDTHH:MM:SS`. */
export function toLocal(utcMs: number, zone: string): string {
  const p: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(utcMs))) p[part.type] = part.value;
  return `${p.year!.padStart(4, "0")}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

/** Names of UTC itself, whose offset is 0 at every instant. */
const UTC_ZONES = new Set(["UTC", "Etc/UTC", "GMT", "Etc/GMT"]);

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** `GMT`, `GMT+05:30`, `GMT-03:00`, or with seconds for the local mean time of old dates (`GMT+00:53:28`). */
const LONG_OFFSET = /GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Offset of `zone` from UTC at a UTC instant, in minutes (rounded, as the wall time's
 * seconds would round it). Read from Intl's `longOffset` zone name rather than from a
 * formatted wall time: a few times cheaper, and schedule checks ask for thousands.
 */
export function offsetMinutes(utcMs: number, zone: string): number {
  // Most specs run in UTC: answering it without Intl spares a cold start ICU's time-zone set-up.
  if (UTC_ZONES.has(zone)) return 0;
  let f = offsetFormatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    offsetFormatters.set(zone, f);
  }
  const m = LONG_OFFSET.exec(f.format(utcMs));
  if (m === null) throw new Error(`no UTC offset for ${zone} at ${utcMs}`);
  if (m[1] === undefined) return 0;
  const seconds = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
  return Math.round(((m[1] === "-" ? -1 : 1) * seconds) / 60);
}

/**
 * The UTC instants (ms) whose wall time in `zone` is `local`: none inside a
 * spring-forward gap, two inside a fall-back fold, else one.
 */
export function fromLocal(local: string, zone: string): number[] {
  const guess = Date.parse(local + "Z");
  const out = new Set<number>();
  for (const probe of [guess - 86400000, guess, guess + 86400000]) {
    const candidate = guess - offsetMinutes(probe, zone) * 60000;
    if (toLocal(candidate, zone) === local) out.add(candidate);
  }
  return [...out].sort((a, b) => a - b);
}

let canonicalZones: Set<string> | null = null;
let lowerCaseZones: Map<string, string> | null = null;

/** Time zone names the runners' tz databases know; used for did-you-mean too. */
export function knownZones(): Set<string> {
  if (canonicalZones === null) {
    canonicalZones = new Set([...Intl.supportedValuesOf("timeZone"), "UTC", "Etc/UTC", "GMT", "Etc/GMT"]);
    lowerCaseZones = new Map([...canonicalZones].map((z) => [z.toLowerCase(), z]));
  }
  return canonicalZones;
}

/**
 * Names ICU (and so Node's Intl) accepts that are not in the IANA tz database: Java's
 * three-letter IDs (ICU's zoneinfo64 `Names`, from `JDK 1.1` compatibility) and the
 * `SystemV/` family, and links the tz database has removed. Python's `zoneinfo` and Go's
 * `time.LoadLocation` refuse them, so a spec naming one would compile and then fail on
 * the runner; they are unknown zones here, with the zone ICU maps them to as the fix.
 */
const ICU_ONLY =
  /^(?:ACT|AET|AGT|ART|AST|BET|BST|CAT|CNT|CST|CTT|EAT|ECT|IET|IST|JST|MIT|NET|NST|PLT|PNT|PRT|PST|SST|VST|SystemV\/.*|US\/Pacific-New|Canada\/East-Saskatchewan)$/;

/**
 * For a name only ICU knows (ICU_ONLY), the zone ICU reads it as (`PST` ->
 * `America/Los_Angeles`) when that is a zone here, else "" ; null for any other name.
 */
export function icuOnlyZone(zone: string): string | null {
  if (!ICU_ONLY.test(zone)) return null;
  try {
    const meant = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    return meant !== zone && isZone(meant) ? meant : "";
  } catch {
    return "";
  }
}

/**
 * Old tz database names that are real zones but rarely what a spec means (tz's
 * `northamerica` and `europe` files, and since 2024b links in `backward`):
 * - `EST` and `MST` are fixed UTC-5 and UTC-7 all year: named like New York's and
 *   Denver's clocks but without their daylight saving, so a daily run is an hour off
 *   for eight months. Refused, with both fixes.
 * - `HST`, the POSIX-style `EST5EDT` family and `CET`, `MET`, `EET`, `WET` keep the
 *   clock of a region (Honolulu, New York, Brussels...); tz keeps them only for
 *   compatibility, and runners with older tz data give them older rules. A warning
 *   naming the region zone.
 * `Etc/GMT+5` (fixed UTC-5, POSIX sign) and backward links such as `US/Eastern` are
 * deliberate, current names and pass.
 */
const LEGACY_ZONES: Readonly<Record<string, { region: string; fixed?: string }>> = {
  EST: { region: "America/New_York", fixed: "Etc/GMT+5" },
  MST: { region: "America/Denver", fixed: "America/Phoenix" },
  HST: { region: "Pacific/Honolulu" },
  EST5EDT: { region: "America/New_York" },
  CST6CDT: { region: "America/Chicago" },
  MST7MDT: { region: "America/Denver" },
  PST8PDT: { region: "America/Los_Angeles" },
  CET: { region: "Europe/Brussels" },
  MET: { region: "Europe/Brussels" },
  EET: { region: "Europe/Athens" },
  WET: { region: "Europe/Lisbon" },
};

/** What to say about a valid but legacy zone name (see LEGACY_ZONES), or null. */
export function legacyZone(zone: string): { severity: "error" | "warning"; message: string } | null {
  const legacy = LEGACY_ZONES[zone];
  if (legacy === undefined) return null;
  if (legacy.fixed !== undefined) {
    const offset = offsetMinutes(Date.UTC(2026, 0, 1), zone) / 60;
    return {
      severity: "error",
      message: `\`${zone}\` is a fixed UTC${offset < 0 ? "" : "+"}${offset} all year, without daylight saving, so it is not the clock of ${legacy.region}: runs would be an hour off while daylight saving is on. Did you mean '${legacy.region}'? For a fixed UTC${offset < 0 ? "" : "+"}${offset} all year, write '${legacy.fixed}'${legacy.fixed.startsWith("Etc/") ? " (tz writes the sign inverted)" : ""}.`,
    };
  }
  return {
    severity: "warning",
    message: `\`${zone}\` is a legacy name the tz database keeps for compatibility, and runners with older tz data may give it other rules than ${legacy.region}. Did you mean '${legacy.region}'?`,
  };
}

/** Whether `zone` is an IANA zone name, spelt with the exact case tz databases use. */
export function isZone(zone: string): boolean {
  if (UTC_ZONES.has(zone) || knownZones().has(zone)) return true;
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return false;
  if (ICU_ONLY.test(zone)) return false;
  // Legacy aliases (US/Eastern) are real tz database links; a canonical name in the
  // wrong case is not, because Python's and Go's loaders are case-sensitive.
  if (lowerCaseZones!.has(zone.toLowerCase())) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// The image reference grammar of distribution/reference (regexp.go, used by Docker,
// containerd and CRI-O to pull): reference := name [":" tag] ["@" digest], name :=
// [domain "/"] path; a path component is lower-case alphanumerics joined by `.`, `_`,
// `__` or runs of `-`; a domain is host names joined by `.`, or an IPv6 address in
// brackets, with an optional port; a tag is `[\w][\w.-]{0,127}`; a digest is
// `algorithm:hex` with at least 32 hex digits; the name is at most 255 characters.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const IMAGE_REFERENCE = new RegExp(
  `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);
const MAX_IMAGE_NAME = 255;

/** Whether `image` is a container image reference every runtime can pull by (see IMAGE_REFERENCE). */
export function isImageReference(image: string): boolean {
  if (image.length > MAX_IMAGE_NAME + 1 + 128 + 1 + 200) return false;
  if (!IMAGE_REFERENCE.test(image)) return false;
  const name = image.replace(/@.*$/, "").replace(/:[\w][\w.-]{0,127}$/, "");
  return name.length <= MAX_IMAGE_NAME;
}

/**
 * Why `image` is not an image reference, in a sentence, and the reference it was likely
 * meant to be when one is near (`Busybox Latest` -> `busybox:latest`); null when valid.
 */
export function imageProblem(image: string): { reason: string; fix: string | null } | null {
  if (isImageReference(image)) return null;
  const reason = /\s/.test(image)
    ? "it contains white space"
    : /[A-Z]/.test(image.replace(/^[^/]*[.:][^/]*\//, "").replace(/[:@].*$/, ""))
      ? "the repository name has upper-case letters"
      : image.replace(/@.*$/, "").replace(/:[^/]*$/, "").length > MAX_IMAGE_NAME
        ? `the name is longer than ${MAX_IMAGE_NAME} characters`
        : /:([^/@]*)(@|$)/.test(image) && !/:[\w][\w.-]{0,127}(@|$)/.test(image.replace(/^[^/]*\//, ""))
          ? "a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
          : image.includes("@")
            ? "a digest is `algorithm:hex` with at least 32 hex digits, such as `sha256:` and 64 hex digits"
            : "its characters do not fit the grammar";
  // A fix: two words that read as name and tag (`Busybox Latest`) joined by `:`, and the
  // repository in lower case. A tag is case-sensitive, so it is kept as written, except
  // when it was a word after a space.
  const words = image.trim().split(/\s+/);
  const tagWord = words.length === 2 && !words[0]!.includes(":") && /^(?:latest|stable|edge|v?[0-9][\w.-]*)$/i.test(words[1]!);
  let guess = tagWord ? `${words[0]}:${words[1]!.toLowerCase()}` : words.length === 1 ? words[0]! : "";
  const at = guess.indexOf("@");
  const head = at < 0 ? guess : guess.slice(0, at);
  const colon = head.lastIndexOf(":");
  const slash = head.lastIndexOf("/");
  const nameEnd = colon > slash ? colon : head.length;
  const firstSlash = head.indexOf("/");
  const domainEnd = firstSlash > 0 && /[.:]|^localhost$/.test(head.slice(0, firstSlash)) ? firstSlash + 1 : 0;
  guess = head.slice(0, domainEnd) + head.slice(domainEnd, nameEnd).toLowerCase() + (colon > slash ? head.slice(colon) : "") + (at < 0 ? "" : guess.slice(at));
  return { reason, fix: guess !== "" && guess !== image && isImageReference(guess) ? guess : null };
}
