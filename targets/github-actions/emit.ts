/**
 * IR -> one GitHub Actions workflow file. Every mapping decision is explained in
 * README.md beside this file. The shape:
 *
 * - `on:` a `schedule` entry (cron + timezone, always written) when the spec has a
 *   cron schedule, and always `workflow_dispatch` with a required `logical_date`.
 * - job `kfm-context` computes the run's logical date with a fixed Python script
 *   (CONTEXT_SCRIPT) and exposes it, and `ds`, `ts`, ... as job outputs.
 * - one job per spec job: `name:` = spec name, `needs:` kfm-context + dependencies,
 *   an explicit `if:`, `timeout-minutes:` always written, and one host step that runs
 *   the fixed bash script RUN_SCRIPT, which reads every input (image, argv, env,
 *   resources, attempts, waits, timeouts) from the step's `KFMI_` variables.
 *
 * No user text is ever placed in a `run:` script; it only appears in `env:` values,
 * where GitHub's `${{` is neutralised (escapeText).
 */
import { hashComment, headerLines } from "../../src/header.js";
import { retryWaits, type EnvVar, type Job, type Notification, type Segment, type Template, type Workflow } from "../../src/ir.js";
import {
  GITHUB_CONTAINER_NAME_SHELL,
  githubApprovalEnvironment,
  githubNotifyJob,
  GITHUB_CONTEXT_JOB,
  GITHUB_CONTEXT_STEP,
  GITHUB_INTERNAL_ENV_PREFIX,
  githubJobId,
  githubSecretName,
  RESERVED_PREFIX,
} from "../../src/names.js";
import { NOTIFY_ENV, NOTIFY_TASK_SECONDS, notifyInputs, notifyScript } from "../../src/notify.js";
import { cpuCores, quantityBytes } from "../../src/values.js";
import { toYamlStream } from "../../src/yaml.js";

export const TARGET_NAME = "github-actions";

/** The runner every job asks for: a pinned GitHub-hosted image (Docker, coreutils `timeout`, python3 with zoneinfo and the system tz database). */
export const RUNS_ON = "ubuntu-24.04";

/** `timeout-minutes` of the kfm-context job: it only computes dates. */
export const CONTEXT_TIMEOUT_MINUTES = 10;

/**
 * The largest `timeout-minutes` that means anything: GitHub ends any job after 5 days
 * of execution (self-hosted runners; GitHub-hosted runners end it after 6 h whatever
 * this says). Written for jobs with no bound, since the key's default is 360.
 */
export const MAX_TIMEOUT_MINUTES = 5 * 24 * 60;

/** Seconds `timeout` waits after SIGTERM before it SIGKILLs the docker client (the container is then force-removed). */
export const KILL_GRACE_SECONDS = 10;

/** Slack per attempt for the kill grace and the forced removal of a timed-out container. */
export const ATTEMPT_SLACK_SECONDS = 30;

/** Slack per job for setting the job up (runner start, the step's own start) before the first attempt. */
export const JOB_SLACK_SECONDS = 300;

/** The workflow_dispatch input holding a manual run's logical date. */
export const LOGICAL_DATE_INPUT = "logical_date";

/** Outputs of kfm-context: one per runtime variable, plus `run` (the window guard) and `deadline` (the run timeout). */
const VARIABLE_OUTPUTS = ["execution_date", "ds", "ts"] as const;
const PERIOD_OUTPUTS = ["prev_execution_date", "next_execution_date"] as const;

/** The schedule guard every spec job is under: kfm-context succeeded and did not skip the run. */
const RUN_GUARD = `needs.${GITHUB_CONTEXT_JOB}.outputs.run == 'true'`;

/**
 * The condition of a job that runs only when all of its needs succeeded (`all_succeeded`),
 * when no `all_done` job is upstream of it: `success()` is then exactly "every need
 * succeeded" (a need only succeeds when its own needs did).
 */
export const JOB_IF = `success() && ${RUN_GUARD}`;

/**
 * `all_done` (spec `on_upstream_failure: continue`): the job runs once its needs have
 * finished, whatever their result, unless the run was cancelled. A status function in
 * the condition replaces GitHub's implicit `success() &&` (languageservices
 * workflow-parser/src/model/converter/if-condition.ts, ensureStatusFunction), and
 * `!cancelled()`, unlike `always()`, lets a cancel stop the job.
 */
export const ALL_DONE_IF = `!cancelled() && ${RUN_GUARD}`;

/**
 * `all_succeeded` for a job with an `all_done` job upstream: a job-level `success()`
 * is false as soon as any ANCESTOR failed or was skipped, not only a direct need
 * (actions/runner#2205), so it would skip a job whose needs all succeeded after an
 * `all_done` job ran. Each direct need's result is tested instead.
 */
