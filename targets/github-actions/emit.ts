/**
 * IR -> one GitHub Actions workflow file, plus the shared reusable workflows of its
 * folder (`sharedFiles`). Every mapping decision is explained in README.md beside this
 * file. The shape:
 *
 * - `on:` a `schedule` entry (cron + timezone, always written) when the spec has a
 *   cron schedule, and always `workflow_dispatch` with a required `logical_date`.
 * - job `kfm-context` calls kfm-context.yml, whose fixed Python script (CONTEXT_SCRIPT)
 *   computes the run's logical date and exposes it, and `ds`, `ts`, ... as outputs.
 * - one job per spec job: `name:` = spec name, `needs:` kfm-context + dependencies, an
 *   explicit `if:`, and `uses:` kfm-job.yml, whose fixed bash script RUN_SCRIPT reads
 *   every input (image, argv, env, resources, attempts, waits, timeouts) from the
 *   caller's `with:`, handed to it as step variables; secrets are passed by name.
 * - an approval gate calls kfm-approval.yml on the gate's environment.
 *
 * No user text is ever placed in a `run:` script; it only appears in `with:` and `env:`
 * values, where GitHub's `${{` is neutralised (escapeText).
 */
import { HEADER_MARK, hashComment, headerLines } from "../../src/header.js";
import { retryWaits, type CronSchedule, type EnvVar, type Job, type Notification, type Segment, type Template, type Workflow } from "../../src/ir.js";
import { dstConflicts, elapsedInUtc, parseCron, utcCover, type UtcEntry } from "../../src/cron.js";
import { POD_START_SECONDS } from "../../src/limits.js";
import {
  GITHUB_CONTAINER_NAME_SHELL,
  githubApprovalEnvironment,
  githubConcurrencyGroup,
  githubNotifyJob,
  GITHUB_CONTEXT_JOB,
  GITHUB_CONTEXT_STEP,
  githubDispatchType,
  GITHUB_INTERNAL_ENV_PREFIX,
  githubJobId,
  githubSecretName,
  RESERVED_PREFIX,
} from "../../src/names.js";
import { NOTIFY_ENV, NOTIFY_TASK_SECONDS, notifyInputs, notifyScript } from "../../src/notify.js";
import { cpuCores, quantityBytes } from "../../src/values.js";
import { VERSION } from "../../src/version.js";
import { toYamlStream } from "../../src/yaml.js";
import { DEFAULT_OPTIONS, registryLogin, runsOnValue, type GithubActionsOptions } from "./options.js";

export const TARGET_NAME = "github-actions";

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
 * The run-deadline guard of an `all_done` job in a workflow with a timeout: the run
 * script of a need that ended failed at or after the run's deadline sets its output
 * `deadline` to `passed` (RUN_SCRIPT, `deadline_passed`), and no job starts after the
 * run's timeout (the meaning's; `if:` cannot read a clock). `needs.*.outputs.deadline`
 * is the array of the needs' `deadline` outputs, a need without one (skipped, or
 * kfm-context's own Unix time) adding nothing or another value (docs: expressions,
 * "Object filters"; actions/languageservices expressions/src/evaluator.ts
 * `filteredArrayAccess` skips a missing property), and `contains` of an array tests
 * its items for equality (docs: expressions, "contains").
 */
export const DEADLINE_PASSED = "passed";
export const DEADLINE_GUARD = `!contains(needs.*.outputs.deadline, '${DEADLINE_PASSED}')`;

/** The `if:` of an `all_done` job: ALL_DONE_IF, with DEADLINE_GUARD when the workflow has a run timeout. */
export function allDoneIf(runTimeout: boolean): string {
  return runTimeout ? `${ALL_DONE_IF} && ${DEADLINE_GUARD}` : ALL_DONE_IF;
}

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
import json
import os
import re
import sys
import time
import urllib.request
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


def slot_instants(naive, zone, hourly):
    # The instants whose wall time is naive: none in a spring-forward gap; in a fall-back fold both
    # for a cron firing every hour (elapsed time), else the earlier one.
    out = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if wall(instant, zone) == naive and instant not in out:
            out.append(instant)
    return out if hourly else out[:1]


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
    hourly = len(hours) == 24
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
                instants = slot_instants(naive, zone, hourly)
                candidates = [(instant, True, naive) for instant in instants] or [(gap_end(naive, zone), False, naive)]
                for candidate in candidates:
                    if candidate[0] <= now and (best is None or candidate[:2] > best[:2]):
                        best = candidate
                        if found is None:
                            found = back
    if best is None:
        fail("the schedule has no slot in the last eight years")
    return best


def run_created():
    # A run of a workflow whose runs queue (max_active_runs: 1) may have waited in its concurrency
    # group: its slot is the latest at or before the moment GitHub created the run (REST "Get a
    # workflow run", created_at), not now. Needs the token's actions: read, which the caller grants.
    url = "%s/repos/%s/actions/runs/%s" % (get("GITHUB_API_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID"))
    request = urllib.request.Request(url, headers={
        "Accept": "application/vnd.github+json",
        "Authorization": "Bearer " + get("KFMI_TOKEN"),
        "X-GitHub-Api-Version": "2022-11-28",
    })
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            created = json.load(response)["created_at"]
        return datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(UTC)
    except Exception as error:
        fail("cannot read when this run was created: " + str(error))


# --- Daylight saving in Etc/UTC (README, Schedules) -------------------------------------------------
# A schedule with a slot in a daylight-saving change is written in Etc/UTC as the crons of
# KFMI_UTC_CRONS: one set per UTC offset of the zone, together firing at every instant its slots
# can take. The entry GitHub fired (github.event.schedule) and that entry's latest time at or
# before now give the instant, so a late start stays with its entry; the jobs run only when the
# instant is a slot's under the meaning: a slot in a spring-forward gap at its wall time read
# with the offset before the gap, a slot in a fall-back fold at its second occurrence (both
# occurrences for a cron firing every hour, which runs on elapsed time).


def meaning_instants(naive, zone, hourly):
    instants = slot_instants(naive, zone, True)
    if instants:
        return instants if hourly else instants[-1:]
    # In a gap, fold=0 reads the wall time with the offset before the transition (PEP 495).
    return [] if hourly else [naive.replace(tzinfo=zone, fold=0).astimezone(UTC)]


