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

from dagster import DagsterInstance, build_sensor_context
from dagster._core.code_pointer import load_python_file

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"
NOTIFY_SENSOR = "kfm_failure_sensor"


class Launcher:
    """Stands for KfmLauncher in the workflow's run: fails the attempts of the named jobs."""

    def __init__(self, failing):
        self.failing = failing

    def launch(self, context, image, command, args, env, resources, timeout):
        job = next(e["value"] for e in env if e["name"] == "KFM_JOB")
        if job in self.failing:
            raise RuntimeError(f"{job} failed")


def main(module_path, logical_date, run_id, *failing):
    module = load_python_file(module_path, working_directory=None)
    defs = module.defs
    pods = {}

    def record(context, **kwargs):
        pods[context.op_def.name] = {
            "command": kwargs["command"],
            "env": kwargs["container_config"]["env"],
        }

    module.execute_k8s_job = record
    sensor = defs.get_sensor_def(NOTIFY_SENSOR)
    with DagsterInstance.ephemeral() as instance:
        cursor = sensor.evaluate_tick(build_sensor_context(instance=instance)).cursor
        job = defs.get_job_def(module.KFM_WORKFLOW.replace("-", "_") + "_job")
        job.execute_in_process(
            resources={"kfm_launcher": Launcher(set(failing))},
            instance=instance,
            run_id=run_id,
            tags={LOGICAL_DATE_TAG: logical_date},
            raise_on_error=False,
        )
        tick = sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=cursor)
        )
        for request in tick.run_requests:
            defs.get_job_def(sensor.job_name).execute_in_process(
                resources={"kfm_launcher": module.KfmLauncher()},
                instance=instance,
                tags=request.tags,
                raise_on_error=True,
            )
    json.dump({"requests": len(tick.run_requests), "pods": pods}, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:])