export function explicitSuccessIf(needs: readonly string[]): string {
  return [ALL_DONE_IF, ...needs.map((n) => `needs.${n}.result == 'success'`)].join(" && ");
}

export const CONTEXT_IF = "success()";

/** The custom shell of the kfm-context step: python3 in isolated mode (ignores PYTHON* variables and user site-packages). */
export const CONTEXT_SHELL = "python3 -I {0}";

const V = (name: string): string => GITHUB_INTERNAL_ENV_PREFIX + name;

/** The logical-date script of kfm-context. Fixed text: the schedule reaches it as data in the step's env. */
export const CONTEXT_SCRIPT = `# kfm-compile: the run's logical date. The same script in every generated workflow;
# the schedule and the manual input reach it as data in this step's KFMI_ variables.
import hashlib
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
MANUAL = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})")
ITEM = re.compile(r"(\\*|([0-9]+)(?:-([0-9]+))?)(?:/([0-9]+))?")


def fail(message):
    print("::error title=kfm-context::" + message)
    sys.exit(1)


def get(name):
    value = os.environ.get(name)
    if value is None:
        fail(name + " is not set")
    return value


def cron_field(text, low, high):
    values = set()
    for item in text.split(","):
        m = ITEM.fullmatch(item)
        if m is None:
            fail("unsupported cron field " + text)
        if m.group(1) == "*":
            first, last = low, high
        else:
            first = int(m.group(2))
            last = int(m.group(3)) if m.group(3) is not None else (high if m.group(4) is not None else first)
        step = int(m.group(4)) if m.group(4) is not None else 1
        if first < low or last > high or first > last or step < 1:
            fail("cron field out of range: " + text)
        values.update(range(first, last + 1, step))
    return values


def wall(instant, zone):
    return instant.astimezone(zone).replace(tzinfo=None)


def first_instant(naive, zone):
    # The first instant whose wall time is naive (the earlier one in a fall-back fold); None in a spring-forward gap.
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return instant if wall(instant, zone) == naive else None


def gap_end(naive, zone):
    # The instant the clock jumps over naive: GitHub fires a slot inside a spring-forward gap then.
    a = int(naive.replace(tzinfo=zone, fold=0).astimezone(UTC).timestamp())
    b = int(naive.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    low, high = min(a, b), max(a, b)
    while high - low > 1:
        middle = (low + high) // 2
        if wall(datetime.fromtimestamp(middle, UTC), zone) > naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def latest_slot(cron, zone, now):
    # The most recent moment GitHub fires this schedule at or before now: (instant, is a real slot, local wall time).
    fields = cron.split(" ")
    if len(fields) != 5:
        fail("a cron expression has five fields")
    minutes, hours, days, months, weekdays = (cron_field(f, low, high) for f, (low, high) in zip(fields, FIELDS))
    if fields[2] != "*" and fields[4] != "*":
        fail("day-of-month and day-of-week are both restricted")
    today = wall(now, zone).date()
    best = None
    found = None
    for back in range(366 * 8 + 2):
        if found is not None and back > found + 1:
            break
        day = today - timedelta(days=back)
        if day.month not in months or day.day not in days or day.isoweekday() % 7 not in weekdays:
            continue
        for hour in sorted(hours):
            for minute in sorted(minutes):
                naive = datetime(day.year, day.month, day.day, hour, minute)
                instant = first_instant(naive, zone)
                candidate = (instant, True, naive) if instant is not None else (gap_end(naive, zone), False, naive)
                if candidate[0] <= now and (best is None or candidate[:2] > best[:2]):
                    best = candidate
                    if found is None:
                        found = back
    if best is None:
        fail("the schedule has no slot in the last eight years")
    return best


def stamp(instant):
    return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % (
        instant.year, instant.month, instant.day, instant.hour, instant.minute, instant.second)


def local_text(naive):
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second)


def main():
    event = get("KFMI_EVENT_NAME")
    cron = get("KFMI_CRON")
    period = get("KFMI_PERIOD_SECONDS")
    run_timeout = get("KFMI_RUN_TIMEOUT")
    seed = get("KFMI_RUN_TOKEN_SEED")
    started = int(time.time())
    run = True
    if event == "workflow_dispatch":
        given = get("KFMI_INPUT_LOGICAL_DATE")
        m = MANUAL.fullmatch(given)
        logical = None
        if m is not None:
            try:
                logical = datetime.fromisoformat(given[:19] + ("+00:00" if given[19:] == "Z" else given[19:]))
            except ValueError:
                logical = None
        if logical is None:
            fail("the input logical_date must be a date and time like 2024-01-31T02:00:00Z or 2024-01-31T04:00:00+02:00")
        logical = logical.astimezone(UTC)
        print("kfm-context: manual run, logical date from the input")
    elif event == "schedule":
        if cron == "":
            fail("this workflow has no schedule")
        if get("KFMI_EVENT_SCHEDULE") != cron:
            fail("the run was started by a schedule this workflow does not declare")
        zone = ZoneInfo(get("KFMI_TIMEZONE"))
        start = get("KFMI_START")
        end = get("KFMI_END")
        logical, real, naive = latest_slot(cron, zone, datetime.fromtimestamp(started, UTC))
        local = local_text(naive)
        if not real:
            run = False
            print("kfm-context: the slot " + local + " falls in a daylight-saving gap, where the schedule does not fire; skipping the run")
        elif (start != "" and local < start) or (end != "" and local > end):
            run = False
            print("kfm-context: the slot " + local + " is outside the schedule's window; skipping the run")
        else:
            print("kfm-context: scheduled run for the slot " + local + " in " + zone.key)
    else:
        fail("unexpected event " + event)
    lines = ["run=" + ("true" if run else "false")]
    if run:
        ts = stamp(logical)
        lines += ["execution_date=" + ts, "ds=" + ts[:10], "ts=" + ts]
        if period != "":
            step = timedelta(seconds=int(period))
            lines += ["prev_execution_date=" + stamp(logical - step), "next_execution_date=" + stamp(logical + step)]
        lines.append("run_token=" + hashlib.sha256((seed + ts).encode("utf-8")).hexdigest()[:32])
        if run_timeout != "":
            lines.append("deadline=" + str(started + int(run_timeout)))
        print("kfm-context: logical date " + ts)
    with open(get("GITHUB_OUTPUT"), "a", encoding="utf-8") as out:
        out.write("\\n".join(lines) + "\\n")


main()
`;

