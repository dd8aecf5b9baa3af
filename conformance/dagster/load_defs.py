"""Loads generated Dagster modules with Dagster's own code and prints what it loaded.

Usage: python load_defs.py [--logical-date ISO] FILE.py...

For each file: imports it as Dagster's CLI does (`load_python_file`), checks the
`defs` object with `Definitions.validate_loadable`, then reads back from the loaded
definitions (never from the file's text) the job, its ops and their dependencies,
the run tags, the schedule, the sensors and the resources. Each op's compute function is then
called as Dagster calls it, with a context built by `build_op_context` (the run
tagged with the logical date) and a recording launcher in place of KfmLauncher:
once succeeding, to record what the first attempt launches; then failing on every
attempt, with the context's `retry_number` set to 0, 1, ..., to record the
`RetryRequested` each failed attempt raises (its `max_retries` and
`seconds_to_wait`) until the op lets the failure through: the attempts and waits
Dagster's step executor would act on. An op written as a generator (one that a
continue job waits for) is run to its end, and the outputs it yields when its
attempt succeeds and when its last attempt fails are recorded, with the output of
its upstream op each input is wired to and the `step_dependency_config` the job's
executor resolves to (what decides whether an op runs after a failed upstream op).
An op without the job tag waits for another workflow's run: it is called with an
instance that records the runs it asks for (`get_runs` filters) and answers with a
succeeded run. Prints one JSON object: {file: summary}, or
{file: {"error": ...}}.

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

import inspect
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
JOB_TAG = "kfm-compile.dev/job"
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


def call_op(op_def, context, retry_number, launcher, yielded=None):
    result = op_def.compute_fn.decorated_fn(Attempt(context, retry_number), launcher)
    if inspect.isgenerator(result):
        for output in result:
            if yielded is not None:
                yielded.append(output.output_name)


class GateRecorder:
    """Stands for the KfmApproval resource: records what a gate op asks it."""

    def __init__(self):
        self.calls = []

    def decide(self, context, **gate):
        self.calls.append(gate)


def probe_gate(op_def, logical_date):
    """What an approval gate's op asks KfmApproval for (gate, description, timeout)."""
    context = build_op_context(run_tags={LOGICAL_DATE_TAG: logical_date})
    recorder = GateRecorder()
    op_def.compute_fn.decorated_fn(context, recorder)
    return {"decide": recorder.calls}


def probe(op_def, logical_date):
    """What the op launches on its first attempt, and its attempts and waits."""
    context = build_op_context(run_tags={LOGICAL_DATE_TAG: logical_date})
    ok = Recorder(fail=False)
    yields = {"succeeded": [], "failed": []}
    call_op(op_def, context, 0, ok, yields["succeeded"])
    waits = []
    attempts = None
    for retry in range(MAX_PROBE):
        yields["failed"] = []
        try:
            call_op(op_def, context, retry, Recorder(fail=True), yields["failed"])
        except RetryRequested as request:
            waits.append(
                {"max_retries": request.max_retries, "seconds": request.seconds_to_wait}
            )
            continue
        except AttemptFailed:
            attempts = retry + 1
            break
    return {
        "launch": ok.calls,
        "attempts": attempts,
        "retries": waits,
        "yields": yields,
    }


class RunsRecorder:
    """Stands for the Dagster instance a wait op asks for runs: records each filter and
    answers with one succeeded run."""

    def __init__(self, instance):
        self._instance = instance
        self.filters = []

    def get_runs(self, filters=None, limit=None, **_):
        from dagster import DagsterRunStatus

        self.filters.append(
            {"job_name": filters.job_name, "tags": dict(filters.tags), "limit": limit}
        )
        return [type("Run", (), {"status": DagsterRunStatus.SUCCESS})()]

    def __getattr__(self, name):
        return getattr(self._instance, name)


class WaitContext:
    """An op context whose instance is a RunsRecorder."""

    def __init__(self, context):
        self._context = context
        self.instance = RunsRecorder(context.instance)

    def __getattr__(self, name):
        return getattr(self._context, name)


def probe_wait(op_def, logical_date):
    """What a wait op (one waiting for another workflow's run) asks the instance for."""
    context = WaitContext(build_op_context(run_tags={LOGICAL_DATE_TAG: logical_date}))
    op_def.compute_fn.decorated_fn(context)
    return context.instance.filters


def step_dependency_config(job):
    """The job executor's resolved `step_dependency_config` (None when not set)."""
    from dagster._core.system_config.objects import ResolvedRunConfig

    config = ResolvedRunConfig.build(job, {}).execution.execution_engine_config
    return (config or {}).get("step_dependency_config")


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
        if s.name == NOTIFY_SENSOR
    ]
    if not sensors:
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
    waits = {}
    for node in job.graph.node_defs:
        if JOB_TAG not in node.tags:
            waits[node.name] = {
                "inputs": sorted(i.name for i in node.input_defs),
                "required_resources": sorted(node.required_resource_keys),
                "runs_asked": probe_wait(node, logical_date),
            }
            continue
        deps = job.graph.dependency_structure.input_to_upstream_outputs_for_node(
            node.name
        )
        ops[node.name] = {
            "description": node.description,
            "inputs": sorted(i.name for i in node.input_defs),
            "after": sorted(o.node_name for outs in deps.values() for o in outs),
            "after_outputs": sorted(
                f"{o.node_name}.{o.output_def.name}"
                for outs in deps.values()
                for o in outs
            ),
            "retry_policy": None
            if node.retry_policy is None
            else repr(node.retry_policy),
            "required_resources": sorted(node.required_resource_keys),
            **(
                probe_gate(node, logical_date)
                if "kfm_approval" in node.required_resource_keys
                else probe(node, logical_date)
            ),
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
    sensors = []
    for s in repo.sensor_defs:
        if s.name == NOTIFY_SENSOR:
            continue  # compared with the failure notifications below
        sensors.append(
            {
                "name": s.name,
                "job": s.job_name,
                "minimum_interval_seconds": s.minimum_interval_seconds,
                "default_status": s.default_status.value,
            }
        )
    return {
        "job": job.name,
        "tags": dict(job.tags),
        "metadata": {key: value.value for key, value in job.metadata.items()},
        "executor": job.executor_def.name,
        "step_dependency_config": step_dependency_config(job),
        "ops": ops,
        "waits": waits,
        "schedules": schedules,
        "sensors": sensors,
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
