"""Meanings at a real cluster's edges, checked with Airflow's own code.

Usage (inside the conformance venv; see conformance/README.md):

    python conformance/airflow/edges.py pod-start DAG_FILE --logical-date ISO --reason R... [--cli]
    python conformance/airflow/edges.py first-run DAG_FILE --now ISO...
    python conformance/airflow/edges.py window DAG_FILE --run TYPE@ISO...

Prints ONE JSON document on stdout.

``pod-start``: one run of the DAG per reason R with ``dag.test()`` (Airflow's
own loop: the scheduler's trigger-rule and run-state code, the task runner, its
retry handling, a SQLite metadata database in a temporary AIRFLOW_HOME) where
every KubernetesPodOperator pod is created but never starts: the Kubernetes API
is a stub whose pods stay ``Pending``: scheduled, the container waiting with
reason ``CreateContainerConfigError`` (what the kubelet reports for a missing
Secret or key) or ``ImagePullBackOff`` (a pull failing with a message the
provider takes as transient), or ``Unschedulable`` (never scheduled). The provider's own ``await_pod_start``
(``utils/pod_manager.py``) decides when to give up; its clock (``time.time``
and ``asyncio.sleep`` as pod_manager.py sees them) is a fake one that advances
by each sleep, so ten minutes of waiting take no time. Reported per task: every
try with its state, how long (fake seconds) it waited for the pod, the
exception, and the pods created and deleted; and the run's state. With
``--cli``, also what ``airflow tasks states-for-dag-run`` and ``airflow dags
list-runs`` (Airflow's CLI over the same database) print for the run.

``first-run``: when a newly deployed DAG first runs, from Airflow's own
``SerializedDAG.next_dagrun_info`` (what the DAG processor stores as the DAG's
next run when it first parses the file: ``DagModel.calculate_dagrun_date_fields``
with no previous run), with the wall clock (``utcnow`` as the timetable reads
it) set to each --now.

``window``: one ``dag.test()`` run per --run, of run type TYPE (``scheduled``
or ``manual``) at logical date ISO, over the same stub cluster whose pods never
start (``CreateContainerConfigError``): what the run does before and inside the
workflow's window (a pod created means the job ran). ``dag.test()`` creates a
manual run; for ``scheduled`` the run is created as the scheduler creates one
(``run_type=SCHEDULED``, triggered by the timetable), the rest of the loop as is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

# The loader's helpers (this folder is the script's, so first on sys.path).
from load_dags import _parse_instant as _instant
from load_dags import _stdout_to_stderr

TOOL = "edges.py"


def _environment(dags_folder: Path) -> str:
    home = tempfile.mkdtemp(prefix="kfm-airflow-edges-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    # The connection the tasks name: a namespace, never a cluster (the API is stubbed below).
    os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
        {"conn_type": "kubernetes", "extra": {"in_cluster": False, "namespace": "kfm"}}
    )
    return home



def _load(path: Path) -> tuple[Any, Any]:
    """The DAG the file builds and the SerializedDAG the scheduler reads (as load_dags.py)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(path))
    if bag.import_errors or len(bag.dags) != 1:
        raise SystemExit(f"{TOOL}: {path}: {bag.import_errors or 'not exactly one DAG'}")
    (dag,) = bag.dags.values()
    return dag, DagSerialization.from_dict(DagSerialization.to_dict(dag))


# --- pod-start: a cluster whose pods never start ---------------------------------------------------

WAITING_MESSAGES = {
    "CreateContainerConfigError": 'secret "missing-credentials" not found',
    # A pull the provider takes as transient (its message names a rate limit): it waits.
    "ImagePullBackOff": 'Back-off pulling image "lakehouse/ingest:1.2.0": toomanyrequests: rate limit exceeded',
}


class Clock:
    """Virtual time: a sleep returns at once, the clock moving to when it would have ended."""

    def __init__(self) -> None:
        import time

        self.now = time.time()
        self._real_sleep = asyncio.sleep

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float, result: Any = None) -> Any:
        until = self.now + max(0.0, float(delay))
        await self._real_sleep(0)
        self.now = max(self.now, until)
        return result


