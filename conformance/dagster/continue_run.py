"""Runs a generated module's job on its own executor, each step in a process of its own.

Usage: python continue_run.py MODULE.py FAILING_JOB...

`execute_in_process` (the execution suite) replaces a job's executor; this runs the
job as a deployment does: `execute_job` of a reconstructable job on the executor the
module gives it (for `on_upstream_failure: continue`, KFM_EXECUTOR: the multiprocess
executor with `require_upstream_step_success: False`), with a temporary Dagster
instance. Each step process imports the module again, so the module is copied into a
temporary folder with a stub launcher appended (the Kubernetes Job of an attempt: it
fails for the spec jobs named on the command line and succeeds for the others) and
its job bound to it. Prints {"success": bool, "steps": {op: last step event}}.
"""

import json
import os
import sys
import tempfile

from dagster import DagsterEventType, DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableJob

STUB = '''


class KfmStubLauncher(ConfigurableResource):
    """Stands for KfmLauncher in continue_run.py: fails the listed jobs."""

    failing: list[str]

    def launch(self, context, image, command, args, env, resources, timeout):
        job = next(e["value"] for e in env if e["name"] == "KFM_JOB")
        if job in self.failing:
            raise RuntimeError(f"Kubernetes job {job} failed with exit code 1")


kfm_stub_defs = Definitions(
    jobs=defs.jobs,
    resources={"kfm_launcher": KfmStubLauncher(failing=FAILING)},
)
kfm_stub_job = kfm_stub_defs.resolve_job_def(defs.jobs[0].name)
'''


def main(module_path, failing):
    with open(module_path) as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, "module.py")
        with open(copy, "w") as f:
            f.write(text + STUB.replace("FAILING", json.dumps(failing)))
        job = ReconstructableJob.for_file(copy, "kfm_stub_job")
        with DagsterInstance.local_temp(folder) as instance:
            result = execute_job(job, instance=instance)
            steps = {}
            for event in result.all_events:
                if event.step_key is not None and event.event_type in (
                    DagsterEventType.STEP_SUCCESS,
                    DagsterEventType.STEP_FAILURE,
                    DagsterEventType.STEP_SKIPPED,
                ):
                    steps[event.step_key] = event.event_type.value
            json.dump({"success": result.success, "steps": steps}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
