"""One failed run of a generated Dagster module, and the notification pods it leads to.

Usage: python notify_run.py MODULE.py LOGICAL_DATE RUN_ID FAILING_JOB...

Runs the workflow's job with Dagster's engine (`execute_in_process` on an ephemeral
instance, run id RUN_ID, tagged with the logical date) with the launcher failing every
attempt of the ops named (by spec name) and succeeding the others; then evaluates the
module's run failure sensor with Dagster's own sensor evaluation (`evaluate_tick`, its
cursor set by a tick before the run) and runs each notification run it requests the same
way, with dagster-k8s `execute_k8s_job` replaced in the module by a recorder. Prints one
JSON object: {"requests": n, "pods": {op: {"command": [...], "env": [...]}}}.
"""

import json
import sys

from dagster import DagsterInstance
from notify_common import LOGICAL_DATE_TAG, first_cursor, load, notify, workflow_job


class Launcher:
    """Stands for KfmLauncher in the workflow's run: fails the attempts of the named jobs."""

    def __init__(self, failing):
        self.failing = failing

    def launch(self, context, image, command, args, env, resources, timeout):
        job = next(e["value"] for e in env if e["name"] == "KFM_JOB")
        if job in self.failing:
            raise RuntimeError(f"{job} failed")


def main(module_path, logical_date, run_id, *failing):
    module, sensor, pods = load(module_path)
    with DagsterInstance.ephemeral() as instance:
        cursor = first_cursor(sensor, instance)
        workflow_job(module).execute_in_process(
            resources={"kfm_launcher": Launcher(set(failing))},
            instance=instance,
            run_id=run_id,
            tags={LOGICAL_DATE_TAG: logical_date},
            raise_on_error=False,
        )
        tick = notify(module, sensor, instance, cursor)
    json.dump({"requests": len(tick.run_requests), "pods": pods}, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:])