class StuckCluster:
    """The CoreV1Api calls the operator makes, over pods that stay Pending."""

    def __init__(self, reason: str, clock: Clock) -> None:
        from kubernetes.client import ApiClient

        self.reason = reason
        self.clock = clock
        self.api_client = ApiClient()
        self.pods: dict[str, Any] = {}
        self.log: list[dict[str, Any]] = []

    def _status(self) -> Any:
        from kubernetes.client import models as k8s

        if self.reason == "Unschedulable":
            return k8s.V1PodStatus(
                phase="Pending",
                conditions=[
                    k8s.V1PodCondition(
                        type="PodScheduled",
                        status="False",
                        reason="Unschedulable",
                        message="0/3 nodes are available: 3 Insufficient cpu.",
                    )
                ],
            )
        waiting = k8s.V1ContainerStateWaiting(reason=self.reason, message=WAITING_MESSAGES.get(self.reason, ""))
        return k8s.V1PodStatus(
            phase="Pending",
            conditions=[k8s.V1PodCondition(type="PodScheduled", status="True")],
            container_statuses=[
                k8s.V1ContainerStatus(
                    name="base",
                    image="lakehouse/ingest:1.2.0",
                    image_id="",
                    ready=False,
                    restart_count=0,
                    state=k8s.V1ContainerState(waiting=waiting),
                )
            ],
        )

    def _missing(self, name: str) -> Exception:
        from kubernetes.client.exceptions import ApiException

        return ApiException(status=404, reason=f"pods {name!r} not found")

    def create_namespaced_pod(self, namespace: str, body: dict[str, Any], **_: Any) -> Any:
        from kubernetes.client import models as k8s

        meta = body["metadata"]
        containers = [k8s.V1Container(name=c["name"], image=c.get("image")) for c in body["spec"]["containers"]]
        pod = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name=meta["name"], namespace=namespace, labels=dict(meta.get("labels") or {})),
            spec=k8s.V1PodSpec(containers=containers),
            status=self._status(),
        )
        self.pods[meta["name"]] = pod
        self.log.append({"event": "created", "pod": meta["name"], "at": self.clock.now,
                         "try_number": pod.metadata.labels.get("try_number")})
        return pod

    def read_namespaced_pod(self, name: str, namespace: str, **_: Any) -> Any:
        if name not in self.pods:
            raise self._missing(name)
        return self.pods[name]

    def list_namespaced_pod(self, namespace: str, label_selector: str = "", **_: Any) -> Any:
        from kubernetes.client import models as k8s

        def matches(labels: dict[str, str]) -> bool:
            for term in filter(None, label_selector.split(",")):
                if term.startswith("!"):
                    ok = term[1:] not in labels
                elif "!=" in term:
                    k, v = term.split("!=", 1)
                    ok = labels.get(k) != v
                elif "=" in term:
                    k, v = term.split("=", 1)
                    ok = labels.get(k) == v
                else:
                    ok = term in labels
                if not ok:
                    return False
            return True

        return k8s.V1PodList(items=[p for p in self.pods.values() if matches(p.metadata.labels)])

    def patch_namespaced_pod(self, name: str, namespace: str, body: Any, **_: Any) -> Any:
        pod = self.read_namespaced_pod(name, namespace)
        labels = (body.get("metadata", {}) if isinstance(body, dict) else {}).get("labels", {})
        pod.metadata.labels.update(labels)
        self.log.append({"event": "labelled", "pod": name, "labels": labels, "at": self.clock.now})
        return pod

    def delete_namespaced_pod(self, name: str, namespace: str, **_: Any) -> Any:
        if self.pods.pop(name, None) is None:
            raise self._missing(name)
        self.log.append({"event": "deleted", "pod": name, "at": self.clock.now})

    def list_namespaced_event(self, namespace: str, **_: Any) -> Any:
        from kubernetes.client import models as k8s

        return k8s.CoreV1EventList(items=[], metadata=k8s.V1ListMeta(resource_version="1"))


