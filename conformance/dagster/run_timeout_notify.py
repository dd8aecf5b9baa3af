"""A run stopped by its timeout, as Dagster's run monitoring stops it, and its notification.

Usage: python run_timeout_notify.py MODULE.py LOGICAL_DATE HANGING_JOB

Runs the workflow's job with Dagster's engine (`execute_in_process` on an ephemeral
instance) with the launcher hanging in the attempt of the job named (by spec name) and
succeeding the others. Meanwhile a thread calls run monitoring's own
`check_run_timeout` (`dagster/_daemon/monitoring/run_monitoring.py`) on the run's record,
with the run's `dagster/max_runtime` tag, until it acts: it reports the run canceling,
asks the instance's run launcher to terminate the run and, when that succeeds, reports the
run failed. The run launcher's `terminate` stands for the K8sRunLauncher deleting the run
worker: it interrupts the run in process (the signal a run worker gets), and the hanging
op sees the interrupt as Dagster's interrupt handling delivers it. Then the module's run
failure sensor is evaluated by Dagster's own sensor evaluation and the notification run it
requests is run with `execute_k8s_job` recording the pod. Prints one JSON object:
{"run": status, "timed_out_after": seconds, "terminations": n, "requests": n,
"failed_jobs": tag, "pods": ...}.
"""

import _thread
import json
import logging
import sys
import threading
import time

from dagster import DagsterInstance, DagsterRunStatus
from dagster._daemon.monitoring.run_monitoring import check_run_timeout
from notify_common import LOGICAL_DATE_TAG, first_cursor, load, notify, workflow_job

FAILED_JOBS_TAG = "kfm-compile.dev/failed-jobs"
RUN_ID = "6f1e2d3c-0000-4000-8000-000000000010"


class Launcher:
    """Stands for KfmLauncher in the workflow's run: the named job's attempt never ends."""

    def __init__(self, hanging):
        self.hanging = hanging

    def launch(self, context, image, command, args, env, resources, timeout):
        job = next(e["value"] for e in env if e["name"] == "KFM_JOB")
        if job == self.hanging:
            while True:
                time.sleep(0.05)


def monitor(instance, done):
    """The daemon's run monitoring, every 0.2 s, until check_run_timeout has acted.

    Like `execute_run_monitoring_iteration`, it checks the timeout of a STARTED run only:
    once the timeout has acted the run is CANCELING or FAILURE and is not checked again
    (checking it again would terminate it a second time, an interrupt the daemon never
    sends).
    """
    logger = logging.getLogger("run_monitoring")
    while not done.is_set():
        record = instance.get_run_record_by_id(RUN_ID)
        if (
            record is not None
            and record.dagster_run.status == DagsterRunStatus.STARTED
            and record.start_time is not None
        ):
            check_run_timeout(instance, record, logger, 0)
        time.sleep(0.2)


def main(module_path, logical_date, hanging):
    module, sensor, pods = load(module_path)
    with DagsterInstance.ephemeral() as instance:
        terminated = []

        def terminate(run_id):
            # The K8sRunLauncher deletes the run worker's Job and returns; the kubelet
            # signals the worker later, after check_run_timeout has reported the run
            # failed, so the worker finds it FAILURE, not CANCELING (which it would end
            # as CANCELED, `job_execution_iterator` in dagster/_core/execution/api.py).
            # The interrupt comes half a second after the delete, once.
            terminated.append(time.monotonic())
            if len(terminated) == 1:
                threading.Timer(0.5, _thread.interrupt_main).start()
            return True

        instance.run_launcher.terminate = terminate
        cursor = first_cursor(sensor, instance)
        done = threading.Event()
        threading.Thread(target=monitor, args=(instance, done), daemon=True).start()
        start = time.monotonic()
        try:
            workflow_job(module).execute_in_process(
                resources={"kfm_launcher": Launcher(hanging)},
                instance=instance,
                run_id=RUN_ID,
                tags={LOGICAL_DATE_TAG: logical_date},
                raise_on_error=False,
            )
        except KeyboardInterrupt:
            pass
        # Run monitoring reports the run failed after terminate returns.
        while instance.get_run_by_id(RUN_ID).status.value not in ("FAILURE",):
            time.sleep(0.05)
            if time.monotonic() - start > 60:
                break
        done.set()
        status = instance.get_run_by_id(RUN_ID).status.value
        tick = notify(module, sensor, instance, cursor)
    json.dump(
        {
            "run": status,
            "timed_out_after": None if not terminated else terminated[0] - start,
            "terminations": len(terminated),
            "requests": len(tick.run_requests),
            "failed_jobs": [r.tags.get(FAILED_JOBS_TAG) for r in tick.run_requests],
            "pods": pods,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
