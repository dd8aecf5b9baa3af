import { Graphviz } from "@hpcc-js/wasm-graphviz";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/index.js";
import { PACKAGE_ROOT } from "../src/assets.js";
import { analyze } from "../src/compile.js";
import { dotString, graphModel, mermaidText, toDot, toMermaid } from "../src/graph.js";
import type { Workflow } from "../src/ir.js";
import { cronFixture, irFixture, jobFixture } from "./fixtures.js";
import { specFiles } from "./matrix.js";

// Graphviz itself (compiled to WebAssembly, no dependencies): every DOT text is read
// by the real parser and laid out, and the labels are checked as Graphviz draws them
// (the text of its SVG output).
let graphviz: Graphviz;
beforeAll(async () => {
  graphviz = await Graphviz.load();
});

interface Drawn {
  /** The lines Graphviz draws for the graph's own label (the title). */
  readonly title: string[];
  readonly nodes: Map<string, { lines: string[]; attrs: Record<string, unknown> }>;
  readonly edges: { from: string; to: string; attrs: Record<string, unknown>; lines: string[] }[];
}

type GvObject = { _gvid: number; name: string } & Record<string, unknown>;
type GvEdge = { tail: number; head: number } & Record<string, unknown>;

function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, e: string) =>
    e[0] === "#" ? String.fromCodePoint(Number(e[1] === "x" ? `0${e.slice(1)}` : e.slice(1))) : { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[e]!,
  );
}

/**
 * Lays the DOT text out with Graphviz (throws on a syntax error) and reads back the
 * structure and attributes (JSON output) and the text it draws (SVG output), per
 * node, edge and the graph's own label.
 */
