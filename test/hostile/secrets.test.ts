// Issue 6, item 4: secrets fail closed. Literal values that look like credentials are
// errors (KFM221) pointing to secret references; `{value: ..., not_a_secret: true}`
// marks one value as a false positive. Both ways are tested: real-looking fakes are
// caught, ordinary values are not. The fakes are assembled at run time so that secret
// scanners reading this repository do not flag the test itself.
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/compile.js";
import { formatDiagnostic } from "../../src/diagnostics.js";
import { credentialIn, secretLikeName, TOKEN_FORMATS } from "../../src/secrets.js";

const r = (n: number, chars = "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8") => Array.from({ length: n }, (_, i) => chars[(i * 7 + 3) % chars.length]).join("");
const FAKES: Record<string, string> = {
  "an AWS access key ID": "AKIA" + "Z7QX4MPL2RT9WK3B",
  "a GitHub token": "ghp" + "_" + r(36),
  "a GitHub token (server-to-server)": "ghs" + "_" + r(36),
  "a GitHub token (OAuth)": "gho" + "_" + r(36),
  "a GitHub fine-grained token": "github" + "_pat_" + r(22) + "_" + r(59),
  "a Slack bot token": "xox" + "b-1234567890-1234567890123-" + r(24),
  "a Slack user token": "xox" + "p-1234567890-1234567890-1234567890123-" + r(32),
  "a Slack app token": "xox" + "a-2-" + r(30),
  "a private key": "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow" + r(40) + "\n-----END RSA PRIVATE KEY-----",
  "an OpenSSH private key": "-----BEGIN OPENSSH " + "PRIVATE KEY-----",
  "a JSON Web Token":
    "eyJ" +
    "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" +
    ".eyJ" +
    "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0" +
    "." +
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
  "a Google API key": "AIza" + "Sy" + r(33),
  "a Stripe live key": "sk" + "_live_" + r(24),
  "a URL with a password": "postgres://etl:" + "hunter2pass" + "@db.example.com:5432/sales",
  "a Slack webhook URL": "https://hooks.slack.com/" + "services/T00000000/B00000000/" + r(24),
};

function diagnostics(spec: string): string[] {
  return analyze("spec.yaml", spec).diagnostics.map(formatDiagnostic);
}

const job = (body: string) => `job:\n  name: a\n  image: "x:1"\n${body}`;
const yamlString = (s: string) => JSON.stringify(s);

describe("credential formats are refused wherever they reach the output", () => {
  it.each(Object.entries(FAKES))("%s in an env value", (_label, fake) => {
    const ds = diagnostics(job(`  env:\n    SOME_SETTING: ${yamlString(fake)}\n`));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatch(
      /^spec\.yaml:5:\d+: error KFM221: This looks like .*: a literal credential .*\{secret: <secret name>, key: <key>\}.*not_a_secret: true/,
    );
    // The diagnostic never repeats the value.
    expect(ds[0]).not.toContain(fake.slice(4, 20));
  });

  it.each([
    ["a param", `  params: {p: ${yamlString(FAKES["a GitHub token"]!)}}\n`, 4],
    ["an arg", `  args: ["--token", ${yamlString(FAKES["a Stripe live key"]!)}]\n`, 4],
    ["a command", `  command: ["sh", "-c", ${yamlString("curl -H 'Authorization: Bearer " + FAKES["a JSON Web Token"]! + "' x")}]\n`, 4],
    ["a description", `  description: ${yamlString("key " + FAKES["an AWS access key ID"]!)}\n`, 4],
  ])("in %s", (_label, body, line) => {
    const ds = diagnostics(job(body));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatch(new RegExp(`^spec\\.yaml:${line}:\\d+: error KFM221: `));
  });

  it("in notification fields and the workflow description", () => {
    const ds = diagnostics(`workflow:
  name: w
  description: ${yamlString(FAKES["a Slack webhook URL"]!)}
  jobs: [{job: {name: a, image: "x:1"}}]
  notifications:
    on_failure:
      - {type: slack, channel: ${yamlString("#" + FAKES["a Slack bot token"]!)}, webhook: {secret: slack, key: url}}
`);
    expect(ds.map((d) => d.replace(/: error KFM221: This looks like ([^:]+):.*/, " $1"))).toEqual([
      "spec.yaml:3:16 a Slack webhook URL",
      "spec.yaml:7:32 a Slack token",
    ]);
  });

  it("finds every fake in the detector itself, in longer text", () => {
    for (const [label, fake] of Object.entries(FAKES)) expect(credentialIn(`before ${fake} after`, false), label).not.toBeNull();
  });
});

