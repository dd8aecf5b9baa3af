"""What a run Airflow starts from an asset event is, by Airflow's own scheduler code.

The reason the airflow target refuses `schedule.trigger: s3_file_arrival` (targets/airflow/
README.md "Event triggers"): a DAG scheduled on an Asset gets its runs from the scheduler's
``_create_dag_runs_asset_triggered`` (airflow-core jobs/scheduler_job_runner.py), which creates
them without a logical date, and the queue it reads (``AssetDagRunQueue``, one row per asset and
DAG, models/asset.py) starts one run however many events arrived while the DAG was queued.

This script, in a temporary AIRFLOW_HOME with a SQLite metadata database, writes a DAG scheduled
on the asset ``s3://<bucket>/<prefix>``, syncs it as the DAG processor does (``sync_bag_to_db``),
records two asset events with S3 records in ``extra`` as the REST API does
(``AssetManager.register_asset_change(source_is_api=True)``), lets the scheduler create the runs in two
of its loops (``DagModel.dags_needing_dagruns`` and ``_create_dag_runs_asset_triggered``), and
prints JSON: every run with its type, logical date, run_after and the events it consumed, and
every event recorded.

Usage: asset_runs.py <migrated template airflow.db (conformance/setup.sh makes it), or - to migrate>
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import tempfile
import textwrap
from pathlib import Path

ASSET = "s3://lakehouse-dev-raw/sales/"

DAG_FILE = textwrap.dedent(
    f"""
    from airflow.sdk import DAG, Asset
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG(dag_id="on_asset", schedule=[Asset(name={ASSET!r}, uri={ASSET!r})], start_date=None, catchup=False):
        EmptyOperator(task_id="load_arrival")
    """
)


def record(second: int) -> dict:
    return {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "eventTime": f"2024-01-01T02:03:{second:02d}.567Z",
                "s3": {
                    "bucket": {"name": "lakehouse-dev-raw"},
                    "object": {"key": f"sales/{second}.csv"},
                },
            }
        ]
    }


def main(argv: list[str]) -> int:
    # Airflow logs to stdout; the report is the only line this script prints there.
    with contextlib.redirect_stdout(sys.stderr):
        report = _runs(argv)
    print(json.dumps(report))
    return 0


def _runs(argv: list[str]) -> dict:
    home = Path(tempfile.mkdtemp(prefix="kfm-airflow-assets-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "on_asset.py").write_text(DAG_FILE)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    template = argv[1] if len(argv) > 1 else "-"
    if template != "-":
        with (
            contextlib.closing(sqlite3.connect(template)) as src,
            contextlib.closing(sqlite3.connect(home / "airflow.db")) as dst,
        ):
            src.backup(dst)

    from airflow.assets.manager import AssetManager
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils import db
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if template == "-":
        db.initdb()
    # The DAG processor's way (as DAG.test() syncs its bundle, task-sdk definitions/dag.py).
    manager = DagBundlesManager()
    with create_session() as session:
        manager.sync_bundles_to_db(session=session)
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(
            dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name
        )
        if bag.import_errors or list(bag.dags) != ["on_asset"]:
            raise SystemExit(f"asset_runs.py: {bag.import_errors or list(bag.dags)}")
        sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.name == ASSET))
        if asset is None:
            raise SystemExit(
                f"asset_runs.py: no asset {ASSET}: {[(a.name, a.uri) for a in session.scalars(select(AssetModel))]}"
            )
        session.execute(
            DagModel.__table__.update()
            .where(DagModel.dag_id == "on_asset")
            .values(is_paused=False)
        )
        # Two objects land before the scheduler's next loop.
        for second in (4, 5):
            AssetManager.register_asset_change(
                asset=asset, extra=record(second), source_is_api=True, session=session
            )
    runner = SchedulerJobRunner(job=Job(), num_runs=1)
    # Two loops of the scheduler: the second finds nothing queued for the second event.
    for _ in range(2):
        with create_session() as session:
            query, triggered = DagModel.dags_needing_dagruns(session)
            dag_models = [m for m in query if m.dag_id in triggered]
            runner._create_dag_runs_asset_triggered(
                dag_models=dag_models, session=session
            )
    with create_session() as session:
        runs = [
            {
                "run_id": r.run_id,
                "run_type": str(getattr(r.run_type, "value", r.run_type)),
                "logical_date": None
                if r.logical_date is None
                else r.logical_date.isoformat(),
                "run_after": r.run_after.isoformat(),
                "consumed_event_times": [
                    e.extra["Records"][0]["eventTime"] for e in r.consumed_asset_events
                ],
            }
            for r in session.scalars(select(DagRun).where(DagRun.dag_id == "on_asset"))
        ]
        events = [
            e.extra["Records"][0]["eventTime"]
            for e in session.scalars(select(AssetEvent))
        ]
    return {"runs": runs, "events": events}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
