/**
 * How a deployment runs the DAG (`targets.airflow.options` in kfm.config.yaml, or
 * `--option name=value`): where and as whom its pods run, which Airflow pool and queue
 * take its tasks, and whether Airflow pauses it when it first parses the file. Options
 * change deployment, never meaning (README "Deployment options").
 */

/** A JSON value from the config file (a security context is written as Kubernetes spells it). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface AirflowOptions {
  /** The Airflow connection the pods are created through (`kubernetes_conn_id`); null: the provider's `kubernetes_default`. */
  readonly kubernetesConnId: string | null;
  /** The namespace of every pod; null: the connection's, else the worker's own (in cluster), else `default`. */
  readonly namespace: string | null;
  /** `is_paused_upon_creation`: whether Airflow pauses the DAG when it first stores it. */
  readonly pausedOnCreation: boolean;
  /** The ServiceAccount the pods run as (`service_account_name`); null: the namespace's `default`. */
  readonly serviceAccount: string | null;
  /** Secrets (of type kubernetes.io/dockerconfigjson) the kubelet pulls the images with. */
  readonly imagePullSecrets: readonly string[];
  /** The pod `securityContext` of the jobs' pods, as Kubernetes spells it. */
  readonly podSecurityContext: { readonly [key: string]: JsonValue } | null;
  /** The container `securityContext` of the jobs' containers, as Kubernetes spells it. */
  readonly containerSecurityContext: { readonly [key: string]: JsonValue } | null;
  /** The Airflow pool every task takes a slot of; null: `default_pool`. */
  readonly pool: string | null;
  /** The executor queue every task is sent to; null: `[operators] default_queue`. */
  readonly queue: string | null;
}

export const DEFAULT_OPTIONS: AirflowOptions = {
  kubernetesConnId: null,
  namespace: null,
  pausedOnCreation: false,
  serviceAccount: null,
  imagePullSecrets: [],
  podSecurityContext: null,
  containerSecurityContext: null,
  pool: null,
  queue: null,
};
