/**
 * Random valid specs as data (written to YAML with specYaml): 1-30 jobs, random acyclic
 * `depends_on`, retries, timeouts, resources, env, schedules in several zones, gates,
 * prerequisites, `on_upstream_failure`, notifications. Shared by the property test of
 * random specs and the conformance check of generated files against linters.
 */
import fc from "fast-check";

const duration = fc
  .record({ d: fc.integer({ min: 0, max: 2 }), h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }) })
  .map(({ d, h, m, s }) => `${d ? `${d}d` : ""}${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}` || "30s");

const retry = fc.option(
  fc.record(
    {
      max_attempts: fc.integer({ min: 1, max: 6 }),
      delay: fc.constantFrom("0s", "10s", "1m", "90s", "5m"),
      exponential_backoff: fc.boolean(),
      backoff_multiplier: fc.constantFrom(1, 1.5, 2, 3, 10),
      max_delay: fc.constantFrom("5m", "1h", "1d"),
    },
    { requiredKeys: ["max_attempts"] },
  ),
  { nil: undefined },
);

const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Tokyo", "America/St_Johns"];

// Weighted towards what every target compiles (clocks over event triggers), so that each
// target compiles a good share of the specs: the property test asserts every target
// compiled some, and a rare draw of a portable spec made that flaky.
const schedule = fc.option(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record(
        {
          cron: fc.constantFrom("0 2 * * *", "30 * * * *", "*/15 * * * *", "15 4 * * 1-5", "0 0 1 * *", "@daily", "@hourly", "0 3 * * 0", "5 12 29 2 *"),
          timezone: fc.constantFrom(...ZONES),
          start_date: fc.constantFrom("2024-03-01", "2024-01-01T00:00:00Z", "2025-06-15T08:30+02:00"),
          end_date: fc.constantFrom("2026-12-31", "2030-01-01T00:00:00Z"),
          catchup: fc.boolean(),
        },
        { requiredKeys: ["cron"] },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.record(
        { interval: fc.constantFrom("5m", "15m", "1h", "2h", "6h", "1d", "7m"), timezone: fc.constantFrom(...ZONES) },
        { requiredKeys: ["interval"] },
      ),
    },
    {
      weight: 1,
      arbitrary: fc.record(
        { trigger: fc.constantFrom("s3_file_arrival", "push"), source: fc.constantFrom("s3://bucket/prefix/", "main") },
        { requiredKeys: ["trigger"] },
      ),
    },
  ),
  { nil: undefined },
);

const envValue = fc.oneof(
  fc.constantFrom("info", "{{ ds }}", "{{ ts }}", "{{ execution_date }}", "{{ params.p }}", "0755", "yes", "a b c", "$(HOME)"),
  fc.integer({ min: 0, max: 1000 }),
  fc.boolean(),
  fc.constant({ secret: "app-secrets", key: "token" }),
);

interface GenJob {
  readonly name: string;
  readonly deps: number[];
  readonly body: Record<string, unknown>;
  readonly continueOnFailure: boolean;
  readonly prerequisite: boolean;
  readonly gate: boolean;
}

function jobAt(index: number): fc.Arbitrary<GenJob> {
  return fc.record({
    name: fc.constantFrom("extract", "load", "t", "report-x", "clean_up").map((n) => `${n}${index}`),
    deps: index === 0 ? fc.constant([]) : fc.uniqueArray(fc.integer({ min: 0, max: index - 1 }), { maxLength: Math.min(3, index) }),
    body: fc.record(
      {
        description: fc.constantFrom("Loads the partition", "x: y # not a comment"),
        image: fc.constantFrom("busybox:1.36", "lakehouse/ingest:1.2.0", "ghcr.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        command: fc.array(fc.constantFrom("/bin/run", "--flag", "{{ ds }}", "sh"), { minLength: 1, maxLength: 3 }),
        args: fc.array(fc.constantFrom("--date={{ ds }}", "{{ params.p }}", "$$", "plain", "{{ ts }}"), { maxLength: 3 }),
        params: fc.constant({ p: "{{ ds }}" }),
        env: fc.dictionary(
          fc.stringMatching(/^[A-Z][A-Z0-9_]{0,6}$/).filter((k) => !k.startsWith("KFM_")),
          envValue,
          { maxKeys: 3 },
        ),
        resources: fc.record(
          { cpu: fc.constantFrom("500m", "1", "2", "0.25", "100m", 2), memory: fc.constantFrom("512Mi", "1Gi", "2G", "128974848") },
          { requiredKeys: [] },
        ),
        retry,
        timeout: duration,
      },
      { requiredKeys: ["image", "params"] },
    ),
    continueOnFailure: fc.boolean(),
    prerequisite: fc.boolean(),
    gate: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  });
}

export const workflowSpec = fc
  .oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 7, max: 30 }) })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => jobAt(i))))
  .chain((jobs) =>
    fc
      .record(
        {
          schedule,
          timeout: duration,
          // Drawn in a quarter of the specs: Tekton and GitHub Actions refuse it today.
          max_active_runs: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
          description: fc.constant("Random workflow"),
          notify: fc.boolean(),
          prereqs: fc.integer({ min: 0, max: 6 }),
        },
        { requiredKeys: ["notify", "prereqs"] },
      )
      .map((wf) => {
        const entries = jobs.map((j, i) => {
          const deps = j.deps.map((d) => jobs[d]!.name);
          const common = {
            ...(deps.length > 0 ? { depends_on: deps } : {}),
            ...(j.prerequisite && wf.prereqs === 0 ? { prerequisite: true } : {}),
          };
          if (j.gate) return { approval: { name: j.name, description: "Approve?", ...(i % 2 === 0 ? { timeout: "1h" } : {}) }, ...common };
          const body = { ...j.body };
          if (body.retry && !(body.retry as { exponential_backoff?: boolean }).exponential_backoff) {
            const { backoff_multiplier: _m, max_delay: _d, ...rest } = body.retry as Record<string, unknown>;
            body.retry = rest;
          }
          return {
            job: { name: j.name, ...body },
            ...common,
            ...(j.continueOnFailure && deps.length > 0 && !jobs.some((o) => o.prerequisite) ? { on_upstream_failure: "continue" } : {}),
          };
        });
        const names = new Set<string>();
        const unique = entries.filter((e) => {
          const n = "job" in e ? (e.job as { name: string }).name : (e.approval as { name: string }).name;
          if (names.has(n)) return false;
          names.add(n);
          return true;
        });
        // Drop dependencies on entries removed as duplicates.
        for (const e of unique) if ("depends_on" in e) (e as { depends_on: string[] }).depends_on = (e.depends_on as string[]).filter((d) => names.has(d));
        return {
          workflow: {
            name: "random_dag",
            description: wf.description,
            ...(wf.schedule ? { schedule: wf.schedule } : {}),
            ...(wf.timeout && !wf.notify ? { timeout: wf.timeout } : {}),
            ...(wf.max_active_runs ? { max_active_runs: wf.max_active_runs } : {}),
            jobs: unique,
            ...(wf.notify ? { notifications: { on_failure: [{ type: "slack", channel: "#alerts", webhook: { secret: "slack", key: "url" } }] } } : {}),
          },
        };
      }),
  );
