"""Loads generated Dagster modules with Dagster's own code and prints what it loaded.

Usage: python load_defs.py [--logical-date ISO] FILE.py...

For each file: imports it as Dagster's CLI does (`load_python_file`), checks the
`defs` object with `Definitions.validate_loadable`, then reads back from the loaded
definitions (never from the file's text) the job, its ops and their dependencies,
the run tags, the schedule and the resources. Each op's compute function is then
called as Dagster calls it, with a context built by `build_op_context` (the run
tagged with the logical date) and a recording launcher in place of KfmLauncher:
once succeeding, to record what the first attempt launches; then failing on every
attempt, with the context's `retry_number` set to 0, 1, ..., to record the
`RetryRequested` each failed attempt raises (its `max_retries` and
`seconds_to_wait`) until the op lets the failure through: the attempts and waits
Dagster's step executor would act on.

With failure notifications, the module's sensors are read from the loaded definitions
(name, type, requested job, default status), and the run failure sensor is evaluated by
Dagster's own sensor evaluation (`evaluate_tick`) over a failed run of every job of the
module: which runs it starts a notification run for (the monitored job), with which tags,
and that a further tick starts none. Each notification op is then called as Dagster calls
it, in a run tagged as the sensor tags it, with the module's own KfmLauncher and
dagster-k8s `execute_k8s_job` replaced by a recorder: what the notification pod is
(image, command, env, security contexts, timeout). Prints one JSON object: {file:
summary}, or {file: {"error": ...}}.
"""

import json
import sys
import traceback

from dagster import (
    DagsterInstance,
    Definitions,
    RetryRequested,
    build_op_context,
    build_sensor_context,
)
from dagster._core.code_pointer import load_python_file

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"
FAILED_RUN_TAG = "kfm-compile.dev/failed-run"
FAILED_JOBS_TAG = "kfm-compile.dev/failed-jobs"
NOTIFY_SENSOR = "kfm_failure_sensor"
# Attempts beyond this many are reported as "unbounded".
MAX_PROBE = 50


class Recorder:
    """Stands for the KfmLauncher resource: records each launch, fails when told to."""

    def __init__(self, fail):
        self.fail = fail
        self.calls = []

    def launch(self, context, **container):
        self.calls.append(container)
        if self.fail:
            raise AttemptFailed()


class AttemptFailed(Exception):
    pass


class Attempt:
    """The op's context with Dagster's retry number of the attempt under test."""

    def __init__(self, context, retry_number):
        self._context = context
        self.retry_number = retry_number

    def __getattr__(self, name):
        return getattr(self._context, name)


def call_op(op_def, context, retry_number, launcher):
    op_def.compute_fn.decorated_fn(Attempt(context, retry_number), launcher)


def probe(op_def, logical_date):
    """What the op launches on its first attempt, and its attempts and waits."""
    context = build_op_context(run_tags={LOGICAL_DATE_TAG: logical_date})
    ok = Recorder(fail=False)
    call_op(op_def, context, 0, ok)
    waits = []
    attempts = None
    for retry in range(MAX_PROBE):
        try:
            call_op(op_def, context, retry, Recorder(fail=True))
        except RetryRequested as request:
            waits.append(
                {"max_retries": request.max_retries, "seconds": request.seconds_to_wait}
            )
            continue
        except AttemptFailed:
            attempts = retry + 1
            break
    return {"launch": ok.calls, "attempts": attempts, "retries": waits}


