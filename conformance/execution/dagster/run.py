"""Run a generated Dagster module through Dagster's own engine, following a scenario.

Usage (inside the conformance Dagster venv; see README.md next to this file):

    python conformance/execution/dagster/run.py MODULE.py SCENARIO.json OBSERVED.json

The module is loaded as Dagster's CLI loads it (`load_python_file`) and its one job is
run by `JobDefinition.execute_in_process` (the in-process executor: Dagster's own plan,
step ordering, skip and abandon rules, `RetryRequested` handling and retry waits, on the
real clock), with the run tagged with the scenario's logical date, and the `kfm_launcher`
resource replaced by a stub standing for the Kubernetes Job that execute_k8s_job would
create. The stub reads the container's env (non-secret values, after the kubelet's
`$(VAR)` and `$$` expansion), command and args, looks up its outcome by KFM_JOB and
KFM_ATTEMPT, records what it was given, and succeeds, fails (raises, as execute_k8s_job
raises for a failed Job), or hangs until the attempt's `timeout` passes and then raises
as execute_k8s_job does ("Timed out waiting for pod to finish"). Approval gates run the
module's own KfmApproval against a stand-in for the Kubernetes API (FakeCoreV1Api) whose
reviewer follows the scenario. Writes an `Observed`
(src/execution.ts) as JSON, or {"error": ...}.
"""

import json
import re
import sys
import threading
import time
import traceback

import dagster
import kubernetes
from dagster import DagsterEventType
from dagster._core.code_pointer import load_python_file

LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date"
JOB_TAG = "kfm-compile.dev/job"
GATE_LABEL = "kfm-compile.dev/gate"
DECISION_ANNOTATION = "kfm-compile.dev/decision"


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


def main(module_path, scenario_path, observed_path):
    try:
        with open(scenario_path) as f:
            scenario = json.load(f)
        defs = load_python_file(module_path, working_directory=None).defs
        (job,) = defs.get_repository_def().get_all_jobs()
        spec_of = {n.name: n.tags[JOB_TAG] for n in job.graph.node_defs}
        gate_specs = {spec.replace("_", "-"): spec for spec in spec_of.values()}
        api = FakeCoreV1Api(scenario, gate_specs)
        kubernetes.config.load_incluster_config = lambda: None
        kubernetes.client.CoreV1Api = lambda: api
        start = time.monotonic()
        launcher = StubLauncher(scenario, start)
        result = job.execute_in_process(
            resources={"kfm_launcher": launcher},
            tags={LOGICAL_DATE_TAG: scenario["logicalDate"]},
            raise_on_error=False,
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
            "notifications": [],
        }
    except Exception:  # noqa: BLE001
        observed = {"error": traceback.format_exc()}
    with open(observed_path, "w") as f:
        json.dump(observed, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