describe("random-looking values under secret-like names are refused", () => {
  it.each([
    ["DB_PASSWORD", "Tr0ub4dor&3xK9mQ2vLp"],
    ["API_TOKEN", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"],
    ["AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
    ["clientSecret", "Zk3vQ9pL2mX7wR4tY8uN"],
    ["SERVICE_CREDENTIALS", "c2VydmljZTpzM2NyM3QtdjRsdWU="],
    ["HEROKU_API_KEY", "123e4567-e89b-12d3-a456-426614174000"],
  ])("%s", (name, value) => {
    const ds = diagnostics(job(`  env:\n    ${name}: ${yamlString(value)}\n`));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toContain("error KFM221: This looks like a random-looking value under a name that says it is a secret");
    expect(ds[0]).toContain(`\`${name}: {secret: <secret name>, key: <key>}\``);
  });
});

describe("any literal under a name that ends in a credential word is refused (issue 11)", () => {
  it.each([
    ["DB_PASSWORD", "hunter2", "a password"],
    ["DB_PASSWORD", 123456, "a password"],
    ["MYSQL_ROOT_PASSWD", "changeme", "a password"],
    ["API_TOKEN", "abc", "a token"],
    ["clientSecret", "s3cr3t", "a secret"],
    ["OPENAI_API_KEY", "my-key", "an API key"],
    ["apiKey", "my-key", "an API key"],
    ["SSH_PRIVATE_KEY", "see wiki", "a private key"],
    ["AWS_SECRET_ACCESS_KEY", "abc", "an access key"],
    ["FLASK_SECRET_KEY", "dev", "a secret key"],
  ])("%s: %s", (name, value, what) => {
    // Given a short, ordinary-looking literal under a name that says what it holds
    const ds = diagnostics(job(`  env:\n    ${name}: ${typeof value === "number" ? value : yamlString(value)}\n`));
    // Then it is refused at the value, with the reference to write instead and the opt-out
    expect(ds).toEqual([
      `spec.yaml:5:${7 + name.length}: error KFM221: This looks like ${what} (the name \`${name}\` says so): a literal credential would be written into every generated file, readable by anyone who can read them (contract 11.3). Do not commit it; keep it in a secret and reference it (\`${name}: {secret: <secret name>, key: <key>}\`). If it is not a credential, write the value as \`{value: ..., not_a_secret: true}\`.`,
    ]);
  });

  it("in params too, and the opt-out takes it", () => {
    expect(diagnostics(job(`  params: {db_password: hunter2}\n`))).toEqual([
      expect.stringMatching(/^spec\.yaml:4:25: error KFM221: This looks like a password/),
    ]);
    expect(diagnostics(job(`  params: {db_password: {value: hunter2, not_a_secret: true}}\n`))).toEqual([]);
    expect(diagnostics(job(`  env:\n    DB_PASSWORD: {value: hunter2, not_a_secret: true}\n`))).toEqual([]);
  });

  it.each([
    ["DB_PASSWORD", ""],
    ["DB_PASSWORD", "$(DB_PASS)"],
    ["DB_PASSWORD", "/run/secrets/db_password"],
    ["MAX_TOKENS", "4096"],
    ["MAX_TOKEN", "512"],
    ["USE_TOKEN", "true"],
    ["GOOGLE_APPLICATION_CREDENTIALS", "/var/secrets/google/key.json"],
    ["SECRET_NAME", "trino-credentials"],
    ["TOKENIZER_MODEL", "bert-base-uncased"],
    ["PASSWORD_FILE", "/var/run/secrets/trino/password"],
    ["ACCESS_KEY_ID", "trino"],
  ])("not: %s: %s (a reference, a path, a setting, or a name that says the value is something else)", (name, value) => {
    expect(diagnostics(job(`  env:\n    ${name}: ${yamlString(value)}\n`))).toEqual([]);
  });
});

describe("ordinary values are not refused (false positives stay low)", () => {
  it.each([
    ["TRINO_ENDPOINT", "http://trino.lakehouse-platform.svc.cluster.local:8080"],
    ["TOKEN_URL", "https://auth.example.com/oauth2/v1/token"],
    ["AUTH_URL", "https://user@auth.example.com/login"],
    ["RUN_DATE", "2024-03-01T02:00:00Z"],
    ["REQUEST_ID", "123e4567-e89b-12d3-a456-426614174000"],
    ["IMAGE_DIGEST", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    ["GIT_COMMIT", "0d0788c5f3a1b2c4d6e8f0a1b2c3d4e5f6a7b8c9"],
    ["PRIMARY_KEY", "customer_id"],
    ["S3_KEY_PREFIX", "raw/sales/2024/03/01/part-00000.parquet"],
    ["SECRET_NAME", "trino-credentials"],
    ["PASSWORD_FILE", "/var/run/secrets/trino/password"],
    ["TOKEN_LIFETIME", "3600"],
    ["API_KEY_HEADER", "X-Api-Key"],
    ["DB_PASSWORD", "{{ params.password_ref }}"],
    ["KEYBOARD", "Zk3vQ9pL2mX7wR4tY8uN"],
    ["PWD", "/home/runner/work/Zk3vQ9pL2mX7wR4tY8uN"],
    ["LOG_FORMAT", "%(asctime)s %(levelname)s %(message)s"],
    ["DSN", "postgres://etl@db.example.com:5432/sales"],
    ["TEMPLATE_URL", "postgres://etl:{{ params.p }}@db.example.com/sales"],
    ["NOTE", "sk_test_is_not_flagged_and_neither_is_AKIA_short"],
  ])("%s: %s", (name, value) => {
    const spec = value.includes("params.")
      ? job(`  params: {${/params\.(\w+)/.exec(value)![1]}: x}\n  env:\n    ${name}: ${yamlString(value)}\n`)
      : job(`  env:\n    ${name}: ${yamlString(value)}\n`);
    expect(diagnostics(spec)).toEqual([]);
  });

  it("the bundled specs and examples compile unchanged", () => {
    expect(diagnostics(job(`  env:\n    TRINO_PASSWORD: {secret: trino-credentials, key: password}\n`))).toEqual([]);
  });

  it("names say secret by their parts", () => {
    expect(["DB_PASSWORD", "apiToken", "client-secret", "AWS_SECRET_ACCESS_KEY", "GCP_CREDENTIALS", "SSH_KEYS"].map(secretLikeName)).toEqual(
      Array(6).fill(true),
    );
    expect(["KEYBOARD", "PWD", "MONKEY", "TOKENIZER_MODEL", "AUTHOR", "PASSENGER_COUNT"].map(secretLikeName)).toEqual(Array(6).fill(false));
  });
});

describe("a false positive is marked per value with {value, not_a_secret: true}", () => {
  it("in env: compiles to the bare value, and the next value is still checked", () => {
    const spec = job(`  env:
    CACHE_KEY: {value: "9f8e7d6c5b4a39281706f5e4d3c2b1a0", not_a_secret: true}
    DB_PASSWORD: "Tr0ub4dor&3xK9mQ2vLp"
`);
    const ds = diagnostics(spec);
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatch(/^spec\.yaml:6:18: error KFM221: /);
    const ok = analyze("spec.yaml", job(`  env:\n    CACHE_KEY: {value: "9f8e7d6c5b4a39281706f5e4d3c2b1a0", not_a_secret: true}\n    MODE: 0755\n`));
    expect(ok.diagnostics).toEqual([]);
    expect(ok.ir!.jobs[0]!.env.slice(0, 2)).toEqual([
      { name: "CACHE_KEY", value: [{ text: "9f8e7d6c5b4a39281706f5e4d3c2b1a0" }] },
      { name: "MODE", value: [{ text: "0755" }] },
    ]);
  });

  it("in params: same meaning and same run token as the bare value", () => {
    const marked = analyze("spec.yaml", job(`  params: {k: {value: "9f8e7d6c5b4a39281706f5e4d3c2b1a0", not_a_secret: true}}\n  args: ["{{ params.k }}"]\n`));
    const bare = analyze("spec.yaml", job(`  params: {k: "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}\n  args: ["{{ params.k }}"]\n`));
    expect(marked.diagnostics).toEqual([]);
    expect(marked.ir!.jobs[0]!.args).toEqual(bare.ir!.jobs[0]!.args);
    expect(marked.ir!.runTokenSeed).toBe(bare.ir!.runTokenSeed);
  });

  it("the mark must be exactly `not_a_secret: true` and stands only beside `value`", () => {
    expect(diagnostics(job(`  env:\n    A: {value: x, not_a_secret: false}\n`))).toEqual([
      expect.stringMatching(/^spec\.yaml:5:\d+: error KFM104: .*not_a_secret/),
    ]);
    expect(diagnostics(job(`  env:\n    A: {value: x}\n`))).toEqual([expect.stringMatching(/error KFM102: .*`not_a_secret`/)]);
    expect(diagnostics(job(`  env:\n    A: {secret: s, key: k, not_a_secret: true}\n`)).length).toBeGreaterThan(0);
  });
});

describe("the detectors take linear time", () => {
  it("on a 1 MB value of every shape", () => {
    for (const unit of ["a", "a:", "a://", "a://b:", "eyJ", "eyJa.", "AKIA", "xoxb-1-", "-", "/", "ghp_"]) {
      const value = unit.repeat(Math.ceil(1_000_000 / unit.length));
      const t = performance.now();
      credentialIn(value, true);
      expect(performance.now() - t, unit).toBeLessThan(1500);
    }
    expect(TOKEN_FORMATS.length).toBeGreaterThanOrEqual(10);
  });
});
