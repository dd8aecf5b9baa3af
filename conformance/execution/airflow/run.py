"""Run a generated Airflow DAG through Airflow's own engine, following a scenario.

Usage (inside the conformance venv; see README.md next to this file):

    python conformance/execution/airflow/run.py CASES.json
    python conformance/execution/airflow/run.py --prepare

CASES.json is a list of ``{"dag": DAG_FILE, "scenario": SCENARIO_JSON, "out": OBSERVED_JSON}``;
every case runs in this one process, one after the other (Airflow is imported, the
metadata database copied and a warm-up run made once). Each DAG file sits in a folder of
its own (the DAG folder of its run). Each case writes OUT: an ``Observed``
(src/execution.ts) as JSON, with what Airflow itself said under ``airflow``, or
``{"error": ...}`` when the harness failed on it. Prints one line per case on stderr.

``--prepare`` (conformance/setup.sh) makes the migrated database every run copies:
Airflow's own ``initdb``, once per Airflow version, into
``$KFM_CONFORMANCE_CACHE/execution/airflow/airflow-<version>.db``.

What runs, per case (README.md says why, with the upstream paths):

* the DAG file is loaded by Airflow's own ``DagBag`` and run by the task SDK's
  ``DAG.test()``: its loop over ``DagRun.update_state()`` (the scheduler's dependency,
  trigger-rule and run-state code), the task runner in process (template rendering,
  ``execution_timeout``, retry handling), retries once their time has passed, the real
  clock;
* ``KubernetesPodOperator.execute`` is a stub standing for the pod: it reads the
  operator's RENDERED ``env_vars``/``cmds``/``arguments`` (after Airflow's own template
  rendering and the kubelet's ``$(VAR)``/``$$`` expansion), looks up its outcome by
  ``KFM_JOB`` and ``KFM_ATTEMPT``, records what it was given, and succeeds, fails as the
  provider fails a failed pod, hangs until ``execution_timeout`` (or the run's timeout)
  stops it, or never starts (the provider's own ``await_pod_start`` against a Kubernetes
  API whose pod stays unschedulable, on a virtual clock);
* the notification pods run the notification script for real (``sh``), with a stub
  ``curl`` that records what would be sent;
* the approval gates (``ApprovalOperator``) are answered as a person answers them: the
  core API's own ``update_hitl_detail`` route function (approve / reject), or, for no
  decision, the scheduler's own ``check_awaiting_input_timeouts`` once the response
  timeout passed;
* the run's timeout as kfm-compile writes it (``KFM_RUN_TIMEOUT``, the ``kfm_run_deadline``
  pre_execute hook and the ``KfmRetryWaits`` policy) is enforced by the task runner itself:
  the hook before each try, the try's ``execution_timeout`` (SIGALRM) and the retry policy,
  all in ``dag.test()``; a DAG with Airflow's own ``dagrun_timeout`` (enforced only by the
  scheduler; the sabotage case) has it checked by the scheduler's own
  ``SchedulerJobRunner._schedule_dag_run`` each time the loop turns, and while a pod runs;
* with ``max_active_runs=1``, a second run comes due (queued) while the first runs, and
  the scheduler's own ``_start_queued_dagruns`` decides when it starts;
* attempt times are Airflow's own records of each try (start and end), from the run's start.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

HERE = Path(__file__).resolve().parent
# conformance/airflow: edges.py's stuck cluster and virtual clock (the pod-start bound).
sys.path.insert(0, str(HERE.parent.parent / "airflow"))

from edges import _environment
from load_dags import _stdout_to_stderr

TOOL = "execution/airflow/run.py"

# How often a hanging pod looks whether it has been stopped (the run's timeout), seconds.
POLL_SECONDS = 0.05

# The step of dag.test()'s loop when nothing is due (Airflow's is 1 s), seconds.
LOOP_SECONDS = 0.1

# The value the notification pods' secret env var is given (the secret itself is never read).
FAKE_SECRET_URL = "https://hooks.example.invalid/kfm-execution"


# --- environment: a temporary AIRFLOW_HOME with a SQLite database, set before airflow is imported
# (edges.py `_environment`; the DAG folder is set per case, `settings.DAGS_FOLDER`).

def _template_db(cache: Path | None, home: Path) -> None:
    """The migrated metadata database: a copy of the cached template, made once per Airflow version."""
    from airflow import __version__ as version
    from airflow.utils import db

    target = home / "airflow.db"
    template = None if cache is None else cache / f"airflow-{version}.db"
    if template is not None and template.is_file():
        _sqlite_copy(template, target)
        return
    db.initdb()
    if template is not None:
        template.parent.mkdir(parents=True, exist_ok=True)
        partial = template.with_suffix(f".{os.getpid()}.tmp")
        _sqlite_copy(target, partial)
        os.replace(partial, template)


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its journal included), by SQLite's own backup API."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


# --- Kubernetes' own expansion of $(VAR) and $$ in env values, command and args ------------------


def k8s_expand(text: str, env: dict[str, str]) -> str:
    """What the kubelet does to a container's env value, command or arg.

    kubernetes `third_party/forked/golang/expansion/expand.go` `Expand`: `$$` is a
    literal `$`; `$(NAME)` is NAME's value when NAME is defined, else left as written;
    any other `$` is literal.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "$" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end == -1:
                out.append(text[i:])
                break
            name = text[i + 2 : end]
            out.append(env[name] if name in env else text[i : end + 1])
            i = end + 1
        else:
            out.append("$")
            i += 1
    return "".join(out)


