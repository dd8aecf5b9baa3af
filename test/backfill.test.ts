import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findTarget } from "../targets/index.js";
import { backfillFiles, MAX_PARTITIONS, partitions } from "../src/backfill.js";
import { main } from "../src/cli/index.js";
import { analyze } from "../src/compile.js";
import type { Workflow } from "../src/ir.js";
import { runToken } from "../src/runtime.js";
import { parseYamlStream } from "../src/yaml.js";

function ir(schedule: string): Workflow {
  const a = analyze("w.yaml", `workflow:\n  name: w_x\n${schedule}  jobs:\n    - job:\n        name: a\n        image: busybox:1\n`);
  if (a.ir === null) throw new Error(JSON.stringify(a.diagnostics));
  return a.ir;
}

const iso = (ms: number) => new Date(ms).toISOString();

function cli(args: string[], cwd: string) {
  let out = "";
  let err = "";
  const code = main(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd });
  return { code, out, err };
}

describe("backfill partitions", () => {
  it("given a daily cron in a zone without DST, then one slot per local day, both range ends included", () => {
    const dates = partitions(ir(`  schedule:\n    cron: "30 23 * * *"\n    timezone: Asia/Kolkata\n`), "2024-01-01", "2024-01-03");
    // 23:30 in Kolkata (+05:30) is 18:00 UTC the same day.
    expect(Array.isArray(dates) && dates.map(iso)).toEqual(["2024-01-01T18:00:00.000Z", "2024-01-02T18:00:00.000Z", "2024-01-03T18:00:00.000Z"]);
  });

  it("given slots whose UTC date differs from their local date, then the local date decides", () => {
    // 00:30 in Tokyo (+09:00) on 2024-01-01 is 2023-12-31T15:30Z: inside the range.
    const dates = partitions(ir(`  schedule:\n    cron: "30 0 * * *"\n    timezone: Asia/Tokyo\n`), "2024-01-01", "2024-01-01");
    expect(Array.isArray(dates) && dates.map(iso)).toEqual(["2023-12-31T15:30:00.000Z"]);
  });

  it("given an unscheduled workflow, then one partition per day at 00:00 UTC", () => {
    const dates = partitions(ir(""), "2024-02-28", "2024-03-01");
    expect(Array.isArray(dates) && dates.map(iso)).toEqual(["2024-02-28T00:00:00.000Z", "2024-02-29T00:00:00.000Z", "2024-03-01T00:00:00.000Z"]);
  });

  it("given a schedule window, then slots outside it are no partitions", () => {
    const dates = partitions(ir(`  schedule:\n    cron: "0 6 * * *"\n    start_date: "2024-01-02"\n`), "2024-01-01", "2024-01-03");
    expect(Array.isArray(dates) && dates.map(iso)).toEqual(["2024-01-02T06:00:00.000Z", "2024-01-03T06:00:00.000Z"]);
  });

  it("given a reversed range or more than 10000 partitions, then KFM401", () => {
    const reversed = partitions(ir(""), "2024-01-02", "2024-01-01");
    expect(!Array.isArray(reversed) && reversed.code).toBe("KFM401");
    const hourly = partitions(ir(`  schedule:\n    cron: "0 * * * *"\n`), "2024-01-01", "2025-12-31");
    expect(!Array.isArray(hourly) && hourly.message).toContain(`more than ${MAX_PARTITIONS} partitions`);
    const days = partitions(ir(""), "2000-01-01", "2030-01-01");
    expect(!Array.isArray(days) && days.code).toBe("KFM401");
    // Exactly at the limit is accepted.
    const limit = partitions(ir(""), "2000-01-01", new Date(Date.UTC(2000, 0, 1) + (MAX_PARTITIONS - 1) * 86400000).toISOString().slice(0, 10));
    expect(Array.isArray(limit) && limit.length).toBe(MAX_PARTITIONS);
  });
});