def slot_at(cron, zone, instant):
    # The slot (local wall time) of cron in zone that the meaning fires at instant, or None.
    minutes, hours, days, months, weekdays = (cron_field(f, low, high) for f, (low, high) in zip(cron.split(" "), FIELDS))
    offsets = {(instant + timedelta(days=d)).astimezone(zone).utcoffset() for d in (-1, 0, 1)}
    for offset in sorted(offsets):
        naive = (instant + offset).replace(tzinfo=None)
        if (naive.minute in minutes and naive.hour in hours and naive.day in days and naive.month in months
                and naive.isoweekday() % 7 in weekdays and instant in meaning_instants(naive, zone, len(hours) == 24)):
            return naive
    return None


def utc_entry_slot(cron, zone, entries, fired, now):
    # The instant the fired entry is for, and the slot it is (None: no slot, skip the run).
    if fired not in entries:
        fail("the run was started by a schedule this workflow does not declare")
    instant = latest_slot(fired, UTC, now)[0]
    return instant, slot_at(cron, zone, instant)


# --- end of daylight saving in Etc/UTC ---------------------------------------------------------------


# --- Event triggers (README, Event triggers) ---------------------------------------------------------
# A repository_dispatch run carries the object store's S3 event notification as its client_payload,
# {"Records": [{"eventName", "eventTime", "s3": {"bucket": {"name"}, "object": {"key"}}}]}, here as
# JSON in KFMI_EVENT_PAYLOAD. As on the other targets, the jobs run only for a new object's record
# (eventName (s3:)ObjectCreated:...) in the bucket with a key under the prefix, each / of the prefix
# matching / or %2F (stores URL-encode the key); the logical date is the record's eventTime in
# whole seconds, UTC.
OBJECT_CREATED = re.compile(r"(s3:)?ObjectCreated:")
EVENT_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})")


def event_record(payload, bucket, prefix):
    # (the record's time, "") for a record of the trigger, else (None, why the run is skipped).
    try:
        record = json.loads(payload)["Records"][0]
        name, time_text = record["eventName"], record.get("eventTime")
        record_bucket, key = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None, "the dispatch's client_payload holds no S3 event record"
    if not isinstance(name, str) or OBJECT_CREATED.match(name) is None:
        return None, "the record's event is not an object creation"
    if record_bucket != bucket:
        return None, "the record is of another bucket"
    if not isinstance(key, str) or re.match("(/|%2F)".join(re.escape(part) for part in prefix.split("/")), key) is None:
        return None, "the record's key is not under the prefix"
    m = EVENT_TIME.fullmatch(time_text) if isinstance(time_text, str) else None
    instant = None
    if m is not None:
        try:
            instant = datetime.fromisoformat(time_text[:19] + ("+00:00" if m.group(8) == "Z" else m.group(8)))
        except ValueError:
            instant = None
    if instant is None:
        fail("the S3 event record has no eventTime like 2024-01-01T02:03:04.567Z")
    return instant.astimezone(UTC), ""


# --- end of event triggers ---------------------------------------------------------------------------


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
        zone = ZoneInfo(get("KFMI_TIMEZONE"))
        start = get("KFMI_START")
        end = get("KFMI_END")
        now = run_created() if get("KFMI_SLOT_FROM") == "created_at" else datetime.fromtimestamp(started, UTC)
        utc_crons = get("KFMI_UTC_CRONS")
        if utc_crons != "":
            logical, naive = utc_entry_slot(cron, zone, utc_crons.split(";"), get("KFMI_EVENT_SCHEDULE"), now)
            real = naive is not None
        else:
            if get("KFMI_EVENT_SCHEDULE") != cron:
                fail("the run was started by a schedule this workflow does not declare")
            logical, real, naive = latest_slot(cron, zone, now)
        local = "" if naive is None else local_text(naive)
        if naive is None:
            run = False
            print("kfm-context: " + stamp(logical) + " is no slot of the schedule in " + zone.key + " (its entry stands for another UTC offset); skipping the run")
        elif not real:
            run = False
            print("kfm-context: the slot " + local + " falls in a daylight-saving gap, where the schedule does not fire; skipping the run")
        elif (start != "" and local < start) or (end != "" and local > end):
            run = False
            print("kfm-context: the slot " + local + " is outside the schedule's window; skipping the run")
        else:
            print("kfm-context: scheduled run for the slot " + local + " in " + zone.key)
    elif event == "repository_dispatch":
        bucket = get("KFMI_EVENT_BUCKET")
        if bucket == "":
            fail("this workflow has no event trigger")
        logical, why = event_record(get("KFMI_EVENT_PAYLOAD"), bucket, get("KFMI_EVENT_PREFIX"))
        if logical is None:
            run = False
            print("kfm-context: " + why + "; skipping the run")
        else:
            print("kfm-context: event-triggered run, logical date from the record's eventTime")
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

/**
 * The container step of kfm-job.yml, the one run script of every job. Fixed text: the job
 * reaches it as data, the caller's `with:` inputs, which the step hands over as `KFMI_`
 * variables (JOB_INPUTS); the secrets the caller passes arrive as `KFMS_<NAME>`.
 */