/** The container step of every job. Fixed text: the job reaches it as data in the step's env. */
export const RUN_SCRIPT = `# kfm-compile: runs this job's container with docker, with its attempts, waits and
# timeouts. The same script in every generated job; every input is a KFMI_ variable
# of this step, and only the job's own variables are given to the container.
set -euo pipefail

die() {
  echo "::error title=kfm-compile::$1" >&2
  exit 1
}
get() {
  [[ -v $1 ]] || die "$1 is not set"
  REPLY=\${!1}
}
count() {
  get "$1"
  [[ $REPLY =~ ^(0|[1-9][0-9]{0,5})$ ]] || die "$1 is not a count"
}
items() {
  ITEMS=()
  local i
  for ((i = 0; i < $2; i++)); do
    get "$1$i"
    ITEMS+=("$REPLY")
  done
}

get KFMI_IMAGE
image=$REPLY
[[ -n $image ]] || die "KFMI_IMAGE is empty"
options=(--rm --pull=missing)
argv=()
get KFMI_COMMAND_COUNT
if [[ $REPLY != none ]]; then
  count KFMI_COMMAND_COUNT
  items KFMI_COMMAND_ "$REPLY"
  if ((\${#ITEMS[@]} > 0)); then
    options+=(--entrypoint="\${ITEMS[0]}")
    argv+=("\${ITEMS[@]:1}")
  fi
fi
get KFMI_ARGS_COUNT
if [[ $REPLY != none ]]; then
  count KFMI_ARGS_COUNT
  items KFMI_ARGS_ "$REPLY"
  argv+=("\${ITEMS[@]}")
fi
count KFMI_ENV_COUNT
env_count=$REPLY
attempt_names=()
secret_names=()
secret_values=()
for ((i = 0; i < env_count; i++)); do
  get "KFMI_ENV_NAME_$i"
  name=$REPLY
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "KFMI_ENV_NAME_$i is not a variable name"
  if [[ -v KFMI_ENV_VALUE_$i ]]; then
    get "KFMI_ENV_VALUE_$i"
    options+=(--env="$name=$REPLY")
  elif [[ -v KFMI_ENV_SECRET_$i ]]; then
    # Given to docker by name only (--env NAME): the value never appears in a command line.
    get "KFMI_ENV_SECRET_NAME_$i"
    secret_ref="secret $REPLY"
    get "KFMI_ENV_SECRET_KEY_$i"
    secret_ref+=", key $REPLY"
    get "KFMI_ENV_SECRET_$i"
    [[ -n $REPLY ]] || die "$name: the GitHub secret for $secret_ref is not set or empty (its name is <secret>_<key> in upper case, other characters as _)"
    secret_names+=("$name")
    secret_values+=("$REPLY")
    options+=(--env="$name")
  elif [[ -v KFMI_ENV_ATTEMPT_$i ]]; then
    attempt_names+=("$name")
  else
    die "KFMI_ENV_VALUE_$i is not set"
  fi
done
get KFMI_CPUS
if [[ -n $REPLY ]]; then
  [[ $REPLY =~ ^[0-9]+(\\.[0-9]+)?$ ]] || die "KFMI_CPUS is not a number of CPUs"
  options+=(--cpus="$REPLY")
fi
get KFMI_MEMORY_BYTES
if [[ -n $REPLY ]]; then
  [[ $REPLY =~ ^[0-9]+$ ]] || die "KFMI_MEMORY_BYTES is not a number of bytes"
  options+=(--memory="\${REPLY}b" --memory-swap="\${REPLY}b")
fi
count KFMI_ATTEMPTS
attempts=$REPLY
((attempts >= 1)) || die "KFMI_ATTEMPTS must be at least 1"
get KFMI_WAITS
read -r -a waits <<<"$REPLY"
((\${#waits[@]} == attempts - 1)) || die "KFMI_WAITS must hold one wait per retry"
for wait_seconds in "\${waits[@]}"; do
  [[ $wait_seconds =~ ^[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$ ]] || die "KFMI_WAITS holds a malformed wait"
done
get KFMI_ATTEMPT_TIMEOUT
attempt_timeout=$REPLY
[[ -z $attempt_timeout || $attempt_timeout =~ ^[1-9][0-9]*$ ]] || die "KFMI_ATTEMPT_TIMEOUT is not a number of seconds"
get KFMI_DEADLINE
deadline=$REPLY
[[ -z $deadline || $deadline =~ ^[1-9][0-9]*$ ]] || die "KFMI_DEADLINE is not a time"

docker_bin=$(command -v docker) || die "docker is not installed"
timeout_bin=$(command -v timeout) || die "timeout is not installed"
# Runs its arguments with the secrets in the environment, in the background subshell
# it is started in, so only this docker client sees them.
launch() {
  local j
  for ((j = 0; j < \${#secret_names[@]}; j++)); do
    export "\${secret_names[j]}=\${secret_values[j]}"
  done
  exec "$@"
}

container=
remove_container() {
  if [[ -n $container ]]; then
    "$docker_bin" rm --force "$container" >/dev/null 2>&1 || true
    container=
  fi
}
trap remove_container EXIT
trap 'remove_container; exit 130' INT
trap 'remove_container; exit 143' TERM

attempt=1
while :; do
  limit=$attempt_timeout
  if [[ -n $deadline ]]; then
    left=$((deadline - $(date +%s)))
    ((left > 0)) || die "the workflow run's timeout passed before attempt $attempt"
    if [[ -z $limit ]] || ((left < limit)); then
      limit=$left
    fi
  fi
  container="${GITHUB_CONTAINER_NAME_SHELL}"
  attempt_options=()
  for name in "\${attempt_names[@]}"; do
    attempt_options+=(--env="$name=$attempt")
  done
  echo "kfm-compile: attempt $attempt of $attempts"
  status=0
  if [[ -n $limit ]]; then
    launch "$timeout_bin" --kill-after=${KILL_GRACE_SECONDS} "$limit" "$docker_bin" run "\${options[@]}" "\${attempt_options[@]}" --name="$container" -- "$image" "\${argv[@]}" &
  else
    launch "$docker_bin" run "\${options[@]}" "\${attempt_options[@]}" --name="$container" -- "$image" "\${argv[@]}" &
  fi
  wait "$!" || status=$?
  remove_container
  if ((status == 0)); then
    exit 0
  fi
  echo "kfm-compile: attempt $attempt failed with exit status $status"
  if ((attempt >= attempts)); then
    exit "$status"
  fi
  wait_seconds=\${waits[attempt - 1]}
  echo "kfm-compile: waiting $wait_seconds s before attempt $((attempt + 1))"
  if [[ -n $deadline ]]; then
    left=$((deadline - $(date +%s)))
    ((left > 0)) || die "the workflow run's timeout passed before attempt $((attempt + 1))"
    timeout "$left" sleep "$wait_seconds" || true
  else
    sleep "$wait_seconds"
  fi
  attempt=$((attempt + 1))
done
`;

