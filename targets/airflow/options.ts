/**
 * The deployment options of this backend (`targets.airflow.options` in kfm.config.yaml,
 * `--option name=value`): how a workflow is deployed, never what it means. README.md
 * beside this file ("Deploying") says what each one changes in the output: every one but
 * `pausedOnCreation` is written once, as the DAG's `default_args`.
 */
import type { OptionDecls, OptionValues } from "../../src/options.js";
import { option } from "../../src/options.js";
import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from "../kubernetes.js";

/** What Airflow takes as a connection id, pool or queue name (`sdk/definitions/_internal/node.py` `validate_key`'s characters). */
const AIRFLOW_KEY = /^[A-Za-z0-9_.-]{1,250}$/;
const AIRFLOW_KEY_TEXT = "letters, digits, `_`, `.` and `-` (at most 250)";

export const OPTIONS = {
  kubernetesConnId: option.string({
    description:
      "The Airflow connection (type Kubernetes) the pods are created through (`kubernetes_conn_id`). Default: none written, so the provider's `kubernetes_default`.",
    pattern: AIRFLOW_KEY,
    patternText: `an Airflow connection id: ${AIRFLOW_KEY_TEXT}`,
  }),
  namespace: option.string({
    description:
      "The namespace every pod runs in (`namespace`). Default: none written, so the connection's `namespace`, else the worker's own when in cluster, else `default`.",
    pattern: DNS1123_LABEL,
    patternText: "a Kubernetes namespace name (lower-case letters, digits and `-`, at most 63)",
  }),
  pausedOnCreation: option.boolean({
    description:
      "Whether Airflow pauses the DAG when it first stores it (`is_paused_upon_creation`). Default: false, so a deployed schedule runs, as on the other targets.",
    default: false,
  }),
  serviceAccount: option.string({
    description: "An existing ServiceAccount the pods run as (`service_account_name`). Default: none written, so the namespace's `default`.",
    pattern: DNS1123_LABEL,
    patternText: "a ServiceAccount name (lower-case letters, digits and `-`, at most 63)",
  }),
  imagePullSecrets: option.strings({
    description:
      "Secrets (type kubernetes.io/dockerconfigjson) the pods pull their images with, from a private registry (`image_pull_secrets`). Default: none.",
    pattern: DNS1123_SUBDOMAIN,
    patternText: "a Secret name (a DNS-1123 subdomain)",
  }),
  podSecurityContext: option.mapping({
    description:
      "The pod `securityContext` of the job pods (runAsUser, runAsNonRoot, seccompProfile, ...), as Kubernetes spells it (`security_context`). Default: none, so the image's user; a `restricted` namespace needs this and `containerSecurityContext`.",
  }),
  containerSecurityContext: option.mapping({
    description:
      "The container `securityContext` of the job containers (allowPrivilegeEscalation, capabilities, ...), as Kubernetes spells it (`container_security_context`). Default: none.",
  }),
  pool: option.string({
    description: "The Airflow pool every task takes a slot of (`pool`). Default: none written, so `default_pool`.",
    pattern: AIRFLOW_KEY,
    patternText: `an Airflow pool name: ${AIRFLOW_KEY_TEXT}`,
  }),
  queue: option.string({
    description: "The executor queue every task is sent to (`queue`). Default: none written, so `[operators] default_queue`.",
    pattern: AIRFLOW_KEY,
    patternText: `an executor queue name: ${AIRFLOW_KEY_TEXT}`,
  }),
} satisfies OptionDecls;

export type AirflowOptions = OptionValues<typeof OPTIONS>;

/** Every option at its default: what a spec compiled with no config gets. */
export const DEFAULT_OPTIONS: AirflowOptions = Object.fromEntries(Object.entries(OPTIONS).map(([k, d]) => [k, d.default])) as AirflowOptions;

/** A JSON value of a mapping option (a security context), as the config file gives it. */
export type { JsonValue } from "../python.js";