export const RUN_SCRIPT = `# kfm-compile: runs one job's container with docker, with its attempts, waits and
# timeouts. Every input is a KFMI_ variable of this step (this workflow's inputs);
# only the job's own variables are given to the container.
set -euo pipefail

die() {
  echo "::error title=kfm-compile::$1" >&2
  exit 1
}
get() {
  [[ -v $1 ]] || die "$1 is not set"
  REPLY=\${!1}
}
# The lists and the variables arrive as JSON: python3 checks their shape and writes
# each field NUL-terminated, which bash reads back byte for byte into FIELDS.
DECODER=$(
  cat <<'PY'
import json, os, sys


def unique(pairs):
    if len(set(k for k, _ in pairs)) != len(pairs):
        raise ValueError("a name is given twice")
    return dict(pairs)


def text(v):
    if not isinstance(v, str) or "\\0" in v:
        raise ValueError("a value is not a string")
    return v


kind, name = sys.argv[1], sys.argv[2]
try:
    value = json.loads(os.environ[name], object_pairs_hook=unique)
    fields = []
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError("not a list")
        fields = [text(v) for v in value]
    else:
        if not isinstance(value, dict):
            raise ValueError("not an object")
        for var, v in value.items():
            if isinstance(v, str):
                fields += ["value", var, v, "", ""]
            elif isinstance(v, dict) and v.get("attempt") is True and len(v) == 1:
                fields += ["attempt", var, "", "", ""]
            elif isinstance(v, dict) and sorted(v) == ["github-secret", "key", "secret"]:
                fields += ["secret", var, text(v["github-secret"]), text(v["secret"]), text(v["key"])]
            else:
                raise ValueError(var + " is not a text, a secret or the attempt number")
        fields = [text(f) for f in fields]
    sys.stdout.buffer.write(b"".join(f.encode("utf-8") + b"\\0" for f in fields))
except (KeyError, ValueError, UnicodeError) as error:
    print(name + ": " + str(error), file=sys.stderr)
    sys.exit(1)
PY
)
decode() {
  local file
  file=$(mktemp)
  python3 -I -c "$DECODER" "$1" "$2" >"$file" || die "$2 is not $3"
  mapfile -d '' -t FIELDS <"$file"
  rm -f "$file"
}

get KFMI_IMAGE
image=$REPLY
[[ -n $image ]] || die "KFMI_IMAGE is empty"
# The attempt pulls the image itself, within the pod-start bound; docker run never pulls.
options=(--rm --pull=never)
argv=()
get KFMI_COMMAND
if [[ -n $REPLY ]]; then
  decode list KFMI_COMMAND "a JSON list of strings"
  if ((\${#FIELDS[@]} > 0)); then
    options+=(--entrypoint="\${FIELDS[0]}")
    argv+=("\${FIELDS[@]:1}")
  fi
fi
get KFMI_ARGS
if [[ -n $REPLY ]]; then
  decode list KFMI_ARGS "a JSON list of strings"
  argv+=("\${FIELDS[@]}")
fi
decode env KFMI_ENV "a JSON object of variables"
attempt_names=()
secret_names=()
secret_sources=()
secret_refs=()
# The caller passes the job's distinct GitHub secrets as SECRET_0, SECRET_1, ... in
# the order the variables first name them; each arrives here as KFMS_<n>.
declare -A secret_slot=()
for ((i = 0; i < \${#FIELDS[@]}; i += 5)); do
  name=\${FIELDS[i + 1]}
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$name is not a variable name"
  case \${FIELDS[i]} in
  value)
    options+=(--env="$name=\${FIELDS[i + 2]}")
    ;;
  secret)
    # Given to docker by name only (--env NAME): the value never appears in a command line.
    [[ \${FIELDS[i + 2]} =~ ^[A-Z_][A-Z0-9_]*$ ]] || die "$name: \${FIELDS[i + 2]} is not a GitHub secret name"
    if [[ ! -v secret_slot[\${FIELDS[i + 2]}] ]]; then
      secret_slot[\${FIELDS[i + 2]}]=\${#secret_slot[@]}
    fi
    secret_names+=("$name")
    secret_sources+=("KFMS_\${secret_slot[\${FIELDS[i + 2]}]}")
    secret_refs+=("the GitHub secret \${FIELDS[i + 2]} (secret \${FIELDS[i + 3]}, key \${FIELDS[i + 4]})")
    options+=(--env="$name")
    ;;
  attempt)
    attempt_names+=("$name")
    ;;
  esac
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
get KFMI_ATTEMPTS
attempts=$REPLY
[[ $attempts =~ ^[1-9][0-9]{0,5}$ ]] || die "KFMI_ATTEMPTS must be a count of at least 1"
get KFMI_WAITS
read -r -a waits <<<"$REPLY"
((\${#waits[@]} == attempts - 1)) || die "KFMI_WAITS must hold one wait per retry"
for wait_seconds in "\${waits[@]}"; do
  [[ $wait_seconds =~ ^[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$ ]] || die "KFMI_WAITS holds a malformed wait"
done
get KFMI_ATTEMPT_TIMEOUT
attempt_timeout=$REPLY
[[ $attempt_timeout =~ ^(0|[1-9][0-9]*)$ ]] || die "KFMI_ATTEMPT_TIMEOUT is not a number of seconds"
((attempt_timeout > 0)) || attempt_timeout=
get KFMI_DEADLINE
deadline=$REPLY
[[ -z $deadline || $deadline =~ ^[1-9][0-9]*$ ]] || die "KFMI_DEADLINE is not a time"
get KFMI_POD_START_SECONDS
pod_start=$REPLY
[[ $pod_start =~ ^[1-9][0-9]*$ ]] || die "KFMI_POD_START_SECONDS is not a number of seconds"
registry=\${KFMI_REGISTRY-}
if [[ -n $registry ]]; then
  get KFMI_REGISTRY_USERNAME
  registry_username=$REPLY
  # A configuration of this job only: the login does not outlive the job on the runner.
  export DOCKER_CONFIG="\${RUNNER_TEMP:?}/kfm-docker-config"
  mkdir -p "$DOCKER_CONFIG"
fi

docker_bin=$(command -v docker) || die "docker is not installed"
timeout_bin=$(command -v timeout) || die "timeout is not installed"
# Runs its arguments with the secrets in the environment, in the background subshell
# it is started in, so only this docker client sees them.
launch() {
  local j
  for ((j = 0; j < \${#secret_names[@]}; j++)); do
    export "\${secret_names[j]}=\${!secret_sources[j]}"
  done
  exec "$@"
}
# Runs a docker command in the background and waits for it, so that a cancel (SIGINT,
# SIGTERM) is handled at once; its exit status is in status.
background() {
  status=0
  "$@" &
  wait "$!" || status=$?
}

# What Kubernetes does before a pod's container runs: read its secrets, log in, pull
# the image. It takes at most the pod-start bound (and what is left of the attempt's
# limit); when it fails, the attempt fails with status, counts and is retried like any other.
start() {
  local j bound=$pod_start
  if [[ -n $limit ]] && ((limit < bound)); then
    bound=$limit
  fi
  for ((j = 0; j < \${#secret_names[@]}; j++)); do
    if [[ -z \${!secret_sources[j]-} ]]; then
      echo "::error title=kfm-compile::\${secret_names[j]}: \${secret_refs[j]} is not set or empty (its name is <secret>_<key> in upper case, other characters as _)"
      status=1
      return 1
    fi
  done
  if "$docker_bin" image inspect --format '{{.Id}}' -- "$image" >/dev/null 2>&1; then
    return 0
  fi
  if [[ -n $registry ]]; then
    get KFMI_REGISTRY_PASSWORD
    if [[ -z $REPLY ]]; then
      echo "::error title=kfm-compile::the GitHub secret of the registry login to $registry is not set or empty"
      status=1
      return 1
    fi
    status=0
    "$timeout_bin" --kill-after=${KILL_GRACE_SECONDS} "$bound" "$docker_bin" login --username "$registry_username" --password-stdin -- "$registry" <<<"$REPLY" &
    wait "$!" || status=$?
    if ((status != 0)); then
      echo "::error title=kfm-compile::cannot log in to $registry (exit status $status)"
      return 1
    fi
  fi
  echo "kfm-compile: pulling $image (at most $bound s)"
  background "$timeout_bin" --kill-after=${KILL_GRACE_SECONDS} "$bound" "$docker_bin" pull --quiet -- "$image"
  if ((status != 0)); then
    echo "::error title=kfm-compile::the image $image could not be pulled within $bound s (exit status $status)"
    return 1
  fi
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

# The run's deadline had passed when this job ended failed: no job starts after the
# run's timeout, so an on_upstream_failure: continue job after this one reads this
# output in its if: and does not start.
deadline_passed() {
  if [[ -n $deadline ]] && (($(date +%s) >= deadline)); then
    echo "deadline=${DEADLINE_PASSED}" >>"\${GITHUB_OUTPUT:?}"
  fi
}

attempt=1
while :; do
  began=$(date +%s)
  limit=$attempt_timeout
  if [[ -n $deadline ]]; then
    left=$((deadline - began))
    ((left > 0)) || { deadline_passed; die "the workflow run's timeout passed before attempt $attempt"; }
    if [[ -z $limit ]] || ((left < limit)); then
      limit=$left
    fi
  fi
  echo "kfm-compile: attempt $attempt of $attempts"
  # start sets status when it fails: 124 when the bound ran out, as for a timed-out attempt.
  status=0
  if start; then
    remaining=$limit
    if [[ -n $limit ]]; then
      remaining=$((limit - ($(date +%s) - began)))
    fi
    if [[ -n $remaining ]] && ((remaining <= 0)); then
      status=124
    else
      container="${GITHUB_CONTAINER_NAME_SHELL}"
      attempt_options=()
      for name in "\${attempt_names[@]}"; do
        attempt_options+=(--env="$name=$attempt")
      done
      run=("$docker_bin" run "\${options[@]}" "\${attempt_options[@]}" --name="$container" -- "$image" "\${argv[@]}")
      if [[ -n $remaining ]]; then
        run=("$timeout_bin" --kill-after=${KILL_GRACE_SECONDS} "$remaining" "\${run[@]}")
      fi
      background launch "\${run[@]}"
      remove_container
    fi
  fi
  if ((status == 0)); then
    exit 0
  fi
  echo "kfm-compile: attempt $attempt failed with exit status $status"
  if ((attempt >= attempts)); then
    deadline_passed
    exit "$status"
  fi
  wait_seconds=\${waits[attempt - 1]}
  echo "kfm-compile: waiting $wait_seconds s before attempt $((attempt + 1))"
  if [[ -n $deadline ]]; then
    left=$((deadline - $(date +%s)))
    ((left > 0)) || { deadline_passed; die "the workflow run's timeout passed before attempt $((attempt + 1))"; }
    timeout "$left" sleep "$wait_seconds" || true
  else
    sleep "$wait_seconds"
  fi
  attempt=$((attempt + 1))
done
`;

