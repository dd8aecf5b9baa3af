/**
 * Fail-closed secrets (contract 11.3: never a literal credential; SECURITY.md). Literal
 * text that reaches the generated files is checked for credentials before anything is
 * emitted: every string the compiler would write (descriptions, image, command, args,
 * params, env values, notification fields) against well-known token formats, and the
 * values of env variables and params whose name says they hold a secret (PASSWORD,
 * TOKEN, SECRET, KEY, CREDENTIAL...) against high entropy as well. A hit is an error
 * (`KFM221`) that points to secret references; a value that only looks like a
 * credential is marked per value with `{value: ..., not_a_secret: true}` (env values
 * and params). Diagnostics never repeat the value. A name that ends in what it holds
 * (`DB_PASSWORD`, `API_TOKEN`, `CLIENT_SECRET`, `API_KEY`) refuses any literal value,
 * random-looking or not (`credentialName`): `hunter2` is a password too.
 */

/** A token format: a name for the message, and a pattern that finds it inside longer text. */
interface Format {
  readonly name: string;
  readonly pattern: RegExp;
}

const B = "(?<![A-Za-z0-9_])"; // start of a token: not preceded by a token character
const E = "(?![A-Za-z0-9_])"; // end of a token

/** Formats whose prefix and length make them credentials wherever they appear. */
export const TOKEN_FORMATS: readonly Format[] = [
  { name: "an AWS access key ID", pattern: new RegExp(`${B}(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}${E}`) },
  { name: "a GitHub token", pattern: new RegExp(`${B}(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}${E}`) },
  { name: "a GitHub fine-grained token", pattern: new RegExp(`${B}github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}${E}`) },
  { name: "a GitLab token", pattern: new RegExp(`${B}glpat-[A-Za-z0-9_-]{20}${E}`) },
  { name: "a Slack token", pattern: /(?<![A-Za-z0-9])xox[abposr]-(?:[0-9A-Za-z]+-){1,4}[0-9A-Za-z]{8,}/ },
  { name: "a Slack webhook URL", pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]{20,}/ },
  { name: "a private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { name: "a JSON Web Token", pattern: new RegExp(`${B}eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{16,}${E}`) },
  { name: "a Google API key", pattern: new RegExp(`${B}AIza[0-9A-Za-z_-]{35}${E}`) },
  { name: "a Stripe live key", pattern: new RegExp(`${B}(?:sk|rk)_live_[0-9A-Za-z]{20,}${E}`) },
  { name: "an npm token", pattern: new RegExp(`${B}npm_[A-Za-z0-9]{36}${E}`) },
  { name: "a SendGrid API key", pattern: new RegExp(`${B}SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}${E}`) },
  { name: "an OpenAI API key", pattern: new RegExp(`${B}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}${E}`) },
  // user:password@ in a URL; a password that is a template (`{{ params.x }}`) is not literal.
  // Every repeat is bounded and the scheme must start a word, so a long value costs linear time.
  { name: "a URL with a password", pattern: /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}:\/\/[^\s/:@{}]{0,256}:[^\s/@{}]{1,256}@[^\s/@]/i },
];

/** Name parts that say a variable holds a secret. `PWD` (the working directory) and `AUTHOR` do not. */
const SECRET_WORDS = new Set([
  "PASSWORD",
  "PASSWD",
  "PASSPHRASE",
  "PASS",
  "TOKEN",
  "SECRET",
  "KEY",
  "APIKEY",
  "CREDENTIAL",
  "CREDENTIALS",
  "CREDS",
  "AUTH",
  "PRIVATE",
  "SIGNATURE",
  "COOKIE",
  "SESSION",
]);

/** Whether a variable or param name says it holds a secret: one of its parts (split at `_`, `-`, `.` and camelCase) is a secret word, plural or not. */
export function secretLikeName(name: string): boolean {
  const parts = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .split(/[_\-.]+/);
  return parts.some((p) => SECRET_WORDS.has(p) || (p.endsWith("S") && SECRET_WORDS.has(p.slice(0, -1))));
}

/** Shannon entropy of `s`, in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  const n = [...s].length;
  for (const k of counts.values()) h -= (k / n) * Math.log2(k / n);
  return h;
}

/**
 * Whether a value under a secret-like name looks random enough to be a credential: a
 * run of at least 16 characters without white space that mixes at least two of lower
 * case, upper case, digits and punctuation, with at least 3 bits of entropy per
 * character. Words and identifiers (one case only), dates, URLs without a password and
 * paths (short parts between `/`) are not; templates (`{{ ds }}`) are left alone.
 */
