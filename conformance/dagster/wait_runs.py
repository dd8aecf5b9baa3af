"""Runs a cross-workflow wait through Dagster's own engine and run storage.

Usage: python wait_runs.py UPSTREAM.py DOWNSTREAM.py

Both generated modules are loaded as Dagster's CLI loads a file (`load_python_file`)
into one Dagster instance (`DagsterInstance.ephemeral()`: the run storage
`context.instance.get_runs` reads). Each job runs on Dagster's engine with
`execute_in_process(instance=..., tags={logical-date tag: ...})`, its `kfm_launcher`
replaced by a stub that stands for the Kubernetes Job (succeeds, or fails when told
to). The downstream module's KFM_POLL_SECONDS is set to 0.2 so that the test waits
seconds, not minutes. Scenarios, each with its own logical date:

- succeeded: the upstream run of the date succeeded before the downstream run starts;
- failed: the upstream run of the date failed;
- missing: no upstream run of the date (the wait's timeout, 3 s in the test spec, ends it);
- later: the upstream run of the date starts 1.5 s after the downstream run, in a thread.

Prints one JSON object: {scenario: {"success", "seconds", "steps": {op: event}, "launched"}}.
"""

import json
import sys
import threading
import time

from dagster import DagsterEventType, DagsterInstance
from dagster._core.code_pointer import load_python_file

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"


class Stub:
    """Stands for KfmLauncher: records the images launched, fails when told to."""

    def __init__(self, fail=False):
        self.fail = fail
        self.launched = []

    def launch(self, context, image, **_):
        self.launched.append(image)
        if self.fail:
            raise RuntimeError("Kubernetes job failed with exit code 1")


def only_job(module):
    (job,) = module.defs.get_repository_def().get_all_jobs()
    return job


def run(job, instance, logical_date, launcher):
    start = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        resources={"kfm_launcher": launcher},
        tags={LOGICAL_DATE_TAG: logical_date},
        raise_on_error=False,
    )
    steps = {}
    for event in result.all_events:
        if event.step_key is None:
            continue
        if event.event_type in (
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
        ):
            steps[event.step_key] = event.event_type.value
    return {
        "success": result.success,
        "seconds": time.monotonic() - start,
        "steps": steps,
        "launched": launcher.launched,
    }


def main(upstream_path, downstream_path):
    upstream = only_job(load_python_file(upstream_path, working_directory=None))
    down_module = load_python_file(downstream_path, working_directory=None)
    down_module.KFM_POLL_SECONDS = 0.2
    downstream = only_job(down_module)
    out = {}
    with DagsterInstance.ephemeral() as instance:
        date = "2024-05-01T04:00:00+00:00"
        out["upstream succeeded"] = run(upstream, instance, date, Stub())
        out["succeeded"] = run(downstream, instance, date, Stub())

        date = "2024-05-02T04:00:00+00:00"
        out["upstream failed"] = run(upstream, instance, date, Stub(fail=True))
        out["failed"] = run(downstream, instance, date, Stub())

        out["missing"] = run(downstream, instance, "2024-05-03T04:00:00+00:00", Stub())

        date = "2024-05-04T04:00:00+00:00"
        later = {}

        def upstream_later():
            time.sleep(1.5)
            later["run"] = run(upstream, instance, date, Stub())

        thread = threading.Thread(target=upstream_later)
        thread.start()
        out["later"] = run(downstream, instance, date, Stub())
        thread.join()
        out["upstream later"] = later["run"]
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
