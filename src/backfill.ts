/**
 * Backfills as explicit runs (seed 000, "Backfills are explicit"; contract 7.3): the
 * partitions of a date range are listed one by one, each becomes one run on the target
 * (`targets/<name>/runs.ts`) carrying its logical date and run token, and a ledger lists
 * them. Nothing here loops at run time: what will run is the files written.
 *
 * Partitions: the schedule's slots (`src/cron.ts` `nextFireTimes`, in the schedule's
 * zone, inside its start/end window) whose local date is within [from, to], both days
 * included. A workflow without a cron schedule (none, or an event trigger) has no slots:
 * it gets one partition per day, at 00:00 UTC.
 */
import type { RunsOptions, Target } from "../targets/types.js";
import { parseCron, nextFireTimes, type Cron } from "./cron.js";
import { hasErrors, problem, sortDiagnostics, type Diagnostic, type Problem } from "./diagnostics.js";
import { analyzeSelection, targetsFor, type Selection } from "./project.js";
import { backfillMarkLine, hashComment, headerLines } from "./header.js";
import type { Workflow } from "./ir.js";
import { outputBaseName } from "./names.js";
import { defaultOptions } from "./options.js";
import { shellWord } from "./text.js";
import { toLocal } from "./values.js";

/** At most this many partitions in one backfill; a larger range is refused (split it). */
export const MAX_PARTITIONS = 10_000;

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` as UTC midnight ms, or null when it is not a real calendar day. */
export function parseDay(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text ? null : ms;
}

/** The logical date as every manual run takes it: `YYYY-MM-DDTHH:MM:SSZ`, UTC. */
export function logicalDateText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}

/**
 * The partitions (logical dates, UTC ms, ascending) of [from, to] for `ir`, or a
 * problem (KFM401) when the range is reversed or holds more than `MAX_PARTITIONS`.
 * `from` and `to` are valid `YYYY-MM-DD` days (`parseDay`).
 */
export function partitions(ir: Workflow, from: string, to: string): number[] | Problem {
  const fromMs = parseDay(from);
  const toMs = parseDay(to);
  if (fromMs === null || toMs === null) throw new Error("partitions needs valid days");
  if (fromMs > toMs)
    return problem("KFM401", `The backfill range is reversed: --from ${from} is after --to ${to}; give the earlier day first (both days are included).`, ir.at);
  const schedule = ir.schedule;
  if (schedule === null || schedule.kind !== "cron") {
    const days = (toMs - fromMs) / DAY_MS + 1;
    if (days > MAX_PARTITIONS) return tooMany(ir, from, to, "one partition per day at 00:00 UTC (the workflow has no cron schedule)");
    return Array.from({ length: days }, (_, i) => fromMs + i * DAY_MS);
  }
  const cron = parseCron(schedule.cron) as Cron;
  const out: number[] = [];
  // Two days before `from` covers every UTC offset; slots before `from` are skipped below.
  let after = fromMs - 2 * DAY_MS;
  for (;;) {
    const batch = nextFireTimes(cron, schedule.timezone, after, 1000);
    if (batch.length === 0) return out;
    for (const t of batch) {
      const local = toLocal(t, schedule.timezone);
      const day = local.slice(0, 10);
      if (day > to || (schedule.end !== null && local > schedule.end)) return out;
      if (day < from || (schedule.start !== null && local < schedule.start)) continue;
      out.push(t);
      if (out.length > MAX_PARTITIONS) return tooMany(ir, from, to, `the slots of \`${schedule.cron}\` in ${schedule.timezone}`);
    }
    after = batch[batch.length - 1]!;
  }
}

/**
 * Why a range holds no partition of `ir`, where it would be seen (the window bound the
 * range misses, or the schedule): a backfill of nothing would write empty files and
 * look done. Only a cron schedule can have no slot in a range of days.
 */
export function noPartitions(ir: Workflow, from: string, to: string): Problem {
  const s = ir.schedule;
  if (s === null || s.kind !== "cron") throw new Error("every day is a partition without a cron schedule");
  const day = (local: string) => (local.endsWith("T00:00:00") || local.endsWith("T23:59:59") ? local.slice(0, 10) : local.replace("T", " "));
  const window =
    s.start !== null && s.end !== null
      ? `from ${day(s.start)} until ${day(s.end)}`
      : s.start !== null
        ? `from ${day(s.start)} on`
        : s.end !== null
          ? `until ${day(s.end)}`
          : null;
  const before = s.start !== null && to < s.start.slice(0, 10);
  const after = s.end !== null && from > s.end.slice(0, 10);
  const where = before ? [...s.at, "start_date"] : after ? [...s.at, "end_date"] : [...s.at, s.fromInterval ? "interval" : "cron"];
  const why =
    before || after
      ? `the schedule runs ${window} (${s.timezone}), so the range is ${before ? "before its `start_date`" : "after its `end_date`"}`
      : `\`${s.cron}\` in ${s.timezone} has no slot on those days${window === null ? "" : ` within its window (${window})`}`;
  return problem(
    "KFM402",
    `The backfill range ${from}..${to} holds no run of \`${ir.name}\`: ${why}. Nothing is written for it; give a range that holds its slots.`,
    where,
  );
}

function tooMany(ir: Workflow, from: string, to: string, what: string): Problem {
  return problem(
    "KFM401",
    `The backfill range ${from}..${to} holds more than ${MAX_PARTITIONS} partitions (${what}); backfill at most ${MAX_PARTITIONS} runs at a time, as several ranges.`,
    ir.schedule?.at ?? ir.at,
  );
}

/** A file a backfill writes, relative to the output base. */
export interface BackfillFile {
  readonly path: string;
  readonly text: string;
}