/** GitHub reads YAML anchors and aliases since 2025 (docs: reusing workflow configurations, "YAML anchors and aliases"). */
const RUN_SCRIPT_ANCHOR: ReadonlyMap<string, string> = new Map([[RUN_SCRIPT, "kfm-run"]]);

/** GitHub's spelling of a spec time zone: actionlint (v1.7.12+) refuses `UTC`, so UTC is written `Etc/UTC` (rule_events.go checkTimezone). */
export function githubTimezone(zone: string): string {
  return zone.toLowerCase() === "utc" ? "Etc/UTC" : zone;
}

/** A literal `${{` is the only text GitHub rewrites in these values; write it as an expression yielding `${{`. */
export const LITERAL_OPEN = "${{ '${{' }}";

export function escapeText(text: string): string {
  return text.split("${{").join(LITERAL_OPEN);
}

export function variableExpression(variable: string): string {
  return `\${{ needs.${GITHUB_CONTEXT_JOB}.outputs.${variable} }}`;
}

/**
 * A template as a GitHub `env:` value: literal text with `${{` neutralised, runtime
 * variables (and the run token) as kfm-context outputs. `attempt` is not a value of
 * the run: it only exists as a whole variable (see `isAttempt`), which the run script
 * sets per attempt.
 */
export function renderTemplate(t: Template): string {
  return t
    .map((s: Segment) => {
      if ("text" in s) return escapeText(s.text);
      if (s.variable === "attempt") throw new Error("github-actions: the attempt number only exists as a whole env value");
      return variableExpression(s.variable);
    })
    .join("");
}

