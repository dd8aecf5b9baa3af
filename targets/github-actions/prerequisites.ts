/**
 * What a spec needs on GitHub before its workflow runs (README.md beside this file,
 * "Deploying"): the runner, the shared workflows beside it, each GitHub secret it reads
 * and each environment its approval gates wait on. A pure function of the IR and the
 * options, for `explain --target`.
 */
import type { Workflow } from "../../src/ir.js";
import { githubApprovalEnvironment, githubSecretName } from "../../src/names.js";
import { POD_START_SECONDS } from "../../src/limits.js";
import { sharedFiles } from "./emit.js";
import type { GithubActionsOptions } from "./options.js";

/** One thing the runner must have: its kind, its name, and why this spec needs it. */
export interface GithubPrerequisite {
  readonly kind: "runner" | "file" | "secret" | "environment" | "registry";
  readonly name: string;
  readonly why: string;
}

export function prerequisites(ir: Workflow, options: GithubActionsOptions): GithubPrerequisite[] {
  const out: GithubPrerequisite[] = [];
  const labels = options.runsOn.join(", ");
  out.push({
    kind: "runner",
    name: labels,
    why: "a Linux runner with these labels, Docker, GNU timeout, bash 4.4+ and python3 3.9+ with zoneinfo (ubuntu-24.04 has them); GitHub-hosted runners cannot reach a private network",
  });
  for (const f of sharedFiles([ir], options))
    out.push({ kind: "file", name: `.github/workflows/${f.path}`, why: "the shared reusable workflow this workflow calls, committed beside it" });
  const secrets = new Map<string, string>();
  for (const job of ir.jobs) {
    for (const e of job.env) {
      if ("secretRef" in e)
        secrets.set(githubSecretName(e.secretRef.secret, e.secretRef.key), `job ${job.name}: ${e.name} (secret ${e.secretRef.secret}, key ${e.secretRef.key})`);
    }
  }
  for (const n of ir.notifications) {
    const ref = n.kind === "email" ? n.smtp : n.webhook;
    secrets.set(githubSecretName(ref.secret, ref.key), `the ${n.kind} failure notification (secret ${ref.secret}, key ${ref.key})`);
  }
  for (const [name, why] of [...secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({ kind: "secret", name, why: `${why}; a missing one fails each attempt within ${POD_START_SECONDS} s` });
  }
  if (options.registry !== null && options.registryPasswordSecret !== null) {
    out.push({
      kind: "registry",
      name: options.registry,
      why: `docker login as ${options.registryUsername ?? ""} with the secret ${options.registryPasswordSecret}`,
    });
    out.push({ kind: "secret", name: options.registryPasswordSecret, why: `the password or token of the registry ${options.registry}` });
  }
  for (const job of ir.jobs) {
    if (job.approval === null) continue;
    out.push({
      kind: "environment",
      name: githubApprovalEnvironment(ir.name, job.name),
      why: `approval gate ${job.name}: an environment with required reviewers (without them the gate fails closed)`,
    });
  }
  return out;
}