def pod_env(op: Any) -> tuple[dict[str, str], list[str]]:
    """The container's environment (values after expansion, each seeing the earlier ones) and the secret names."""
    env: dict[str, str] = {}
    secrets: list[str] = []
    for e in op.env_vars or []:
        if getattr(e, "value_from", None) is not None:
            secrets.append(e.name)
            continue
        env[e.name] = k8s_expand(e.value or "", env)
    return env, secrets


# --- the run -------------------------------------------------------------------------------------


class Run:
    """One scenario's run: the clock, what the pods did, the gates' answers."""

    def __init__(self, scenario: dict[str, Any], dag: Any) -> None:
        self.scenario = scenario
        self.dag = dag
        self.t0 = time.time()
        # Seconds the virtual clock (a pod that never starts) moved ahead of the real one.
        self.skipped = 0.0
        self.attempts: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.answered: set[str] = set()
        self.run_id: str | None = None
        self.run_started = False
        self.errors: list[str] = []
        # max_active_runs 1: a second run queued while this one runs, and what the scheduler did with it.
        self.second: dict[str, Any] | None = None
        # Task instances stopped from outside while their pod ran, and the state the scheduler gave them.
        self.stopped: dict[str, Any] = {}

    def now(self) -> float:
        return round(time.time() - self.t0 + self.skipped, 3)

    def outcome(self, job: str, attempt: int) -> str:
        outcomes = (self.scenario.get("attempts") or {}).get(job) or []
        return outcomes[attempt - 1] if 1 <= attempt <= len(outcomes) else "succeed"

    def decision(self, gate: str) -> str:
        return (self.scenario.get("gates") or {}).get(gate, "approve")


RUN: Run | None = None
REAL_SLEEP = time.sleep


def _scheduler() -> Any:
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    return SchedulerJobRunner(job=Job(), num_runs=1)


SCHEDULER: Any = None