/** Whether an env var is exactly the attempt number (KFM_ATTEMPT): the run script gives it per attempt. */
export function isAttempt(e: EnvVar): boolean {
  return "value" in e && e.value.length === 1 && "variable" in e.value[0]! && e.value[0].variable === "attempt";
}

/** A secret reference as the step reads it: the expression of the GitHub secret `githubSecretName` names. */
export function secretExpression(secret: string, key: string): string {
  return `\${{ secrets.${githubSecretName(secret, key)} }}`;
}

/** Waits as the run script reads them: JavaScript's shortest round-trip decimal, space-separated. */
export function formatWaits(waits: readonly number[]): string {
  return waits.map((w) => String(w)).join(" ");
}

/**
 * `timeout-minutes` of a job: the longest its step may legitimately run (every
 * attempt at its timeout, every wait, with slack), capped by the run timeout (which
 * the script enforces itself) and by GitHub's maximum; the maximum when unbounded.
 */
export function jobTimeoutMinutes(attempts: number, attemptTimeout: number | null, waits: readonly number[], runTimeout: number | null): number {
  const bounds: number[] = [];
  if (attemptTimeout !== null) bounds.push(attempts * (attemptTimeout + ATTEMPT_SLACK_SECONDS) + waits.reduce((a, b) => a + b, 0) + JOB_SLACK_SECONDS);
  if (runTimeout !== null) bounds.push(runTimeout + ATTEMPT_SLACK_SECONDS + JOB_SLACK_SECONDS);
  if (bounds.length === 0) return MAX_TIMEOUT_MINUTES;
  return Math.min(MAX_TIMEOUT_MINUTES, Math.ceil(Math.min(...bounds) / 60));
}

function listEnv(env: Record<string, string>, key: string, list: readonly Template[] | null): void {
  env[V(`${key}_COUNT`)] = list === null ? "none" : String(list.length);
  (list ?? []).forEach((t, i) => (env[V(`${key}_${i}`)] = renderTemplate(t)));
}

/** The step env of a job: every input of RUN_SCRIPT. */
export function jobStepEnv(job: Job, runTimeout: number | null): Record<string, string> {
  const env: Record<string, string> = {};
  env[V("IMAGE")] = escapeText(job.image);
  listEnv(env, "COMMAND", job.command);
  listEnv(env, "ARGS", job.args);
  env[V("ENV_COUNT")] = String(job.env.length);
  job.env.forEach((e, i) => {
    env[V(`ENV_NAME_${i}`)] = e.name;
    if ("secretRef" in e) {
      env[V(`ENV_SECRET_${i}`)] = secretExpression(e.secretRef.secret, e.secretRef.key);
      env[V(`ENV_SECRET_NAME_${i}`)] = escapeText(e.secretRef.secret);
      env[V(`ENV_SECRET_KEY_${i}`)] = escapeText(e.secretRef.key);
    } else if (isAttempt(e)) {
      env[V(`ENV_ATTEMPT_${i}`)] = "";
    } else {
      env[V(`ENV_VALUE_${i}`)] = renderTemplate(e.value);
    }
  });
  const cpu = job.resources.cpu;
  const memory = job.resources.memory;
  env[V("CPUS")] = cpu === null ? "" : cpuCores(cpu)!;
  env[V("MEMORY_BYTES")] = memory === null ? "" : quantityBytes(memory)!.toString();
  env[V("ATTEMPTS")] = String(job.retry.maxAttempts);
  env[V("WAITS")] = formatWaits(retryWaits(job.retry));
  env[V("ATTEMPT_TIMEOUT")] = job.timeoutSeconds === null ? "" : String(job.timeoutSeconds);
  env[V("DEADLINE")] = runTimeout === null ? "" : `\${{ needs.${GITHUB_CONTEXT_JOB}.outputs.deadline }}`;
  return env;
}

