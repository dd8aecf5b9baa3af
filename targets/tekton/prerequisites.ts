/**
 * What a workflow's Tekton files need on the cluster before they run there (`explain
 * --target tekton`, README "Deploying"): each with the reason, from README.md beside this
 * file.
 */
import type { Workflow } from "../../src/ir.js";
import { kubeName, NOTIFY_CURL_IMAGE, tektonListenerAccount, tektonRunQueueLease, tektonWaiterAccount } from "../../src/names.js";
import { POD_START_SECONDS } from "../../src/limits.js";
import type { Prerequisite } from "../types.js";
import { creatorServiceAccount, emulatesFailure, hasGates, starterServiceAccount, STEP_ACTIONS_FILE } from "./emit.js";
import { KUBECTL_IMAGE, SHELL_IMAGE, withDefaults, type TektonOptions } from "./options.js";

export function prerequisites(ir: Workflow, options?: Partial<TektonOptions>): Prerequisite[] {
  const o = withDefaults(options);
  const out: Prerequisite[] = [
    { kind: "runner", text: "Tekton Pipelines v1.15 or later (the tekton.dev/v1 API) on Kubernetes 1.28 or later." },
    {
      kind: "setting",
      text: `config-defaults \`default-imagepullbackoff-timeout: ${POD_START_SECONDS / 60}m\` (Tekton's default, 0, fails an attempt at its first ImagePullBackOff), so that an attempt whose image cannot be pulled fails after the pod-start bound, as on every target.`,
    },
    {
      kind: "setting",
      text: 'feature-flags `set-security-context: "true"` when the namespace enforces Pod Security `restricted`: Tekton then gives its own init containers a restricted securityContext.',
    },
  ];
  if (ir.schedule?.kind === "event") {
    out.push({
      kind: "runner",
      text: "Tekton Triggers v0.35 or later (checked with v0.35.0): its controller, webhook, core interceptors (the `cel` ClusterInterceptor) and its ClusterRoles, among them tekton-triggers-eventlistener-roles, which the file binds in the namespace.",
    });
    out.push({
      kind: "account",
      text: `A ClusterRoleBinding of the ClusterRole tekton-triggers-eventlistener-clusterroles to the ServiceAccount ${tektonListenerAccount(ir.name)} of the namespace (an EventListener reads ClusterInterceptors and ClusterTriggerBindings; cluster-scoped, so made by a cluster admin, not the file).`,
    });
    out.push({
      kind: "network",
      text: `The object store posts its S3 event notifications for bucket ${ir.schedule.bucket} to the EventListener's Service http://el-${kubeName(ir.name)}.<namespace>:8080 (MinIO: a notify_webhook target and mc event add --event put --prefix ${JSON.stringify(ir.schedule.prefix)}).`,
    });
  }
  if (emulatesFailure(ir)) {
    out.push({
      kind: "setting",
      text: "feature-flags `enable-api-fields` `beta` (Tekton's default) or `alpha`: the failure emulation uses a pipeline task's `onError`.",
    });
  }
  if (emulatesFailure(ir) || ir.jobs.some((j) => j.approval === null && j.retry.maxAttempts > 1)) {
    out.push({
      kind: "runner",
      text: `The folder's \`${STEP_ACTIONS_FILE}\` applied in the same namespace: the helper steps run its StepActions by \`ref\` (README, Tekton, "Shared helper steps").`,
    });
  }
  if (hasGates(ir)) {
    out.push({
      kind: "runner",
      text: "The manual-approval-gate custom task (openshift-pipelines/manual-approval-gate) installed: approval gates are its ApprovalTask.",
    });
  }
  if (ir.schedule?.kind === "cron") {
    out.push(
      o.serviceAccount === undefined
        ? {
            kind: "account",
            text: `Rights to create the ServiceAccount, Role and RoleBinding \`${creatorServiceAccount(ir, o)}\` the file carries (the CronJob's run creator).`,
          }
        : {
            kind: "account",
            text: `The ServiceAccount \`${o.serviceAccount}\`, allowed to create pipelineruns.tekton.dev and get jobs.batch in the namespace${ir.maxActiveRuns === null ? "" : ", and what the run starter may do (below)"}.`,
          },
    );
  }
  if (ir.maxActiveRuns !== null) {
    const starterRights = `get, list and patch pipelineruns.tekton.dev, create leases.coordination.k8s.io, and get and update the Lease \`${tektonRunQueueLease(ir.name)}\``;
    out.push(
      o.starterServiceAccount === undefined
        ? {
            kind: "account",
            text: `Rights to create the ServiceAccount, Role and RoleBinding \`${starterServiceAccount(ir, o)}\` the file carries (the run starter of max_active_runs: ${starterRights}); whoever creates a run file's runs may create Jobs (its starter Job).`,
          }
        : {
            kind: "account",
            text: `The ServiceAccount \`${o.starterServiceAccount}\` (the run starter of max_active_runs), allowed to ${starterRights} in the namespace; whoever creates a run file's runs may create Jobs (its starter Job).`,
          },
    );
  }
  if (ir.upstream.length > 0) {
    out.push({
      kind: "account",
      text: `Rights to create the ServiceAccount, Role and RoleBinding \`${tektonWaiterAccount(ir.name)}\` the file carries (the upstream waits: get pipelineruns.tekton.dev); the upstream workflows' runs in the same namespace.`,
    });
  }
  if (o.taskServiceAccount !== undefined) out.push({ kind: "account", text: `The ServiceAccount \`${o.taskServiceAccount}\` the TaskRun pods run as.` });
  for (const s of o.imagePullSecrets) out.push({ kind: "secret", text: `The image pull Secret \`${s}\` (kubernetes.io/dockerconfigjson).` });
  const secrets = new Map<string, Set<string>>();
  const add = (secret: string, key: string) => secrets.set(secret, (secrets.get(secret) ?? new Set()).add(key));
  for (const j of ir.jobs) for (const e of j.env) if (!("value" in e)) add(e.secretRef.secret, e.secretRef.key);
  for (const n of ir.notifications) n.kind === "slack" ? add(n.webhook.secret, n.webhook.key) : add(n.smtp.secret, n.smtp.key);
  for (const [s, keys] of [...secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({
      kind: "secret",
      text: `The Secret \`${s}\` with the key${keys.size > 1 ? "s" : ""} ${[...keys]
        .sort()
        .map((k) => `\`${k}\``)
        .join(", ")}.`,
    });
  }
  const images = [
    o.shellImage ?? SHELL_IMAGE,
    ...(ir.schedule?.kind === "cron" || ir.maxActiveRuns !== null || ir.upstream.length > 0 ? [o.kubectlImage ?? KUBECTL_IMAGE] : []),
    ...(ir.notifications.length > 0 ? [o.curlImage ?? NOTIFY_CURL_IMAGE] : []),
  ];
  out.push({ kind: "image", text: `The helper images ${images.map((i) => `\`${i}\``).join(", ")} pullable by the nodes, and every job's image.` });
  if (ir.notifications.length > 0) out.push({ kind: "network", text: "The notification pods reach the Slack webhook or SMTP server named in their Secrets." });
  return out;
}
