"""The run requests of a generated catch-up sensor over a simulated timeline.

Usage: python catchup_ticks.py < cases.json

cases.json is a list of {"id", "file", "times"}: a generated module with `catchup: true`
and the UTC instants (ISO) at which the sensor daemon evaluates its sensor, in order. The
module is loaded with Dagster's code (`load_python_file`, `Definitions.validate_loadable`);
its one sensor is read from the repository and evaluated with Dagster's own evaluation
(`SensorDefinition.evaluate_tick` on a context from `build_sensor_context`) at each instant,
the module's clock (`datetime.now`) set to that instant and the cursor carried from one tick
to the next as the daemon stores it. A run request whose run key an earlier request already
had is dropped, as the daemon drops it (`dagster/_daemon/sensor.py`
`_get_existing_run_for_request`). Prints {id: [{"at", "runs": [{"job", "run_key", "tags"}],
"cursor"}]} (or {id: {"error": ...}}).
"""

import datetime
import json
import sys
import traceback

from dagster import Definitions, build_sensor_context
from dagster._core.code_pointer import load_python_file


def clock(at):
    """A datetime class whose now() is `at` (the module's `datetime`, replaced)."""

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return at.astimezone(tz) if tz is not None else at.replace(tzinfo=None)

    return Frozen


def timeline(path, times):
    module = load_python_file(path, working_directory=None)
    defs = module.defs
    Definitions.validate_loadable(defs)
    sensors = list(defs.get_repository_def().sensor_defs)
    assert len(sensors) == 1, f"{len(sensors)} sensors"
    sensor = sensors[0]
    cursor = None
    seen = set()
    out = []
    for text in times:
        at = datetime.datetime.fromisoformat(text)
        module.datetime = clock(at)
        context = build_sensor_context(cursor=cursor)
        result = sensor.evaluate_tick(context)
        runs = []
        for request in result.run_requests or []:
            if request.run_key in seen:
                continue
            seen.add(request.run_key)
            runs.append(
                {
                    "job": request.job_name or sensor.job_name,
                    "run_key": request.run_key,
                    "tags": dict(request.tags),
                }
            )
        if result.cursor is not None:
            cursor = result.cursor
        out.append({"at": text, "runs": runs, "cursor": cursor})
    return out


def main():
    cases = json.load(sys.stdin)
    out = {}
    for case in cases:
        try:
            out[case["id"]] = timeline(case["file"], case["times"])
        except Exception:  # noqa: BLE001
            out[case["id"]] = {"error": traceback.format_exc()}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