/** The outputs of kfm-context, in order: the guard, the runtime values, the run token, the deadline. */
export function contextOutputs(ir: Workflow): string[] {
  const s = ir.schedule !== null && ir.schedule.kind === "cron" ? ir.schedule : null;
  return [
    "run",
    ...VARIABLE_OUTPUTS,
    ...(s !== null && s.periodSeconds !== null ? PERIOD_OUTPUTS : []),
    "run_token",
    ...(ir.timeoutSeconds !== null ? ["deadline"] : []),
  ];
}

export function contextOutputExpression(name: string): string {
  return `\${{ steps.${GITHUB_CONTEXT_STEP}.outputs.${name} }}`;
}

function contextJob(ir: Workflow): Record<string, unknown> {
  const s = ir.schedule !== null && ir.schedule.kind === "cron" ? ir.schedule : null;
  const outputs: Record<string, string> = {};
  const out = (name: string): void => {
    outputs[name] = contextOutputExpression(name);
  };
  contextOutputs(ir).forEach(out);
  const env: Record<string, string> = {
    [V("EVENT_NAME")]: "${{ github.event_name }}",
    [V("EVENT_SCHEDULE")]: "${{ github.event.schedule }}",
    [V("INPUT_LOGICAL_DATE")]: `\${{ inputs.${LOGICAL_DATE_INPUT} }}`,
    [V("CRON")]: s === null ? "" : s.cron,
    [V("TIMEZONE")]: s === null ? "" : s.timezone,
    [V("START")]: s?.start ?? "",
    [V("END")]: s?.end ?? "",
    [V("PERIOD_SECONDS")]: s === null || s.periodSeconds === null ? "" : String(s.periodSeconds),
    [V("RUN_TIMEOUT")]: ir.timeoutSeconds === null ? "" : String(ir.timeoutSeconds),
    [V("RUN_TOKEN_SEED")]: escapeText(ir.runTokenSeed),
  };
  return {
    name: GITHUB_CONTEXT_JOB,
    if: CONTEXT_IF,
    "runs-on": RUNS_ON,
    "timeout-minutes": CONTEXT_TIMEOUT_MINUTES,
    outputs,
    steps: [{ id: GITHUB_CONTEXT_STEP, name: "Compute the run's logical date", shell: CONTEXT_SHELL, env, run: CONTEXT_SCRIPT }],
  };
}

type Conditioned = { runWhen: string; dependsOn: readonly string[] };

/**
 * The jobs with a `runWhen: all_done` job upstream of them (for them `success()` means
 * more than "my needs succeeded"): everything downstream of an `all_done` job, found in
 * one walk over the graph rather than one per job.
 */
export function belowAllDone(jobs: ReadonlyMap<string, Conditioned>): Set<string> {
  const children = new Map<string, string[]>();
  for (const [name, job] of jobs) {
    for (const d of job.dependsOn) {
      const list = children.get(d);
      if (list === undefined) children.set(d, [name]);
      else list.push(name);
    }
  }
  const below = new Set<string>();
  const stack: string[] = [];
  for (const [name, job] of jobs) if (job.runWhen === "all_done") stack.push(name);
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      if (below.has(c)) continue;
      below.add(c);
      stack.push(c);
    }
  }
  return below;
}

/** The job's `if:` (see JOB_IF, ALL_DONE_IF, explicitSuccessIf); `below` is `belowAllDone` of the workflow's jobs. */
export function jobIf(job: Conditioned, below: ReadonlySet<string>, name: string): string {
  if (job.runWhen === "all_done") return ALL_DONE_IF;
  return below.has(name) ? explicitSuccessIf(job.dependsOn.map(githubJobId)) : JOB_IF;
}

function specJob(ir: Workflow, job: Job, below: ReadonlySet<string>): Record<string, unknown> {
  const waits = retryWaits(job.retry);
  return {
    name: job.name,
    needs: [GITHUB_CONTEXT_JOB, ...job.dependsOn.map(githubJobId)],
    if: jobIf(job, below, job.name),
    "runs-on": RUNS_ON,
    "timeout-minutes": jobTimeoutMinutes(job.retry.maxAttempts, job.timeoutSeconds, waits, ir.timeoutSeconds),
    steps: [{ name: "Run the job's container", env: jobStepEnv(job, ir.timeoutSeconds), run: RUN_SCRIPT }],
  };
}

