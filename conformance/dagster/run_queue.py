"""Drives generated Dagster modules through Dagster's own run queue.

Usage: python run_queue.py CASES.json

CASES.json is a list of cases: {"name", "settings": [YAML text, ...], "workflows":
[{"dir": folder of the module, "file": its name, "ticks": [ISO time, ...], "lines":
[backfill line, ...]}]}. For each case:

- a fresh instance in a temporary DAGSTER_HOME whose dagster.yaml is the case's settings
  (each a `run_coordinator` entry as `kfm-compile explain --target dagster` prints it; their
  `tag_concurrency_limits` lists are merged into one, as the README says to), with Dagster's
  test run launcher (`dagster._core.test_utils.MockedRunLauncher`), which records a launch and
  starts nothing, in place of the deployment's;
- the schedule daemon's own iteration (`dagster/_scheduler/scheduler.py`
  `launch_scheduled_runs`) runs at each of the workflow's tick times, so the module's
  schedule creates and submits its runs as on a deployment;
- every backfill line (`dagster job launch -f FILE -j JOB --tags JSON`, as `kfm-compile
  backfill` writes it) creates and submits its run with the CLI's own functions
  (`dagster/_cli/job.py` `_create_run`, which adds the job's tags, then
  `DagsterInstance.submit_run`), the module loaded in-process instead of by a code server;
- the QueuedRunCoordinatorDaemon's own `run_iteration` dequeues what its limits allow; the
  launched runs are then reported successful and it runs once more.

Prints {case: {phase: [{job, logical_date, status}, ...]}} with the runs in creation order,
for the phases "submitted", "first" (after one iteration) and "second" (after the launched
runs ended and another iteration), or {case: {"error": ...}}.
"""

import datetime
import json
import logging
import os
import shlex
import sys
import tempfile
import traceback

import yaml
from dagster import DagsterEvent, DagsterEventType, DagsterInstance
from dagster._cli.job import _create_run, _normalize_cli_tags
from dagster._cli.workspace.cli_target import (
    get_code_location_from_workspace,
    get_remote_job_from_remote_repo,
    get_remote_repository_from_code_location,
)
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from dagster._scheduler.scheduler import launch_scheduled_runs

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"


class DaemonWorkspace:
    """What `run_iteration` needs of the daemon's workspace: the instance, and a request
    context handed to the run launcher, which the test launcher does not read."""

    def __init__(self, instance):
        self.instance = instance

    def create_request_context(self):
        return None


def settings_yaml(settings):
    config = {}
    limits = []
    for text in settings:
        entry = yaml.safe_load(text)
        coordinator = entry["run_coordinator"]
        limits += coordinator.get("config", {}).get("tag_concurrency_limits", [])
        base = {k: v for k, v in coordinator.items() if k != "config"}
        if "run_coordinator" in config:
            assert base == {
                k: v for k, v in config["run_coordinator"].items() if k != "config"
            }, "two settings name different run coordinators"
        config["run_coordinator"] = {**base, "config": {}}
    if limits:
        config["run_coordinator"]["config"]["tag_concurrency_limits"] = limits
    config["run_launcher"] = {
        "module": "dagster._core.test_utils",
        "class": "MockedRunLauncher",
    }
    config["telemetry"] = {"enabled": False}
    return config


def parse_line(line):
    argv = shlex.split(line)
    assert argv[:3] == ["dagster", "job", "launch"], line
    opts = dict(zip(argv[3::2], argv[4::2]))
    assert set(opts) == {"-f", "-j", "--tags"}, line
    return opts["-f"], opts["-j"], _normalize_cli_tags(opts["--tags"])


def workspace_of(instance, folder, file):
    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            python_file=os.path.join(folder, file), working_directory=folder
        ),
        location_name=file,
    )
    return WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin))


def tick(instance, folder, file, times):
    """The scheduler daemon's iterations at the given times (the first one starts the
    schedule's clock; each later one launches the ticks since the one before)."""
    with workspace_of(instance, folder, file) as process:
        iteration_times = {}
        for time in times:
            end = datetime.datetime.fromisoformat(time)
            logger = logging.getLogger("kfm-compile.scheduler")
            list(launch_scheduled_runs(process, logger, end, iteration_times))


def submit(instance, folder, line):
    file, job_name, tags = parse_line(line)
    with workspace_of(instance, folder, file) as process:
        workspace = process.create_request_context()
        location = get_code_location_from_workspace(workspace, file)
        repo = get_remote_repository_from_code_location(location, None)
        remote_job = get_remote_job_from_remote_repo(repo, job_name)
        run = _create_run(
            instance=instance,
            code_location=location,
            remote_repo=repo,
            remote_job=remote_job,
            run_config={},
            tags=tags,
            op_selection=None,
            run_id=None,
        )
        instance.submit_run(run.run_id, workspace)


def runs_of(instance):
    return [
        {
            "job": run.job_name,
            "logical_date": run.tags.get(LOGICAL_DATE_TAG),
            "status": run.status.value,
        }
        for run in instance.get_runs(ascending=True)
    ]


def run_case(case):
    with tempfile.TemporaryDirectory() as home:
        with open(os.path.join(home, "dagster.yaml"), "w") as f:
            yaml.safe_dump(settings_yaml(case["settings"]), f)
        with DagsterInstance.from_config(home) as instance:
            for workflow in case["workflows"]:
                if workflow.get("ticks"):
                    tick(instance, workflow["dir"], workflow["file"], workflow["ticks"])
                for line in workflow["lines"]:
                    submit(instance, workflow["dir"], line)
            phases = {"submitted": runs_of(instance)}
            daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
            list(daemon.run_iteration(DaemonWorkspace(instance)))
            phases["first"] = runs_of(instance)
            for run in instance.get_runs(ascending=True):
                if run.status.value == "STARTING":
                    instance.report_dagster_event(
                        DagsterEvent(
                            event_type_value=DagsterEventType.RUN_SUCCESS.value,
                            job_name=run.job_name,
                        ),
                        run_id=run.run_id,
                    )
            list(daemon.run_iteration(DaemonWorkspace(instance)))
            phases["second"] = runs_of(instance)
            return phases


def main(path):
    with open(path) as f:
        cases = json.load(f)
    out = {}
    for case in cases:
        try:
            out[case["name"]] = run_case(case)
        except Exception:  # noqa: BLE001
            out[case["name"]] = {"error": traceback.format_exc()}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