describe("backfill runs per target", () => {
  const w = ir(`  schedule:\n    cron: "0 2 * * *"\n`);
  const dates = [Date.UTC(2024, 0, 1, 2), Date.UTC(2024, 0, 2, 2)];
  const files = (t: string) => backfillFiles(w, findTarget(t)!, t, "2024-01-01", "2024-01-02", dates, { ref: "release" });

  it("given Argo, then one Workflow per date with a fixed name, its logical date and run token, never generateName", () => {
    const docs = parseYamlStream(files("argo")[0]!.text) as { kind: string; metadata: Record<string, unknown>; spec: Record<string, unknown> }[];
    expect(docs.map((d) => d.kind)).toEqual(["Workflow", "Workflow"]);
    expect(docs.map((d) => d.metadata.name)).toEqual(["w-x-28401240", "w-x-28402680"]);
    expect(docs[0]!.metadata.generateName).toBeUndefined();
    expect(docs[1]!.metadata.annotations).toMatchObject({
      "kfm-compile.dev/logical-date": "2024-01-02T02:00:00Z",
      "kfm-compile.dev/run-token": runToken(w.runTokenSeed, dates[1]!),
    });
    expect(docs[1]!.spec.arguments).toEqual({ parameters: [{ name: "logical-date", value: "2024-01-02T02:00:00Z" }] });
  });

  it("given Tekton, then one PipelineRun per date with pipelineRef, logical-date and the manual run's timeouts", () => {
    const docs = parseYamlStream(files("tekton")[0]!.text) as { metadata: Record<string, unknown>; spec: Record<string, unknown> }[];
    expect(docs.map((d) => d.metadata.name)).toEqual(["w-x-28401240", "w-x-28402680"]);
    expect(docs[0]!.spec).toMatchObject({
      pipelineRef: { name: "w-x" },
      params: [{ name: "logical-date", value: "2024-01-01T02:00:00Z" }],
      timeouts: { pipeline: "0s" },
    });
    expect((docs[0]!.metadata.labels as Record<string, string>)["kfm-compile.dev/run-token"]).toBe(runToken(w.runTokenSeed, dates[0]!));
  });

  it("given Airflow and GitHub, then trigger lines with fixed run ids, and dispatch bodies with ref and logical_date", () => {
    expect(files("airflow")[0]!.text).toContain(
      "airflow dags trigger 'w_x' --run-id 'kfm_backfill__2024-01-01T02:00:00+00:00' --logical-date '2024-01-01T02:00:00+00:00'",
    );
    const gh = files("github-actions");
    expect(gh[0]!.text).toContain("gh workflow run 'w_x.yml' --ref 'release' -f logical_date=2024-01-02T02:00:00Z");
    const body = JSON.parse(gh[1]!.text) as { runs: { body: unknown; run_token: string }[] };
    expect(body.runs[1]).toEqual({
      logical_date: "2024-01-02T02:00:00Z",
      run_token: runToken(w.runTokenSeed, dates[1]!),
      body: { ref: "release", inputs: { logical_date: "2024-01-02T02:00:00Z" } },
    });
  });

  it("given any target, then the ledger has one planned entry per partition naming its artifact", () => {
    for (const t of ["argo", "tekton", "airflow", "github-actions"]) {
      const f = files(t);
      const ledger = JSON.parse(f[f.length - 1]!.text) as { partitions: Record<string, string>[] };
      expect(f[f.length - 1]!.path).toBe(`${t}/w_x.backfill-2024-01-01-2024-01-02.ledger.json`);
      expect(ledger.partitions).toEqual(
        dates.map((ms, i) =>
          expect.objectContaining({
            logical_date: iso(ms).slice(0, 19) + "Z",
            run_token: runToken(w.runTokenSeed, ms),
            target: t,
            artifact: f[0]!.path,
            status: "planned",
            name: expect.any(String),
          }),
        ),
      );
      expect(new Set(ledger.partitions.map((p) => p.name)).size).toBe(dates.length);
    }
  });
});