/** `timeout-minutes` of an approval gate's job: one API call. */
export const SHORT_JOB_TIMEOUT_MINUTES = 10;

/** The only token scope any generated job asks for: the gate reads its run's review history (REST "workflow runs", actions: read). */
export const GATE_PERMISSIONS = { actions: "read" } as const;

/**
 * The step of an approval gate's job. GitHub only starts the job once the environment's
 * protection rules passed (a reviewer approved; a rejection fails the job, and no
 * decision fails it after 30 days). An environment nobody configured has no rules
 * and would pass at once, so the script reads the run's review history and fails
 * unless a person approved this environment (fail closed). Fixed text.
 */
export const GATE_SCRIPT = `# kfm-compile: an approval gate. GitHub starts this job only after the environment's
# protection rules passed; this step checks that a person approved the environment in
# this run, so an environment without required reviewers fails the gate instead of
# letting it pass. The same script in every gate; its inputs are KFMI_ variables.
import json
import os
import sys
import urllib.request


def fail(message):
    print("::error title=kfm-approval::" + message)
    sys.exit(1)


def get(name):
    value = os.environ.get(name)
    if value is None or value == "":
        fail(name + " is not set")
    return value


def main():
    environment = get("KFMI_ENVIRONMENT")
    url = "%s/repos/%s/actions/runs/%s/approvals" % (get("GITHUB_API_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID"))
    request = urllib.request.Request(url, headers={
        "Accept": "application/vnd.github+json",
        "Authorization": "Bearer " + get("KFMI_TOKEN"),
        "X-GitHub-Api-Version": "2022-11-28",
    })
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            reviews = json.load(response)
    except Exception as error:
        fail("cannot read this run's review history: " + str(error))
    if not isinstance(reviews, list):
        fail("the review history is not a list")
    approvers = set()
    for review in reviews:
        names = [str(e.get("name", "")).lower() for e in review.get("environments") or [] if isinstance(e, dict)]
        if review.get("state") == "approved" and environment.lower() in names:
            approvers.add(str((review.get("user") or {}).get("login", "?")))
    if not approvers:
        fail("nobody approved the environment " + environment + " in this run: give it required reviewers "
             "(Settings > Environments), or the gate cannot wait for a decision")
    print("kfm-approval: " + environment + " approved by " + ", ".join(sorted(approvers)))


main()
`;

/** The shell of the gate's step, as kfm-context's: python3 in isolated mode. */
export const GATE_SHELL = CONTEXT_SHELL;

/** The step env of an approval gate: the environment to look for, and the job's token (actions: read only). */
export function gateStepEnv(ir: Workflow, job: Job): Record<string, string> {
  return { [V("ENVIRONMENT")]: githubApprovalEnvironment(ir.name, job.name), [V("TOKEN")]: "${{ github.token }}" };
}

function gateJob(ir: Workflow, job: Job, below: ReadonlySet<string>): Record<string, unknown> {
  return {
    name: job.name,
    needs: [GITHUB_CONTEXT_JOB, ...job.dependsOn.map(githubJobId)],
    if: jobIf(job, below, job.name),
    environment: githubApprovalEnvironment(ir.name, job.name),
    permissions: { ...GATE_PERMISSIONS },
    "runs-on": RUNS_ON,
    "timeout-minutes": SHORT_JOB_TIMEOUT_MINUTES,
    steps: [{ name: "Check that a person approved", shell: GATE_SHELL, env: gateStepEnv(ir, job), run: GATE_SCRIPT }],
  };
}

/**
 * The condition of a notification job: `failure()` at job level is true when any job
 * it needs (or any of their ancestors) failed (docs, expressions, "failure"); it
 * needs every job, so it runs once, after the run's jobs, only when one failed.
 */
export const NOTIFY_IF = "failure()";

/**
 * The prelude of the notification step on GitHub: `KFM_NOTIFY_FAILED` holds the jobs'
 * results as GitHub passes them (`toJSON(needs)`: each needed job's id with its `result`,
 * docs "Contexts", needs context); the failed jobs are those whose result is `failure`
 * (a job skipped after an upstream failure is `skipped`), the compiler's own `kfm-` jobs
 * apart. Job ids are spec names (src/names.ts `githubJobId`). An empty secret is reported
 * with the GitHub secret's name.
 */
