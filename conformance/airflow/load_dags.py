"""Load DAG files with Airflow's own code and print what Airflow understood.

Usage (inside the conformance venv; see conformance/README.md):

    python conformance/airflow/load_dags.py \
        [--logical-date 2024-01-02T02:00:00+00:00]... \
        [--fire-from 2024-01-01T00:00:30+00:00]... [--fire-count 10] \
        [--failed-task TASK_ID]... [--base-url URL] \
        PATH...

PATH is a DAG file or a folder of them. Prints ONE JSON document on stdout:

    {"tool", "versions", "files": [{"file", "ok", "errors", "parsed"}]}

What runs, per file, as the DAG processor of the pinned Airflow does it
(airflow-core ``dag_processing/processor.py`` ``_parse_file``):

* ``DagBag(dag_folder=<file>)`` imports the file, validates each DAG, checks
  cycles; ``bag.import_errors`` become errors. A file that yields no DAG is an
  error too (DAG discovery safe mode is left at its default, so a file the
  processor would skip is reported).
* ``DagSerialization.to_dict`` of every DAG, as ``_serialize_dags`` does; a
  failure is an error. The dict is then deserialized (``from_dict``): that
  ``SerializedDAG`` is what the scheduler reads, so the DAG-level fields, the
  retry fields and the fire times come from it ("scheduler view"), while the
  task fields the worker uses (KubernetesPodOperator container fields,
  execution_timeout, rendering) come from the DAG object the file built
  ("worker view"). A scheduling field that differs between the two views is an
  error.
* The DAG version inflation check (``check_dag_file_stability``) at the
  configured level: its warnings are listed, its errors count.

"parsed" holds, per DAG, the fields listed in conformance/README.md, plus:

* ``rendered[<logical date>][<task id>]``: the templated fields after Airflow's
  own ``render_template_fields`` with the context the task runner builds
  (``RuntimeTaskInstance.get_template_context``) for a scheduled run at that
  logical date, and, for KubernetesPodOperator, the container of the pod the
  operator would create (``build_pod_request_obj(dry_run=True)``). A rendering
  failure (undefined variable, a value ending in a template extension that is
  loaded as a file, ...) is an error: the task would fail at run time. A
  template that asks the API server for the run's task states
  (``RuntimeTaskInstance.get_task_states``, the failure notifications) is
  answered as the server's ``/task-instances/states`` route answers: the tasks
  given with ``--failed-task`` ``failed``, every other task ``success``.
  ``--base-url`` sets ``[api] base_url``.
* ``retry_waits_seconds[<logical date>][<task id>]``: {"waits", "sources"}, the
  wait before attempts 2..n as Airflow decides it: the task's retry_policy (as
  the task runner evaluates it) and the scheduler's own
  ``TaskInstance.next_retry_datetime``.
* ``fire_times[<from>]``: the next N runs after each instant, from the
  timetable's own ``next_dagrun_info_v2`` and ``generate_run_id``.
* ``queue[<from>]``: the first run of the DAG deployed at each instant, and the
  run after it when ``max_active_runs`` frees three slots later (``_queue``).

Nothing here needs a metadata database; where the real path needs one (the
DagRun and TaskInstance rows) the script builds the same objects in memory, as
described in conformance/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import inspect
import json
import os
import sys
import tempfile
import traceback
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

TOOL = "load_dags.py"


# --- environment: set before airflow is imported ------------------------------------------------


def _prepare_environment() -> str:
    home = tempfile.mkdtemp(prefix="kfm-airflow-home-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    # A SQLite file in the temporary home; nothing below opens it, but importing
    # airflow configures an engine.
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    # The KubernetesPodOperator reads its connection only to find a namespace
    # when the task sets none; resolve it from the environment, never a cluster.
    os.environ.setdefault(
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        json.dumps({"conn_type": "kubernetes", "extra": {"in_cluster": False}}),
    )
    return home


# --- small helpers --------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        s = value.total_seconds()
        return int(s) if s == int(s) else s
    if isinstance(value, (int, float)):
        return value
    return str(value)


def _plain(value: Any) -> Any:
    """A JSON-able copy of an operator field (kubernetes models become their API dicts)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.timedelta):
        return _seconds(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "to_dict") and hasattr(value, "openapi_types"):
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(value)
    return str(value)


