"""Times Dagster loading one folder of generated modules (bench/run.ts section "dagster").

    python bench/dagster_import.py FOLDER

Run with the pinned Dagster venv (conformance/dagster/setup.sh). Dagster and dagster-k8s
are imported before the clock starts, as a code server has them imported before it loads
a code location; the clock covers, for every module of FOLDER, what a code server does
with it: importing the module from source (no cached bytecode) and building and
validating its `Definitions` (`Definitions.validate_loadable`, the check behind
`dagster definitions validate`). Prints one JSON line: {"ms", "import_ms", "modules",
"jobs", "ops", "errors"}.
"""

import importlib.util
import json
import os
import sys
import time


def main() -> int:
    folder = sys.argv[1]
    sys.dont_write_bytecode = True
    import dagster
    import dagster_k8s  # noqa: F401  (imported by every module: outside the clock)

    files = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
    errors: dict[str, str] = {}
    jobs = ops = 0
    imported = 0.0
    start = time.perf_counter()
    for i, name in enumerate(files):
        t = time.perf_counter()
        try:
            spec = importlib.util.spec_from_file_location(f"kfm_bench_{i}", os.path.join(folder, name))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            imported += time.perf_counter() - t
            defs = module.defs
            dagster.Definitions.validate_loadable(defs)
            for job in defs.resolve_all_job_defs():
                jobs += 1
                ops += len(job.graph.node_defs)
        except Exception as e:  # reported, not raised: the bench prints them
            errors[name] = f"{type(e).__name__}: {e}"[:300]
    ms = (time.perf_counter() - start) * 1000
    print(json.dumps({"ms": round(ms, 1), "import_ms": round(imported * 1000, 1), "modules": len(files), "jobs": jobs, "ops": ops, "errors": errors}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
