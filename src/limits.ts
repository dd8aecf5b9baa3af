/**
 * The resource bounds on input, in one place (SECURITY.md, "Bounded resources"). A spec
 * is text many people edit and a pre-commit hook runs the compiler on every commit, so
 * hostile or broken input must end in a diagnostic (`KFM008`) quickly and in bounded
 * memory, never a hang, an out-of-memory crash or a stack trace. Each bound is checked
 * before the work it protects:
 *
 * - the file size from `fstat`, before the file is read (src/cli/common.ts `readSpec`);
 * - NUL bytes and UTF-8, before the YAML parser sees the text;
 * - reading (src/spec/load.ts) has two readers. The fast one (js-yaml, data only) counts
 *   nodes and nesting as it goes and hands anything past the bounds to the exact one.
 *   The exact one (the `yaml` package, with positions) counts YAML tokens and flow
 *   nesting as its lexer streams them into its parser, so the syntax tree never holds
 *   more than the bound, then walks the tree's depth without recursion before it
 *   becomes data (every later step recurses over the data);
 * - alias expansion while the tree becomes data (only the exact reader reads aliases);
 * - the number of jobs, before job files are read or anything is validated.
 *
 * With these, the worst input of each kind is refused in well under the 10 s and
 * 512 MB that test/hostile/limits.test.ts asserts (it measures them in a child process
 * with `--max-old-space-size=512`).
 *
 * The sizes are set so that one workflow of MAX_JOBS jobs can be written in one file or
 * in job files: the benchmark's 10,000-job workflow (bench/specs.ts) is 2.3-2.5 MB and
 * about 660,000 tokens inline, and 2.1 MB in 10,001 files as job files.
 */

/**
 * The largest spec, job or config file read: 8 MiB, twice a 10,000-job workflow written
 * out in full. The fast reader's cost grows with the bytes (about 0.1 s a 2 MB spec);
 * the exact reader's is bounded by MAX_YAML_TOKENS below.
 */
export const MAX_SPEC_BYTES = 8 * 1024 * 1024;

/**
 * The most YAML tokens a file may have for the exact reader, and the most nodes the
 * fast one reads before it hands a file to the exact one, which then decides by tokens.
 * The exact reader's syntax tree takes about 300 bytes a token and its time grows with
 * them: the costliest file within this bound, 250,000 empty flow sequences, peaked at
 * 420 MB and took 5-7 s on a 2-core machine under a load average of 7, within
 * STATED_HEAP_MB and STATED_TIME_MS. The 10,000-job benchmark workflow has about
 * 660,000 tokens, so a problem anywhere in it still gets its line. A valid file with more
 * tokens is still read by the fast reader, and a problem in it is placed from as much of
 * the file's start as the exact reader can read (or else on the first line); one the
 * fast reader leaves to the exact one (broken YAML, anchors, tags, tabs) is refused.
 */
export const MAX_YAML_TOKENS = 750_000;

/** The most bytes a workflow and all the job files it names may hold together: as much as one spec file may. */
export const MAX_WORKFLOW_BYTES = MAX_SPEC_BYTES;

/** The deepest nesting of mappings and sequences (a spec needs 7: workflow, jobs, item, job, env, value, secret). */
export const MAX_NESTING_DEPTH = 64;

/**
 * Alias expansion: the `yaml` library's `maxAliasCount`, the most nodes an alias may
 * expand to, relative to the document (it stops "billion laughs" documents).
 */
export const MAX_ALIAS_COUNT = 100;

/**
 * The most jobs (and approval gates) in one workflow: 10,000, the scale the compiler
 * is measured at (bench/run.ts compiles one such workflow to all four targets in
 * seconds). Each step after it is at least linear in the jobs.
 */
export const MAX_JOBS = 10_000;

/**
 * Prerequisite jobs times jobs: each prerequisite is put before every job not upstream
 * of it, work (and, at worst, new dependencies) in proportion to this product. 100,000
 * allows ten prerequisites in a 10,000-job workflow, a hundred in a 1,000-job one; a
 * 1,000-job workflow of prerequisites only (1,000,000) took about 8 s.
 */
export const MAX_PREREQUISITE_REACH = 100_000;

/** The longest a suggestion ("Did you mean ...?") compares; longer words get none, so a huge value costs no quadratic work. */
export const MAX_SUGGESTION_LENGTH = 256;

/** The stated bounds every hostile input is handled within (measured by test/hostile/limits.test.ts). */
export const STATED_TIME_MS = 10_000;
export const STATED_HEAP_MB = 512;

/**
 * Output bounds (SECURITY.md, "Bounded output"). The input bounds above do not bound
 * what a spec expands to: one `{{ params.p }}` names a whole parameter, so a 184 KB spec
 * (a 100,000-character parameter named 6,000 times in one argument) asks for a
 * 600-million-character string, and each runtime variable becomes an expression of up to
 * about 180 characters on some runners. So what a spec expands to is bounded too, counted
 * arithmetically from the parsed templates before any expanded string is built:
 *
 * - MAX_VALUE_CHARS per value (an argument, a command item, an env value, the image), in
 *   UTF-16 code units, each runtime variable counted as the length of its value at run
 *   time (`VARIABLE_CHARS`), checked in src/lower.ts before the parameters are put in;
 * - MAX_EXPANDED_CHARS for all the values of a workflow together, checked the same way,
 *   so every command (validate, explain, graph, diff) holds at most this much expanded
 *   text;
 * - MAX_OUTPUT_BYTES per output file, checked before the file is built from each target's
 *   lower bound on its size (`Target.minimumBytes`, which counts every value as that
 *   target writes its text and variables), and again on the bytes built.
 *
 * A value of 1 MiB is already more than three of the four runners take in a whole file
 * (etcd's 1.5 MiB request bound for Argo and Tekton, GitHub's 500 KB workflow file); the
 * 10,000-job benchmark workflow expands to about 1 MB of values and 13-16 MB of output
 * per target, so neither bound stands in the way of a workflow the compiler is measured at.
 */
export const MAX_VALUE_CHARS = 1024 * 1024;

/** All values of one workflow, expanded (see above): as much as the largest spec file may hold. */
export const MAX_EXPANDED_CHARS = 8 * 1024 * 1024;

/** The largest output file written: 32 MiB, twice what the 10,000-job benchmark workflow writes for the most verbose target. */
export const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/**
 * Meanings at a real cluster's edges (README "Meanings at a real cluster's edges"), one
 * value for every target.
 *
 * An attempt whose pod has not started (image pulled, Secrets read, scheduled, container
 * running) this long after the attempt began fails, counts as an attempt and is retried
 * per the spec. Ten minutes covers pulling a multi-gigabyte image on a busy node; an
 * attempt that cannot start fails well before most job timeouts.
 */
export const POD_START_SECONDS = 600;

/** The most a failure notification may take (connect, send, wait for the answer), each try. */
export const NOTIFY_SECONDS = 60;