/** `<folder>/<workflow>.backfill-<from>-<to>`: the stem every backfill file of one workflow, target and range shares. */
export function backfillStem(ir: Workflow, folder: string, from: string, to: string): string {
  const name = `${outputBaseName(ir.name)}.backfill-${from}-${to}`;
  return folder === "." ? name : `${folder}/${name}`;
}

/**
 * The files of one backfill for one target: the target's runs files (YAML and shell
 * files with a comment header naming spec, digest and range) and the ledger
 * (`.ledger.json`), one entry per partition. A pure function: the same range gives the
 * same bytes.
 */
export function backfillFiles(
  ir: Workflow,
  target: Target,
  folder: string,
  from: string,
  to: string,
  dates: readonly number[],
  options: RunsOptions,
): BackfillFile[] {
  if (target.runs === undefined) throw new Error(`target ${target.name} has no runs()`);
  const planned = target.runs(ir, dates, options);
  const stem = backfillStem(ir, folder, from, to);
  const ledgerPath = `${stem}.ledger.json`;
  const header = [
    backfillMarkLine(ir, target.name),
    headerLines(ir, target.name)[1]!,
    `${planned.runs.length} run${planned.runs.length === 1 ? "" : "s"}, one per partition of ${from}..${to}; ledger: ${ledgerPath.replace(/^.*\//, "")}.`,
    planned.again,
  ];
  const files: BackfillFile[] = planned.files.map((f) => ({
    path: stem + f.suffix,
    text: f.suffix.endsWith(".json") ? f.text : hashComment(header) + f.text,
  }));
  const artifact = files[0]?.path ?? null;
  const ledger = {
    ledger: backfillMarkLine(ir, target.name),
    workflow: ir.name,
    spec: ir.source.path,
    spec_digest: ir.source.digest,
    target: target.name,
    from,
    to,
    partitioning:
      ir.schedule?.kind === "cron"
        ? `slots of \`${ir.schedule.cron}\` in ${ir.schedule.timezone} whose local date is in ${from}..${to}`
        : `one per day at 00:00 UTC, ${from}..${to} (no cron schedule)`,
    partitions: planned.runs.map((r) => ({
      logical_date: r.logicalDate,
      run_token: r.runToken,
      target: target.name,
      artifact,
      name: r.name,
      status: "planned",
    })),
  };
  files.push({ path: ledgerPath, text: JSON.stringify(ledger, null, 2) + "\n" });
  return files;
}

/** Every backfill file of every spec and target of a selection, in memory; nothing is written. */
export function backfillSelection(
  sel: Selection,
  from: string,
  to: string,
  options: { readonly ref: string },
): { files: BackfillFile[]; partitions: number; diagnostics: Diagnostic[] } {
  const { analyses, diagnostics } = analyzeSelection(sel);
  const files: BackfillFile[] = [];
  let count = 0;
  const writer = new Map<string, string>();
  const empty: Diagnostic[] = [];
  for (const a of analyses) {
    if (a.ir === null) continue;
    const dates = partitions(a.ir, from, to);
    if (!Array.isArray(dates)) {
      diagnostics.push(a.spec.locate(dates));
      continue;
    }
    if (dates.length === 0) {
      empty.push(a.spec.locate(noPartitions(a.ir, from, to)));
      continue;
    }
    for (const { target, runsFolder, options: deploy } of targetsFor(sel, a.path)) {
      const values = deploy?.values ?? defaultOptions(target.options);
      const checked = sortDiagnostics(target.check(a.ir, values).map(a.spec.locate));
      diagnostics.push(...checked);
      if (hasErrors(checked)) continue;
      const stem = backfillStem(a.ir, runsFolder, from, to);
      const other = writer.get(stem);
      if (other !== undefined) {
        diagnostics.push({
          file: a.spec.file,
          line: 1,
          column: 1,
          severity: "error",
          code: "KFM208",
          message: `This spec's workflow \`${a.ir.name}\` would write ${stem}.*, as ${other} does; workflow names must be unique across the specs compiled together.`,
        });
        continue;
      }
      writer.set(stem, a.spec.file);
      files.push(...backfillFiles(a.ir, target, runsFolder, from, to, dates, { ...options, options: values }));
      count += dates.length;
    }
  }
  // A spec without runs in the range writes nothing. Among specs that have some it is a
  // warning (a project's workflows start on different days); when no spec has any, the
  // whole backfill would be empty files, and it is an error.
  const severity = count === 0 ? "error" : "warning";
  diagnostics.push(...empty.map((d) => ({ ...d, severity }) as const));
  return { files, partitions: count, diagnostics: sortDiagnostics(diagnostics) };
}

/**
 * The command that plans, as explicit runs, every slot a `catchup: true` schedule
 * would run on a runner that cannot catch up (Argo, Tekton, GitHub: their
 * refusals print it): the spec as given, the target, the runs written next to the
 * current folder (`./<target>-runs/`), from the schedule's first local day to its
 * last one, or to yesterday (UTC, GNU `date`) when it has no end, since slots from
 * the day of deploying on come from the schedule itself.
 */
export function catchupCommand(ir: Workflow, target: string): string {
  const s = ir.schedule;
  const from = s?.kind === "cron" && s.start !== null ? s.start.slice(0, 10) : "YYYY-MM-DD";
  const to = s?.kind === "cron" && s.end !== null ? s.end.slice(0, 10) : '"$(date -u -d yesterday +%F)"';
  const path = shellWord(ir.source.path);
  return `kfm-compile backfill ${path} --target ${target} --out . --from ${from} --to ${to}`;
}
