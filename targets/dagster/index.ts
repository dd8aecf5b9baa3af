/** Dagster code locations: one module per workflow holding `defs = Definitions(...)`, one op per job launching its container with dagster-k8s. */
import type { DaylightSaving } from "../../src/cron.js";
import { MEANING } from "../../src/cron.js";
import { leastTemplateBytes } from "../../src/expansion.js";
import type { Target } from "../types.js";
import { check } from "./check.js";
import { emit } from "./emit.js";
import { features } from "./features.js";
import { lift } from "./lift.js";
import { OPTIONS, type DagsterOptions } from "./options.js";
import { prerequisites } from "./prerequisites.js";
import { runs } from "./runs.js";

/**
 * Dagster's own cron iterator (`dagster/_utils/schedules.py` `_timezone_aware_cron_iter`): a cron
 * whose hour field is `*` (`cron_string_repeats_every_hour`) skips a time in a gap and fires both
 * occurrences of a repeated one, as the meaning does; another cron moves a time in a gap to the
 * end of the gap (`apply_post_transition`: the start of the hour plus the DST offset, so 02:30
 * fires at 03:00, where the meaning fires at 03:30; a slot at 02:00 fires at 03:00 on both) and
 * fires a repeated time once, at its later occurrence (`_apply_fold`, `fold=1`), as the meaning
 * does. A gap slot not on the hour gets the hour after it added to the schedule and a guard in
 * the schedule function keeping the meaning's instants (emit.ts `dagsterDstGuard`, README
 * "Schedules"), as on Argo and Tekton: refused (KFM220) only where one added hour of the same
 * day cannot fire it (a gap not one hour long, or a slot at 23:xx: src/cron.ts `gapHourShift`).
 * Checked against Dagster's iterator and the module's own schedule function over 2024-2030
 * (test/conformance/dagster-dst.conformance.test.ts).
 */
export const DAGSTER_CRON: DaylightSaving = {
  gap: (c) =>
    c.everyHour || c.gapOnTheHour || c.hourShift
      ? MEANING.gap(c)
      : "fires it at the end of the gap, on the hour, and one added hour of the same day cannot fire it later (the gap is not one hour long, or the slot is in the day's last hour)",
  fold: (c) => MEANING.fold(c),
};

export const dagster: Target<DagsterOptions> = {
  name: "dagster",
  title: "Dagster code location (Definitions, one op per job via dagster-k8s execute_k8s_job)",
  extension: "py",
  daylightSaving: DAGSTER_CRON,
  options: OPTIONS,
  features,
  // Each value at least as its UTF-8 text (escaping and `$`/brace doubling only add), each
  // variable at least as `{name}` in a format string (src/expansion.ts).
  minimumBytes: (ir) => leastTemplateBytes(ir, (v) => v.length + 2),
  check,
  emit,
  prerequisites,
  lift,
  runs,
};