def sensor_requests(defs, logical_date):
    """The run failure sensor's requests, by Dagster's evaluation, for a failed run of each job."""
    sensor = defs.get_sensor_def(NOTIFY_SENSOR)
    with DagsterInstance.ephemeral() as instance:
        # The first tick only sets the sensor's cursor to the latest status change.
        cursor = sensor.evaluate_tick(build_sensor_context(instance=instance)).cursor
        failed = {}
        for job in defs.get_repository_def().get_all_jobs():
            run = instance.create_run_for_job(
                job_def=job, tags={LOGICAL_DATE_TAG: logical_date}
            )
            instance.report_run_failed(run)
            failed[run.run_id] = job.name
        tick = sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=cursor)
        )
        again = sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=tick.cursor)
        )
        return {
            "requests": [
                {
                    "for_job": failed.get(r.tags.get(FAILED_RUN_TAG)),
                    "run_key_is_the_run": r.run_key == r.tags.get(FAILED_RUN_TAG),
                    "job": r.job_name or sensor.job_name,
                    "tags": {k: v for k, v in r.tags.items() if k != FAILED_RUN_TAG},
                }
                for r in tick.run_requests
            ],
            "second_tick_requests": len(again.run_requests),
        }


def notification_pods(module, defs, logical_date):
    """What each notification op of the requested job launches, through KfmLauncher."""
    sensor = defs.get_sensor_def(NOTIFY_SENSOR)
    job = defs.get_job_def(sensor.job_name)
    calls = []

    def record(context, **kwargs):
        calls.append(kwargs)

    module.execute_k8s_job = record
    pods = {}
    for node in job.graph.node_defs:
        context = build_op_context(
            run_tags={
                LOGICAL_DATE_TAG: logical_date,
                FAILED_RUN_TAG: "RUN",
                FAILED_JOBS_TAG: "load report",
            }
        )
        calls.clear()
        node.compute_fn.decorated_fn(Attempt(context, 0), module.KfmLauncher())
        pods[node.name] = list(calls)
    return pods


def notifications(module, defs, logical_date):
    repo = defs.get_repository_def()
    sensors = [
        {
            "name": s.name,
            "type": s.sensor_type.value,
            "job": s.job_name,
            "default_status": s.default_status.value,
        }
        for s in repo.sensor_defs
    ]
    if not any(s["name"] == NOTIFY_SENSOR for s in sensors):
        return {"sensors": sensors}
    return {
        "sensors": sensors,
        **sensor_requests(defs, logical_date),
        "pods": notification_pods(module, defs, logical_date),
    }


def summarize(path, logical_date):
    module = load_python_file(path, working_directory=None)
    defs = module.defs
    assert isinstance(defs, Definitions), "defs is not a Definitions"
    Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    jobs = [j for j in repo.get_all_jobs() if j.name != "kfm_notify_job"]
    assert len(jobs) == 1, f"{len(jobs)} jobs"
    job = jobs[0]
    ops = {}
    for node in job.graph.node_defs:
        deps = job.graph.dependency_structure.input_to_upstream_outputs_for_node(
            node.name
        )
        ops[node.name] = {
            "description": node.description,
            "inputs": sorted(i.name for i in node.input_defs),
            "after": sorted(o.node_name for outs in deps.values() for o in outs),
            "retry_policy": None
            if node.retry_policy is None
            else repr(node.retry_policy),
            "required_resources": sorted(node.required_resource_keys),
            **probe(node, logical_date),
        }
    schedules = []
    for s in repo.schedule_defs:
        schedules.append(
            {
                "name": s.name,
                "cron": s.cron_schedule,
                "timezone": s.execution_timezone,
                "job": s.job_name,
                "default_status": s.default_status.value,
            }
        )
    return {
        "job": job.name,
        "tags": dict(job.tags),
        "ops": ops,
        "schedules": schedules,
        "resources": sorted(repo.get_top_level_resources().keys()),
        "all_jobs": sorted(j.name for j in repo.get_all_jobs()),
        "notifications": notifications(module, defs, logical_date),
    }


def main(args):
    logical_date = "2024-03-04T11:30:00+00:00"
    if args[:1] == ["--logical-date"]:
        logical_date, args = args[1], args[2:]
    out = {}
    for path in args:
        try:
            out[path] = summarize(path, logical_date)
        except Exception:  # noqa: BLE001
            out[path] = {"error": traceback.format_exc()}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
