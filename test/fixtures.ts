/** IR builders for backend unit tests: a valid workflow with every default, changed only where a test says so. */
import type { CronSchedule, Job, Retry, Workflow } from "../src/ir.js";

export const NO_RETRY: Retry = { maxAttempts: 1, delaySeconds: 0, multiplier: 1, maxDelaySeconds: null };

export function jobFixture(name: string, over: Partial<Job> = {}, workflow = "daily_sales"): Job {
  return {
    at: ["workflow", "jobs", 0, "job"],
    name,
    description: null,
    image: "lakehouse/ingest:1.2.0",
    command: null,
    args: null,
    env: [
      { name: "KFM_WORKFLOW", value: [{ text: workflow }] },
      { name: "KFM_JOB", value: [{ text: name }] },
      { name: "KFM_LOGICAL_DATE", value: [{ variable: "ts" }] },
      { name: "KFM_ATTEMPT", value: [{ variable: "attempt" }] },
      { name: "KFM_RUN_TOKEN", value: [{ variable: "run_token" }] },
    ],
    resources: { cpu: null, memory: null },
    retry: NO_RETRY,
    timeoutSeconds: null,
    dependsOn: [],
    runWhen: "all_succeeded",
    prerequisite: false,
    approval: null,
    ...over,
  };
}

/** Daily at 02:00 UTC, no window, no catch-up. */
export function cronFixture(over: Partial<CronSchedule> = {}): CronSchedule {
  return {
    kind: "cron",
    at: ["workflow", "schedule"],
    cron: "0 2 * * *",
    timezone: "UTC",
    start: null,
    end: null,
    catchup: false,
    periodSeconds: 86400,
    fromInterval: false,
    ...over,
  };
}

export function irFixture(over: Partial<Workflow> = {}, firstJob = "extract_sales"): Workflow {
  return {
    at: ["workflow"],
    name: "daily_sales",
    description: null,
    schedule: null,
    timeoutSeconds: null,
    maxActiveRuns: null,
    runTokenSeed: "kfm-run-token/v1\ndaily_sales\n0000\n",
    jobs: [jobFixture(firstJob)],
    upstream: [],
    notifications: [],
    source: { path: "specs/daily_sales.yaml", digest: "sha256:0000" },
    ...over,
  };
}