/**
 * The zone of `on.schedule`: the spec's (`githubTimezone`), except for a cron firing every hour
 * with a slot in a daylight-saving change whose runs UTC fires alike (`elapsedInUtc` in
 * src/cron.ts): there the meaning is elapsed time, which GitHub fires exactly in `Etc/UTC`, while
 * in the spec's zone it moves a gap slot and does not say what it does with a repeated hour
 * (README, Schedules). kfm-context still reads the cron in the spec's zone (its `timezone` input).
 */
export function githubScheduleZone(s: Pick<CronSchedule, "cron" | "timezone" | "start" | "end">): string {
  const cron = parseCron(s.cron);
  if (typeof cron === "string" || !elapsedInUtc(cron, s.timezone)) return githubTimezone(s.timezone);
  const { gap, fold } = dstConflicts(cron, s.timezone, s);
  return gap === null && fold === null ? githubTimezone(s.timezone) : githubTimezone("UTC");
}

/**
 * The entries of `on.schedule` for a cron with a slot in a daylight-saving change that
 * `githubScheduleZone` does not cover (a cron not firing every hour, or one whose meaning UTC
 * does not fire alike), or null: GitHub moves a slot in a gap of the schedule's zone to the next
 * valid time and does not say what it does in a fold (github/docs
 * content/actions/reference/workflows-and-actions/events-that-trigger-workflows.md, schedule),
 * so the schedule is written in Etc/UTC, which has neither, as the crons of `utcCover`
 * (src/cron.ts): every instant the slots take under each offset of the zone. kfm-context,
 * given them as its `utc-crons` input, runs the jobs only for the instants of the meaning
 * (CONTEXT_SCRIPT `utc_entry_slot`; README, Schedules).
 */
export function githubUtcSchedule(s: Pick<CronSchedule, "cron" | "timezone" | "start" | "end">): UtcEntry[] | null {
  const cron = parseCron(s.cron);
  if (typeof cron === "string" || elapsedInUtc(cron, s.timezone)) return null;
  const { gap, fold } = dstConflicts(cron, s.timezone, s);
  return gap === null && fold === null ? null : utcCover(cron, s.timezone);
}

/** The `on.schedule` entries of a cron schedule: the spec's cron in `githubScheduleZone`, or `githubUtcSchedule`'s crons in Etc/UTC. */
export function githubScheduleEntries(s: Pick<CronSchedule, "cron" | "timezone" | "start" | "end">): { cron: string; timezone: string }[] {
  const utc = githubUtcSchedule(s);
  if (utc === null) return [{ cron: s.cron, timezone: githubScheduleZone(s) }];
  return utc.map((e) => ({ cron: e.cron, timezone: githubTimezone("UTC") }));
}

/** The comment above `on.schedule` when `githubUtcSchedule` writes it: which zone offset each entry stands for, and that kfm-context guards them. */
export function utcScheduleComment(s: Pick<CronSchedule, "cron" | "timezone">, entries: readonly UtcEntry[]): string[] {
  const offset = (m: number) => `${m < 0 ? "-" : "+"}${String(Math.floor(Math.abs(m) / 60)).padStart(2, "0")}:${String(Math.abs(m) % 60).padStart(2, "0")}`;
  return [
    `\`${s.cron}\` in ${s.timezone}, in Etc/UTC (no daylight saving there), one entry per UTC offset:`,
    ...entries.map((e) => `  \`${e.cron}\` for ${offset(e.offset)}`),
    "Every entry is a guard: kfm-context runs the jobs only when the entry's time is a slot of the",
    "schedule (a slot in a skipped hour an hour late, a repeated one at its second occurrence) and",
    "skips the run otherwise (README, Schedules).",
  ];
}

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

/** Where the callers find the shared workflows: GitHub only runs a local reusable workflow from `.github/workflows/` (docs: reusing workflows, "Calling a reusable workflow"). */
export const WORKFLOWS_DIR = "./.github/workflows/";