def outside_world(session: Any) -> None:
    """What happens outside dag.test() each time its loop turns: the scheduler's checks and the reviewers.

    * the run's start: dag.test() creates the run with start_date = its logical date; the
      scheduler stamps the real time a run starts (``DagRun.set_state(RUNNING)``), and the
      run timeout counts from it, so the harness stamps the real start once;
    * the run timeout: ``SchedulerJobRunner._schedule_dag_run`` (its first branch, taken when
      ``start_date < utcnow() - dagrun_timeout``: the run failed, every unfinished task skipped);
    * each gate waiting for input: answered per the scenario through the core API's
      ``update_hitl_detail`` (approve / reject), or left to the scheduler's
      ``check_awaiting_input_timeouts`` (no decision: the gate fails once its response timeout passed).
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.sdk import timezone
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    run = RUN
    assert run is not None
    dr = session.scalar(select(DagRun).where(DagRun.dag_id == run.dag.dag_id, DagRun.run_id == run.run_id))
    if dr is None:
        return
    if not run.run_started:
        # The run starts now: the clock of every time in observed.json starts with it.
        run.t0 = time.time()
        dr.start_date = dt.datetime.fromtimestamp(run.t0, dt.UTC)
        session.merge(dr)
        session.commit()
        run.run_started = True
    if dr.state != DagRunState.RUNNING:
        return
    if run.second is None and run.dag.max_active_runs == 1:
        second_run_due(dr, session)
    timeout = run.dag.dagrun_timeout
    if timeout is not None and dr.start_date < timezone.utcnow() - timeout:
        SCHEDULER._schedule_dag_run(dr, session)
        session.commit()
        return
    waiting = session.scalars(
        select(TI).where(
            TI.dag_id == dr.dag_id, TI.run_id == dr.run_id, TI.state == TaskInstanceState.AWAITING_INPUT
        )
    ).all()
    for ti in waiting:
        decision = run.decision(ti.task_id)
        if decision == "none" or ti.task_id in run.answered:
            continue
        run.answered.add(ti.task_id)
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
        from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
        from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail

        user = SimpleAuthManagerUser(username="reviewer", role="admin")
        update_hitl_detail(
            dag_id=dr.dag_id,
            dag_run_id=dr.run_id,
            task_id=ti.task_id,
            update_hitl_detail_payload=UpdateHITLDetailPayload(
                chosen_options=["Approve" if decision == "approve" else "Reject"], params_input={}
            ),
            user=user,
            session=session,
        )
        session.commit()
    if waiting:
        SCHEDULER.check_awaiting_input_timeouts(session=session)
        session.commit()


def second_run_due(first: Any, session: Any) -> None:
    """A second run comes due while the first is running (max_active_runs: 1).

    It is created queued, as the scheduler creates a due run (`_create_dag_runs`), and the
    scheduler's own `_start_queued_dagruns` decides whether it starts: it must not while
    the first is running, and must once the first ended (`after_run`). Its tasks are not run.
    """
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    run = RUN
    assert run is not None
    sdag = SCHEDULER.scheduler_dag_bag.get_dag_for_run(dag_run=first, session=session)
    logical_date = first.logical_date + dt.timedelta(days=1)
    second = sdag.create_dagrun(
        run_id=f"kfm_second__{logical_date.isoformat()}",
        logical_date=logical_date,
        data_interval=(logical_date, logical_date),
        run_after=logical_date,
        run_type=DagRunType.MANUAL,
        triggered_by=DagRunTriggeredByType.TEST,
        state=DagRunState.QUEUED,
        session=session,
    )
    session.commit()
    SCHEDULER._start_queued_dagruns(session)
    session.commit()
    state = session.get(DagRun, second.id).state
    run.second = {"id": second.id, "whileFirstRuns": str(getattr(state, "value", state))}


def after_run() -> None:
    """The scheduler's `_start_queued_dagruns` once the first run ended; then the second run is removed."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    run = RUN
    assert run is not None and run.second is not None
    with create_session() as session:
        SCHEDULER._start_queued_dagruns(session)
        session.commit()
        second = session.get(DagRun, run.second["id"])
        run.second["afterFirstEnded"] = str(getattr(second.state, "value", second.state))
        session.delete(second)


def _tick() -> None:
    from airflow.utils.session import create_session

    with create_session() as session:
        outside_world(session)


def _my_state(ti_id: Any) -> Any:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.get(TI, ti_id).state


