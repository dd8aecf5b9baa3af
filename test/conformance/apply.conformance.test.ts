/**
 * Deployable as written: every golden Argo and Tekton file is applied with the kubectl built
 * from k8s.io/kubernetes to a real kube-apiserver (conformance/kube/, with the upstream Argo
 * and Tekton CRDs installed from their modules) into a namespace that enforces, warns and
 * audits the `restricted` Pod Security Standard, once client-side and once server-side, each
 * in a namespace of its own. A file passes when kubectl exits 0 with no warning at all and a
 * second apply changes nothing (every object's resourceVersion stays, and client-side apply
 * says `unchanged` for each).
 *
 * Files that do not pass today are listed in KNOWN_FAILURES with the reason and a piece of
 * the API server's message. The list expires: a listed case that passes fails the run until
 * its entry is removed, and one that fails with another message fails too.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { kubeSetup, kubeSkipReason, startCluster, type Cluster } from "./kube.js";
import { setup } from "./runners.js";

const MODES = { "client-side": "--server-side=false", "server-side": "--server-side" } as const;
type Mode = keyof typeof MODES;

interface Known {
  /** Why it fails, in the project's words (the fix is the compiler's, not this list's). */
  readonly because: string;
  /** A piece of what the API server or kubectl said; a failure that says something else is new. */
  readonly message: string;
}

/** `target/file mode` -> why it fails today. */
const KNOWN_FAILURES: Record<string, Known> = {};

const TARGETS = ["argo", "tekton"] as const;
const cases = TARGETS.flatMap((target) =>
  readdirSync(join(PACKAGE_ROOT, "golden", target))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) => (Object.keys(MODES) as Mode[]).map((mode) => ({ key: `${target}/${f} ${mode}`, file: join(PACKAGE_ROOT, "golden", target, f), mode }))),
);

/** One namespace per case, so that two specs naming the same workflow do not meet. */
function namespaceOf(key: string): string {
  return `kfm-${key.replace(/\.yaml /, "-").replace(/[^a-z0-9]+/g, "-")}`.slice(0, 63).replace(/-+$/, "");
}

const skipReason = kubeSkipReason();
if (skipReason !== null) console.warn(`apply.conformance: SKIPPED: kube-apiserver ${skipReason}`);
let cluster: Cluster | undefined;

beforeAll(() => {
  if (skipReason !== null) return;
  setup(); // the Argo and Tekton modules, whose CRDs the cluster installs
  kubeSetup();
  cluster = startCluster();
  cluster.restrictedNamespaces(cases.map((c) => namespaceOf(c.key)));
}, 1_800_000);

afterAll(() => cluster?.stop(), 120_000);

/** name -> resourceVersion of every object the file declares, as stored. */
function resourceVersions(c: Cluster, file: string, ns: string): Record<string, string> {
  const r = c.kubectl(["get", "--namespace", ns, "-f", file, "-o", "json"]);
  if (r.status !== 0) throw new Error(`kubectl get -f ${file}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { kind: string; items?: Array<{ kind: string; metadata: { name: string; resourceVersion: string } }> };
  const items = doc.items ?? [doc as unknown as { kind: string; metadata: { name: string; resourceVersion: string } }];
  return Object.fromEntries(items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
}

/** What went wrong with one apply: its error lines and every warning (Pod Security's among them). */
function problems(r: { status: number | null; stderr: string }): string[] {
  const lines = r.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return r.status === 0 ? lines.filter((l) => /^warning/i.test(l)) : lines.length > 0 ? lines : [`kubectl exited ${r.status}`];
}

describe.skipIf(skipReason !== null)(
  `golden Argo and Tekton files apply to a real kube-apiserver in a restricted namespace${skipReason === null ? "" : ` (SKIPPED: ${skipReason})`}`,
  () => {
    it("every known failure names a case that exists", () => {
      const keys = new Set(cases.map((c) => c.key));
      expect(Object.keys(KNOWN_FAILURES).filter((k) => !keys.has(k))).toEqual([]);
    });

    it.each(cases)("$key", ({ key, file, mode }) => {
      const c = cluster!;
      const ns = namespaceOf(key);
      // Given a fresh restricted namespace; when the file is applied
      const first = c.kubectl(["apply", MODES[mode], "--namespace", ns, "-f", file]);
      const found = problems(first);
      const known = KNOWN_FAILURES[key];
      if (known !== undefined) {
        // then a listed case still fails, and for the listed reason
        expect(found, `${key} now applies cleanly: remove it from KNOWN_FAILURES`).not.toEqual([]);
        expect(found.join("\n"), `${key} fails for another reason than the listed one (${known.because})`).toContain(known.message);
        return;
      }
      // then kubectl accepts every object without a warning
      expect(found, `${key}: kubectl apply ${MODES[mode]}`).toEqual([]);
      // and a second apply changes nothing
      const before = resourceVersions(c, file, ns);
      const second = c.kubectl(["apply", MODES[mode], "--namespace", ns, "-f", file]);
      expect(problems(second), `${key}: second apply`).toEqual([]);
      expect(resourceVersions(c, file, ns), `${key}: the second apply wrote objects`).toEqual(before);
      if (mode === "client-side") {
        const lines = second.stdout.split("\n").filter((l) => l.trim() !== "");
        expect(lines.length).toBe(Object.keys(before).length);
        expect(
          lines.filter((l) => !l.endsWith(" unchanged")),
          `${key}: second apply`,
        ).toEqual([]);
      }
    });
  },
);