def _env_map(env_vars: Any) -> dict[str, Any] | None:
    """env_vars (a dict, or a list of V1EnvVar) as name -> value (or {"valueFrom": ...})."""
    if env_vars is None:
        return None
    if isinstance(env_vars, dict):
        return {str(k): _plain(v) for k, v in env_vars.items()}
    out: dict[str, Any] = {}
    for item in env_vars:
        plain = _plain(item)
        if isinstance(plain, dict) and "name" in plain:
            name = plain["name"]
            if plain.get("valueFrom") is not None or plain.get("value_from") is not None:
                out[name] = {"valueFrom": plain.get("valueFrom", plain.get("value_from"))}
            else:
                out[name] = plain.get("value")
        else:
            out[str(plain)] = None
    return out


def _resources(res: Any) -> dict[str, Any] | None:
    if res is None:
        return None
    plain = _plain(res)
    if not isinstance(plain, dict):
        return {"raw": plain}
    return {"requests": plain.get("requests"), "limits": plain.get("limits")}


def _is_kpo(task: Any) -> bool:
    return any(c.__name__ == "KubernetesPodOperator" for c in type(task).__mro__) or (
        getattr(task, "task_type", None) == "KubernetesPodOperator"
    )


def _parse_instant(text: str) -> Any:
    import pendulum

    t = pendulum.parse(text)
    if not isinstance(t, pendulum.DateTime) or t.tzinfo is None:
        raise SystemExit(f"{TOOL}: {text!r} is not an instant with a UTC offset")
    return t.in_timezone("UTC")


