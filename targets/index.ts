/** The one list of backends. A new backend is a folder beside this file and one line here. */
import type { Target } from "./types.js";
import { airflow } from "./airflow/index.js";
import { argo } from "./argo/index.js";
import { tekton } from "./tekton/index.js";
import { githubActions } from "./github-actions/index.js";
import { dagster } from "./dagster/index.js";

export const TARGETS: readonly Target[] = [airflow, argo, tekton, githubActions, dagster];

export function findTarget(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}

export type { Target };
