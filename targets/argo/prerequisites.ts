/**
 * What one spec needs on an Argo Workflows installation before its file runs there
 * (`explain --target argo`; README "Deploying", "Argo Workflows"). Every item follows from
 * the output: the account its pods use, the Secrets and images it names, where its
 * notifications send.
 */
import type { Workflow } from "../../src/ir.js";
import { ARGO_EVENT_NAME, ARGO_EVENT_PORT, argoExecutorAccountName, kubeName, NOTIFY_CURL_IMAGE } from "../../src/names.js";
import type { Prerequisite } from "../types.js";
import { DEFAULT_OPTIONS, type ArgoOptions } from "./options.js";

export function prerequisites(ir: Workflow, options: ArgoOptions = DEFAULT_OPTIONS): Prerequisite[] {
  const out: Prerequisite[] = [
    {
      kind: "runner",
      text: "Argo Workflows v4.0 (checked with v4.0.7) or 3.7, its CRDs, and a workflow controller that watches the namespace the file is applied to.",
    },
  ];
  const account = options.serviceAccount ?? argoExecutorAccountName(ir.name);
  out.push(
    options.serviceAccount === undefined
      ? {
          kind: "account",
          text:
            ir.upstream.length === 0
              ? `Whoever applies the file may create ServiceAccounts, Roles and RoleBindings in the namespace and holds create and patch on workflowtaskresults.argoproj.io itself: the file creates the account ${account}, allowed only those two.`
              : `Whoever applies the file may create ServiceAccounts, Roles and RoleBindings in the namespace and holds create and patch on workflowtaskresults.argoproj.io and get on workflows.argoproj.io itself: the file creates the account ${account}, allowed only those.`,
        }
      : {
          kind: "account",
          text: `The ServiceAccount ${account} exists in the namespace and may create and patch workflowtaskresults.argoproj.io (Argo's executor)${ir.upstream.length > 0 ? " and get workflows.argoproj.io (the waits for upstream runs)" : ""}, plus read the artifact repository's Secret if the controller archives logs.`,
        },
  );
  out.push({
    kind: "setting",
    text: "In a namespace that enforces Pod Security restricted: the controller's executor setting (workflow-controller-configmap) carries a restricted securityContext for its init and wait containers, and the podSecurityContext and securityContext options make the job pods restricted.",
  });
  for (const u of ir.upstream) {
    out.push({
      kind: "setting",
      text: `The workflow ${u.workflow} compiled for argo and applied in the same namespace, on a schedule with this run's slots: a scheduled run waits for its CronWorkflow's run of the same slot, a manual run for its backfill run of the same logical date (kfm-compile backfill).`,
    });
  }
  const secrets = new Map<string, Set<string>>();
  const add = (secret: string, key: string) => secrets.set(secret, (secrets.get(secret) ?? new Set()).add(key));
  for (const job of ir.jobs) for (const e of job.env) if ("secretRef" in e) add(e.secretRef.secret, e.secretRef.key);
  for (const n of ir.notifications) (n.kind === "slack" ? [n.webhook] : [n.smtp]).forEach((r) => add(r.secret, r.key));
  for (const [secret, keys] of [...secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({ kind: "secret", text: `The Secret ${secret} with the key${keys.size > 1 ? "s" : ""} ${[...keys].sort().join(", ")} in the namespace.` });
  }
  const images = [...new Set(ir.jobs.filter((j) => j.approval === null).map((j) => j.image))].sort();
  if (images.length > 0) {
    const pull = options.imagePullSecrets.length > 0 ? ` (pulled with ${options.imagePullSecrets.join(", ")})` : "";
    out.push({ kind: "image", text: `The nodes can pull ${images.join(", ")}${pull}.` });
  }
  if (ir.jobs.some((j) => j.approval === null && j.command === null)) {
    out.push({
      kind: "image",
      text: "A job without a command: the controller looks its image's entrypoint up in the registry (or in its images setting), so it needs read access to that registry.",
    });
  }
  if (ir.notifications.length > 0) {
    out.push({ kind: "image", text: `The nodes can pull ${options.notifyImage ?? NOTIFY_CURL_IMAGE}, which sends the failure notifications.` });
    const where = ir.notifications.map((n) =>
      n.kind === "slack" ? `the Slack webhook in Secret ${n.webhook.secret}` : `the SMTP server in Secret ${n.smtp.secret}`,
    );
    out.push({ kind: "network", text: `The notification pods reach ${[...new Set(where)].join(" and ")}.` });
  }
  if (ir.schedule?.kind === "event") {
    const service = `${kubeName(ir.name)}-eventsource-svc`;
    out.push({
      kind: "runner",
      text: "Argo Events v1.9 (checked with v1.9.10): its controller and CRDs (EventSource, Sensor, EventBus) watching the namespace, and an EventBus named default in it.",
    });
    out.push({
      kind: "network",
      text: `The object store posts its S3 event notifications for bucket ${ir.schedule.bucket} to http://${service}.<namespace>:${ARGO_EVENT_PORT}/${ARGO_EVENT_NAME} (MinIO: a notify_webhook target and mc event add --event put --prefix ${JSON.stringify(ir.schedule.prefix)}).`,
    });
  }
  out.push({
    kind: "runner",
    text: "Argo v4.0 does not bound a pod that cannot start (missing Secret or key, image that cannot be pulled, no node): such an attempt waits, or fails at the job's timeout once its pod reached a node. Watch for Pending nodes.",
  });
  return out;
}
