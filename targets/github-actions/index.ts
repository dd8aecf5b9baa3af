/** The GitHub Actions backend: one workflow file per spec (README.md beside this file). */
import type { Target } from "../types.js";
import { check } from "./check.js";
import { emit } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { runs } from "./runs.js";

export const githubActions: Target = {
  name: "github-actions",
  title: "GitHub Actions workflow (YAML), each job a `docker run` on a hosted runner",
  extension: "yml",
  features,
  check,
  emit,
  lift,
  runs,
};
