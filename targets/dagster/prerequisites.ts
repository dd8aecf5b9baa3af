/**
 * What one spec needs on a Dagster deployment before its module runs there (`explain
 * --target dagster`): the packages, the daemon and run monitoring, the namespace and what the
 * code location's identity may do in it, every Secret and key and image the spec names.
 * README "Deploying" says why each is needed.
 */
import type { Workflow } from "../../src/ir.js";
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";
import type { Prerequisite } from "../types.js";
import { DEFAULT_OPTIONS, type DagsterOptions } from "./options.js";

export function prerequisites(ir: Workflow, o: DagsterOptions = DEFAULT_OPTIONS): Prerequisite[] {
  const needs: Prerequisite[] = [];
  needs.push({ kind: "runner", text: "Dagster 1.13 with dagster-k8s 0.29 in the code location's environment, on Python 3.11 or later" });
  needs.push({ kind: "runner", text: "runs executing in the cluster (execute_k8s_job loads the in-cluster Kubernetes configuration)" });
  if (ir.schedule !== null) needs.push({ kind: "setting", text: "the Dagster daemon running, so that the schedule's ticks start runs" });
  if (ir.notifications.length > 0)
    needs.push({ kind: "setting", text: "the Dagster daemon running, so that the run failure sensor starts the notification runs" });
  if (ir.timeoutSeconds !== null)
    needs.push({
      kind: "setting",
      text: "run monitoring enabled in dagster.yaml (`run_monitoring: enabled: true`), which enforces the dagster/max_runtime tag",
    });
  const ns = o.namespace === undefined ? "the run launcher's job namespace (else the run pod's own)" : `namespace "${o.namespace}"`;
  needs.push({
    kind: "account",
    text: `${ns}, where the code location's identity may create, get, list, watch and delete jobs and get, list and watch pods and pods/log`,
  });
  if (o.serviceAccount !== undefined) needs.push({ kind: "account", text: `ServiceAccount "${o.serviceAccount}" in ${ns}` });
  const secrets = new Map<string, Set<string>>();
  for (const job of ir.jobs)
    for (const e of job.env)
      if ("secretRef" in e) (secrets.get(e.secretRef.secret) ?? secrets.set(e.secretRef.secret, new Set()).get(e.secretRef.secret)!).add(e.secretRef.key);
  for (const n of ir.notifications) {
    const r = n.kind === "slack" ? n.webhook : n.smtp;
    (secrets.get(r.secret) ?? secrets.set(r.secret, new Set()).get(r.secret)!).add(r.key);
  }
  for (const [secret, keys] of secrets) {
    const list = [...keys].map((k) => `"${k}"`).join(", ");
    needs.push({ kind: "secret", text: `Secret "${secret}" in ${ns} with key${keys.size > 1 ? "s" : ""} ${list}` });
  }
  for (const image of new Set(ir.jobs.filter((j) => j.approval === null).map((j) => j.image)))
    needs.push({ kind: "image", text: `image "${image}", pullable by the cluster's nodes` });
  if (ir.notifications.length > 0) {
    needs.push({ kind: "image", text: `image "${NOTIFY_CURL_IMAGE}", pullable by the cluster's nodes: it sends the failure notifications` });
    const where = ir.notifications.map((n) => (n.kind === "slack" ? "the Slack webhook" : "the SMTP server"));
    needs.push({ kind: "network", text: `the notification pods reach ${[...new Set(where)].join(" and ")}` });
  }
  return needs;
}