class StuckHook:
    """What the operator asks its KubernetesHook for: the stub API, never a cluster."""

    is_in_cluster = False

    def __init__(self, cluster: StuckCluster) -> None:
        self.core_v1_client = cluster

    def get_pod(self, name: str, namespace: str) -> Any:
        return self.core_v1_client.read_namespaced_pod(name, namespace)

    def get_namespace(self) -> str:
        return "kfm"


def _chain(e: BaseException | None) -> list[str]:
    out = []
    while e is not None and len(out) < 5:
        out.append(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        e = e.__cause__ or e.__context__
    return out


def _cli(args: list[str]) -> Any:
    """Airflow's own CLI over the same metadata database, its JSON output parsed."""
    r = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "--output", "json"],
        capture_output=True, text=True, env=os.environ.copy(), check=False,
    )
    if r.returncode != 0:
        return {"error": f"exit {r.returncode}: {r.stderr[-2000:]}"}
    # The table is the last line; warnings may come before it.
    lines = [line for line in r.stdout.splitlines() if line.startswith("[")]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"error": f"no JSON in: {r.stdout[-2000:]}"}


def pod_start(path: Path, logical_date: Any, reasons: list[str], cli: bool) -> dict[str, Any]:
    """One dag.test() run per reason, the first at logical_date, each next one a day later."""
    from airflow.utils import db

    db.initdb()
    dag, _ = _load(path)
    runs = {}
    for i, reason in enumerate(reasons):
        runs[reason] = _stuck_run(dag, logical_date.add(days=i), reason, cli and i == 0)
    return {"dag_id": dag.dag_id, "runs": runs}


def _scheduled_dagrun(
    *, dag: Any, run_id: str, logical_date: Any, data_interval: Any, run_after: Any, conf: Any,
    triggered_by: Any, triggering_user_name: Any, start_date: Any, session: Any,
) -> Any:
    """``get_or_create_dagrun`` as dag.test() calls it, but the run the scheduler creates at a slot."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    return dag.create_dagrun(
        run_id=DagRun.generate_run_id(run_type=DagRunType.SCHEDULED, logical_date=logical_date, run_after=run_after),
        logical_date=logical_date,
        data_interval=data_interval,
        run_after=run_after,
        conf=conf,
        run_type=DagRunType.SCHEDULED,
        state=DagRunState.RUNNING,
        triggered_by=DagRunTriggeredByType.TIMETABLE,
        start_date=start_date or logical_date,
        session=session,
    )


def window(path: Path, runs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One dag.test() run per (run type, logical date), pods never starting."""
    from airflow.utils import db

    db.initdb()
    dag, _ = _load(path)
    out = {}
    for run_type, logical_date in runs:
        out[f"{run_type}@{logical_date.isoformat()}"] = _stuck_run(
            dag, logical_date, "CreateContainerConfigError", False, run_type
        )
    return {"dag_id": dag.dag_id, "runs": out}


