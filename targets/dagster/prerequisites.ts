/**
 * What one spec needs on a Dagster deployment before its module runs there (`explain
 * --target dagster`): the packages, the daemon and run monitoring, the namespace and what the
 * code location's identity may do in it, every Secret and key and image the spec names.
 * README "Deploying" says why each is needed.
 */
import type { Workflow } from "../../src/ir.js";
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";
import type { Prerequisite } from "../types.js";
import { LOGICAL_DATE_TAG, QUEUE_TAG, jobFunction } from "./emit.js";
import { DEFAULT_OPTIONS, type DagsterOptions } from "./options.js";

export function prerequisites(ir: Workflow, o: DagsterOptions = DEFAULT_OPTIONS): Prerequisite[] {
  const needs: Prerequisite[] = [];
  needs.push({ kind: "runner", text: "Dagster 1.13 with dagster-k8s 0.29 in the code location's environment, on Python 3.11 or later" });
  needs.push({ kind: "runner", text: "runs executing in the cluster (execute_k8s_job loads the in-cluster Kubernetes configuration)" });
  if (ir.schedule !== null) needs.push({ kind: "setting", text: "the Dagster daemon running, so that the schedule's ticks start runs" });
  if (ir.schedule?.kind === "cron" && ir.schedule.catchup)
    needs.push({
      kind: "setting",
      text: "sensor runs submitted one by one (dagster.yaml `sensors: use_threads` off, the default), so that the catch-up sensor's runs start oldest first",
    });
  if (ir.notifications.length > 0)
    needs.push({ kind: "setting", text: "the Dagster daemon running, so that the run failure sensor starts the notification runs" });
  if (ir.timeoutSeconds !== null)
    needs.push({
      kind: "setting",
      text: "run monitoring enabled in dagster.yaml (`run_monitoring: enabled: true`), which enforces the dagster/max_runtime tag",
    });
  const queue = queuePrerequisite(ir);
  if (queue !== null) needs.push(queue);
  // README.md "Cross-workflow dependencies": the wait op reads the instance's own run storage.
  for (const u of ir.upstream)
    needs.push({
      kind: "runner",
      text: `workflow ${u.workflow} compiled for dagster and deployed to the same Dagster instance (its job ${jobFunction(u.workflow)}), with its runs tagged ${LOGICAL_DATE_TAG} as its schedule and kfm-compile backfill tag them`,
    });
  const ns = o.namespace === undefined ? "the run launcher's job namespace (else the run pod's own)" : `namespace "${o.namespace}"`;
  needs.push({
    kind: "account",
    text: `${ns}, where the code location's identity may create, get, list, watch and delete jobs and get, list and watch pods and pods/log`,
  });
  if (ir.jobs.some((j) => j.approval !== null))
    needs.push({
      kind: "account",
      text: `${ns}, where the code location's identity may create and get configmaps (approval gates), and the people who decide may get, list and patch them (\`kubectl annotate\`)`,
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

/**
 * The instance's `run_coordinator` entry in dagster.yaml for max_active_runs, as one line of YAML
 * (flow style) an operator pastes or merges: the QueuedRunCoordinator with a
 * `tag_concurrency_limits` entry for the job's run tag and the workflow's name
 * (`dagster/_core/run_coordinator/queued_run_coordinator.py` `config_type`). A limit with a string
 * `value` counts only the runs with that key-value pair (`dagster/_utils/tags.py`
 * TagConcurrencyLimitsCounter), so each workflow has its own limit; `applyLimitPerUniqueValue`
 * would give every workflow the same one.
 */
export function queueRunCoordinator(ir: Workflow): string | null {
  if (ir.maxActiveRuns === null) return null;
  const limit = `{key: ${JSON.stringify(QUEUE_TAG)}, value: ${JSON.stringify(ir.name)}, limit: ${ir.maxActiveRuns}}`;
  return `run_coordinator: {module: dagster._core.run_coordinator, class: QueuedRunCoordinator, config: {tag_concurrency_limits: [${limit}]}}`;
}

/** max_active_runs: the run queue's limit, held by the instance (README "Concurrency"). */
function queuePrerequisite(ir: Workflow): Prerequisite | null {
  const block = queueRunCoordinator(ir);
  if (block === null) return null;
  return {
    kind: "setting",
    text:
      `the instance's QueuedRunCoordinator limiting runs tagged ${QUEUE_TAG}=${ir.name} to ${ir.maxActiveRuns} at once, with the Dagster daemon running to start queued runs: ` +
      `in dagster.yaml \`${block}\` (one list entry per workflow; the DefaultRunCoordinator launches every run at once and ignores the tag)`,
  };
}