function draw(dot: string): Drawn {
  const json = JSON.parse(graphviz.layout(dot, "json", "dot")) as { objects?: GvObject[]; edges?: GvEdge[] };
  const svg = graphviz.layout(dot, "svg", "dot");
  const drawn = new Map<string, string[]>();
  const groups = svg.split(/<g id="/).slice(1);
  for (const g of groups) {
    const id = /^([a-z]+\d+)"/.exec(g)![1]!;
    const lines = [...g.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => xmlText(m[1]!));
    drawn.set(id, lines);
  }
  const byId = new Map((json.objects ?? []).map((o) => [o._gvid, o]));
  return {
    title: drawn.get("graph0") ?? [],
    nodes: new Map((json.objects ?? []).map((o) => [o.name, { lines: drawn.get(`node${o._gvid + 1}`) ?? [], attrs: o }])),
    edges: (json.edges ?? []).map((e, i) => ({ from: byId.get(e.tail)!.name, to: byId.get(e.head)!.name, attrs: e, lines: drawn.get(`edge${i + 1}`) ?? [] })),
  };
}

/**
 * What Mermaid shows for the inside of a quoted label: its entity codes (`#quot;`,
 * `#35;`) become HTML entities, the HTML is read as text (HTML labels), `<br/>` is a
 * line break. The zero-width spaces the escaping adds are invisible and dropped.
 */
function mermaidShows(label: string): string[] {
  const html = label.replace(/#(\w+);/g, (_, name: string) => (/^\d+$/.test(name) ? `&#${name};` : `&${name};`));
  const named: Record<string, string> = { quot: '"', amp: "&", lt: "<", gt: ">" };
  return html.split("<br/>").map((line) => {
    expect(line, "no markup may remain in a label line").not.toMatch(/[<>]/);
    return line
      .replace(/&#(\d+);|&(\w+);/g, (_, code: string | undefined, name: string | undefined) =>
        code !== undefined ? String.fromCodePoint(Number(code)) : named[name!]!,
      )
      .replace(/\u200b/g, "");
  });
}

/** Every line of Mermaid output is one of the statements kfm-compile writes; returns node labels by id, and edges. */
function readMermaid(text: string): { labels: Map<string, { shape: string; lines: string[] }>; edges: string[][] } {
  const lines = text.split("\n");
  expect(lines[0]).toBe("flowchart TD");
  expect(lines.at(-1)).toBe("");
  const labels = new Map<string, { shape: string; lines: string[] }>();
  const edges: string[][] = [];
  for (const line of lines.slice(1, -1)) {
    const node = /^ {2}(workflow|j\d+)(\(|\[|\{\{|\{)"([^"\n]*)"(\)|\]|\}\}|\})$/.exec(line);
    const edge = /^ {2}(workflow|j\d+) (-->|==>|~~~|-\.->\|"continue"\|) (j\d+)$/.exec(line);
    if (node) {
      const close = { "(": ")", "[": "]", "{{": "}}", "{": "}" }[node[2]!];
      expect(node[4], line).toBe(close);
      labels.set(node[1]!, { shape: node[2]!, lines: mermaidShows(node[3]!) });
    } else if (edge) edges.push([edge[1]!, edge[2]!, edge[3]!]);
    else expect(line, "an unexpected Mermaid statement").toMatch(/^ {2}(%% [^\n]*|classDef (header|gate) [a-z-]+:[0-9a-z ]+|class [a-z0-9,]+ (header|gate))$/);
  }
  return { labels, edges };
}

const HOSTILE = [
  "say \"hi\" and 'bye'",
  "brackets [a] {b} (c) |d| ]); j1 --> j2[",
  "`backticks` and ``` fences",
  "#hash #quot; #35; &amp; &lt; ;",
  "<b>bold</b> <script>alert(1)</script> <br/>",
  "style:x#35; classDef a:b#c;",
  "katex $$x^2$$ and fa:fa-car",
  "back\\slash \\n \\N \\G \\L \\\\",
  "ﬂ°°1¶ß ﬂ°amp¶ß grüße 日本 🚀",
  "%% not a comment --> -.-> ==> ~~~",
];

function hostileIr(): Workflow {
  return irFixture({
    name: "hostile",
    description: `first line "quoted"\nsecond line #1 <i>`,
    schedule: { kind: "event", at: ["workflow", "schedule"], trigger: 'arrival "now" <x>', source: "s3://b/[p]/{q}/\\n", bucket: "b", prefix: "[p]/{q}/\\n" },
    jobs: [
      jobFixture("end", { image: HOSTILE.join(" ") }),
      jobFixture("o", { image: "a\tb\rc\u0001d", dependsOn: ["end"], prerequisite: true }),
      jobFixture("subgraph", { image: "x", dependsOn: ["o"], runWhen: "all_done" }),
    ],
  });
}

describe("Mermaid labels", () => {
  it.each(HOSTILE)("given the spec text %j, when escaped, then Mermaid shows exactly that text", (text) => {
    const escaped = mermaidText(text);
    expect(escaped).not.toMatch(/["\n\r`<>]/);
    expect(escaped).not.toMatch(/style|classDef|\$\$|fa:fa-|ﬂ°|¶ß/);
    expect(mermaidShows(escaped)).toEqual([text]);
  });

  it("given a line break in spec text, when escaped, then it is a <br/> and never a raw newline", () => {
    expect(mermaidText("a\r\nb\nc")).toBe("a<br/>b<br/>c");
    expect(mermaidText("tab\there\u0007")).toBe("tab here\ufffd");
  });
});

describe("DOT labels", () => {
  it.each(HOSTILE)("given the spec text %j, when written as a DOT label, then Graphviz draws exactly that text", (text) => {
    const dot = toDot(irFixture({ jobs: [jobFixture("a", { image: text })] }));
    expect(draw(dot).nodes.get("a")!.lines).toEqual(["a", `image: ${text}`]);
  });

  it("escapes quotes, backslashes and line breaks in a DOT string", () => {
    expect(dotString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
  });
});

describe("graph of a hostile workflow", () => {
  const ir = hostileIr();

  it("given quotes, brackets, backticks, # and newlines everywhere, when drawn as Mermaid, then every statement stays well-formed and every label reads back", () => {
    const { labels, edges } = readMermaid(toMermaid(ir));
    expect(labels.get("workflow")!.lines).toEqual([
      "workflow hostile",
      'first line "quoted"',
      "second line #1 <i>",
      'schedule: on event arrival "now" <x>',
      "event source: s3://b/[p]/{q}/\\n",
    ]);
    expect(labels.get("j1")).toEqual({ shape: "[", lines: ["end", `image: ${HOSTILE.join(" ")}`] });
    expect(labels.get("j2")).toEqual({ shape: "{{", lines: ["o", "prerequisite gate", "image: a b", "c\ufffdd"] });
    expect(labels.get("j3")!.lines).toEqual(["subgraph", "image: x", "runs after upstream failure too"]);
    expect(edges).toEqual([
      ["workflow", "~~~", "j1"],
      ["j1", "-->", "j2"],
      ["j2", '-.->|"continue"|', "j3"],
    ]);
  });

  it("given the same workflow, when drawn as DOT, then Graphviz reads it and draws the same text", () => {
    const drawn = draw(toDot(ir));
    expect(drawn.title).toEqual([
      "workflow hostile",
      'first line "quoted"',
      "second line #1 <i>",
      'schedule: on event arrival "now" <x>',
      "event source: s3://b/[p]/{q}/\\n",
    ]);
    expect(drawn.nodes.get("end")!.lines).toEqual(["end", `image: ${HOSTILE.join(" ")}`]);
    expect(drawn.nodes.get("o")!.attrs.shape).toBe("hexagon");
    expect(drawn.edges.map((e) => [e.from, e.to, e.attrs.style ?? "solid", e.lines.join(" ")])).toEqual([
      ["end", "o", "solid", ""],
      ["o", "subgraph", "dashed", "continue"],
    ]);
  });
});

describe("what the graph shows", () => {
  const ir = irFixture({
    name: "shown",
    schedule: cronFixture({ cron: "30 6 * * 1", timezone: "Europe/Berlin", start: "2024-03-01T00:00:00", end: "2026-12-31T23:59:59", catchup: true }),
    timeoutSeconds: 6 * 3600,
    maxActiveRuns: 2,
    jobs: [
      jobFixture("check", { prerequisite: true, timeoutSeconds: 600 }),
      jobFixture("load", { dependsOn: ["check"], retry: { maxAttempts: 4, delaySeconds: 60, multiplier: 3, maxDelaySeconds: 300 } }),
      jobFixture("flaky", { retry: { maxAttempts: 8, delaySeconds: 1, multiplier: 2, maxDelaySeconds: null } }),
      jobFixture("report", { dependsOn: ["load"] }),
      jobFixture("cleanup", { dependsOn: ["load", "report"], runWhen: "all_done" }),
    ],
  });

  it("given a schedule, run timeout and concurrency limit, then the header names the cron, zone, window, catch-up, timeout and limit", () => {
    expect(graphModel(ir).header).toEqual([
      "workflow shown",
      "schedule: cron 30 6 * * 1 in Europe/Berlin",
      "window: from 2024-03-01T00:00:00 until 2026-12-31T23:59:59 (Europe/Berlin)",
      "catchup: on (missed slots run)",
      "run timeout: 6h",
      "max active runs: 2 (later runs queue)",
    ]);
    expect(draw(toDot(ir)).title[1]).toBe("schedule: cron 30 6 * * 1 in Europe/Berlin");
  });

  it("given retries and timeouts, then each job shows its attempts, its waits (long lists shortened) and its attempt timeout", () => {
    const nodes = new Map(graphModel(ir).nodes.map((n) => [n.job, n.lines]));
    expect(nodes.get("check")).toEqual(["check", "prerequisite gate", "image: lakehouse/ingest:1.2.0", "timeout: 10m per attempt"]);
    expect(nodes.get("load")).toContain("attempts: 4, waits 1m, 3m, 5m");
    expect(nodes.get("flaky")).toContain("attempts: 8, waits 1s, 2s, 4s, …, 1m4s");
    expect(nodes.get("report")).toEqual(["report", "image: lakehouse/ingest:1.2.0"]);
  });

  it("given a prerequisite and a continue job, then gate edges are thick and continue edges dashed and labelled, in both formats", () => {
    expect(graphModel(ir).edges).toEqual([
      { from: "check", to: "load", kind: "gate" },
      { from: "load", to: "report", kind: "normal" },
      { from: "load", to: "cleanup", kind: "continue" },
      { from: "report", to: "cleanup", kind: "continue" },
    ]);
    const { edges } = readMermaid(toMermaid(ir));
    expect(edges.filter((e) => e[0] !== "workflow")).toEqual([
      ["j1", "==>", "j2"],
      ["j2", "-->", "j4"],
      ["j2", '-.->|"continue"|', "j5"],
      ["j4", '-.->|"continue"|', "j5"],
    ]);
    expect(toMermaid(ir)).toContain("  class j1 gate\n");
    const drawn = draw(toDot(ir));
    expect(drawn.edges.map((e) => [e.from, e.to, e.attrs.style ?? "solid"])).toEqual([
      ["check", "load", "bold"],
      ["load", "report", "solid"],
      ["load", "cleanup", "dashed"],
      ["report", "cleanup", "dashed"],
    ]);
  });

  it("given jobs without dependencies, then the header sits above them through invisible links only", () => {
    const { edges } = readMermaid(toMermaid(ir));
    expect(edges.filter((e) => e[0] === "workflow")).toEqual([
      ["workflow", "~~~", "j1"],
      ["workflow", "~~~", "j3"],
    ]);
  });

  it("is deterministic: the same IR gives the same bytes", () => {
    expect(toMermaid(ir)).toBe(toMermaid(structuredClone(ir)));
    expect(toDot(ir)).toBe(toDot(structuredClone(ir)));
  });
});

describe("every spec in specs/", () => {
  it.each(specFiles())("%s: Mermaid is well-formed and DOT is read by Graphviz, with one node per job", (spec) => {
    const ir = analyze(spec, readFileSync(join(PACKAGE_ROOT, spec), "utf8")).ir!;
    const { labels, edges } = readMermaid(toMermaid(ir));
    expect(labels.size).toBe(ir.jobs.length + 1);
    expect(edges.filter((e) => e[1] !== "~~~").length).toBe(ir.jobs.reduce((n, j) => n + j.dependsOn.length, 0));
    const drawn = draw(toDot(ir));
    expect([...drawn.nodes.keys()].sort()).toEqual(ir.jobs.map((j) => j.name).sort());
    expect(drawn.title[0]).toBe(`workflow ${ir.name}`);
  });
});

describe("kfm-compile graph", () => {
  function run(args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: PACKAGE_ROOT });
    return { code, stdout, stderr };
  }

  it("prints Mermaid by default and DOT with --format dot, exit 0", () => {
    const m = run(["graph", "specs/prerequisite-gate.yaml"]);
    expect(m).toMatchObject({ code: 0, stderr: "" });
    expect(m.stdout).toBe(readFileSync(join(PACKAGE_ROOT, "golden/graph/prerequisite-gate.mmd"), "utf8"));
    const d = run(["graph", "specs/prerequisite-gate.yaml", "--format", "dot"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe(readFileSync(join(PACKAGE_ROOT, "golden/graph/prerequisite-gate.dot"), "utf8"));
  });

  it("exits 1 with diagnostics and prints no graph for an invalid spec", () => {
    const r = run(["graph", "test/invalid/cycle.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^test\/invalid\/cycle\.yaml:\d+:\d+: error KFM202: /m);
  });

  it.each([
    [["graph"], /graph takes exactly one spec file/],
    [["graph", "a.yaml", "b.yaml"], /graph takes exactly one spec file/],
    [["graph", "specs/catchup.yaml", "--format", "svg"], /--format is mermaid or dot, not 'svg'/],
    [["graph", "specs/catchup.yaml", "--fromat", "dot"], /unknown option --fromat\. Did you mean '--format'\?/],
  ])("usage error %j exits 2", (args, message) => {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("the README's Mermaid example is what graph prints for specs/every-field.yaml", () => {
    const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");
    expect(readme).toContain("```mermaid\n" + run(["graph", "specs/every-field.yaml"]).stdout + "```\n");
  });

  it("is listed in the main help and has its own", () => {
    expect(run(["--help"]).stdout).toContain("kfm-compile graph <spec> [--config FILE] [--format mermaid|dot]");
    expect(run(["graph", "--help"]).stdout).toMatch(/^Usage: kfm-compile graph/);
  });
});
