// The failure notification's fixed script (src/notify.ts), run by dash and bash with a fake
// curl: what it sends, with which bounds, and what it refuses. Every target runs this script
// (test/targets/notify-targets.test.ts runs each target's own command).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { NOTIFY_CONNECT_SECONDS, NOTIFY_ENV as E, NOTIFY_SCRIPT, notificationText } from "../src/notify.js";
import { NOTIFY_SECONDS } from "../src/limits.js";
import { runWithFakeCurl, sentText } from "./notify-script.js";

// busybox sh is what the curl image runs on Airflow, Argo and Tekton; bash is a GitHub runner's shell.
const SHELLS: string[][] = [["dash"], ["bash"], ...(spawnSync("busybox", ["sh", "-c", "true"]).status === 0 ? [["busybox", "sh"]] : [])];

const BASE = {
  [E.message]: "kfm-compile: the run of sales for 2024-01-02T00:00:00+00:00 failed.",
  [E.workflow]: "sales",
  [E.logicalDate]: "2024-01-02T00:00:00+00:00",
  [E.failed]: "transform load transform",
  [E.run]: "https://argo.example.com/workflows/data/sales-x7k2p",
  [E.secretUrl]: "https://hooks.slack.example/services/T0/B0/s3cr3t",
};
const SLACK = { ...BASE, [E.kind]: "slack", [E.channel]: "#data-alerts" };
const EMAIL = {
  ...BASE,
  [E.kind]: "email",
  [E.from]: "kfm@example.com",
  [E.to]: "ops@example.com oncall+data@example.com",
  [E.secretUrl]: "smtps://user:pa%22ss@smtp.example.com:465",
};
const PARTS = { message: BASE[E.message], workflow: "sales", logicalDate: BASE[E.logicalDate], failed: ["transform", "load"], run: BASE[E.run] };

describe.each(SHELLS)("the notification script under %s", (...shell) => {
  const run = (env: Record<string, string>, curlExit = 0) => runWithFakeCurl([...shell, "-c", NOTIFY_SCRIPT, "kfm-notify"], env, curlExit);

  it("posts one Slack message: the layout's lines, the failed jobs unique and sorted, the channel on the first line", () => {
    const sent = run(SLACK);
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    expect(sentText(sent).lines).toEqual(notificationText({ ...PARTS, channel: "#data-alerts" }));
    expect(sentText(sent).lines).toEqual([
      "kfm-compile: the run of sales for 2024-01-02T00:00:00+00:00 failed. (#data-alerts)",
      "Workflow: sales",
      "Logical date: 2024-01-02T00:00:00+00:00",
      "Failed jobs: load, transform",
      "Run: https://argo.example.com/workflows/data/sales-x7k2p",
    ]);
  });

  it("bounds curl in time and keeps the secret URL off its command line", () => {
    const sent = run(SLACK);
    const args = sent.args!;
    expect(args[args.indexOf("--max-time") + 1]).toBe(String(NOTIFY_SECONDS));
    expect(args[args.indexOf("--connect-timeout") + 1]).toBe(String(NOTIFY_CONNECT_SECONDS));
    expect(args.join(" ")).not.toContain("s3cr3t");
    expect(sent.config).toBe(`url = "${SLACK[E.secretUrl]}"\n`);
    expect(args).toContain("--fail-with-body");
  });

  it("sends one email with From, To, Subject and Date headers, the same lines as its body, CRLF line ends", () => {
    const sent = run(EMAIL);
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    const { lines, headers } = sentText(sent);
    expect(lines).toEqual(notificationText(PARTS));
    expect(headers.From).toBe("kfm@example.com");
    expect(headers.To).toBe("ops@example.com, oncall+data@example.com");
    expect(headers.Subject).toBe(PARTS.message);
    expect(headers.Date).toMatch(/^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$/);
    expect(sent.body.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    const args = sent.args!;
    expect(args.filter((a, i) => args[i - 1] === "--mail-rcpt")).toEqual(["ops@example.com", "oncall+data@example.com"]);
    expect(args[args.indexOf("--mail-from") + 1]).toBe("kfm@example.com");
    // A quote in the URL is escaped for curl's config syntax.
    expect(sent.config).toBe('url = "smtps://user:pa%22ss@smtp.example.com:465"\n');
  });

  it("says `none` when no job failed (the run failed outside its jobs)", () => {
    expect(sentText(run({ ...SLACK, [E.failed]: "" })).lines[3]).toBe("Failed jobs: none");
    expect(notificationText({ ...PARTS, failed: [] })[3]).toBe("Failed jobs: none");
  });

  it("escapes quotes and backslashes for JSON", () => {
    const sent = run({ ...SLACK, [E.run]: 'a "quoted" \\ run' });
    expect(sentText(sent).lines[4]).toBe('Run: a "quoted" \\ run');
  });

  it.each([E.message, E.run, E.from, E.to])("refuses a line break in %s before anything is sent (no header can be added)", (name) => {
    for (const br of ["\r\n", "\n", "\r"]) {
      const sent = run({ ...EMAIL, [name]: `x@example.com${br}Bcc: evil@example.com` });
      expect(sent.code).toBe(1);
      expect(sent.args).toBeNull();
      expect(sent.stderr).toContain(`${name} holds a line break`);
    }
  });

  it("refuses an unset input and an empty secret", () => {
    const { [E.run]: _, ...noRun } = SLACK;
    expect(run(noRun).stderr).toContain(`${E.run} is not set`);
    const empty = run({ ...SLACK, [E.secretUrl]: "" });
    expect(empty.code).toBe(1);
    expect(empty.args).toBeNull();
  });

  it("fails when curl fails (the step, task or handler then shows failed)", () => {
    expect(run(SLACK, 28).code).toBe(28);
    expect(run(EMAIL, 67).code).toBe(67);
  });
});
