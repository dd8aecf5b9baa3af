/**
 * What one spec needs on an Airflow deployment before its DAG file runs there (`explain
 * --target airflow`): the runner and provider, the connection, the namespace and what the
 * connection's identity may do in it, every Secret and key, image and account the spec or
 * the options name, and what approval gates, cross-workflow dependencies and notifications
 * need. README "Deploying" says why each is needed.
 */
import type { Workflow } from "../../src/ir.js";
import { NOTIFY_CURL_IMAGE, airflowId } from "../../src/names.js";
import type { Prerequisite } from "../types.js";
import { windowStart } from "./emit.js";
import { DEFAULT_OPTIONS, type AirflowOptions } from "./options.js";

export function prerequisites(ir: Workflow, o: AirflowOptions = DEFAULT_OPTIONS): Prerequisite[] {
  const needs: Prerequisite[] = [];
  const standard = ir.jobs.some((j) => j.approval !== null) || ir.upstream.length > 0 || ir.notifications.length > 0 || windowStart(ir) !== null;
  needs.push({
    kind: "runner",
    text: `Airflow 3.3 or later with apache-airflow-providers-cncf-kubernetes 10.5.0 or later${standard ? " and apache-airflow-providers-standard" : ""}`,
  });
  const conn = o.kubernetesConnId ?? "kubernetes_default";
  needs.push({ kind: "setting", text: `Airflow connection "${conn}" (type Kubernetes) that reaches the cluster` });
  const ns = o.namespace === undefined ? "the connection's namespace" : `namespace "${o.namespace}"`;
  needs.push({
    kind: "account",
    text: `${ns}, where the connection's identity may create, get, list, watch, patch and delete pods, get pods/log and list events`,
  });
  if (o.serviceAccount !== undefined) needs.push({ kind: "account", text: `ServiceAccount "${o.serviceAccount}" in ${ns}` });
  const secrets = new Map<string, Set<string>>();
  const add = (secret: string, key: string): void => void (secrets.get(secret) ?? secrets.set(secret, new Set()).get(secret)!).add(key);
  for (const job of ir.jobs) for (const e of job.env) if ("secretRef" in e) add(e.secretRef.secret, e.secretRef.key);
  for (const n of ir.notifications) {
    const ref = n.kind === "slack" ? n.webhook : n.smtp;
    add(ref.secret, ref.key);
  }
  for (const [secret, keys] of secrets) {
    const list = [...keys].map((k) => `"${k}"`).join(", ");
    needs.push({ kind: "secret", text: `Secret "${secret}" in ${ns} with key${keys.size > 1 ? "s" : ""} ${list}` });
  }
  for (const s of o.imagePullSecrets) needs.push({ kind: "secret", text: `Secret "${s}" in ${ns} of type kubernetes.io/dockerconfigjson (image pull)` });
  const images = new Set(ir.jobs.filter((j) => j.approval === null).map((j) => j.image));
  if (ir.notifications.length > 0) images.add(NOTIFY_CURL_IMAGE);
  for (const image of images) needs.push({ kind: "image", text: `image "${image}", pullable by the cluster's nodes` });
  if (o.pool !== undefined) needs.push({ kind: "setting", text: `Airflow pool "${o.pool}"` });
  if (o.queue !== undefined) needs.push({ kind: "setting", text: `workers that listen on executor queue "${o.queue}"` });
  for (const u of ir.upstream) needs.push({ kind: "setting", text: `DAG "${airflowId(u.workflow)}" deployed in the same Airflow, on the same schedule` });
  if (ir.jobs.some((j) => j.approval !== null))
    needs.push({ kind: "account", text: "users who may answer approval requests (Airflow's Required Actions, human-in-the-loop)" });
  for (const n of ir.notifications)
    needs.push({
      kind: "network",
      text: `network reach from ${ns} to the ${n.kind === "slack" ? "Slack webhook" : "SMTP server"} in Secret "${(n.kind === "slack" ? n.webhook : n.smtp).secret}"`,
    });
  return needs;
}
