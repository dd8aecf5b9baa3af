"""What the two notification proofs (notify_run.py, run_timeout_notify.py) share.

`load` reads a generated module with dagster-k8s `execute_k8s_job` replaced in it by a
recorder of the pods it would create; `notify` evaluates the module's run failure sensor
with Dagster's own sensor evaluation (`evaluate_tick`, from the cursor of a tick taken
before the run) and runs each notification run it requests by `execute_in_process`.
"""

from dagster import build_sensor_context
from dagster._core.code_pointer import load_python_file

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"
NOTIFY_SENSOR = "kfm_failure_sensor"


def load(module_path):
    """The module, its run failure sensor, and the pods it records by op."""
    module = load_python_file(module_path, working_directory=None)
    pods = {}

    def record(context, **kwargs):
        pods[context.op_def.name] = {
            "command": kwargs["command"],
            "env": kwargs["container_config"]["env"],
        }

    module.execute_k8s_job = record
    return module, module.defs.get_sensor_def(NOTIFY_SENSOR), pods


def workflow_job(module):
    return module.defs.get_job_def(module.KFM_WORKFLOW.replace("-", "_") + "_job")


def first_cursor(sensor, instance):
    """The cursor of a tick before the run: the first tick only sets it."""
    return sensor.evaluate_tick(build_sensor_context(instance=instance)).cursor


def notify(module, sensor, instance, cursor):
    """The sensor's tick after the run, with each notification run it requests run."""
    tick = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
    for request in tick.run_requests:
        module.defs.get_job_def(sensor.job_name).execute_in_process(
            resources={"kfm_launcher": module.KfmLauncher()},
            instance=instance,
            tags=request.tags,
            raise_on_error=True,
        )
    return tick