export const NOTIFY_PRELUDE = `# kfm-compile: sends one failure notification of this run. The same script in every
# notification; every input is a variable of this step.
if [ -z "\${${NOTIFY_ENV.secretUrl}-}" ]; then
  echo "::error title=kfm-notify::the GitHub secret for secret \${${V("SECRET_NAME")}-?}, key \${${V("SECRET_KEY")}-?} is not set or empty (its name is <secret>_<key> in upper case, other characters as _)" >&2
  exit 1
fi
${NOTIFY_ENV.failed}=$(python3 -I -c 'import json, os; needs = json.loads(os.environ["${NOTIFY_ENV.failed}"]); print(" ".join(k for k, v in needs.items() if v.get("result") == "failure" and not k.startswith("${RESERVED_PREFIX}")))')
`;

/** The step of a notification job: the prelude, then the shared script (src/notify.ts). Fixed text. */
export const NOTIFY_STEP_SCRIPT = notifyScript(NOTIFY_PRELUDE);

/** The notification step's script is the same in every notification job: written once, under an anchor. */
const NOTIFY_ANCHOR: ReadonlyMap<string, string> = new Map([[NOTIFY_STEP_SCRIPT, "kfm-notify"]]);

/** The run: its page on GitHub (`<server>/<owner>/<repo>/actions/runs/<run id>`). */
export const NOTIFY_RUN = "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}";

/** What the prelude reads as the jobs' results. */
export const NOTIFY_NEEDS = "${{ toJSON(needs) }}";

/** The runner-side bound of a notification job, in minutes (src/notify.ts NOTIFY_TASK_SECONDS). */
export const NOTIFY_TIMEOUT_MINUTES = Math.ceil(NOTIFY_TASK_SECONDS / 60);

/** The step env of a notification job: the shared inputs, then the secret's name and key for the prelude's message. */
export function notifyStepEnv(ir: Workflow, n: Notification): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of notifyInputs(n, ir.name, renderTemplate, escapeText, NOTIFY_NEEDS, NOTIFY_RUN)) {
    env[v.name] = "value" in v ? v.value : secretExpression(v.secret.secret, v.secret.key);
  }
  const secret = n.kind === "email" ? n.smtp : n.webhook;
  env[V("SECRET_NAME")] = escapeText(secret.secret);
  env[V("SECRET_KEY")] = escapeText(secret.key);
  return env;
}

function notifyJob(ir: Workflow, n: Notification): Record<string, unknown> {
  return {
    name: `notify ${n.kind}`,
    needs: [GITHUB_CONTEXT_JOB, ...ir.jobs.map((j) => githubJobId(j.name))],
    if: NOTIFY_IF,
    "runs-on": RUNS_ON,
    "timeout-minutes": NOTIFY_TIMEOUT_MINUTES,
    steps: [{ name: `Send the ${n.kind} notification`, env: notifyStepEnv(ir, n), run: NOTIFY_STEP_SCRIPT }],
  };
}

/** The workflow as plain data, before serialisation. */
export function workflowDocument(ir: Workflow): Record<string, unknown> {
  const on: Record<string, unknown> = {};
  if (ir.schedule !== null && ir.schedule.kind === "cron") {
    on.schedule = [{ cron: ir.schedule.cron, timezone: githubTimezone(ir.schedule.timezone) }];
  }
  on.workflow_dispatch = {
    inputs: {
      [LOGICAL_DATE_INPUT]: {
        description: "Logical date of the run, UTC ISO 8601: YYYY-MM-DDTHH:MM:SSZ (or with an offset, +HH:MM)",
        required: true,
        type: "string",
      },
    },
  };
  const jobs: Record<string, unknown> = { [GITHUB_CONTEXT_JOB]: contextJob(ir) };
  const below = belowAllDone(new Map(ir.jobs.map((j) => [j.name, j])));
  for (const job of ir.jobs) jobs[githubJobId(job.name)] = job.approval !== null ? gateJob(ir, job, below) : specJob(ir, job, below);
  ir.notifications.forEach((n, i) => (jobs[githubNotifyJob(i)] = notifyJob(ir, n)));
  return {
    name: ir.name,
    on,
    permissions: {},
    defaults: { run: { shell: "bash" } },
    jobs,
  };
}

export function emit(ir: Workflow): string {
  // The run script is the same in every job: written once, under an anchor, it keeps a
  // workflow of hundreds of jobs under GitHub's 500 KB file limit (README, File size).
  // One document opening with `---`, as yamllint's default `document-start` rule wants.
  return hashComment(headerLines(ir, TARGET_NAME)) + toYamlStream([workflowDocument(ir)], { anchors: new Map([...RUN_SCRIPT_ANCHOR, ...NOTIFY_ANCHOR]) });
}
