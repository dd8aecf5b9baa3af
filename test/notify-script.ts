// Runs a target's notification command with a fake `curl` on PATH that records what the
// real one would have sent: its arguments, the config it read from file descriptor 3 (the
// secret URL) and the request body from stdin. Shared by test/notify.test.ts and the
// conformance tests that first render a target's env with the runner's own code.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Sent {
  /** The script's exit status. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** curl's arguments, or null when curl was not called. */
  readonly args: string[] | null;
  /** The config curl read (the URL). */
  readonly config: string;
  /** The request body (Slack JSON or the whole email, CRLF line ends). */
  readonly body: string;
}

const FAKE_CURL = `#!/bin/sh
out=$KFM_TEST_OUT
: > "$out/args"
for a in "$@"; do printf '%s\\n' "$a" >> "$out/args"; done
cat /dev/fd/3 > "$out/config"
cat > "$out/body"
exit \${KFM_TEST_CURL_EXIT:-0}
`;

/** Runs `argv` (such as `["sh", "-c", script]`) with `env` and a fake curl; `curlExit` is what curl exits with. */
export function runWithFakeCurl(argv: readonly string[], env: Record<string, string>, curlExit = 0): Sent {
  const dir = mkdtempSync(join(tmpdir(), "kfm-notify-"));
  const bin = join(dir, "bin");
  spawnSync("mkdir", [bin]);
  writeFileSync(join(bin, "curl"), FAKE_CURL);
  chmodSync(join(bin, "curl"), 0o755);
  const r = spawnSync(argv[0]!, argv.slice(1), {
    // SHLVL and a stdin that is no socket: bash would otherwise take itself for rshd's child and read ~/.bashrc.
    env: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, SHLVL: "1", KFM_TEST_OUT: dir, KFM_TEST_CURL_EXIT: String(curlExit), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    timeout: 30_000,
  });
  const read = (f: string): string | null => {
    try {
      return readFileSync(join(dir, f), "utf8");
    } catch {
      return null;
    }
  };
  const args = read("args");
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    args: args === null ? null : args.split("\n").slice(0, -1),
    config: read("config") ?? "",
    body: read("body") ?? "",
  };
}

/** The text a notification carried: Slack's `text`, or an email's body lines (headers apart). */
export function sentText(sent: Sent): { lines: string[]; headers: Record<string, string> } {
  if (sent.body.startsWith("{")) return { lines: (JSON.parse(sent.body) as { text: string }).text.split("\n"), headers: {} };
  const [head, ...rest] = sent.body.split("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of (head ?? "").split("\r\n")) {
    const i = line.indexOf(": ");
    headers[line.slice(0, i)] = line.slice(i + 2);
  }
  const body = rest.join("\r\n\r\n");
  return { lines: body.split("\r\n").slice(0, -1), headers };
}
