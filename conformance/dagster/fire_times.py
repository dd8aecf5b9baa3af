"""Dagster's own schedule fire times (the scheduler daemon's iterator).

Usage: python fire_times.py < cases.json

cases.json is a list of {"id", "from", "count"} with either "file" (a generated module:
its one schedule is loaded from `defs` with Dagster's code, and its cron_schedule and
execution_timezone are used) or "cron" and "zone" (for a cron the compiler refuses, to
show where Dagster differs). Fire times come from
`dagster._utils.schedules.schedule_execution_time_iterator`, the function behind
`RemoteSchedule.execution_time_iterator`, which `dagster/_scheduler/scheduler.py` walks
to decide a schedule's ticks. Prints {id: [UTC ISO times]} (or {id: {"error": ...}}).
"""

import datetime
import json
import sys
import traceback
from itertools import islice

from dagster._core.code_pointer import load_python_file
from dagster._utils.schedules import schedule_execution_time_iterator


def schedule_of(path, loaded):
    if path not in loaded:
        defs = load_python_file(path, working_directory=None).defs
        schedules = list(defs.get_repository_def().schedule_defs)
        assert len(schedules) == 1, f"{len(schedules)} schedules"
        loaded[path] = (schedules[0].cron_schedule, schedules[0].execution_timezone)
    return loaded[path]


def main():
    cases = json.load(sys.stdin)
    loaded = {}
    out = {}
    for case in cases:
        try:
            if "file" in case:
                cron, zone = schedule_of(case["file"], loaded)
            else:
                cron, zone = case["cron"], case["zone"]
            start = datetime.datetime.fromisoformat(case["from"]).timestamp()
            times = islice(
                schedule_execution_time_iterator(start, cron, zone), case["count"]
            )
            out[case["id"]] = [
                t.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in times
            ]
        except Exception:  # noqa: BLE001
            out[case["id"]] = {"error": traceback.format_exc()}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
