/**
 * What a spec needs on GitHub before its workflow runs (README.md beside this file,
 * "Deploying"): the runner, the shared workflows beside it, each GitHub secret it reads
 * and each environment its approval gates wait on. A pure function of the IR and the
 * options, for `explain --target`.
 */
import type { Workflow } from "../../src/ir.js";
import { POD_START_SECONDS } from "../../src/limits.js";
import { githubApprovalEnvironment, githubDispatchType, githubSecretName } from "../../src/names.js";
import type { Prerequisite } from "../types.js";
import { sharedFiles } from "./emit.js";
import { DEFAULT_OPTIONS, registryLogin, type GithubActionsOptions } from "./options.js";

export function prerequisites(ir: Workflow, options: GithubActionsOptions = DEFAULT_OPTIONS): Prerequisite[] {
  const out: Prerequisite[] = [];
  out.push({
    kind: "runner",
    text: `A Linux runner with the labels ${options.runsOn.join(", ")}: Docker usable by the runner user, GNU timeout, bash 4.4+, python3 3.9+ with zoneinfo (ubuntu-24.04 has them).`,
  });
  out.push({
    kind: "network",
    text: "The runner reaches every image's registry and whatever the jobs call; GitHub-hosted runners cannot reach a private network such as a cluster's *.svc.cluster.local.",
  });
  if (ir.maxActiveRuns !== null) {
    out.push({
      kind: "network",
      text: "The runner reaches the GitHub REST API (GITHUB_API_URL): kfm-context reads when each scheduled run was created, since its runs queue (max_active_runs).",
    });
  }
  out.push({
    kind: "setting",
    text: `The shared workflows ${sharedFiles(options)
      .map((f) => f.name)
      .join(", ")} committed in .github/workflows/ beside this workflow, and Actions with reusable workflows allowed for the repository.`,
  });
  if (ir.schedule?.kind === "event") {
    out.push({
      kind: "setting",
      text: `A relay posting each S3 event notification of bucket ${ir.schedule.bucket} as POST /repos/{owner}/{repo}/dispatches with event_type ${githubDispatchType(ir.name)} and the notification body ({"Records": [...]}) as client_payload, with a token holding Contents: read and write on the repository (or a classic token with repo); GitHub runs it from the default branch.`,
    });
  }
  const secrets = new Map<string, string>();
  for (const job of ir.jobs) {
    for (const e of job.env) {
      if (!("secretRef" in e)) continue;
      const name = githubSecretName(e.secretRef.secret, e.secretRef.key);
      if (!secrets.has(name)) secrets.set(name, `job ${job.name} (${e.name}; spec secret ${e.secretRef.secret}, key ${e.secretRef.key})`);
    }
  }
  for (const n of ir.notifications) {
    const ref = n.kind === "email" ? n.smtp : n.webhook;
    const name = githubSecretName(ref.secret, ref.key);
    if (!secrets.has(name)) secrets.set(name, `the ${n.kind} failure notification (spec secret ${ref.secret}, key ${ref.key})`);
  }
  for (const [name, user] of [...secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push({
      kind: "secret",
      text: `The repository or organisation secret ${name}, read by ${user}; a missing one fails each attempt within ${POD_START_SECONDS} s.`,
    });
  }
  const login = registryLogin(options);
  if (login !== null) {
    out.push({ kind: "secret", text: `The secret ${login.passwordSecret}: the password or token of ${login.username} at ${login.server}.` });
    out.push({ kind: "image", text: `Images of ${login.server} are pulled after docker login as ${login.username}; other images must be public.` });
  } else {
    out.push({ kind: "image", text: "Every image is pulled without credentials (set the registry options for private images)." });
  }
  for (const job of ir.jobs) {
    if (job.approval === null) continue;
    out.push({
      kind: "environment",
      text: `The environment ${githubApprovalEnvironment(ir.name, job.name)} with required reviewers, for the approval gate ${job.name} (without them the gate fails closed).`,
    });
  }
  return out;
}
