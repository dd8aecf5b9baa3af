// Issue 12, item 7: email header injection. `from` and each recipient go into mail
// headers on every runner; a line break there starts another header (`Bcc:`), a comma
// adds a recipient. The rule is the core's (KFM245, src/lower.ts `checkAddress`), so every
// target refuses the same text with the same diagnostic: the runner chosen changes nothing.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/index.js";
import { TARGETS } from "../../targets/index.js";
import { specYaml } from "./arbitraries.js";

function run(args: string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd });
  return { code, stdout, stderr };
}

function notifying(from: unknown, recipients: unknown): string {
  return specYaml({
    workflow: {
      name: "w",
      jobs: [{ job: { name: "j", image: "x:1" } }],
      notifications: { on_failure: [{ type: "email", recipients, from, smtp: { secret: "smtp", key: "url" } }] },
    },
  });
}

const REFUSED: Array<[string, string, string[], string]> = [
  ["a CRLF and a Bcc header in from", "alerts@example.com\r\nBcc: x@evil.example", ["ops@example.com"], ":12:15: error KFM245:"],
  ["a LF and a header in a recipient", "alerts@example.com", ["ops@example.com\nBcc: x@evil.example"], ":11:13: error KFM245:"],
  ["two recipients in one, with a comma", "alerts@example.com", ["ops@example.com, x@evil.example"], ":11:13: error KFM245:"],
  ["a display name", "Alerts <alerts@example.com>", ["ops@example.com"], ":12:15: error KFM245:"],
  ["a space", "alerts @example.com", ["ops@example.com"], ":12:15: error KFM245:"],
  ["no @", "alerts", ["ops@example.com"], ":12:15: error KFM245:"],
];

// A NUL is refused once, as text no target can pass on (KFM240, every field), not again as an address.
const UNCARRIED: Array<[string, string, string[], string]> = [["a NUL", "alerts@example.com\0", ["ops@example.com"], ":12:15: error KFM240:"]];

describe("email notifications take one plain address (KFM245)", () => {
  it.each(REFUSED)("given %s, then every target refuses it with the same positioned diagnostic", (_, from, recipients, where) => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-email-"));
    writeFileSync(join(dir, "w.yaml"), notifying(from, recipients));
    const outputs = TARGETS.map((t) => run(["w.yaml", "--target", t.name], dir));
    for (const r of outputs) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
    }
    // Airflow and Argo used to compile the CRLF into the message headers; Tekton and GitHub Actions refused it each in its own words.
    expect(new Set(outputs.map((r) => r.stderr)).size).toBe(1);
    expect(outputs[0]!.stderr).toContain(`w.yaml${where} This is not one plain email address`);
    expect(outputs[0]!.stderr).toMatch(/^1 error\.$/m);
  });

  it.each(UNCARRIED)("given %s, then every target refuses it once, as text no target can pass on", (_, from, recipients, where) => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-email-"));
    writeFileSync(join(dir, "w.yaml"), notifying(from, recipients));
    const outputs = TARGETS.map((t) => run(["w.yaml", "--target", t.name], dir));
    expect(outputs.map((r) => r.code)).toEqual(TARGETS.map(() => 1));
    expect(new Set(outputs.map((r) => r.stderr)).size).toBe(1);
    expect(outputs[0]!.stderr).toContain(`w.yaml${where} This text holds U+0000 (NUL)`);
    expect(outputs[0]!.stderr).toMatch(/^1 error\.$/m);
  });

  it("given addresses with the characters an address may hold that runners' templates and shells read, then every target compiles them", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-email-"));
    writeFileSync(join(dir, "w.yaml"), notifying("noreply+${{x}}$HOME&%25@example.com", ["ops+'{{x}}'@mail.example.com", "`rm`|$$--{%x%}@example.com"]));
    // A target that refused every notification would not be asked (none does now: Dagster sends them too).
    for (const t of TARGETS.filter((x) => x.features["notify.failure"].support !== "refused")) {
      const r = run(["w.yaml", "--target", t.name], dir);
      expect(r.code, `${t.name}: ${r.stderr}`).toBe(0);
    }
  });

  it("refuses an address longer than SMTP carries (254 characters, 64 before the @)", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-email-"));
    writeFileSync(join(dir, "long.yaml"), notifying(`${"a".repeat(65)}@example.com`, [`a@${Array.from({ length: 5 }, () => "b".repeat(60)).join(".")}.com`]));
    const r = run(["validate", "long.yaml"], dir);
    expect(r.stderr.match(/KFM245/g)).toHaveLength(2);
  });
});