describe("kfm-compile backfill", () => {
  it("given the same range twice, then the same bytes (idempotent), and check and --prune ignore backfill files", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-backfill-"));
    writeFileSync(
      join(dir, "w.yaml"),
      `workflow:\n  name: w_x\n  schedule:\n    cron: "0 2 * * *"\n  jobs:\n    - job:\n        name: a\n        image: busybox:1\n`,
    );
    const args = ["backfill", "w.yaml", "--target", "all", "--out", "out", "--from", "2024-01-01", "--to", "2024-01-03"];
    expect(cli(args, dir).code).toBe(0);
    const first = readdirSync(join(dir, "out/argo-runs")).map((f) => readFileSync(join(dir, "out/argo-runs", f), "utf8"));
    const again = cli(args, dir);
    expect(again.code).toBe(0);
    expect(again.err).toContain("0 files written");
    expect(readdirSync(join(dir, "out/argo-runs")).map((f) => readFileSync(join(dir, "out/argo-runs", f), "utf8"))).toEqual(first);
    // Compile beside them (the runs folder is scanned for orphans too); check passes and prune keeps them.
    expect(cli(["w.yaml", "--target", "all", "--out", "out", "--prune"], dir).code).toBe(0);
    expect(cli(["check", "w.yaml", "--target", "all", "--out", "out"], dir).code).toBe(0);
    expect(readdirSync(join(dir, "out/argo-runs")).sort()).toEqual([
      "w_x.backfill-2024-01-01-2024-01-03.ledger.json",
      "w_x.backfill-2024-01-01-2024-01-03.yaml",
    ]);
    expect(readdirSync(join(dir, "out/argo")).sort()).toEqual(["w_x.yaml"]);
  });

  it("given a bad range, then a usage error (exit 2) said once, whatever the number of specs, and nothing written", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-backfill-"));
    writeFileSync(join(dir, "w.yaml"), `workflow:\n  name: w_x\n  jobs:\n    - job:\n        name: a\n        image: busybox:1\n`);
    const base = ["backfill", "w.yaml", "--target", "argo", "--out", "out"];
    writeFileSync(join(dir, "v.yaml"), `workflow:\n  name: v_x\n  jobs:\n    - job:\n        name: a\n        image: busybox:1\n`);
    const reversed = cli([...base, "v.yaml", "--from", "2024-01-05", "--to", "2024-01-01"], dir);
    expect(reversed.code).toBe(2);
    expect(reversed.err).toBe(
      "kfm-compile: the range is reversed: --from 2024-01-05 is after --to 2024-01-01; give the earlier day first (both days are included).\nRun 'kfm-compile --help' for usage.\n",
    );
    expect(cli([...base, "--from", "2024-02-30", "--to", "2024-03-01"], dir).code).toBe(2);
    expect(cli([...base, "--from", "2024-01-01"], dir).code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(["v.yaml", "w.yaml"]);
  });

  it("given a backfill, then a line per file written, or unchanged when run again, and a summary; --quiet prints none of it", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-backfill-"));
    writeFileSync(join(dir, "w.yaml"), `workflow:\n  name: w_x\n  jobs:\n    - job:\n        name: a\n        image: busybox:1\n`);
    const args = ["backfill", "w.yaml", "--target", "argo", "--out", "out", "--from", "2024-01-01", "--to", "2024-01-02"];
    const files = ["out/argo-runs/w_x.backfill-2024-01-01-2024-01-02.yaml", "out/argo-runs/w_x.backfill-2024-01-01-2024-01-02.ledger.json"];
    const first = cli(args, dir);
    expect(first.code).toBe(0);
    expect(first.err).toBe(
      `${files.map((f) => `written    ${f}\n`).join("")}kfm-compile: backfill 2024-01-01..2024-01-02: 2 planned runs, 2 files written, 0 unchanged.\n`,
    );
    expect(cli(args, dir).err).toBe(
      `${files.map((f) => `unchanged  ${f}\n`).join("")}kfm-compile: backfill 2024-01-01..2024-01-02: 2 planned runs, 0 files written, 2 unchanged.\n`,
    );
    expect(cli([...args, "--quiet"], dir)).toEqual({ code: 0, out: "", err: "" });
  });

  it("given a range with no slot of the schedule, then KFM402 naming the window, exit 1, and no empty files (issue 11)", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-backfill-"));
    const spec = (name: string, window: string) =>
      `workflow:\n  name: ${name}\n  schedule:\n    cron: "0 2 * * *"\n${window}  jobs:\n    - job:\n        name: a\n        image: busybox:1\n`;
    writeFileSync(join(dir, "late.yaml"), spec("late", `    start_date: "2026-01-01"\n    end_date: "2026-12-31"\n`));
    writeFileSync(join(dir, "early.yaml"), spec("early", `    start_date: "2019-01-01"\n`));
    const base = ["backfill", "--target", "argo", "--out", "out"];
    // Given a range before the only spec's start_date
    const before = cli([...base, "late.yaml", "--from", "2020-01-01", "--to", "2020-01-31"], dir);
    // Then an error at start_date saying where the slots are, and nothing written
    expect(before.code).toBe(1);
    expect(before.err).toContain(
      "late.yaml:5:17: error KFM402: The backfill range 2020-01-01..2020-01-31 holds no run of `late`: the schedule runs from 2026-01-01 until 2026-12-31 (UTC), so the range is before its `start_date`.",
    );
    expect(readdirSync(dir).sort()).toEqual(["early.yaml", "late.yaml"]);
    // Given a range after end_date, then the error is at end_date
    const after = cli([...base, "late.yaml", "--from", "2027-01-01", "--to", "2027-01-02"], dir);
    expect(after.err).toMatch(/late\.yaml:6:15: error KFM402: .*after its `end_date`/);
    // Given two specs of which one has runs in the range, then the other is a warning and only the first is written
    const mixed = cli([...base, "late.yaml", "early.yaml", "--from", "2020-01-01", "--to", "2020-01-02"], dir);
    expect(mixed.code).toBe(0);
    expect(mixed.err).toMatch(/late\.yaml:5:17: warning KFM402: /);
    expect(readdirSync(join(dir, "out/argo-runs")).sort()).toEqual([
      "early.backfill-2020-01-01-2020-01-02.ledger.json",
      "early.backfill-2020-01-01-2020-01-02.yaml",
    ]);
  });

  it("given a file there that is not a backfill file, then it is not replaced without --force", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-backfill-"));
    writeFileSync(join(dir, "w.yaml"), `workflow:\n  name: w_x\n  jobs:\n    - job:\n        name: a\n        image: busybox:1\n`);
    const args = ["backfill", "w.yaml", "--target", "argo", "--out", ".", "--from", "2024-01-01", "--to", "2024-01-01"];
    expect(cli(args, dir).code).toBe(0);
    writeFileSync(join(dir, "argo-runs/w_x.backfill-2024-01-01-2024-01-01.yaml"), "mine\n");
    expect(cli(args, dir).code).toBe(1);
    expect(readFileSync(join(dir, "argo-runs/w_x.backfill-2024-01-01-2024-01-01.yaml"), "utf8")).toBe("mine\n");
    expect(cli([...args, "--force"], dir).code).toBe(0);
  });
});

