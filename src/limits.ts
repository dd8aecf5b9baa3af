/**
 * The resource bounds on input, in one place (SECURITY.md, "Bounded resources"). A spec
 * is text many people edit and a pre-commit hook runs the compiler on every commit, so
 * hostile or broken input must end in a diagnostic (`KFM008`) quickly and in bounded
 * memory, never a hang, an out-of-memory crash or a stack trace. Each bound is checked
 * before the work it protects:
 *
 * - the file size from `fstat`, before the file is read (src/cli/common.ts `readSpec`);
 * - NUL bytes and UTF-8, before the YAML parser sees the text;
 * - the number of YAML tokens and the flow nesting, in one streaming pass of the YAML
 *   lexer (constant memory), before the syntax tree is built;
 * - the nesting depth of the syntax tree, walked without recursion, before it is
 *   turned into data (every later step recurses over the data);
 * - alias expansion while the tree becomes data;
 * - the number of jobs, before job files are read or anything is validated.
 *
 * With these, the worst input of each kind is refused in well under the 10 s and
 * 512 MB that test/hostile/limits.test.ts asserts (it measures them in a child process
 * with `--max-old-space-size=512`).
 */

/** The largest spec, job or config file read: 1 MiB. A 1,000-job workflow written out in full is about 360 KB. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** The most YAML tokens a file may have (a 1,000-job workflow has about 100,000). Bounds the syntax tree's size. */
export const MAX_YAML_TOKENS = 300_000;

/** The most bytes a workflow and all the job files it names may hold together: 4 MiB. */
export const MAX_WORKFLOW_BYTES = 4 * 1024 * 1024;

/** The deepest nesting of mappings and sequences (a spec needs 7: workflow, jobs, item, job, env, value, secret). */
export const MAX_NESTING_DEPTH = 64;

/**
 * Alias expansion: the `yaml` library's `maxAliasCount`, the most nodes an alias may
 * expand to, relative to the document (it stops "billion laughs" documents).
 */
export const MAX_ALIAS_COUNT = 100;

/** The most jobs (and approval gates) in one workflow. No runner is usable beyond this; GitHub Actions documents 256 per matrix. */
export const MAX_JOBS = 1000;

/** The longest a suggestion ("Did you mean ...?") compares; longer words get none, so a huge value costs no quadratic work. */
export const MAX_SUGGESTION_LENGTH = 256;

/** The stated bounds every hostile input is handled within (measured by test/hostile/limits.test.ts). */
export const STATED_TIME_MS = 10_000;
export const STATED_HEAP_MB = 512;
