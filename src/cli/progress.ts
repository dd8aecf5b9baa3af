/**
 * A progress line for runs long enough to wonder about: one line on standard error,
 * rewritten in place ("kfm-compile: compiling 120/500 specs…") and cleared when the
 * run ends. Only on a terminal: when standard error is a file or a pipe (CI logs,
 * pre-commit, `2> log`), nothing is ever written, so logs hold only what happened.
 *
 * It appears once the run has taken SHOW_AFTER_MS, so a quick run never flickers, and
 * is rewritten at most every REDRAW_MS, so a run over thousands of specs does not spend
 * its time drawing.
 */
import type { Io } from "./common.js";

export const SHOW_AFTER_MS = 1000;
export const REDRAW_MS = 100;

/** Back to the start of the line, then erase to its end (ECMA-48 CR and EL). */
const CLEAR = "\r\x1b[K";

export interface Progress {
  /** `done` of `total` items of `step` ("compiling", "writing") are finished. */
  update(step: string, done: number, total: number, unit: string): void;
  /** Erases the line, if one was drawn; call before printing anything else. */
  end(): void;
}

const SILENT: Progress = { update: () => {}, end: () => {} };

export function progress(io: Io, options: { quiet: boolean }): Progress {
  if (io.isTTY !== true || options.quiet) return SILENT;
  const now = io.now ?? (() => performance.now());
  const start = now();
  let drawn = false;
  let last = -Infinity;
  return {
    update(step, done, total, unit) {
      const t = now();
      if (t - start < SHOW_AFTER_MS || t - last < REDRAW_MS) return;
      last = t;
      drawn = true;
      io.stderr(`${CLEAR}kfm-compile: ${step} ${done}/${total} ${unit}…`);
    },
    end() {
      if (drawn) io.stderr(CLEAR);
      drawn = false;
    },
  };
}
