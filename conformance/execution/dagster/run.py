"""Run a generated Dagster module through Dagster's own engine, following a scenario.

Usage (inside the conformance Dagster venv; see README.md next to this file):

    python conformance/execution/dagster/run.py MODULE.py SCENARIO.json OBSERVED.json

The module is loaded as Dagster's CLI loads it (`load_python_file`) and its one job is
run by `JobDefinition.execute_in_process` (the in-process executor: Dagster's own plan,
step ordering, skip and abandon rules, `RetryRequested` handling and retry waits, on the
real clock), with the run tagged with the scenario's logical date (the tags the module's
schedule requests when that date is one of its ticks: `run_tags`), and the `kfm_launcher`
resource replaced by a stub standing for the Kubernetes Job that execute_k8s_job would
create. The stub reads the container's env (non-secret values, after the kubelet's
`$(VAR)` and `$$` expansion), command and args, looks up its outcome by KFM_JOB and
KFM_ATTEMPT, records what it was given, and succeeds, fails (raises, as execute_k8s_job
raises for a failed Job), or hangs until the attempt's `timeout` passes and then raises
as execute_k8s_job does ("Timed out waiting for pod to finish"). Approval gates run the
module's own KfmApproval against a stand-in for the Kubernetes API (FakeCoreV1Api) whose
reviewer follows the scenario. Writes an `Observed`
(src/execution.ts) as JSON, or {"error": ...}.

Failure notifications: the module's run failure sensor is evaluated by Dagster's own
sensor evaluation (`SensorDefinition.evaluate_tick`: its cursor set by a first tick
before the run, then a tick after it reads the run's status change from the instance,
matches the monitored job and calls the sensor function), and each RunRequest it
returns starts the notification job by `execute_in_process` with the request's tags. Its
ops' `notify` runs the module's notification script for real under `sh`, with a stub
`curl` on PATH recording what would be sent; the failed jobs are read from the sent
text's "Failed jobs:" line. A third tick must request nothing (once per failed run).
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import dagster
import kubernetes
from dagster import (
    DagsterEventType,
    DagsterInstance,
    build_schedule_context,
    build_sensor_context,
)
from dagster._core.code_pointer import load_python_file
from dagster._time import datetime_from_timestamp
from dagster._utils.schedules import schedule_execution_time_iterator

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"
JOB_TAG = "kfm-compile.dev/job"
GATE_LABEL = "kfm-compile.dev/gate"
DECISION_ANNOTATION = "kfm-compile.dev/decision"
# The module's run failure sensor (targets/dagster/emit.ts NOTIFY_SENSOR).
NOTIFY_SENSOR = "kfm_failure_sensor"


def kubelet_expand(text, env):
    """The kubelet's expansion of command, args and env values: `$$` is `$`, `$(VAR)` a
    variable defined before (else left as written)."""

    def repl(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", repl, text)


class Unsupported(Exception):
    pass


class JobFailed(Exception):
    """What execute_k8s_job raises when the Kubernetes Job fails or times out."""


class StubLauncher:
    """Stands for KfmLauncher: one Kubernetes Job per attempt, following the scenario."""

    def __init__(self, scenario, start):
        self.scenario = scenario
        self.start = start
        self.attempts = []
        self.unsupported = []
        self.lock = threading.Lock()

    def launch(self, context, image, command, args, env, resources, timeout):
        seen = {}
        for e in env:
            if "value" in e:
                seen[e["name"]] = kubelet_expand(e["value"], seen)
        job = seen["KFM_JOB"]
        attempt = int(seen["KFM_ATTEMPT"])
        outcomes = self.scenario.get("attempts", {}).get(job, [])
        outcome = outcomes[attempt - 1] if attempt <= len(outcomes) else "succeed"
        started = time.monotonic() - self.start
        record = {
            "job": job,
            "attempt": attempt,
            "startedAt": started,
            "env": seen,
            "command": None
            if command is None
            else [kubelet_expand(c, seen) for c in command],
            "args": [] if args is None else [kubelet_expand(a, seen) for a in args],
        }

        def end(how):
            record["endedAt"] = time.monotonic() - self.start
            record["end"] = how
            with self.lock:
                self.attempts.append(record)

        if outcome == "succeed":
            end("succeeded")
            return
        if outcome.startswith("fail:"):
            end("failed")
            raise JobFailed(f"Kubernetes job failed with exit code {outcome[5:]}")
        if outcome == "hang":
            if timeout is None:
                self.unsupported.append(
                    f"{job} attempt {attempt}: a hang with no attempt timeout"
                )
                raise Unsupported(self.unsupported[-1])
            time.sleep(timeout)
            end("timed-out")
            raise JobFailed("Timed out waiting for pod to finish")
        self.unsupported.append(f"{job} attempt {attempt}: outcome {outcome}")
        raise Unsupported(self.unsupported[-1])


def run_tags(defs, logical_date):
    """The tags of the scenario's run.

    When the module's schedule has a tick at the scenario's logical date (the daemon's
    iterator, `schedule_execution_time_iterator`, over its `cron_schedule`), the run is the
    one that tick requests: the schedule function evaluated as the daemon evaluates it
    (`dagster/_grpc/impl.py` `get_external_schedule_execution`: the tick's timestamp read
    in the execution timezone), with its daylight-saving guard and window; a tick it skips
    starts no run, which is an error here. Otherwise the run is started by hand with the
    logical-date tag, as an operator or `kfm-compile backfill` does.
    """
    tags = {LOGICAL_DATE_TAG: logical_date}
    schedules = list(defs.get_repository_def().schedule_defs)
    if not schedules:
        return tags
    (schedule,) = schedules
    at = datetime.datetime.fromisoformat(logical_date).timestamp()
    zone = schedule.execution_timezone
    tick = next(schedule_execution_time_iterator(at - 1, schedule.cron_schedule, zone))
    if tick.timestamp() != at:
        return tags
    when = datetime_from_timestamp(at, tz=zone)
    data = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=when))
    if not data.run_requests:
        raise RuntimeError(
            f"the schedule's tick at {when.isoformat()} starts no run: {data.skip_message}"
        )
    (request,) = data.run_requests
    return request.tags


def executor_step_dependency_config(job):
    """The step_dependency_config the job's own executor is configured with, or None.

    `execute_in_process` swaps the job's executor for `execute_in_process_executor`
    (dagster/_core/definitions/job_definition.py `as_ephemeral_job`), which ignores
    executor config and so always requires upstream step success. A module whose
    executor sets `step_dependency_config` (on_upstream_failure: continue) runs here on
    Dagster's in-process executor given that same config: the plan, the skip and abandon
    rules (dagster/_core/execution/plan/active.py) are Dagster's; only the steps run one at
    a time instead of in processes of their own.
    """
    from dagster._core.system_config.objects import ResolvedRunConfig

    if job.executor_def.name == "execute_in_process_executor":
        return None
    config = ResolvedRunConfig.build(job, {}).execution.execution_engine_config
    return (config or {}).get("step_dependency_config")


def in_process_with(step_dependency_config):
    """`execute_in_process`'s executor, with the module executor's step dependencies."""
    from dagster._core.definitions import executor_definition

    return executor_definition.in_process_executor.configured(
        {"step_dependency_config": step_dependency_config},
        name="execute_in_process_executor",
    )


class FakeCoreV1Api:
    """Stands for the Kubernetes API the module's KfmApproval talks to (approval gates).

    The module's own KfmApproval.decide runs: it creates its gate's ConfigMap here and
    reads it until it holds a decision. The scenario's reviewer decides as soon as the
    gate asks: `approve` and `reject` are set as the kfm-compile.dev/decision annotation
    (what `kubectl annotate` sets), `none` never is, so the gate's own deadline ends it.
    """

    def __init__(self, scenario, gate_specs):
        self.scenario = scenario
        self.gate_specs = gate_specs
        self.config_maps = {}

    def create_namespaced_config_map(self, namespace, body):
        key = (namespace, body.metadata.name)
        if key in self.config_maps:
            raise kubernetes.client.ApiException(status=409, reason="AlreadyExists")
        self.config_maps[key] = body

    def read_namespaced_config_map(self, name, namespace):
        body = self.config_maps[(namespace, name)]
        spec = self.gate_specs[body.metadata.labels[GATE_LABEL]]
        decision = self.scenario.get("gates", {}).get(spec, "approve")
        if decision in ("approve", "reject"):
            body.metadata.annotations = {DECISION_ANNOTATION: decision}
        return body


# --- notifications: the sensor by Dagster's evaluation, the script for real, curl stubbed ---

# The value the notification pod's secret env var is given (the secret itself is never read).
FAKE_SECRET_URL = "https://hooks.example.invalid/kfm-execution"

CURL_STUB = """#!/bin/sh
# Stands for curl: records its arguments and what it would send, sends nothing.
out="$KFM_EXECUTION_CURL_LOG"
{ printf 'ARGS'; for a in "$@"; do printf ' %s' "$a"; done; printf '\\n'; cat; } >>"$out"
exit 0
"""


class NotifySender:
    """Stands for KfmLauncher in the notification run: `notify` runs the module's script."""

    def __init__(self, script):
        self.script = script
        self.sent = []

    def launch(self, context, **container):
        raise Unsupported("the notification job launched a job's container")

    def notify(self, context, env, timeout):
        seen = {}
        for e in env:
            if "value" in e:
                seen[e["name"]] = kubelet_expand(e["value"], seen)
        work = tempfile.mkdtemp(prefix="kfm-notify-")
        try:
            curl = os.path.join(work, "curl")
            with open(curl, "w") as f:
                f.write(CURL_STUB)
            os.chmod(curl, 0o755)
            log = os.path.join(work, "sent")
            full = dict(seen)
            full["KFM_NOTIFY_SECRET_URL"] = FAKE_SECRET_URL
            full["PATH"] = f"{work}:{os.environ.get('PATH', '/usr/bin:/bin')}"
            full["KFM_EXECUTION_CURL_LOG"] = log
            command = [
                kubelet_expand(c, seen) for c in ["sh", "-c", self.script, "kfm-notify"]
            ]
            r = subprocess.run(
                command,
                env=full,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            sent = ""
            if os.path.exists(log):
                with open(log) as f:
                    sent = f.read()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        line = next(
            (x for x in re.split(r"\\n|\r?\n", sent) if "Failed jobs: " in x), None
        )
        failed = []
        if line is not None:
            names = line.split("Failed jobs: ", 1)[1].split('"', 1)[0].strip()
            if names != "none":
                failed = [n.strip() for n in names.split(",") if n.strip()]
        index = int(context.op_def.name.rsplit("_", 1)[1]) - 1
        self.sent.append({"index": index, "failedJobs": sorted(failed)})
        if r.returncode != 0:
            raise JobFailed(
                f"notification script exited {r.returncode}: {r.stderr[-500:]}"
            )


def notifications(module, defs, instance, cursor):
    """What the module's run failure sensor sends for the runs since `cursor`."""
    sensor = defs.get_sensor_def(NOTIFY_SENSOR)
    tick = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
    sender = NotifySender(module.KFM_NOTIFY_SCRIPT)
    for request in tick.run_requests:
        result = defs.get_job_def(sensor.job_name).execute_in_process(
            resources={"kfm_launcher": sender},
            instance=instance,
            tags=request.tags,
            raise_on_error=False,
        )
        if not result.success:
            raise Unsupported("the notification run failed")
    again = sensor.evaluate_tick(
        build_sensor_context(instance=instance, cursor=tick.cursor)
    )
    if again.run_requests:
        raise Unsupported(
            "the sensor asked for a second notification run of the same run"
        )
    return sorted(sender.sent, key=lambda n: n["index"])


def main(module_path, scenario_path, observed_path):
    try:
        with open(scenario_path) as f:
            scenario = json.load(f)
        module = load_python_file(module_path, working_directory=None)
        defs = module.defs
        job = defs.get_job_def(module.KFM_WORKFLOW.replace("-", "_") + "_job")
        instance = DagsterInstance.ephemeral()
        notified = any(
            s.name == NOTIFY_SENSOR for s in defs.get_repository_def().sensor_defs
        )
        cursor = None
        if notified:
            # The sensor's first tick only sets its cursor to the latest status change.
            first = defs.get_sensor_def(NOTIFY_SENSOR).evaluate_tick(
                build_sensor_context(instance=instance)
            )
            cursor = first.cursor
        spec_of = {n.name: n.tags[JOB_TAG] for n in job.graph.node_defs}
        gate_specs = {spec.replace("_", "-"): spec for spec in spec_of.values()}
        api = FakeCoreV1Api(scenario, gate_specs)
        kubernetes.config.load_incluster_config = lambda: None
        kubernetes.client.CoreV1Api = lambda: api
        start = time.monotonic()
        launcher = StubLauncher(scenario, start)
        step_dependencies = executor_step_dependency_config(job)
        if step_dependencies is not None:
            # as_ephemeral_job imports the executor from this module when it is called.
            from dagster._core.definitions import executor_definition

            executor_definition.execute_in_process_executor = in_process_with(
                step_dependencies
            )
        result = job.execute_in_process(
            resources={"kfm_launcher": launcher},
            tags=run_tags(defs, scenario["logicalDate"]),
            raise_on_error=False,
            instance=instance,
        )
        if launcher.unsupported:
            # The op caught the stub's exception as a failed attempt; the run means nothing.
            raise Unsupported("; ".join(launcher.unsupported))
        states = {spec: "not-run" for spec in spec_of.values()}
        for event in result.all_events:
            if event.step_key is None:
                continue
            spec = spec_of[event.step_key]
            if event.event_type == DagsterEventType.STEP_SUCCESS:
                states[spec] = "succeeded"
            elif event.event_type == DagsterEventType.STEP_FAILURE:
                states[spec] = "failed"
        observed = {
            "engine": f"dagster {dagster.__version__} execute_in_process",
            "run": "succeeded" if result.success else "failed",
            "jobs": states,
            "attempts": sorted(
                launcher.attempts, key=lambda a: (a["startedAt"], a["job"])
            ),
            "notifications": notifications(module, defs, instance, cursor)
            if notified
            else [],
        }
    except Exception:  # noqa: BLE001
        observed = {"error": traceback.format_exc()}
    with open(observed_path, "w") as f:
        json.dump(observed, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