def snapshot(ti_id: Any) -> dict[str, Any]:
    """The states the scheduler wrote for the run of this task instance and its tasks."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.get(TI, ti_id)
        dr = session.scalar(select(DagRun).where(DagRun.dag_id == ti.dag_id, DagRun.run_id == ti.run_id))
        tis = session.scalars(select(TI).where(TI.dag_id == ti.dag_id, TI.run_id == ti.run_id)).all()
        return {
            "run": (dr.id, dr.state, dr.end_date),
            "tis": {t.id: t.state for t in tis},
        }


def restore(snap: dict[str, Any]) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    with create_session() as session:
        run_id, state, end_date = snap["run"]
        dr = session.get(DagRun, run_id)
        dr._state = state
        dr.end_date = end_date
        for ti_id, ti_state in snap["tis"].items():
            session.get(TI, ti_id).state = ti_state


class StoppedByServer(BaseException):
    """The pod's task was ended from outside (the run's timeout): the supervisor kills the task."""


# --- the pod stub --------------------------------------------------------------------------------


def pod_stub(real_execute: Any) -> Any:
    from airflow.providers.common.compat.sdk import AirflowException
    from airflow.sdk.exceptions import AirflowTaskTimeout

    def execute(self: Any, context: Any) -> Any:
        run = RUN
        assert run is not None
        env, _secrets = pod_env(self)
        command = None if self.cmds in (None, []) else [k8s_expand(c, env) for c in self.cmds]
        args = [k8s_expand(a, env) for a in (self.arguments or [])]
        if self.task_id.startswith("kfm-notify-"):
            return notify(self, env, command)
        job = env.get("KFM_JOB", self.task_id)
        try:
            attempt = int(env.get("KFM_ATTEMPT", "0"))
        except ValueError:
            attempt = 0
        outcome = run.outcome(job, attempt)
        record = {
            "job": job,
            "attempt": attempt,
            "startedAt": run.now(),
            "endedAt": None,
            "end": None,
            "env": env,
            "command": command,
            "args": args,
            "outcome": outcome,
            "taskId": self.task_id,
            "tryNumber": context["ti"].try_number,
            "skippedAtStart": run.skipped,
            "ti": {"try_number": context["ti"].try_number, "max_tries": context["ti"].max_tries, "retries": self.retries},
        }
        run.attempts.append(record)

        def end(how: str) -> None:
            record["endedAt"] = run.now()
            record["end"] = how
            record["skippedAtEnd"] = run.skipped

        try:
            if outcome == "succeed":
                end("succeeded")
                return None
            if outcome.startswith("fail:"):
                code = int(outcome.split(":", 1)[1])
                end("failed")
                # As the provider reports a pod whose container exited non-zero
                # (operators/pod.py `cleanup`: "Pod ... returned a failure").
                raise AirflowException(f"Pod {self.name} returned a failure.\ncontainer exited with code {code}")
            if outcome == "no-start":
                # The pod is never scheduled; the provider's own await_pod_start gives up at
                # its bound, unless the attempt's execution_timeout stops it first. Either way
                # the pod never started.
                try:
                    return never_starts(self, context, real_execute, run)
                except BaseException:
                    end("did-not-start")
                    raise
            if outcome == "hang":
                hang(context)
            raise RuntimeError(f"unknown outcome {outcome!r}")
        except AirflowTaskTimeout:
            end("timed-out")
            raise
        except StoppedByServer:
            end("timed-out")
            raise
        finally:
            if record["end"] is None:
                end("failed")

    return execute


def hang(context: Any) -> None:
    """Never ends on its own: the attempt's execution_timeout (SIGALRM, task runner) or the run's timeout stops it."""
    ti_id = context["ti"].id
    from airflow.utils.state import TaskInstanceState

    while True:
        REAL_SLEEP(POLL_SECONDS)
        _tick()
        if _my_state(ti_id) != TaskInstanceState.RUNNING:
            # The supervisor's heartbeat hears 409 and kills the task (supervisor.py
            # `_send_heartbeat_if_needed`); its state stays what the scheduler set.
            assert RUN is not None
            RUN.stopped[str(ti_id)] = snapshot(ti_id)
            raise StoppedByServer()


def never_starts(self: Any, context: Any, real_execute: Any, run: Run) -> Any:
    """The provider's own execute against a cluster whose pod is never scheduled.

    When the attempt has an execution_timeout shorter than the pod-start bound, the real
    clock runs and the task runner's SIGALRM stops the provider's wait; otherwise the
    provider's clock is virtual (edges.py `Clock`): its wait takes no time, and the
    harness's clock moves ahead by what it waited.
    """
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.utils import pod_manager
    from edges import Clock, StuckCluster, StuckHook

    bound = min(self.schedule_timeout_seconds, self.startup_timeout_seconds)
    limit = self.execution_timeout.total_seconds() if self.execution_timeout else None
    virtual = limit is None or limit >= bound
    clock = Clock()
    start = clock.now
    cluster = StuckCluster("Unschedulable", clock)
    hook = StuckHook(cluster)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(KubernetesPodOperator, "hook", property(lambda _self: hook)))
        if virtual:
            stack.enter_context(mock.patch.object(pod_manager, "time", SimpleNamespace(time=clock.time)))
            stack.enter_context(mock.patch.object(asyncio, "sleep", clock.sleep))
        else:
            clock.now = float("nan")
            cluster.clock = SimpleNamespace(now=None)
        try:
            return real_execute(self, context)
        finally:
            if virtual:
                run.skipped += clock.now - start


# --- notifications: the script for real, curl stubbed ---------------------------------------------

CURL_STUB = """#!/bin/sh
# Stands for curl: records its arguments and what it would send, sends nothing.
out="$KFM_EXECUTION_CURL_LOG"
{ printf 'ARGS'; for a in "$@"; do printf ' %s' "$a"; done; printf '\\n'; cat; } >>"$out"
exit 0
"""


def notify(op: Any, env: dict[str, str], command: list[str] | None) -> None:
    run = RUN
    assert run is not None
    from airflow.sdk.exceptions import AirflowException

    work = Path(tempfile.mkdtemp(prefix="kfm-notify-"))
    (work / "curl").write_text(CURL_STUB)
    (work / "curl").chmod(0o755)
    log = work / "sent"
    full = dict(env)
    full["KFM_NOTIFY_SECRET_URL"] = FAKE_SECRET_URL
    full["PATH"] = f"{work}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    full["KFM_EXECUTION_CURL_LOG"] = str(log)
    started = run.now()
    r = subprocess.run(command or [], env=full, capture_output=True, text=True, timeout=60, check=False)
    sent = log.read_text() if log.exists() else ""
    failed_line = next((line for line in re.split(r"\\n|\r?\n", sent) if "Failed jobs: " in line), None)
    failed: list[str] = []
    if failed_line is not None:
        names = failed_line.split("Failed jobs: ", 1)[1].strip()
        names = names.split('"', 1)[0].strip()
        if names != "none":
            failed = [n.strip() for n in names.split(",") if n.strip()]
    index = int(op.task_id.rsplit("-", 1)[1]) - 1
    run.notifications.append(
        {
            "index": index,
            "failedJobs": sorted(failed),
            "at": started,
            "exit": r.returncode,
            "stderr": r.stderr[-2000:],
            "sent": sent[-4000:],
            "env": {k: v for k, v in env.items() if k.startswith("KFM_NOTIFY_")},
        }
    )
    shutil.rmtree(work, ignore_errors=True)
    if r.returncode != 0:
        raise AirflowException(f"notification script exited {r.returncode}: {r.stderr[-500:]}")


# --- one case ------------------------------------------------------------------------------------


def _instant(text: str) -> Any:
    from airflow.sdk import timezone

    return timezone.parse(text)


def load(path: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    if bag.import_errors or len(bag.dags) != 1:
        raise RuntimeError(f"{path}: {bag.import_errors or 'not exactly one DAG'}")
    (dag,) = bag.dags.values()
    return dag


def run_case(dag_file: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    global RUN
    from airflow import __version__ as version
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.utils.session import create_session
    from sqlalchemy import select

    settings.DAGS_FOLDER = str(dag_file.parent)
    dag = load(dag_file)
    run = Run(scenario, dag)
    RUN = run
    real_update_state = DagRun.update_state

    def update_state(self: Any, session: Any = None, execute_callbacks: bool = True) -> Any:
        from airflow.utils.state import DagRunState
        from sqlalchemy import select
        from sqlalchemy.orm.attributes import set_committed_value

        if run.run_id is None:
            run.run_id = self.run_id
        outside_world(session)
        session.commit()
        # dag.test()'s run object is not the one its session reads (the loop's `dr` is stale):
        # the run's state is read from the database, as the scheduler reads it.
        state = session.scalar(select(DagRun._state).where(DagRun.id == self.id))
        if state != self.state:
            set_committed_value(self, "_state", state)
        if self.state != DagRunState.RUNNING:
            # The scheduler ended the run (its timeout): it schedules nothing of a finished run
            # (it only examines running runs, scheduler_job_runner.py `_get_next_dagruns_to_examine`).
            return [], None
        return real_update_state(self, session=session, execute_callbacks=execute_callbacks)

    # dag.test() runs every try with the one operator object the file built, and the task
    # runner renders templates into it in place, so a retry would see the first try's
    # rendered values (KFM_ATTEMPT stuck at 1). A worker parses the file afresh for every
    # try: each try here starts from the fields as the file built them.
    import airflow.sdk.definitions.dag as sdk_dag

    pristine = {t.task_id: {f: copy.deepcopy(getattr(t, f)) for f in t.template_fields} for t in dag.tasks}
    real_run_task = sdk_dag._run_task

    def run_task(*, ti: Any, task: Any, run_triggerer: bool = False) -> Any:
        for field, value in pristine[task.task_id].items():
            setattr(task, field, copy.deepcopy(value))
        result = real_run_task(ti=ti, task=task, run_triggerer=run_triggerer)
        snapshot = run.stopped.pop(str(ti.id), None)
        if snapshot is not None:
            # The supervisor of a task the server stopped kills it and reports nothing
            # (supervisor.py `final_state`: SERVER_TERMINATED). dag.test()'s in-process runner
            # instead marks the task failed (`_run_task`: `ti.set_state(FAILED)`), and that
            # write merges its stale copy of the run back (state running). The states stay
            # what the scheduler wrote, as with a real worker.
            restore(snapshot)
        return result

    real_execute = KubernetesPodOperator.execute
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        # dag.test()'s loop sleeps 1 s when nothing is due (a retry's time not yet come, a
        # gate waiting): the scheduler's loop step. Shortened to LOOP_SECONDS, so that an
        # observed wait holds at most that much of it; every other sleep is as it was.
        if sys._getframe(1).f_globals.get("__name__") == sdk_dag.__name__:
            seconds = min(seconds, LOOP_SECONDS)
        real_sleep(seconds)

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(time, "sleep", sleep))
        stack.enter_context(mock.patch.object(sdk_dag, "_run_task", run_task))
        stack.enter_context(mock.patch.object(KubernetesPodOperator, "execute", pod_stub(real_execute)))
        stack.enter_context(mock.patch.object(DagRun, "update_state", update_state))
        run.t0 = time.time()
        dr = dag.test(logical_date=_instant(scenario["logicalDate"]))

    if run.second is not None:
        after_run()
    with create_session() as session:
        dr = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id, DagRun.run_id == dr.run_id).one()
        tis = {ti.task_id: ti for ti in dr.get_task_instances(session=session)}
        run_state = str(getattr(dr.state, "value", dr.state))
        task_states = {tid: str(getattr(ti.state, "value", ti.state)) for tid, ti in tis.items()}
        # Every try's start and end as Airflow recorded them (the API server's clock):
        # earlier tries in task_instance_history, the last one in task_instance.
        tries: dict[tuple[str, int], tuple[Any, Any]] = {}
        for h in session.scalars(
            select(TaskInstanceHistory).where(
                TaskInstanceHistory.dag_id == dr.dag_id, TaskInstanceHistory.run_id == dr.run_id
            )
        ):
            tries[(h.task_id, h.try_number)] = (h.start_date, h.end_date)
        for tid, ti in tis.items():
            tries[(tid, ti.try_number)] = (ti.start_date, ti.end_date)
    for a in run.attempts:
        start, end = tries.get((a["taskId"], a["tryNumber"]), (None, None))
        a["stubStartedAt"], a["stubEndedAt"] = a["startedAt"], a["endedAt"]
        # Airflow's own times of the try where it has them (a try the scheduler stopped has no end).
        if start is not None:
            a["startedAt"] = round(start.timestamp() - run.t0 + a["skippedAtStart"], 3)
        if end is not None:
            a["endedAt"] = max(a["startedAt"], round(end.timestamp() - run.t0 + a["skippedAtEnd"], 3))
    return observed(run, version, run_state, task_states)


# Airflow's own final state of a task as the spec's job state: success is succeeded, failed
# is failed, every other state (upstream_failed, skipped, none: the task never ran, or the
# scheduler ended it from outside) is not-run. Mapped as Airflow shows it, never from the
# attempts the stub saw: a job stopped by the run's timeout shows "skipped" in Airflow.
def job_state(state: str) -> str:
    return {"success": "succeeded", "failed": "failed"}.get(state, "not-run")


def observed(run: Run, version: str, run_state: str, task_states: dict[str, str]) -> dict[str, Any]:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    jobs: dict[str, str] = {}
    raw: dict[str, str] = {}
    for task in run.dag.tasks:
        if task.task_id.startswith("kfm-"):
            continue
        if isinstance(task, KubernetesPodOperator):
            name = next((e.value for e in task.env_vars or [] if e.name == "KFM_JOB"), task.task_id)
        else:
            name = task.task_id
        state = task_states.get(task.task_id, "none")
        raw[name] = state
        jobs[name] = job_state(state)
    return {
        "engine": f"airflow {version} dag.test",
        "run": "succeeded" if run_state == "success" else "failed",
        "jobs": jobs,
        "attempts": [
            {k: a[k] for k in ("job", "attempt", "startedAt", "endedAt", "end", "env", "command", "args")}
            for a in run.attempts
        ],
        "notifications": [{"index": n["index"], "failedJobs": n["failedJobs"]} for n in run.notifications],
        # Not part of Observed: what Airflow itself said, for reading a difference.
        "airflow": {
            "runState": run_state,
            "taskStates": task_states,
            "outcomes": [
                {k: a[k] for k in ("job", "attempt", "outcome", "ti", "startedAt", "endedAt", "stubStartedAt", "stubEndedAt")}
                for a in run.attempts
            ],
            "notificationsSent": run.notifications,
            # max_active_runs 1: the second run's state while the first ran, and after it ended.
            "secondRun": None if run.second is None else {k: v for k, v in run.second.items() if k != "id"},
        },
    }


WARM_UP_DAG = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id="kfm_execution_warm_up", schedule=None):
    EmptyOperator(task_id="nothing")
"""