def _stuck_run(dag: Any, logical_date: Any, reason: str, cli: bool, run_type: str = "manual") -> dict[str, Any]:
    from airflow.models import dagrun as dagrun_module
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.utils import pod_manager

    clock = Clock()
    cluster = StuckCluster(reason, clock)
    hook = StuckHook(cluster)
    waits: list[dict[str, Any]] = []
    real_await = KubernetesPodOperator.await_pod_start

    def await_pod_start(self: Any, pod: Any) -> None:
        entry = {"task_id": self.task_id, "pod": pod.metadata.name,
                 "schedule_timeout_seconds": self.schedule_timeout_seconds,
                 "startup_timeout_seconds": self.startup_timeout_seconds}
        start = clock.now
        try:
            real_await(self, pod)
            entry["outcome"] = "started"
        except BaseException as e:
            entry["outcome"] = "raised"
            entry["exception"] = _chain(e)
            raise
        finally:
            entry["waited_seconds"] = round(clock.now - start, 3)
            waits.append(entry)

    failures: list[dict[str, Any]] = []
    real_cleanup = KubernetesPodOperator.cleanup

    def cleanup(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            real_cleanup(self, *args, **kwargs)
        except BaseException as e:
            failures.append({"task_id": self.task_id, "raised_by_cleanup": _chain(e)})
            raise

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(KubernetesPodOperator, "hook", property(lambda self: hook)))
        stack.enter_context(mock.patch.object(KubernetesPodOperator, "await_pod_start", await_pod_start))
        stack.enter_context(mock.patch.object(KubernetesPodOperator, "cleanup", cleanup))
        # The provider's pod-start clock, as pod_manager.py reads it.
        stack.enter_context(mock.patch.object(pod_manager, "time", SimpleNamespace(time=clock.time)))
        stack.enter_context(mock.patch.object(asyncio, "sleep", clock.sleep))
        if run_type == "scheduled":
            stack.enter_context(mock.patch.object(dagrun_module, "get_or_create_dagrun", _scheduled_dagrun))
        dr = dag.test(logical_date=logical_date)

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id, DagRun.run_id == dr.run_id).one()
        tis = {
            ti.task_id: {"state": str(getattr(ti.state, "value", ti.state)), "try_number": ti.try_number,
                         "max_tries": ti.max_tries}
            for ti in run.get_task_instances(session=session)
        }
        out: dict[str, Any] = {
            "logical_date": logical_date.isoformat(),
            "run_id": run.run_id,
            "run_type": str(getattr(run.run_type, "value", run.run_type)),
            "run_state": str(getattr(run.state, "value", run.state)),
            "task_instances": tis,
            "pod_start_waits": waits,
            "failures": failures,
            "cluster": cluster.log,
        }
    if cli:
        out["cli"] = {
            "tasks states-for-dag-run": _cli(["tasks", "states-for-dag-run", dag.dag_id, run.run_id]),
            "dags list-runs": _cli(["dags", "list-runs", dag.dag_id]),
        }
    return out


# --- first-run ----------------------------------------------------------------------------------


def first_run(path: Path, nows: list[Any]) -> dict[str, Any]:
    from airflow.models.dag import DagModel
    from airflow.timetables import trigger

    _, sdag = _load(path)
    out: dict[str, Any] = {"dag_id": sdag.dag_id, "first_run": {}}
    for now in nows:
        model = DagModel(dag_id=sdag.dag_id)
        with mock.patch.object(trigger, "utcnow", lambda now=now: now):
            model.calculate_dagrun_date_fields(sdag, reference_run=None)
        after = model.next_dagrun_create_after
        out["first_run"][now.isoformat()] = None if after is None else after.isoformat()
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pod-start")
    p.add_argument("file")
    p.add_argument("--logical-date", required=True)
    p.add_argument("--reason", action="append", required=True,
                   choices=["CreateContainerConfigError", "ImagePullBackOff", "Unschedulable"],
                   help="how the pods fail to start (repeatable: one run each)")
    p.add_argument("--cli", action="store_true")
    f = sub.add_parser("first-run")
    f.add_argument("file")
    f.add_argument("--now", action="append", required=True)
    w = sub.add_parser("window")
    w.add_argument("file")
    w.add_argument("--run", action="append", required=True, help="TYPE@ISO: scheduled or manual, at a logical date")
    args = parser.parse_args(argv)

    path = Path(args.file).resolve()
    _environment(path.parent)
    with _stdout_to_stderr() as real_stdout:
        try:
            if args.command == "pod-start":
                result = pod_start(path, _instant(args.logical_date), args.reason, args.cli)
            elif args.command == "window":
                runs = [(r.split("@", 1)[0], _instant(r.split("@", 1)[1])) for r in args.run]
                result = window(path, runs)
            else:
                result = first_run(path, [_instant(n) for n in args.now])
            doc = {"tool": TOOL, "ok": True, "result": result}
        except Exception:
            doc = {"tool": TOOL, "ok": False, "error": traceback.format_exc()}
        real_stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
        real_stdout.flush()
    return 0 if doc["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