/** The shared reusable workflows, written once per output folder (`sharedFiles`). Spec names cannot start with `kfm-`, so no workflow file takes these names. */
export const CONTEXT_FILE = "kfm-context.yml";
export const JOB_FILE = "kfm-job.yml";
export const APPROVAL_FILE = "kfm-approval.yml";

/** The `uses:` of a caller job. */
export function usesOf(file: string): string {
  return WORKFLOWS_DIR + file;
}

/** The job id inside each shared workflow (the Actions UI shows `<caller job> / <this>`). */
export const SHARED_JOB_ID = { context: "logical-date", job: "container", approval: "approval" } as const;

/**
 * One `workflow_call` input of a shared workflow: its type, its default when the caller
 * leaves it out (only values that differ from it are written), and the step variable
 * the fixed script reads it from.
 */
export interface SharedInput {
  readonly name: string;
  readonly type: "string" | "number";
  readonly description: string;
  /** Absent: required. */
  readonly default?: string | number;
  /** The `KFMI_` variable the step gives it to; absent when a job key reads it. */
  readonly variable?: string;
}

/** The inputs of kfm-job.yml, in the order a caller writes them. */
export const JOB_INPUTS: readonly SharedInput[] = [
  { name: "image", type: "string", description: "The container image", variable: "IMAGE" },
  {
    name: "command",
    type: "string",
    default: "",
    description: "JSON list: the executable and its arguments, replacing the image's entrypoint and command; empty: the image's own",
    variable: "COMMAND",
  },
  {
    name: "args",
    type: "string",
    default: "",
    description: "JSON list: the arguments, replacing the image's command; empty: the image's own",
    variable: "ARGS",
  },
  {
    name: "env",
    type: "string",
    description:
      'JSON object: each variable\'s text, {"attempt": true} for the attempt number, or the spec secret and key with the GitHub secret that holds it',
    variable: "ENV",
  },
  { name: "cpus", type: "string", default: "", description: "docker --cpus; empty: no limit", variable: "CPUS" },
  { name: "memory-bytes", type: "string", default: "", description: "docker --memory in bytes; empty: no limit", variable: "MEMORY_BYTES" },
  { name: "attempts", type: "number", default: 1, description: "How many times the container may run", variable: "ATTEMPTS" },
  { name: "waits", type: "string", default: "", description: "Seconds to wait before each retry, space-separated", variable: "WAITS" },
  { name: "attempt-timeout", type: "number", default: 0, description: "Seconds each attempt may take; 0: no limit", variable: "ATTEMPT_TIMEOUT" },
  { name: "deadline", type: "string", default: "", description: "The run's deadline (Unix seconds) from kfm-context; empty: none", variable: "DEADLINE" },
  { name: "timeout-minutes", type: "number", default: MAX_TIMEOUT_MINUTES, description: "timeout-minutes of the job: every attempt and wait, with slack" },
];

/** The inputs of kfm-context.yml: the caller's schedule, window, run timeout and run-token seed, and the manual run's date. */
export const CONTEXT_INPUTS: readonly SharedInput[] = [
  { name: "logical-date", type: "string", default: "", description: "The logical date of a manual run", variable: "INPUT_LOGICAL_DATE" },
  { name: "cron", type: "string", default: "", description: "The workflow's schedule, as in on.schedule", variable: "CRON" },
  { name: "timezone", type: "string", default: "", description: "The schedule's time zone", variable: "TIMEZONE" },
  {
    name: "utc-crons",
    type: "string",
    default: "",
    description: "The on.schedule crons (Etc/UTC, `;`-separated) standing for the schedule in its zone; empty: on.schedule is the schedule itself",
    variable: "UTC_CRONS",
  },
  { name: "start", type: "string", default: "", description: "The first slot (local wall time); empty: none", variable: "START" },
  { name: "end", type: "string", default: "", description: "The last slot (local wall time); empty: none", variable: "END" },
  {
    name: "period-seconds",
    type: "string",
    default: "",
    description: "The schedule's fixed period, for prev/next dates; empty: none",
    variable: "PERIOD_SECONDS",
  },
  { name: "run-timeout", type: "string", default: "", description: "Seconds the whole run may take; empty: no limit", variable: "RUN_TIMEOUT" },
  { name: "run-token-seed", type: "string", description: "What the run token is computed from with the logical date", variable: "RUN_TOKEN_SEED" },
  { name: "event-bucket", type: "string", default: "", description: "The bucket of an event trigger (s3_file_arrival); empty: none", variable: "EVENT_BUCKET" },
  { name: "event-prefix", type: "string", default: "", description: "The key prefix of an event trigger; empty: every key", variable: "EVENT_PREFIX" },
  {
    name: "slot-from",
    type: "string",
    default: "",
    description: "What a scheduled run's slot is the latest at or before: empty, now; created_at, when GitHub created the run (its runs queue)",
    variable: "SLOT_FROM",
  },
];

/** The inputs of kfm-approval.yml. */
export const APPROVAL_INPUTS: readonly SharedInput[] = [
  { name: "environment", type: "string", description: "The environment whose required reviewers decide", variable: "ENVIRONMENT" },
];

/** Every output kfm-context's script may write; a caller reads the ones its workflow has. */
export const CONTEXT_OUTPUTS = ["run", ...VARIABLE_OUTPUTS, ...PERIOD_OUTPUTS, "run_token", "deadline"] as const;

/**
 * A JSON string literal with every character outside printable ASCII escaped, so the
 * text is plain ASCII in the file, and `'` escaped too (`\u0027`): GitHub turns a value
 * with an expression into `format('...')`, doubling each `'`; the runner's lexer reads
 * every `''` back (actions/runner LexicalAnalyzer.cs ReadStringToken) but the
 * TypeScript one of GitHub's own parser only the first (actions/languageservices
 * expressions lexer.ts), so without a `'` both read the same text.
 */
export function jsonString(text: string): string {
  return (
    '"' +
    text.replace(/[\\"]|[^\x20-\x26\x28-\x7e]/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"))) +
    '"'
  );
}

/** A template as a JSON string in a `with:` value: literal text JSON-escaped and then `${{`-escaped, runtime values as kfm-context outputs (plain ASCII, JSON-safe). */
export function jsonTemplate(t: Template): string {
  return '"' + t.map((s) => ("text" in s ? escapeText(jsonString(s.text).slice(1, -1)) : renderTemplate([s]))).join("") + '"';
}

/** The `with:` of a caller job: each input whose value differs from the shared workflow's default, in the inputs' order. */
export function withInputs(inputs: readonly SharedInput[], values: Readonly<Record<string, string | number>>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const i of inputs) {
    const v = values[i.name];
    if (v !== undefined && v !== i.default) out[i.name] = v;
  }
  return out;
}

