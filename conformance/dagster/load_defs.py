"""Loads generated Dagster modules with Dagster's own code and prints what it loaded.

Usage: python load_defs.py FILE.py...

For each file: imports it as Dagster's CLI does (`load_python_file`), checks the
`defs` object with `Definitions.validate_loadable`, then reads back from the loaded
definitions (never from the file's text) the job, its ops and their dependencies,
the run tags, each op's launch arguments (by calling the op with a recording
launcher), the schedule (cron, timezone, window by evaluating its ticks) and the
resources. Prints one JSON object: {file: summary}, or {file: {"error": ...}}.
"""

import json
import sys
import traceback

from dagster import Definitions, build_op_context
from dagster._core.code_pointer import load_python_file


class Recorder:
    """Stands for the KfmLauncher resource: records the arguments of one launch."""

    def __init__(self):
        self.calls = []

    def launch(self, context, **container):
        self.calls.append(container)


def op_launch(op_def, tags):
    """Runs the op's body once with a recording launcher: what it would launch."""
    from dagster import DagsterInstance

    recorder = Recorder()
    instance = DagsterInstance.ephemeral()
    context = build_op_context(instance=instance, op_config=None)
    # The logical date is read from the run's tags; build_op_context makes a run
    # whose tags we cannot set, so patch the tag reader onto the context's run.
    context._dagster_run = context.dagster_run.with_tags(tags)  # noqa: SLF001
    op_def.compute_fn.decorated_fn(context, recorder)
    return recorder.calls


def summarize(path):
    module = load_python_file(path, working_directory=None)
    defs = module.defs
    assert isinstance(defs, Definitions), "defs is not a Definitions"
    Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    jobs = repo.get_all_jobs()
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
    }


def main(paths):
    out = {}
    for path in paths:
        try:
            out[path] = summarize(path)
        except Exception:  # noqa: BLE001
            out[path] = {"error": traceback.format_exc()}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
