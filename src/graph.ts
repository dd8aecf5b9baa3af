/**
 * `kfm-compile graph`: the job graph of a workflow as Mermaid (renders in a GitHub
 * PR comment or README) or Graphviz DOT. Pure functions of the IR: the same IR gives
 * the same bytes. What a reviewer needs to see is in the picture itself: a header
 * node with the schedule (cron, zone, window, catch-up), the run timeout and the
 * concurrency limit; one node per job with its image, attempts and waits and its
 * attempt timeout; prerequisite gates as hexagons whose edges are thick; and the
 * edges into an `on_upstream_failure: continue` job dashed and labelled `continue`.
 *
 * Every piece of spec text is escaped for the format (Mermaid entity codes such as
 * `#quot;`, DOT backslash escapes), so quotes, brackets, backticks, `#`, `<`,
 * newlines or anything else in an image name or description cannot break the
 * diagram or be read as markup.
 */
import type { Job, Workflow } from "./ir.js";
import { retryWaits } from "./ir.js";
import { formatDuration } from "./values.js";

export const GRAPH_FORMATS = ["mermaid", "dot"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export type EdgeKind = "normal" | "gate" | "continue";

/** The graph as the two formats draw it: lines of plain text per node, edges with their kind. */
export interface GraphModel {
  readonly workflow: string;
  /** The header: workflow name, description, schedule, run timeout, concurrency. */
  readonly header: readonly string[];
  /** `gate`: a prerequisite; `approval`: a manual approval gate (no container). */
  readonly nodes: readonly { readonly job: string; readonly gate: boolean; readonly approval: boolean; readonly lines: readonly string[] }[];
  /** In the order of the downstream job in the spec, then of its `dependsOn`. */
  readonly edges: readonly { readonly from: string; readonly to: string; readonly kind: EdgeKind }[];
  /** Jobs that wait for nothing, in spec order. */
  readonly roots: readonly string[];
}

/** What the shapes and edge styles used in this graph mean; empty when only plain jobs and edges are drawn. */
export function legend(m: GraphModel): string {
  const parts: string[] = [];
  if (m.nodes.some((n) => n.gate)) parts.push("hexagon = prerequisite gate (thick edges: every job after it waits for it to succeed)");
  if (m.nodes.some((n) => n.approval)) parts.push("diamond = approval gate");
  if (m.edges.some((e) => e.kind === "continue")) parts.push("dashed edge labelled continue = the job runs once its upstream finished, even after a failure");
  return parts.join("; ");
}

/** Retries as one line: `attempts: 4, waits 1m, 3m, 5m`; null for a job that runs once. */
export function retryLine(job: Job): string | null {
  if (job.retry.maxAttempts <= 1) return null;
  const waits = retryWaits(job.retry).map(formatDuration);
  const shown = waits.every((w) => w === waits[0])
    ? `wait ${waits[0]} before each retry`
    : `waits ${(waits.length <= 5 ? waits : [...waits.slice(0, 3), "…", waits[waits.length - 1]!]).join(", ")}`;
  return `attempts: ${job.retry.maxAttempts}, ${shown}`;
}

/** The schedule, run timeout and concurrency limit, one line each. */
export function scheduleLines(ir: Workflow): string[] {
  const s = ir.schedule;
  const lines: string[] = [];
  if (s === null) lines.push("schedule: none (runs when triggered by hand)");
  else if (s.kind === "event") {
    lines.push(`schedule: on event ${s.trigger}`);
    if (s.source !== null) lines.push(`event source: ${s.source}`);
  } else {
    lines.push(`schedule: cron ${s.cron} in ${s.timezone}`);
    if (s.start !== null || s.end !== null) {
      const from = s.start === null ? "" : `from ${s.start}`;
      const to = s.end === null ? "" : `until ${s.end}`;
      lines.push(`window: ${[from, to].filter((x) => x !== "").join(" ")} (${s.timezone})`);
    }
    lines.push(`catchup: ${s.catchup ? "on (missed slots run)" : "off"}`);
  }
  for (const u of upstreamOf(ir)) {
    lines.push(
      `waits for workflow ${u.workflow} to succeed for the same date${u.timeoutSeconds === null ? "" : ` (at most ${formatDuration(u.timeoutSeconds)})`}`,
    );
  }
  if (ir.timeoutSeconds !== null) lines.push(`run timeout: ${formatDuration(ir.timeoutSeconds)}`);
  if (ir.maxActiveRuns !== null) lines.push(`max active runs: ${ir.maxActiveRuns} (later runs queue)`);
  const notify = notificationsOf(ir);
  if (notify.length > 0) lines.push(`on failure: notify ${notify.join("; ")}`);
  return lines;
}

// Approval gates, upstream workflows and notifications are read structurally, so the
// graph shows them where the IR has them and compiles the same where it does not.

function field(o: object, key: string): unknown {
  return (o as Record<string, unknown>)[key];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function seconds(v: unknown): number | null {
  return typeof v === "number" ? v : null;
}

/** The job's approval gate, or null for a container job. */
export function approvalOf(job: Job): { timeoutSeconds: number | null } | null {
  const a = field(job, "approval");
  return isRecord(a) ? { timeoutSeconds: seconds(a.timeoutSeconds) } : null;
}

function upstreamOf(ir: Workflow): { workflow: string; timeoutSeconds: number | null }[] {
  const u = field(ir, "upstream");
  if (!Array.isArray(u)) return [];
  return u.filter(isRecord).map((x) => ({ workflow: String(x.workflow), timeoutSeconds: seconds(x.timeoutSeconds) }));
}

function notificationsOf(ir: Workflow): string[] {
  const n = field(ir, "notifications");
  if (!Array.isArray(n)) return [];
  return n.filter(isRecord).map((x) => {
    if (x.kind === "email" && Array.isArray(x.recipients)) return `email ${x.recipients.map(String).join(", ")}`;
    if (x.kind === "slack" && typeof x.channel === "string") return `slack ${x.channel}`;
    return String(x.kind);
  });
}

export function graphModel(ir: Workflow): GraphModel {
  const gates = new Set(ir.jobs.filter((j) => j.prerequisite).map((j) => j.name));
  const header = [`workflow ${ir.name}`, ...(ir.description === null || ir.description.trim() === "" ? [] : [ir.description.trim()]), ...scheduleLines(ir)];
  const nodes = ir.jobs.map((j) => {
    const lines = [j.name];
    const approval = approvalOf(j);
    if (approval !== null) {
      lines.push(
        "approval gate",
        approval.timeoutSeconds === null ? "no time limit" : `fails without a decision in ${formatDuration(approval.timeoutSeconds)}`,
      );
      return { job: j.name, gate: j.prerequisite, approval: true, lines };
    }
    if (j.prerequisite) lines.push("prerequisite gate");
    lines.push(`image: ${j.image}`);
    const retry = retryLine(j);
    if (retry !== null) lines.push(retry);
    if (j.timeoutSeconds !== null) lines.push(`timeout: ${formatDuration(j.timeoutSeconds)} per attempt`);
    if (j.runWhen === "all_done") lines.push("runs after upstream failure too");
    return { job: j.name, gate: j.prerequisite, approval: false, lines };
  });
  const edges = ir.jobs.flatMap((j) =>
    j.dependsOn.map((d) => ({ from: d, to: j.name, kind: (j.runWhen === "all_done" ? "continue" : gates.has(d) ? "gate" : "normal") as EdgeKind })),
  );
  const roots = ir.jobs.filter((j) => j.dependsOn.length === 0).map((j) => j.name);
  return { workflow: ir.name, header, nodes, edges, roots };
}

export function renderGraph(ir: Workflow, format: GraphFormat): string {
  return format === "mermaid" ? toMermaid(ir) : toDot(ir);
}

// ---------------------------------------------------------------------------
// Mermaid

/**
 * Spec text as the inside of a Mermaid `"..."` label. Mermaid decodes `#name;` and
 * `#123;` entity codes in labels, and with HTML labels (GitHub's default) reads
 * `<...>` and `&` as markup, so every character that could end the string, start
 * markup or an entity, or open a Markdown string is written as an entity code. Mermaid's own pre-parser drops the `;` of `style...:...#...;`
 * and `classDef...:...#...;` on a line, so the words `style` and `classDef` are
 * broken up the same way. What Mermaid still reads after decoding (`$$` maths, `\n`,
 * Font Awesome `fa:fa-` icons, its private entity markers) gets an invisible
 * zero-width space. Line breaks become `<br/>`; other control characters U+FFFD.
 */
export function mermaidText(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  return lines.map(mermaidLine).join("<br/>");
}

const MERMAID_ENTITIES: Record<string, string> = {
  '"': "#quot;",
  "#": "#35;",
  "&": "#amp;",
  "<": "#lt;",
  ">": "#gt;",
  "`": "#96;",
  "\\": "#92;",
  $: "#36;",
};

function mermaidLine(line: string): string {
  return (
    line
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "\ufffd")
      .replace(/\t/g, " ")
      // A zero-width space (invisible) breaks up what Mermaid reads in the decoded text
      // of a label: its entity markers (it decodes twice), `$$` (KaTeX maths), `\n`
      // (a line break) and `fa:fa-name` (Font Awesome icons).
      .replace(/ﬂ(?=°)|¶(?=ß)|\$(?=\$)|\\(?=.)|\bfa[bklrs]?:(?=fa-)/g, "$&\u200b")
      .replace(/["#&<>`\\$]/g, (c) => MERMAID_ENTITIES[c]!)
      .replace(/style|classDef/g, (w) => `#${w.charCodeAt(0)};${w.slice(1)}`)
  );
}

/** A label in Mermaid node syntax: lines joined by `<br/>`, each escaped. */
function mermaidLabel(lines: readonly string[]): string {
  return `"${lines.map(mermaidText).join("<br/>")}"`;
}

/** Comment text on one line: Mermaid comments end at the line's end. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, " ");
}

export function toMermaid(ir: Workflow): string {
  const m = graphModel(ir);
  const id = new Map(m.nodes.map((n, i) => [n.job, `j${i + 1}`]));
  const out: string[] = [
    "flowchart TD",
    `  %% kfm-compile graph of workflow ${oneLine(m.workflow)}`,
    ...m.header.slice(1).map((l) => `  %% ${oneLine(l)}`),
    ...(legend(m) === "" ? [] : [`  %% legend: ${legend(m)}`]),
    `  workflow(${mermaidLabel(m.header)})`,
  ];
  for (const n of m.nodes) {
    const label = mermaidLabel(n.lines);
    out.push(`  ${id.get(n.job)}${n.approval ? `{${label}}` : n.gate ? `{{${label}}}` : `[${label}]`}`);
  }
  // Invisible links keep the header above the jobs without drawing an edge.
  for (const r of m.roots) out.push(`  workflow ~~~ ${id.get(r)}`);
  for (const e of m.edges) {
    const arrow = e.kind === "continue" ? `-.->|"continue"|` : e.kind === "gate" ? "==>" : "-->";
    out.push(`  ${id.get(e.from)} ${arrow} ${id.get(e.to)}`);
  }
  out.push("  classDef header stroke-dasharray:4 3", "  class workflow header");
  const gateIds = m.nodes.filter((n) => n.gate && !n.approval).map((n) => id.get(n.job));
  if (gateIds.length > 0) out.push("  classDef gate stroke-width:3px", `  class ${gateIds.join(",")} gate`);
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// Graphviz DOT

/**
 * Spec text as a DOT double-quoted string: `"` and `\` are backslash-escaped (a
 * backslash would otherwise start a label escape such as `\N`), line breaks become
 * `\n`, other control characters U+FFFD.
 */
export function dotString(text: string): string {
  const body = text
    .replace(/\r\n?/g, "\n")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "\ufffd")
    .replace(/\t/g, " ")
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/\n/g, "\\n");
  return `"${body}"`;
}

/** A label: like an ID, and `&` written `&amp;`, since Graphviz decodes HTML entities such as `&lt;` in labels. */
function dotLabel(lines: readonly string[]): string {
  return dotString(lines.join("\n").replace(/&/g, "&amp;"));
}

export function toDot(ir: Workflow): string {
  const m = graphModel(ir);
  const out: string[] = [
    `// kfm-compile graph of workflow ${oneLine(m.workflow)}`,
    ...m.header.slice(1).map((l) => `// ${oneLine(l)}`),
    ...(legend(m) === "" ? [] : [`// legend: ${legend(m)}`]),
    `digraph ${dotString(m.workflow)} {`,
    `  graph [label=${dotLabel(m.header)}, labelloc=t, fontname="Helvetica"];`,
    `  node [shape=box, style=rounded, fontname="Helvetica"];`,
    `  edge [fontname="Helvetica"];`,
  ];
  for (const n of m.nodes) {
    const shape = n.approval ? ", shape=diamond" : n.gate ? ", shape=hexagon, style=bold, penwidth=2" : "";
    out.push(`  ${dotString(n.job)} [label=${dotLabel(n.lines)}${shape}];`);
  }
  for (const e of m.edges) {
    const attrs = e.kind === "continue" ? ` [style=dashed, label="continue"]` : e.kind === "gate" ? " [style=bold, penwidth=2]" : "";
    out.push(`  ${dotString(e.from)} -> ${dotString(e.to)}${attrs};`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}