/** A JSON list of templates, one line; null (the image's own) is the empty default. */
function jsonList(list: readonly Template[] | null): string {
  return list === null ? "" : "[" + list.map(jsonTemplate).join(", ") + "]";
}

/** The `env` input of a job: a JSON object, one variable a line, in the spec's order. */
export function envJson(job: Job): string {
  const entries = job.env.map((e) => {
    let value: string;
    if ("secretRef" in e) {
      const { secret, key } = e.secretRef;
      value = `{"secret": ${escapeText(jsonString(secret))}, "key": ${escapeText(jsonString(key))}, "github-secret": ${jsonString(githubSecretName(secret, key))}}`;
    } else if (isAttempt(e)) {
      value = '{"attempt": true}';
    } else {
      value = jsonTemplate(e.value);
    }
    return `  ${jsonString(e.name)}: ${value}`;
  });
  return entries.length === 0 ? "{}" : `{\n${entries.join(",\n")}\n}\n`;
}

/** The expression of the run's deadline, which kfm-context computes when the workflow has a timeout. */
export const DEADLINE_EXPRESSION = `\${{ needs.${GITHUB_CONTEXT_JOB}.outputs.deadline }}`;

/** The `with:` of a job's caller: every input of RUN_SCRIPT that is not the default. */
export function jobWith(job: Job, runTimeout: number | null): Record<string, string | number> {
  const waits = retryWaits(job.retry);
  const cpu = job.resources.cpu;
  const memory = job.resources.memory;
  return withInputs(JOB_INPUTS, {
    image: escapeText(job.image),
    command: jsonList(job.command),
    args: jsonList(job.args),
    env: envJson(job),
    cpus: cpu === null ? "" : cpuCores(cpu)!,
    "memory-bytes": memory === null ? "" : quantityBytes(memory)!.toString(),
    attempts: job.retry.maxAttempts,
    waits: formatWaits(waits),
    "attempt-timeout": job.timeoutSeconds ?? 0,
    deadline: runTimeout === null ? "" : DEADLINE_EXPRESSION,
    "timeout-minutes": jobTimeoutMinutes(job.retry.maxAttempts, job.timeoutSeconds, waits, runTimeout),
  });
}

/**
 * How many secrets one job may pass to kfm-job.yml: its `workflow_call` declares this many
 * slots, `SECRET_0` ... (a shared workflow cannot name the secrets of the folder's
 * workflows: it is written from their list alone, not their contents).
 */
export const SECRET_SLOTS = 16;

/** The `workflow_call` secret of slot `n`, and the one that carries the registry password. */
export const secretSlot = (n: number): string => `SECRET_${n}`;
export const REGISTRY_PASSWORD_SECRET = "REGISTRY_PASSWORD";

/** The distinct GitHub secrets a job reads, in the order its variables first name them: slot n holds the n-th. */
export function jobSecretNames(job: Job): string[] {
  return [...new Set(job.env.flatMap((e) => ("secretRef" in e ? [githubSecretName(e.secretRef.secret, e.secretRef.key)] : [])))];
}

/** The `secrets:` a job's caller passes: each of its GitHub secrets in its slot, and the registry password when logging in. */
export function jobSecrets(job: Job, options: GithubActionsOptions): Record<string, string> {
  const out: Record<string, string> = {};
  jobSecretNames(job).forEach((name, n) => (out[secretSlot(n)] = `\${{ secrets.${name} }}`));
  const login = registryLogin(options);
  if (login !== null) out[REGISTRY_PASSWORD_SECRET] = `\${{ secrets.${login.passwordSecret} }}`;
  return out;
}

/** The outputs of kfm-context a workflow uses, in order: the guard, the runtime values, the run token, the deadline. */
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

/** The `with:` of kfm-context's caller: the schedule, window, period, run timeout and seed as data, and the manual run's date. */
export function contextWith(ir: Workflow): Record<string, string | number> {
  const s = ir.schedule !== null && ir.schedule.kind === "cron" ? ir.schedule : null;
  const e = ir.schedule !== null && ir.schedule.kind === "event" ? ir.schedule : null;
  return withInputs(CONTEXT_INPUTS, {
    "logical-date": `\${{ inputs.${LOGICAL_DATE_INPUT} }}`,
    cron: s === null ? "" : s.cron,
    timezone: s === null ? "" : s.timezone,
    "utc-crons":
      s === null
        ? ""
        : (githubUtcSchedule(s)
            ?.map((e) => e.cron)
            .join(";") ?? ""),
    start: s?.start ?? "",
    end: s?.end ?? "",
    "period-seconds": s === null || s.periodSeconds === null ? "" : String(s.periodSeconds),
    "run-timeout": ir.timeoutSeconds === null ? "" : String(ir.timeoutSeconds),
    "run-token-seed": escapeText(ir.runTokenSeed),
    "slot-from": ir.maxActiveRuns === null ? "" : SLOT_FROM_CREATED,
    "event-bucket": e === null ? "" : e.bucket,
    "event-prefix": e === null ? "" : escapeText(e.prefix),
  });
}

/** kfm-context's `slot-from` when the workflow's runs queue: a scheduled run's slot is the latest at or before its `created_at`. */
export const SLOT_FROM_CREATED = "created_at";

/**
 * The token scope kfm-context needs when the workflow's runs queue: it reads its run's
 * `created_at` (REST "Get a workflow run", GET /repos/{owner}/{repo}/actions/runs/{run_id},
 * the `actions` permission). kfm-context.yml sets no scopes of its own, so its job has
 * exactly its caller job's (docs: reusing workflows, "Access and permissions").
 */
export const QUEUED_CONTEXT_PERMISSIONS = { actions: "read" } as const;

function contextJob(ir: Workflow): Record<string, unknown> {
  return {
    if: CONTEXT_IF,
    ...(ir.maxActiveRuns === null ? {} : { permissions: { ...QUEUED_CONTEXT_PERMISSIONS } }),
    uses: usesOf(CONTEXT_FILE),
    with: contextWith(ir),
  };
}

/**
 * `max_active_runs: 1`: the whole run waits in the workflow's concurrency group, and up to 100
 * pending runs queue there in order instead of replacing each other (github/docs "Control the
 * concurrency of workflows and jobs", `queue: max`; languageservices workflow-v1.0.json
 * `concurrency-mapping`, `concurrency-queue`). `cancel-in-progress` is left false (its default;
 * `queue: max` refuses `true`). README, "Concurrency".
 */
