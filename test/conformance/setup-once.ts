/**
 * Installs the conformance tools once, before any test file starts (a vitest `globalSetup`
 * of the conformance and execution suites). On a cold cache the build takes many minutes;
 * done in a file's `beforeAll` it counted against that hook's time limit, so a cold run
 * failed in whichever file with a short limit vitest happened to start first. Each file
 * still calls `setup()`, then a quick up-to-date check, so that one file can run alone.
 */
import { setup } from "./runners.js";

export default function setupOnce(): void {
  setup();
}
