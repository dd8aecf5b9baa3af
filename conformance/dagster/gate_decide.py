"""Runs a generated module's approval gate against a real Kubernetes API server.

Usage: python gate_decide.py < input.json

input.json: {"module", "gate" (the op's name), "namespace", "server", "token" (a
ServiceAccount token: the code location's identity), "kubectl", "kubeconfig", "reviewer"
(the user a person decides as, impersonated with --as), "decisions": ["approve", ...]}.

For each decision, the job is run with Dagster's engine on the gate's op alone
(`execute_in_process(op_selection=[gate])`, a run with its own run id) and the module's
own `KfmApproval(namespace=...)` as the `kfm_approval` resource, its in-cluster
configuration being the server and token (what `kubernetes.config.load_incluster_config`
reads inside a pod). Meanwhile a reviewer
lists the pending gates and decides with the commands the README gives:
`kubectl get configmaps -l kfm-compile.dev/gate` and `kubectl annotate configmap <name>
kfm-compile.dev/decision=<decision>` ("none": never). Prints, per decision, how the op
ended, after how many seconds, and the gate's ConfigMap as the server stored it.
"""

import json
import subprocess
import sys
import threading
import time

import kubernetes
from dagster._core.code_pointer import load_python_file


def kubectl(inp, *args):
    return subprocess.run(
        [
            inp["kubectl"],
            "--kubeconfig",
            inp["kubeconfig"],
            "--as",
            inp["reviewer"],
            "-n",
            inp["namespace"],
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def reviewer(inp, decision, seen, found, done):
    """Waits for a new pending gate, then decides on it (or, for "none", never)."""
    try:
        while not done.is_set():
            names = kubectl(
                inp, "get", "configmaps", "-l", "kfm-compile.dev/gate", "-o", "name"
            ).split()
            new = [n for n in names if n not in seen]
            if new:
                seen.update(new)
                found.append(new[0])
                if decision != "none":
                    kubectl(
                        inp, "annotate", new[0], f"kfm-compile.dev/decision={decision}"
                    )
                return
            time.sleep(0.5)
    except Exception as error:  # noqa: BLE001
        found.append(f"the reviewer failed: {error!r} {getattr(error, 'stderr', '')}")


def main():
    inp = json.load(sys.stdin)

    def in_cluster():
        config = kubernetes.client.Configuration()
        config.host = inp["server"]
        config.api_key = {"authorization": "Bearer " + inp["token"]}
        config.verify_ssl = False
        kubernetes.client.Configuration.set_default(config)

    kubernetes.config.load_incluster_config = in_cluster
    module = load_python_file(inp["module"], working_directory=None)
    (job,) = module.defs.get_repository_def().get_all_jobs()
    seen = set()
    out = []
    for decision in inp["decisions"]:
        done = threading.Event()
        found = []
        thread = threading.Thread(
            target=reviewer, args=(inp, decision, seen, found, done)
        )
        thread.start()
        resource = module.KfmApproval(namespace=inp["namespace"])
        start = time.monotonic()
        result = job.execute_in_process(
            op_selection=[inp["gate"]],
            resources={"kfm_approval": resource},
            raise_on_error=False,
        )
        seconds = time.monotonic() - start
        done.set()
        thread.join()
        failures = [
            e.event_specific_data.error.message.strip()
            for e in result.all_events
            if e.is_step_failure
        ]
        out.append(
            {
                "decision": decision,
                "run_id": result.run_id,
                "success": result.success,
                "failures": failures,
                "seconds": seconds,
                "config_maps": [
                    json.loads(kubectl(inp, "get", name, "-o", "json"))
                    for name in found
                    if name.startswith("configmap/")
                ],
                "reviewer_errors": [n for n in found if not n.startswith("configmap/")],
            }
        )
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
