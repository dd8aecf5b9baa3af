"""Dagster's own schedule fire times (the scheduler daemon's iterator and evaluation).

Usage: python fire_times.py < cases.json

cases.json is a list of {"id", "from", "count", "until"?} with either "file" (a generated
module) or "cron" and "zone" (for a cron the compiler refuses, to show where Dagster
differs). Ticks come from `dagster._utils.schedules.schedule_execution_time_iterator`, the
function behind `RemoteSchedule.execution_time_iterator`, which `dagster/_scheduler/scheduler.py`
walks to decide a schedule's ticks, over the schedule's own `cron_schedule` and
`execution_timezone`. For a module, each tick is then evaluated as the daemon does
(`dagster/_grpc/impl.py` `get_external_schedule_execution`: the tick's timestamp read in the
execution timezone as `scheduled_execution_time`; `ScheduleDefinition.evaluate_tick`), and only
the ticks that return a RunRequest are kept: the run's logical-date tag must be the tick. At
most `count` ticks, and none after `until` (a UTC ISO time) when given. Prints {id: [UTC ISO
times]} (or {id: {"error": ...}}).
"""

import datetime
import json
import sys
import traceback
from itertools import islice, takewhile

from dagster import build_schedule_context
from dagster._core.code_pointer import load_python_file
from dagster._time import datetime_from_timestamp
from dagster._utils.schedules import schedule_execution_time_iterator

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"


def utc(t):
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_of(path, loaded):
    if path not in loaded:
        defs = load_python_file(path, working_directory=None).defs
        schedules = list(defs.get_repository_def().schedule_defs)
        assert len(schedules) == 1, f"{len(schedules)} schedules"
        loaded[path] = schedules[0]
    return loaded[path]


def runs(schedule, ticks):
    """The ticks the schedule function starts a run for, as the daemon evaluates them."""
    for tick in ticks:
        when = datetime_from_timestamp(tick.timestamp(), tz=schedule.execution_timezone)
        data = schedule.evaluate_tick(
            build_schedule_context(scheduled_execution_time=when)
        )
        for request in data.run_requests or []:
            logical = datetime.datetime.fromisoformat(request.tags[LOGICAL_DATE_TAG])
            # Timestamps: aware datetimes of two zones never compare equal in a fold (PEP 495).
            assert logical.timestamp() == tick.timestamp(), (
                f"tick {tick} starts a run of logical date {logical}"
            )
        if data.run_requests:
            yield tick


def main():
    cases = json.load(sys.stdin)
    loaded = {}
    out = {}
    for case in cases:
        try:
            schedule = schedule_of(case["file"], loaded) if "file" in case else None
            cron = schedule.cron_schedule if schedule else case["cron"]
            zone = schedule.execution_timezone if schedule else case["zone"]
            start = datetime.datetime.fromisoformat(case["from"]).timestamp()
            ticks = islice(
                schedule_execution_time_iterator(start, cron, zone), case["count"]
            )
            if "until" in case:
                until = datetime.datetime.fromisoformat(case["until"])
                ticks = takewhile(lambda t, u=until: t <= u, ticks)
            if schedule is not None:
                ticks = runs(schedule, ticks)
            out[case["id"]] = [utc(t) for t in ticks]
        except Exception:  # noqa: BLE001
            out[case["id"]] = {"error": traceback.format_exc()}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
