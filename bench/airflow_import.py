"""Times Airflow's DagBag importing one folder of DAG files (bench/run.ts section 4).

    python bench/airflow_import.py FOLDER

Run with the pinned Airflow venv (.cache/conformance/venv). Airflow, the Kubernetes
provider and dag-factory (when on sys.path) are imported before the clock starts, as
Airflow's DAG processor has them imported before it parses a file; the clock covers
DagBag(dag_folder=FOLDER) only: reading, compiling, executing and validating every DAG file.
Prints one JSON line: {"ms", "dags", "tasks", "files", "import_errors"}.
"""

import atexit
import inspect
import json
import os
import shutil
import sys
import tempfile
import time


def main() -> int:
    folder = sys.argv[1]
    home = tempfile.mkdtemp(prefix="kfm-bench-airflow-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = folder
    os.environ["AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY"] = "False"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault(
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        json.dumps({"conn_type": "kubernetes", "extra": {"in_cluster": False}}),
    )

    import airflow.sdk  # noqa: F401
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator  # noqa: F401
    from kubernetes.client import models  # noqa: F401

    try:
        import dagfactory  # noqa: F401
    except ImportError:
        pass
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # older Airflow
        from airflow.models.dagbag import DagBag

    # Every parse compiles each DAG file from source, as where the DAG processor cannot or does not
    # write .pyc files (a read-only, git-synced DAG folder; PYTHONDONTWRITEBYTECODE in many images).
    # Without this, the second run of a series would load bytecode cached by the first.
    sys.dont_write_bytecode = True
    kwargs = {"dag_folder": folder}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    start = time.perf_counter()
    bag = DagBag(**kwargs)
    ms = (time.perf_counter() - start) * 1000
    files = sum(1 for n in os.listdir(folder) if n.endswith(".py"))
    out = {
        "ms": ms,
        "dags": len(bag.dags),
        "tasks": sum(len(d.tasks) for d in bag.dags.values()),
        "files": files,
        "import_errors": {k: str(v)[-400:] for k, v in bag.import_errors.items()},
    }
    print(json.dumps(out))
    return 0 if not bag.import_errors else 1


if __name__ == "__main__":
    sys.exit(main())