export function highEntropy(value: string): boolean {
  if (value.includes("{{") || value.includes("{%")) return false;
  for (const run of value.match(/\S{16,}/g) ?? []) {
    if (/^[a-z0-9_.-]+$/.test(run) && !/[0-9]/.test(run)) continue; // a word or an identifier
    if (/^[A-Z0-9_.-]+$/.test(run) && !/[0-9]/.test(run)) continue;
    if (/^\d{4}-\d{2}-\d{2}/.test(run)) continue; // a date
    if (/^[a-z][a-z0-9+.-]{0,31}:\/\//i.test(run)) continue; // a URL: one with a password is a format above
    // A path: parts between `/` that are short, or one-case names (`part-00000.parquet`).
    if (run.includes("/") && run.split("/").every((p) => p.length < 16 || /^[a-z0-9_.-]+$/.test(p) || /^[A-Z0-9_.-]+$/.test(p))) continue;
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(run)).length;
    if (classes < 2) continue;
    if (entropy(run) >= 3) return true;
  }
  return false;
}

/** What a string holds that looks like a credential, for the message ("a GitHub token"), or null. */
export function credentialIn(value: string, secretName: boolean): string | null {
  for (const f of TOKEN_FORMATS) if (f.pattern.test(value)) return f.name;
  if (secretName && highEntropy(value)) return "a random-looking value under a name that says it is a secret";
  return null;
}

/**
 * What a variable or param holds when its name ends in it (the last part, or the last
 * two, of the name split as in `secretLikeName`): the part after the credential word
 * says what the value is instead (`PASSWORD_FILE` is a path, `TOKEN_URL` a URL,
 * `SECRET_NAME` a name, `API_KEY_HEADER` a header), so only the end counts. Plurals are
 * left out on purpose: `MAX_TOKENS: 4096` is a language-model setting. `CREDENTIALS` is
 * left out too: `GOOGLE_APPLICATION_CREDENTIALS` names a file. Both are still checked
 * for random-looking values (`highEntropy`).
 */
const CREDENTIAL_ENDINGS: Readonly<Record<string, string>> = {
  PASSWORD: "a password",
  PASSWD: "a password",
  PASSPHRASE: "a passphrase",
  TOKEN: "a token",
  SECRET: "a secret",
  APIKEY: "an API key",
  API_KEY: "an API key",
  PRIVATE_KEY: "a private key",
  SECRET_KEY: "a secret key",
  ACCESS_KEY: "an access key",
};

/** What `name` says its value is when that is a credential (`DB_PASSWORD` -> "a password"), or null. */
export function credentialName(name: string): string | null {
  const parts = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .split(/[_\-.]+/)
    .filter((p) => p !== "");
  const last = parts.at(-1) ?? "";
  const lastTwo = parts.slice(-2).join("_");
  return CREDENTIAL_ENDINGS[lastTwo] ?? CREDENTIAL_ENDINGS[last] ?? null;
}

/**
 * Whether a value under a credential name is a literal credential: any text but the
 * empty string, a template (`{{ params.x }}` is checked where the param is written), a
 * reference to another variable (`$(DB_PASSWORD_FROM_FILE)`, `${X}`), an absolute path
 * (a mounted secret's file) or the bare words that switch a feature (`true`, `none`).
 * A number under a password name is a password (`123456`); under the others a number
 * is a setting (`MAX_TOKEN: 512`).
 */
export function literalCredential(name: string, value: string | number): string | null {
  const what = credentialName(name);
  if (what === null) return null;
  if (typeof value === "number") return what === "a password" || what === "a passphrase" ? what : null;
  const v = value.trim();
  if (v === "" || v.includes("{{") || v.includes("{%")) return null;
  if (/^\$(?:\([A-Za-z_][A-Za-z0-9_]*\)|\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$/.test(v)) return null;
  if (/^\/[^\s]*$/.test(v)) return null;
  if (/^(?:true|false|yes|no|on|off|none|null|disabled|enabled)$/i.test(v)) return null;
  if (/^[0-9]+$/.test(v) && what !== "a password" && what !== "a passphrase") return null;
  return what;
}