def _warm_up(home: Path, gates: bool) -> None:
    """One run of a one-task DAG, so that the first scenario's times do not hold the
    in-process execution API's one-time start (imports, app) of several seconds."""
    from airflow import settings

    if gates:
        # The core API the gates' answers go through, imported now for the same reason.
        from airflow.api_fastapi.core_api.routes.public import hitl  # noqa: F401

    folder = home / "warm-up"
    folder.mkdir()
    (folder / "warm_up.py").write_text(WARM_UP_DAG)
    settings.DAGS_FOLDER = str(folder)
    load(folder / "warm_up.py").test(logical_date=None)


def prepare() -> int:
    """conformance/setup.sh: the migrated metadata database every run copies, made once per Airflow version."""
    cache = os.environ.get("KFM_CONFORMANCE_CACHE")
    if not cache:
        print(f"{TOOL}: --prepare needs KFM_CONFORMANCE_CACHE", file=sys.stderr)
        return 2
    home = Path(_environment(HERE))
    with _stdout_to_stderr():
        _template_db(Path(cache) / "execution" / "airflow", home)
    shutil.rmtree(home, ignore_errors=True)
    return 0


def main(argv: list[str]) -> int:
    global SCHEDULER
    if argv == ["--prepare"]:
        return prepare()
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    cases = json.loads(Path(argv[0]).read_text())
    home = Path(_environment(HERE))
    cache = os.environ.get("KFM_CONFORMANCE_CACHE")
    started = time.time()
    failures = 0
    with _stdout_to_stderr():
        from airflow import settings

        _template_db(None if not cache else Path(cache) / "execution" / "airflow", home)
        settings.configure_orm()
        SCHEDULER = _scheduler()
        _warm_up(home, any("ApprovalOperator(" in Path(c["dag"]).read_text() for c in cases))
        print(f"{TOOL}: ready in {time.time() - started:.1f}s", file=sys.stderr)
        for case in cases:
            t = time.time()
            out = Path(case["out"])
            try:
                scenario = json.loads(Path(case["scenario"]).read_text())
                doc = run_case(Path(case["dag"]).resolve(), scenario)
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt):
                    raise
                failures += 1
                doc = {"error": traceback.format_exc()}
            out.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
            print(f"{TOOL}: {case['dag']} {case['scenario']}: {time.time() - t:.1f}s"
                  f"{' ERROR' if 'error' in doc else ''}", file=sys.stderr)
    shutil.rmtree(home, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