@contextlib.contextmanager
def _stdout_to_stderr():
    """Airflow and providers may print; keep stdout for the one JSON document."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    old = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield os.fdopen(saved, "w", closefd=True)
    finally:
        sys.stdout.flush()
        sys.stdout = old


# --- what Airflow read ------------------------------------------------------------------------


SCHEDULING_FIELDS = ("retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "trigger_rule")


def _task_scheduling(task: Any) -> dict[str, Any]:
    return {
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _seconds(task.max_retry_delay),
        "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
        "upstream_task_ids": sorted(task.upstream_task_ids),
    }


def _timetable(timetable: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "class": f"{type(timetable).__module__}.{type(timetable).__qualname__}",
        "type_name": getattr(timetable, "type_name", None),
        "summary": getattr(timetable, "summary", None),
        "periodic": getattr(timetable, "periodic", None),
        "can_be_scheduled": getattr(timetable, "can_be_scheduled", None),
    }
    try:
        ser = timetable.serialize()
    except Exception as e:  # a custom timetable without serialize
        ser = {"error": f"{type(e).__name__}: {e}"}
    out["serialized"] = _plain(ser)
    if isinstance(ser, dict):
        out["cron"] = ser.get("expression")
        out["timezone"] = ser.get("timezone")
        out["interval"] = ser.get("interval")
        out["run_immediately"] = ser.get("run_immediately")
    return out


def _zone(dag: Any) -> Any:
    """The zone the window's dates are read in: the timetable's (a cron schedule's), else the DAG's.

    A DAG takes its zone from start_date, and one without start_date has [core] default_timezone.
    """
    return getattr(dag.timetable, "_timezone", None) or dag.timezone


def _dag_fields(sdag: Any) -> dict[str, Any]:
    tz = sdag.timezone
    tzname = getattr(tz, "name", None) or str(tz)

    def local(value: Any) -> str | None:
        if value is None:
            return None
        return value.astimezone(_zone(sdag)).strftime("%Y-%m-%dT%H:%M:%S")

    return {
        "dag_id": sdag.dag_id,
        "description": sdag.description,
        "timetable": _timetable(sdag.timetable),
        "timezone": tzname,
        "start_date": _iso(sdag.start_date),
        "start_date_local": local(sdag.start_date),
        "end_date": _iso(sdag.end_date),
        "end_date_local": local(sdag.end_date),
        "catchup": sdag.catchup,
        "max_active_runs": sdag.max_active_runs,
        "max_active_tasks": getattr(sdag, "max_active_tasks", None),
        "dagrun_timeout": _seconds(sdag.dagrun_timeout),
        "params": _plain(_params(sdag)),
        "tags": sorted(getattr(sdag, "tags", None) or []),
    }


def _params(dag: Any) -> dict[str, Any]:
    params = getattr(dag, "params", None)
    if not params:
        return {}
    try:
        return {k: params[k] for k in params}
    except Exception:
        return {k: str(v) for k, v in dict(params).items()}


def _task_fields(stask: Any, wtask: Any) -> tuple[dict[str, Any], list[str]]:
    """The scheduler's view for scheduling fields, the worker's for what the pod gets."""
    errors: list[str] = []
    sched = _task_scheduling(stask)
    worker = _task_scheduling(wtask)
    for key in sched:
        if sched[key] != worker[key]:
            errors.append(
                f"task {stask.task_id}: {key} differs between the scheduler's view "
                f"({sched[key]!r}) and the DAG file's ({worker[key]!r})"
            )
    out: dict[str, Any] = {
        "task_id": stask.task_id,
        "operator": f"{type(wtask).__module__}.{type(wtask).__qualname__}",
        **sched,
        "execution_timeout": _seconds(wtask.execution_timeout),
        # The hook the task runner calls before each try (task_runner.py _execute_task):
        # kfm-compile's run timeout (kfm_run_deadline), or none.
        "pre_execute": getattr(getattr(wtask, "_pre_execute_hook", None), "__name__", None),
        "pool": stask.pool,
        "queue": stask.queue,
        "retry_policy": (
            None
            if getattr(wtask, "retry_policy", None) is None
            else f"{type(wtask.retry_policy).__module__}.{type(wtask.retry_policy).__qualname__}"
        ),
    }
    # A manual approval gate (HITL ApprovalOperator): what decides its outcome.
    if hasattr(wtask, "fail_on_reject") and hasattr(wtask, "response_timeout"):
        out["approval_operator"] = {
            "fail_on_reject": _plain(wtask.fail_on_reject),
            "defaults": _plain(getattr(wtask, "defaults", None)),
            "options": _plain(getattr(wtask, "options", None)),
            "response_timeout": _seconds(wtask.response_timeout),
        }
    # A cross-DAG prerequisite (ExternalTaskSensor): what it waits for, and how long.
    if hasattr(wtask, "external_dag_id") and hasattr(wtask, "allowed_states"):
        out["external_task_sensor"] = {
            "external_dag_id": wtask.external_dag_id,
            "external_task_id": getattr(wtask, "external_task_id", None),
            "external_task_ids": _plain(getattr(wtask, "external_task_ids", None)),
            "external_task_group_id": getattr(wtask, "external_task_group_id", None),
            "allowed_states": _plain(getattr(wtask, "allowed_states", None)),
            "failed_states": _plain(getattr(wtask, "failed_states", None)),
            "skipped_states": _plain(getattr(wtask, "skipped_states", None)),
            "execution_delta": _seconds(getattr(wtask, "execution_delta", None)),
            "execution_date_fn": None if getattr(wtask, "execution_date_fn", None) is None else "set",
            "mode": getattr(wtask, "mode", None),
            "timeout": _seconds(getattr(wtask, "timeout", None)),
            "soft_fail": getattr(wtask, "soft_fail", None),
        }
    # A ShortCircuitOperator (the window guard): what it calls and with what, a date as local
    # wall time in the schedule's zone (as start_date_local).
    if hasattr(wtask, "ignore_downstream_trigger_rules") and hasattr(wtask, "python_callable"):
        tz = _zone(stask.dag)  # the scheduler's view: its timetable holds the zone
        out["short_circuit"] = {
            "python_callable": getattr(wtask.python_callable, "__name__", None),
            "ignore_downstream_trigger_rules": wtask.ignore_downstream_trigger_rules,
            "op_kwargs_local": {
                k: v.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S") if isinstance(v, dt.datetime) else _plain(v)
                for k, v in (wtask.op_kwargs or {}).items()
            },
        }
    if _is_kpo(wtask):
        out["kubernetes_pod_operator"] = {
            "image": wtask.image,
            "cmds": _plain(wtask.cmds),
            "arguments": _plain(wtask.arguments),
            "env_vars": _env_map(wtask.env_vars),
            "container_resources": _resources(wtask.container_resources),
            "namespace": getattr(wtask, "namespace", None),
            "name": getattr(wtask, "name", None),
        }
    return out, errors


# --- runtime: rendering, retry waits, fire times --------------------------------------------------


def _run_for(sdag: Any, logical_date: Any) -> dict[str, Any]:
    """The DagRun the scheduler would create with this logical date.

    When the logical date is a slot of the timetable (next_dagrun_info_v2 with
    earliest = that instant returns it), that scheduled run's data interval,
    run_after and run_id, all from the timetable. Otherwise a manual run with
    that logical date, its data interval from infer_manual_data_interval.
    """
    from airflow.timetables.base import DataInterval, TimeRestriction
    from airflow.utils.types import DagRunType

    timetable = sdag.timetable
    if timetable.can_be_scheduled:
        info = timetable.next_dagrun_info_v2(
            last_dagrun_info=None, restriction=TimeRestriction(logical_date, None, True)
        )
        if info is not None and info.logical_date == logical_date:
            run_id = timetable.generate_run_id(
                run_type=DagRunType.SCHEDULED, run_after=info.run_after, data_interval=info.data_interval
            )
            return {
                "run_type": "scheduled",
                "run_id": run_id,
                "data_interval": info.data_interval,
                "run_after": info.run_after,
            }
    try:
        interval = timetable.infer_manual_data_interval(run_after=logical_date)
    except Exception:
        interval = DataInterval(logical_date, logical_date)
    return {
        "run_type": "manual",
        "run_id": DagRunType.MANUAL.generate_run_id(suffix=logical_date.isoformat()),
        "data_interval": interval,
        "run_after": logical_date,
    }


MAX_RENDERED_TRIES = 100

# --pod-manifests: also list the whole pod each KubernetesPodOperator task would create.
POD_MANIFESTS = False


def _runtime_ti(task: Any, dag_id: str, task_id: str, dag_run: Any, run_after: Any, try_number: int) -> Any:
    """The RuntimeTaskInstance the task runner's parse() builds for one try of a task.

    ``max_tries`` comes from the server's TIRunContext; for a run that was never
    cleared it is the task's ``retries``. ``try_number`` is the 1-based try.
    """
    from airflow.sdk.api.datamodels._generated import TaskInstanceState, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    ti_context = TIRunContext(dag_run=dag_run, max_tries=task.retries, task_reschedule_count=0)
    return RuntimeTaskInstance.model_construct(
        id=uuid.UUID(int=0),
        task_id=task_id,
        dag_id=dag_id,
        run_id=dag_run.run_id,
        try_number=try_number,
        dag_version_id=uuid.UUID(int=0),
        map_index=-1,
        task=task,
        bundle_instance=None,
        _ti_context_from_server=ti_context,
        max_tries=ti_context.max_tries,
        start_date=run_after,
        state=TaskInstanceState.RUNNING,
        sentry_integration="",
    )


class _TaskStates:
    """Stands in for the supervisor (task_runner.SUPERVISOR_COMMS) while templates render.

    It answers only GetTaskStates, as the API server's route does
    (execution_api/routes/task_instances.py ``get_task_instance_states``):
    ``{run_id: {task_id: state}}`` for the unmapped task instances matching the
    query; the run's tasks in ``failed`` are "failed", the others "success".
    Any other request fails: rendering needs nothing else from the server.
    """

    def __init__(self, dag_id: str, run_id: str, task_ids: list[str], failed: set[str]) -> None:
        self.dag_id, self.run_id, self.task_ids, self.failed = dag_id, run_id, task_ids, failed

    def send(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult

        if not isinstance(msg, GetTaskStates):
            raise RuntimeError(f"{type(msg).__name__} needs the API server, which this tool does not have")
        states: dict[str, dict[str, Any]] = {}
        if msg.dag_id == self.dag_id and (msg.run_ids is None or self.run_id in msg.run_ids):
            states[self.run_id] = {
                t: ("failed" if t in self.failed else "success")
                for t in self.task_ids
                if msg.task_ids is None or t in msg.task_ids
            }
        return TaskStatesResult(task_states=states)


FAILED_TASKS: set[str] = set()


def _fresh_task(wdag: Any, task_id: str) -> Any:
    # A deep copy per rendering: rendering replaces fields in place, nested kubernetes
    # objects (V1EnvVar) included. The task runner renders the task it just loaded,
    # once per try; prepare_for_execution is what it calls on it.
    task = copy.deepcopy(wdag.task_dict[task_id])
    if hasattr(task, "prepare_for_execution"):
        task = task.prepare_for_execution()
    return task


def _render(wdag: Any, sdag: Any, logical_date: Any) -> tuple[dict[str, Any], list[str]]:
    """Render every task's templated fields as the task runner does for a scheduled run."""
    from airflow.sdk.api.datamodels._generated import DagRun, DagRunState, DagRunType

    run = _run_for(sdag, logical_date)
    run_id, interval, run_after = run["run_id"], run["data_interval"], run["run_after"]
    out: dict[str, Any] = {
        "run_type": run["run_type"],
        "run_id": run_id,
        "data_interval": [_iso(interval.start), _iso(interval.end)],
        "run_after": _iso(run_after),
        "tasks": {},
    }
    errors: list[str] = []
    dag_run = DagRun(
        dag_id=wdag.dag_id,
        run_id=run_id,
        logical_date=logical_date,
        data_interval_start=interval.start,
        data_interval_end=interval.end,
        run_after=run_after,
        start_date=run_after,
        end_date=None,
        run_type=DagRunType(run["run_type"]),
        state=DagRunState.RUNNING,
        conf=None,
        consumed_asset_events=[],
        partition_key=None,
    )
    from airflow.sdk.execution_time import task_runner

    task_runner.SUPERVISOR_COMMS = _TaskStates(wdag.dag_id, run_id, sorted(wdag.task_dict), FAILED_TASKS)
    for task_id in sorted(wdag.task_dict):
        task = _fresh_task(wdag, task_id)
        ti = _runtime_ti(task, wdag.dag_id, task_id, dag_run, run_after, 1)
        entry: dict[str, Any] = {}
        try:
            context = ti.get_template_context()
            ti.render_templates(context=context)
            rendered = ti.task
            if not _is_kpo(rendered):
                entry["fields"] = {
                    name: _plain(getattr(rendered, name, None)) for name in sorted(rendered.template_fields)
                }
            else:
                entry["image"] = rendered.image
                entry["cmds"] = _plain(rendered.cmds)
                entry["arguments"] = _plain(rendered.arguments)
                entry["env_vars"] = _env_map(rendered.env_vars)
                entry["container_resources"] = _resources(rendered.container_resources)
                try:
                    pod = rendered.build_pod_request_obj(context, dry_run=True)
                    from kubernetes.client import ApiClient

                    container = ApiClient().sanitize_for_serialization(pod.spec.containers[0])
                    entry["pod_container"] = {
                        k: container.get(k)
                        for k in ("image", "command", "args", "env", "resources", "securityContext")
                    }
                    spec = ApiClient().sanitize_for_serialization(pod.spec)
                    entry["pod"] = {
                        "namespace": pod.metadata.namespace,
                        **{k: spec.get(k) for k in ("serviceAccountName", "imagePullSecrets", "securityContext")},
                    }
                    if POD_MANIFESTS:
                        entry["pod_manifest"] = ApiClient().sanitize_for_serialization(pod)
                except Exception as e:  # environment limits of this tool, not a verdict
                    entry["pod_error"] = f"{type(e).__name__}: {e}"
        except Exception as e:
            msg = f"task {task_id}: rendering for logical date {logical_date.isoformat()} failed: {type(e).__name__}: {e}"
            entry["error"] = msg
            errors.append(msg)
        # Later tries of a KubernetesPodOperator task: the worker parses and renders
        # afresh for every try (try_number 2, 3, ...), so values depending on the try
        # (KFM_ATTEMPT) change; the container's command, args and env are listed.
        if _is_kpo(wdag.task_dict[task_id]) and "error" not in entry:
            tries: dict[str, Any] = {}
            for try_number in range(2, min(wdag.task_dict[task_id].retries + 1, MAX_RENDERED_TRIES) + 1):
                task = _fresh_task(wdag, task_id)
                ti = _runtime_ti(task, wdag.dag_id, task_id, dag_run, run_after, try_number)
                try:
                    ti.render_templates(context=ti.get_template_context())
                    env = ti.task.env_vars
                    if isinstance(env, dict):
                        env = [{"name": k, "value": v} for k, v in env.items()]
                    tries[str(try_number)] = {
                        "cmds": _plain(ti.task.cmds),
                        "arguments": _plain(ti.task.arguments),
                        # A list in the task's order (kubelet expands $(VAR) from earlier entries).
                        "env": _plain(env),
                    }
                except Exception as e:
                    msg = (
                        f"task {task_id}: rendering try {try_number} for logical date "
                        f"{logical_date.isoformat()} failed: {type(e).__name__}: {e}"
                    )
                    tries[str(try_number)] = {"error": msg}
                    errors.append(msg)
            entry["tries"] = tries
        out["tasks"][task_id] = entry
    return out, errors


def _retry_waits(wdag: Any, sdag: Any, logical_date: Any) -> dict[str, Any]:
    """The wait before attempts 2..n of every task, by Airflow's own code.

    When try k fails, the worker first asks the task's retry_policy, if it has one
    (task runner ``_evaluate_retry_policy``: ``policy.evaluate(exception,
    try_number=k, max_tries, context)``); a RETRY decision with a delay becomes the
    try's ``retry_delay_override``. The scheduler then sets the next try's earliest
    start with ``TaskInstance.next_retry_datetime()`` (the override, else
    retry_delay / exponential backoff with its jitter); its offset from the
    failed try's end_date is the wait. ``next_retry_datetime`` runs on an
    in-memory stand-in carrying exactly the attributes it reads (the ORM row
    needs a database); logical_date is a UTC datetime as the database returns it.
    The simulated failure is a plain RuntimeError (not AirflowFailException,
    which skips the policy and retries altogether), in a run that has just started.
    """
    from airflow.models.taskinstance import TaskInstance

    end = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    ld = logical_date.astimezone(dt.timezone.utc)
    ld = dt.datetime(ld.year, ld.month, ld.day, ld.hour, ld.minute, ld.second, ld.microsecond, tzinfo=dt.timezone.utc)
    out: dict[str, Any] = {}
    # The context the task runner passes, as far as kfm-compile's policy reads it: the run, started
    # just now (a run timeout, KFM_RUN_TIMEOUT, is then all ahead and cuts no wait).
    context = {"dag_run": SimpleNamespace(start_date=dt.datetime.now(dt.timezone.utc))}
    for task in sorted(sdag.tasks, key=lambda t: t.task_id):
        policy = getattr(wdag.task_dict[task.task_id], "retry_policy", None)
        waits: list[Any] = []
        sources: list[str] = []
        try:
            max_tries = task.retries or 0
            for k in range(1, max_tries + 1):
                override = None
                source = "next_retry_datetime"
                if policy is not None:
                    decision = policy.evaluate(
                        exception=RuntimeError("simulated failure"), try_number=k, max_tries=max_tries, context=context
                    )
                    action = getattr(decision.action, "value", str(decision.action))
                    if action == "fail":
                        sources.append("retry_policy: fail")
                        break
                    if action == "retry" and decision.retry_delay is not None:
                        override = decision.retry_delay.total_seconds()
                        source = "retry_policy"
                ti = SimpleNamespace(
                    retry_delay_override=override,
                    task=task,
                    try_number=k,
                    dag_id=sdag.dag_id,
                    task_id=task.task_id,
                    logical_date=ld,
                    end_date=end,
                    log=SimpleNamespace(warning=lambda *a, **kw: None),
                )
                waits.append(_seconds(TaskInstance.next_retry_datetime(ti) - end))
                sources.append(source)
            out[task.task_id] = {"waits": waits, "sources": sources}
        except Exception as e:
            out[task.task_id] = {"error": f"{type(e).__name__}: {e}"}
    return out


def _fire_times(sdag: Any, starts: list[Any], count: int) -> dict[str, Any]:
    """Next runs strictly after each instant, from the timetable's own API.

    The scheduler calls timetable.next_dagrun_info_v2(last_dagrun_info, restriction)
    with the DAG's restriction (earliest = start_date, latest = end_date, catchup).
    Here the restriction has catchup forced on (with catchup off the timetable
    also looks at the wall clock, which would make the answer depend on today),
    and "the last run" is a run at the given instant, so the first answer is the
    first slot strictly after it (what robfig/cron's Next does); an instant before
    start_date starts from start_date instead (inclusive, as the scheduler does).
    """
    from airflow.timetables.base import DagRunInfo, TimeRestriction
    from airflow.utils.types import DagRunType

    timetable = sdag.timetable
    base = sdag._time_restriction
    restriction = TimeRestriction(base.earliest, base.latest, True)
    out: dict[str, Any] = {}
    for start in starts:
        runs: list[dict[str, Any]] = []
        try:
            if restriction.earliest is not None and start < restriction.earliest:
                last = None
            else:
                last = DagRunInfo.exact(start)
            for _ in range(count):
                info = timetable.next_dagrun_info_v2(last_dagrun_info=last, restriction=restriction)
                if info is None:
                    break
                run_id = timetable.generate_run_id(
                    run_type=DagRunType.SCHEDULED, run_after=info.run_after, data_interval=info.data_interval
                )
                runs.append(
                    {
                        "run_after": _iso(info.run_after),
                        "logical_date": _iso(info.logical_date),
                        "data_interval": (
                            None
                            if info.data_interval is None
                            else [_iso(info.data_interval.start), _iso(info.data_interval.end)]
                        ),
                        "run_id": run_id,
                    }
                )
                last = info
            out[start.isoformat()] = runs
        except Exception as e:
            out[start.isoformat()] = {"error": f"{type(e).__name__}: {e}"}
    return out


def _queue(sdag: Any, starts: list[Any]) -> dict[str, Any]:
    """What the scheduler creates after a deployment and after a wait on max_active_runs.

    For each instant (the DAG deployed then): the first run, from the DAG's own
    ``next_dagrun_info`` with its real restriction (catchup as written) and the
    timetable's wall clock (``utcnow`` in ``timetables/trigger.py``) at that instant;
    then the run after it as the scheduler computes it when the limit frees three
    slots later (``DagModel.calculate_dagrun_date_fields`` at the creation of the late
    run): the slot after the first where runs queue, the latest slot where they drop.
    """
    from datetime import timedelta
    from unittest import mock

    import airflow.timetables.trigger as trigger
    from airflow.timetables.base import TimeRestriction

    timetable = sdag.timetable
    base = sdag._time_restriction
    every = TimeRestriction(base.earliest, base.latest, True)
    out: dict[str, Any] = {}
    for start in starts:
        try:
            with mock.patch.object(trigger, "utcnow", lambda: start):
                first = sdag.next_dagrun_info(last_automated_run_info=None)
            if first is None:
                out[start.isoformat()] = None
                continue
            later = first
            for _ in range(3):
                later = timetable.next_dagrun_info_v2(last_dagrun_info=later, restriction=every)
            frees = later.run_after + timedelta(seconds=30)
            with mock.patch.object(trigger, "utcnow", lambda: frees):
                after = sdag.next_dagrun_info(last_automated_run_info=first)
            out[start.isoformat()] = {
                "first": _iso(first.logical_date),
                "limit_frees_at": _iso(frees),
                "next": None if after is None else _iso(after.logical_date),
            }
        except Exception as e:
            out[start.isoformat()] = {"error": f"{type(e).__name__}: {e}"}
    return out


# --- one file -----------------------------------------------------------------------------------


def _load_file(path: Path, logical_dates: list[Any], starts: list[Any], count: int) -> dict[str, Any]:
    from airflow.serialization.serialized_objects import DagSerialization

    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.1+
    except ImportError:  # pragma: no cover - older pins
        from airflow.models.dagbag import DagBag

    errors: list[str] = []
    warnings: list[str] = []
    dags: list[dict[str, Any]] = []

    try:
        from airflow.utils.dag_version_inflation_checker import check_dag_file_stability

        stability = check_dag_file_stability(str(path))
        for w in stability.get_formatted_warnings([]) or []:
            warnings.append(json.dumps(_plain(w), sort_keys=True))
        err = stability.get_error_format_dict(str(path), None)
        if err:
            errors.extend(f"{k}: {v}" for k, v in err.items())
    except ImportError:
        pass
    except Exception as e:
        warnings.append(f"dag version inflation check could not run: {type(e).__name__}: {e}")

    kwargs: dict[str, Any] = {"dag_folder": str(path)}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    bag = DagBag(**kwargs)
    for where, message in sorted(bag.import_errors.items()):
        errors.append(f"import error in {where}: {message}")
    for w in bag.captured_warnings.get(str(path), ()):
        warnings.append(w)
    if not bag.dags and not bag.import_errors:
        errors.append("no DAG found in file (the DAG processor would skip it)")

    for dag_id in sorted(bag.dags):
        wdag = bag.dags[dag_id]
        try:
            data = DagSerialization.to_dict(wdag)
            sdag = DagSerialization.from_dict(data)
        except Exception:
            errors.append(f"DAG {dag_id}: serialization failed: {traceback.format_exc(limit=-3)}")
            continue
        entry = _dag_fields(sdag)
        tasks = []
        for task_id in sorted(sdag.task_dict):
            fields, errs = _task_fields(sdag.task_dict[task_id], wdag.task_dict[task_id])
            tasks.append(fields)
            errors.extend(f"DAG {dag_id}: {e}" for e in errs)
        entry["tasks"] = tasks
        entry["rendered"] = {}
        entry["retry_waits_seconds"] = {}
        for ld in logical_dates:
            rendered, errs = _render(wdag, sdag, ld)
            entry["rendered"][ld.isoformat()] = rendered
            errors.extend(f"DAG {dag_id}: {e}" for e in errs)
            entry["retry_waits_seconds"][ld.isoformat()] = _retry_waits(wdag, sdag, ld)
        if starts and sdag.timetable.can_be_scheduled:
            entry["fire_times"] = _fire_times(sdag, starts, count)
            entry["queue"] = _queue(sdag, starts)
        dags.append(entry)

    return {
        "file": str(path),
        "errors": errors,
        "parsed": {"dags": dags, "warnings": warnings, "module_constants": _module_constants(path)},
    }


def _module_constants(path: Path) -> dict[str, Any]:
    """The module-level ``KFM_*`` string and timedelta constants of the module DagBag imported
    from the file (timedeltas in seconds).

    (kfm-compile's files keep the run-token seed there, which the file's own
    ``kfm_run_token`` macro hashes, and the run timeout, KFM_RUN_TIMEOUT, which the
    file's own ``kfm_run_deadline`` hook reads.)
    """
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == str(path):
            return {
                name: value.total_seconds() if isinstance(value, dt.timedelta) else value
                for name, value in sorted(vars(module).items())
                if name.startswith("KFM_") and isinstance(value, (str, dt.timedelta))
            }
    return {}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk",
                 "apache-airflow-providers-cncf-kubernetes", "kubernetes", "pendulum", "jinja2"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _expand(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend(sorted(x for x in path.rglob("*.py") if x.is_file()))
        else:
            files.append(path)
    return files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="DAG files or folders")
    parser.add_argument("--logical-date", action="append", default=[],
                        help="render templates for a scheduled run at this instant (repeatable)")
    parser.add_argument("--fire-from", action="append", default=[],
                        help="list the next runs strictly after this instant (repeatable)")
    parser.add_argument("--fire-count", type=int, default=10, help="runs per --fire-from (default 10)")
    parser.add_argument("--pod-manifests", action="store_true",
                        help="list the whole pod each KubernetesPodOperator task would create (rendered[...].tasks[...].pod_manifest)")
    parser.add_argument("--failed-task", action="append", default=[],
                        help="a task instance of the rendered run that failed (repeatable; the others succeeded)")
    parser.add_argument("--base-url", help="[api] base_url, as a deployment sets it")
    args = parser.parse_args(argv)
    global POD_MANIFESTS  # noqa: PLW0603 - a flag read deep in _render
    POD_MANIFESTS = args.pod_manifests

    _prepare_environment()
    FAILED_TASKS.update(args.failed_task)
    if args.base_url is not None:
        os.environ["AIRFLOW__API__BASE_URL"] = args.base_url
    with _stdout_to_stderr() as real_stdout:
        logical_dates = [_parse_instant(x) for x in args.logical_date]
        starts = [_parse_instant(x) for x in args.fire_from]
        files = []
        for path in _expand(args.paths):
            if not path.is_file():
                res = {"file": str(path), "errors": [f"no such file: {path}"], "parsed": None}
            else:
                try:
                    res = _load_file(path.resolve(), logical_dates, starts, args.fire_count)
                    res["file"] = str(path)
                except Exception:
                    res = {"file": str(path), "errors": [f"loader crashed: {traceback.format_exc()}"], "parsed": None}
            res["ok"] = not res["errors"]
            files.append({"file": res["file"], "ok": res["ok"], "errors": res["errors"], "parsed": res["parsed"]})
        doc = {"tool": TOOL, "versions": _versions(), "files": files}
        real_stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n")
        real_stdout.flush()
    return 0 if all(f["ok"] for f in files) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