describe("catchup refusals print the backfill command that plans the missed runs", () => {
  const spec = (catchup: boolean, end = "") =>
    `workflow:\n  name: catchup_daily\n  schedule:\n    cron: "0 3 * * *"\n    start_date: "2024-01-01"\n${end}    catchup: ${catchup}\n  jobs:\n    - job:\n        name: partition\n        image: lakehouse/partition:1.0\n`;

  for (const target of ["argo", "tekton", "github-actions"]) {
    it(`given catchup true on ${target}, when the printed command is run (catchup false, yesterday fixed), then it plans one run per slot from the start date`, () => {
      const dir = mkdtempSync(join(tmpdir(), "kfm-catchup-"));
      writeFileSync(join(dir, "c.yaml"), spec(true));
      const refused = cli(["c.yaml", "--target", target, "--out", "out"], dir);
      expect(refused.code).toBe(1);
      const command = /`(kfm-compile backfill [^`]*)`/.exec(refused.err)?.[1];
      expect(command).toBe(`kfm-compile backfill c.yaml --target ${target} --out . --from 2024-01-01 --to "$(date -u -d yesterday +%F)"`);
      writeFileSync(join(dir, "c.yaml"), spec(false));
      const args = command!.replace('"$(date -u -d yesterday +%F)"', "2024-01-05").split(" ").slice(1);
      const planned = cli(args, dir);
      expect(planned.err).toContain("5 planned runs");
      expect(planned.code).toBe(0);
      const ledger = readdirSync(join(dir, `${target}-runs`)).find((f) => f.endsWith(".ledger.json"))!;
      const entries = JSON.parse(readFileSync(join(dir, `${target}-runs`, ledger), "utf8")).partitions as { logical_date: string }[];
      expect(entries.map((e) => e.logical_date)).toEqual(["01", "02", "03", "04", "05"].map((d) => `2024-01-${d}T03:00:00Z`));
    });
  }

  it("given an end date, then the command's range ends on the end date's day", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-catchup-"));
    writeFileSync(join(dir, "c.yaml"), spec(true, `    end_date: "2024-02-01"\n`));
    expect(cli(["c.yaml", "--target", "argo", "--out", "out"], dir).err).toContain("--from 2024-01-01 --to 2024-02-01`");
  });
});