export function workflowConcurrency(ir: Workflow): Record<string, string> | null {
  return ir.maxActiveRuns === null ? null : { group: githubConcurrencyGroup(ir.name), queue: "max" };
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

/** The job's `if:` (see JOB_IF, allDoneIf, explicitSuccessIf); `below` is `belowAllDone` of the workflow's jobs. */
export function jobIf(job: Conditioned, below: ReadonlySet<string>, name: string, runTimeout: boolean): string {
  if (job.runWhen === "all_done") return allDoneIf(runTimeout);
  return below.has(name) ? explicitSuccessIf(job.dependsOn.map(githubJobId)) : JOB_IF;
}

/** `name:` of a job, written only when the spec name is not the job id already (the UI shows the id then). */
export function jobName(job: Job): { name?: string } {
  return githubJobId(job.name) === job.name ? {} : { name: job.name };
}

function specJob(ir: Workflow, job: Job, below: ReadonlySet<string>, options: GithubActionsOptions): Record<string, unknown> {
  const secrets = jobSecrets(job, options);
  return {
    ...jobName(job),
    needs: [GITHUB_CONTEXT_JOB, ...job.dependsOn.map(githubJobId)],
    if: jobIf(job, below, job.name, ir.timeoutSeconds !== null),
    uses: usesOf(JOB_FILE),
    with: jobWith(job, ir.timeoutSeconds),
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
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

/** The `with:` of an approval gate's caller: the environment whose required reviewers decide. */
export function gateWith(ir: Workflow, job: Job): Record<string, string> {
  return { environment: githubApprovalEnvironment(ir.name, job.name) };
}

function gateJob(ir: Workflow, job: Job, below: ReadonlySet<string>): Record<string, unknown> {
  return {
    ...jobName(job),
    needs: [GITHUB_CONTEXT_JOB, ...job.dependsOn.map(githubJobId)],
    if: jobIf(job, below, job.name, ir.timeoutSeconds !== null),
    // A called workflow's token has at most its caller job's scopes (docs: reusing workflows, "Access and permissions").
    permissions: { ...GATE_PERMISSIONS },
    uses: usesOf(APPROVAL_FILE),
    with: gateWith(ir, job),
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

function notifyJob(ir: Workflow, n: Notification, options: GithubActionsOptions): Record<string, unknown> {
  return {
    name: `notify ${n.kind}`,
    needs: [GITHUB_CONTEXT_JOB, ...ir.jobs.map((j) => githubJobId(j.name))],
    if: NOTIFY_IF,
    "runs-on": runsOnValue(options),
    "timeout-minutes": NOTIFY_TIMEOUT_MINUTES,
    steps: [{ name: `Send the ${n.kind} notification`, env: notifyStepEnv(ir, n), run: NOTIFY_STEP_SCRIPT }],
  };
}

/** The workflow as plain data, before serialisation. */
export function workflowDocument(ir: Workflow, options: GithubActionsOptions = DEFAULT_OPTIONS): Record<string, unknown> {
  const on: Record<string, unknown> = {};
  if (ir.schedule !== null && ir.schedule.kind === "cron") {
    on.schedule = githubScheduleEntries(ir.schedule);
  }
  if (ir.schedule !== null && ir.schedule.kind === "event") {
    // The object store's S3 event notification, posted by a relay as a dispatch of this
    // workflow's own type with the notification body as client_payload (README, Event triggers).
    on.repository_dispatch = { types: [githubDispatchType(ir.name)] };
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
  for (const job of ir.jobs) jobs[githubJobId(job.name)] = job.approval !== null ? gateJob(ir, job, below) : specJob(ir, job, below, options);
  ir.notifications.forEach((n, i) => (jobs[githubNotifyJob(i)] = notifyJob(ir, n, options)));
  const concurrency = workflowConcurrency(ir);
  return {
    name: ir.name,
    on,
    permissions: {},
    ...(concurrency === null ? {} : { concurrency }),
    // Only the notification jobs run steps in this file; the shared workflows set their own shell.
    ...(ir.notifications.length > 0 ? { defaults: { run: { shell: "bash" } } } : {}),
    jobs,
  };
}

export function emit(ir: Workflow, options: GithubActionsOptions = DEFAULT_OPTIONS): string {
  // One document opening with `---`, as yamllint's default `document-start` rule wants.
  const text = toYamlStream([workflowDocument(ir, options)], { anchors: NOTIFY_ANCHOR });
  const utc = ir.schedule !== null && ir.schedule.kind === "cron" ? githubUtcSchedule(ir.schedule) : null;
  // The YAML writer has no comments: the one above a UTC schedule goes in before its key.
  const body =
    utc === null
      ? text
      : text.replace(
          `\n"on":\n  schedule:\n`,
          `\n"on":\n${utcScheduleComment(ir.schedule as CronSchedule, utc)
            .map((l) => `  # ${l}\n`)
            .join("")}  schedule:\n`,
        );
  // Likewise the comment above an event trigger's repository_dispatch: what posts it.
  const withEvent =
    ir.schedule !== null && ir.schedule.kind === "event"
      ? body.replace(`\n"on":\n  repository_dispatch:\n`, `\n"on":\n${DISPATCH_COMMENT.map((l) => `  # ${l}\n`).join("")}  repository_dispatch:\n`)
      : body;
  return hashComment(headerLines(ir, TARGET_NAME)) + withEvent;
}

/** The comment above `on.repository_dispatch` of an event trigger (README, Event triggers). */
export const DISPATCH_COMMENT: readonly string[] = [
  "A relay posts each S3 event notification of the bucket as POST /repos/{owner}/{repo}/dispatches",
  'with this event_type and the notification body ({"Records": [...]}) as client_payload; kfm-context',
  "runs the jobs only for a new object's record under the source (README, Event triggers).",
];

// --- The shared reusable workflows ---------------------------------------------------------------

function inputDefinitions(inputs: readonly SharedInput[]): Record<string, unknown> {
  return Object.fromEntries(
    inputs.map((i) => [
      i.name,
      { description: i.description, required: i.default === undefined, type: i.type, ...(i.default === undefined ? {} : { default: i.default }) },
    ]),
  );
}

/** The step variables of a shared workflow's script: each input under its `KFMI_` name. */
export function inputVariables(inputs: readonly SharedInput[]): Record<string, string> {
  return Object.fromEntries(inputs.flatMap((i) => (i.variable === undefined ? [] : [[V(i.variable), `\${{ inputs.${i.name} }}`]])));
}

/** The prefix of the step variables that carry the secrets a caller passed, by GitHub name. */
export const SECRET_VARIABLE_PREFIX = "KFMS_";

/** kfm-context.yml: computes the run's logical date and the values derived from it for the caller's jobs. */
export function contextWorkflow(options: GithubActionsOptions = DEFAULT_OPTIONS): Record<string, unknown> {
  const job = SHARED_JOB_ID.context;
  return {
    name: "kfm-context",
    on: {
      workflow_call: {
        inputs: inputDefinitions(CONTEXT_INPUTS),
        outputs: Object.fromEntries(
          CONTEXT_OUTPUTS.map((o) => [o, { description: CONTEXT_OUTPUT_DESCRIPTIONS[o], value: `\${{ jobs.${job}.outputs.${o} }}` }]),
        ),
      },
    },
    // No permissions key: the job's token has its caller job's scopes, none unless the runs
    // queue (QUEUED_CONTEXT_PERMISSIONS); a called workflow asking for more fails to start.
    jobs: {
      [job]: {
        "runs-on": runsOnValue(options),
        "timeout-minutes": CONTEXT_TIMEOUT_MINUTES,
        outputs: Object.fromEntries(CONTEXT_OUTPUTS.map((o) => [o, contextOutputExpression(o)])),
        steps: [
          {
            id: GITHUB_CONTEXT_STEP,
            name: "Compute the run's logical date",
            shell: CONTEXT_SHELL,
            // The github context of a called workflow is its caller's (docs: reusing workflows).
            env: {
              [V("EVENT_NAME")]: "${{ github.event_name }}",
              [V("EVENT_SCHEDULE")]: "${{ github.event.schedule }}",
              // A repository_dispatch's S3 event notification, as JSON data (never in the script).
              [V("EVENT_PAYLOAD")]: "${{ toJSON(github.event.client_payload) }}",
              ...inputVariables(CONTEXT_INPUTS),
              [V("TOKEN")]: "${{ github.token }}",
            },
            run: CONTEXT_SCRIPT,
          },
        ],
      },
    },
  };
}

const CONTEXT_OUTPUT_DESCRIPTIONS: Record<(typeof CONTEXT_OUTPUTS)[number], string> = {
  run: "true when the run's slot is one the workflow runs at",
  execution_date: "The logical date, UTC",
  ds: "The logical date's day, YYYY-MM-DD",
  ts: "The logical date, UTC",
  prev_execution_date: "The logical date minus the schedule's period",
  next_execution_date: "The logical date plus the schedule's period",
  run_token: "The run token of the logical date",
  deadline: "When the run's timeout ends (Unix seconds)",
};

/** kfm-job.yml: runs one job's container, with SECRET_SLOTS secret slots (and the registry password when logging in). */
export function jobWorkflow(options: GithubActionsOptions = DEFAULT_OPTIONS): Record<string, unknown> {
  const env: Record<string, string> = { ...inputVariables(JOB_INPUTS), [V("POD_START_SECONDS")]: String(POD_START_SECONDS) };
  const secrets: Record<string, { required: false }> = {};
  for (let n = 0; n < SECRET_SLOTS; n++) {
    secrets[secretSlot(n)] = { required: false };
    env[`${SECRET_VARIABLE_PREFIX}${n}`] = `\${{ secrets.${secretSlot(n)} }}`;
  }
  const login = registryLogin(options);
  if (login !== null) {
    secrets[REGISTRY_PASSWORD_SECRET] = { required: false };
    env[V("REGISTRY")] = login.server;
    env[V("REGISTRY_USERNAME")] = login.username;
    env[V("REGISTRY_PASSWORD")] = `\${{ secrets.${REGISTRY_PASSWORD_SECRET} }}`;
  }
  return {
    name: "kfm-job",
    on: {
      workflow_call: {
        inputs: inputDefinitions(JOB_INPUTS),
        secrets,
        outputs: { deadline: { description: JOB_DEADLINE_DESCRIPTION, value: `\${{ jobs.${SHARED_JOB_ID.job}.outputs.deadline }}` } },
      },
    },
    permissions: {},
    jobs: {
      [SHARED_JOB_ID.job]: {
        "runs-on": runsOnValue(options),
        "timeout-minutes": "${{ inputs.timeout-minutes }}",
        outputs: { deadline: `\${{ steps.${RUN_STEP}.outputs.deadline }}` },
        steps: [{ name: "Run the job's container", id: RUN_STEP, shell: "bash", env, run: RUN_SCRIPT }],
      },
    },
  };
}

/** The id of kfm-job.yml's one step, whose output `deadline` the job passes on. */
export const RUN_STEP = "run";

/** kfm-job.yml's output `deadline` (DEADLINE_GUARD). */
const JOB_DEADLINE_DESCRIPTION = "`passed` when the job ended failed at or after the run's deadline; empty otherwise";

/** kfm-approval.yml: an approval gate, a job on the environment whose required reviewers decide. */
export function approvalWorkflow(options: GithubActionsOptions = DEFAULT_OPTIONS): Record<string, unknown> {
  return {
    name: "kfm-approval",
    on: { workflow_call: { inputs: inputDefinitions(APPROVAL_INPUTS) } },
    permissions: {},
    jobs: {
      [SHARED_JOB_ID.approval]: {
        environment: "${{ inputs.environment }}",
        permissions: { ...GATE_PERMISSIONS },
        "runs-on": runsOnValue(options),
        "timeout-minutes": SHORT_JOB_TIMEOUT_MINUTES,
        steps: [
          {
            name: "Check that a person approved",
            shell: GATE_SHELL,
            env: { ...inputVariables(APPROVAL_INPUTS), [V("TOKEN")]: "${{ github.token }}" },
            run: GATE_SCRIPT,
          },
        ],
      },
    },
  };
}

/**
 * The shared reusable workflows of an output folder: a pure function of the options
 * (the folder's workflows call all of them with data), each starting with `header`
 * (the header lines the core gives every folder file) as comments.
 */
export function sharedFiles(options: GithubActionsOptions = DEFAULT_OPTIONS, header: readonly string[] = SHARED_HEADER): Array<{ name: string; text: string }> {
  const write = (name: string, doc: Record<string, unknown>) => ({ name, text: hashComment(header) + toYamlStream([doc]) });
  return [write(CONTEXT_FILE, contextWorkflow(options)), write(JOB_FILE, jobWorkflow(options)), write(APPROVAL_FILE, approvalWorkflow(options))];
}

/** The header of a shared file written outside a compile (tests, the conformance suite): the core gives its own. */
export const SHARED_HEADER: readonly string[] = [`${HEADER_MARK} ${VERSION} (target ${TARGET_NAME}): shared by the workflows of this folder`];
