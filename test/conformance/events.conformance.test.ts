/**
 * Event triggers (README "Meanings", "Event triggers"): a run starts for each new object
 * under the spec's `s3://<bucket>/<prefix>`, and its logical date is the event's time.
 * Checked with each event system's own code, on S3 event records as object stores post
 * them (AWS's form and MinIO's, whose keys escape `/`):
 *
 * - Argo: Argo Events (conformance/go/argo-events, argo-events-check) validates the
 *   EventSource and the Sensor as its controller does, filters each record through the
 *   Sensor's dependency and fires its k8s trigger against a fake API server; the Workflow
 *   it creates is then rendered by Argo's own substitution (argo-check --param), whose
 *   KFM_LOGICAL_DATE must be the record's eventTime.
 * - Tekton: Tekton Triggers (conformance/go/tekton-triggers, tekton-triggers-check)
 *   validates the EventListener, TriggerBinding and TriggerTemplate as its webhook does,
 *   then runs the listener's trigger on the posted record: the CEL interceptor's Process
 *   (filter, overlays), ResolveTrigger, ResolveParams, ResolveResources. The PipelineRun it
 *   creates must carry the record's time, in the form kfm-context accepts, as logical-date,
 *   and pass Tekton Pipelines' own admission (tekton-check).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { EventSchedule } from "../../src/ir.js";
import { parseYamlStream, toYamlStream } from "../../src/yaml.js";
import { CACHE, compileAll, runTool, setup, tools, type Compiled } from "./runners.js";

const all = compileAll().outputs.filter((o) => o.drift === undefined && o.ir.schedule?.kind === "event");
const argoOutputs = all.filter((o) => o.target === "argo");
const tektonOutputs = all.filter((o) => o.target === "tekton");
const dir = mkdtempSync(join(tmpdir(), "kfm-events-"));

beforeAll(() => setup(), 1_800_000);

const tektonTriggers = (files: readonly string[], event?: string) =>
  runTool(join(CACHE, "bin", "tekton-triggers-check"), [...(event !== undefined ? ["--event", event] : []), ...files]);

const argoEvents = (files: readonly string[], event?: string) =>
  runTool(join(CACHE, "bin", "argo-events-check"), [...(event !== undefined ? ["--event", event] : []), ...files]);

/** One S3 event notification record, in AWS's form or MinIO's (`s3:` before the event name, the key's `/` escaped). */
function record(form: "aws" | "minio", eventName: string, bucket: string, key: string, eventTime: string) {
  return {
    eventVersion: "2.1",
    eventSource: form === "aws" ? "aws:s3" : "minio:s3",
    eventTime,
    eventName: form === "minio" ? `s3:${eventName}` : eventName,
    s3: { bucket: { name: bucket }, object: { key: form === "minio" ? encodeURIComponent(key) : encodeURIComponent(key).replace(/%2F/g, "/") } },
  };
}

interface Case {
  readonly name: string;
  readonly record: ReturnType<typeof record>;
  /** Whether a run starts. */
  readonly starts: boolean;
}

function cases(e: EventSchedule): Case[] {
  const at = "2024-03-10T07:30:05.123Z";
  const key = `${e.prefix}2024/03/part 1.csv`;
  return [
    { name: "AWS: a new object under the prefix", record: record("aws", "ObjectCreated:Put", e.bucket, key, at), starts: true },
    {
      name: "MinIO: a new object under the prefix",
      record: record("minio", "ObjectCreated:CompleteMultipartUpload", e.bucket, key, "2025-11-02T05:59:59.999Z"),
      starts: true,
    },
    { name: "an object in another bucket", record: record("aws", "ObjectCreated:Put", `${e.bucket}-other`, key, at), starts: false },
    { name: "an object beside the prefix", record: record("minio", "ObjectCreated:Put", e.bucket, `other/${key}`, at), starts: e.prefix === "" },
    { name: "a removed object", record: record("aws", "ObjectRemoved:Delete", e.bucket, key, at), starts: false },
  ];
}

/** KFM_LOGICAL_DATE of a run whose logical date is `eventTime` (seconds, UTC, `+00:00`: README "Runtime values"). */
const ts = (eventTime: string) => `${eventTime.slice(0, 19)}+00:00`;

describe("Argo Events: the EventSource and Sensor pass its validation, and a new object's event starts a run dated by the event", () => {
  it("has event-triggered specs to check", () => expect(argoOutputs.length).toBeGreaterThan(0));

  it.each(argoOutputs.map((o) => [o.spec, o] as const))("%s", (_spec, o: Compiled) => {
    const e = o.ir.schedule as EventSchedule;
    const template = (parseYamlStream(readFileSync(o.file, "utf8")) as { kind: string; metadata: { name: string } }[]).find(
      (d) => d.kind === "WorkflowTemplate",
    )!;
    for (const c of cases(e)) {
      const event = join(dir, "event.json");
      writeFileSync(event, JSON.stringify({ header: { "Content-Type": ["application/json"] }, body: { Records: [c.record] } }));
      const r = argoEvents([o.file], event);
      const v = r.files[0]!;
      expect(v.errors, c.name).toEqual([]);
      const parsed = v.parsed as { kind: string; matched?: boolean; created?: Record<string, any>[] }[];
      expect(parsed.map((p) => p.kind)).toEqual(["EventSource", "Sensor"]);
      const sensor = parsed[1]!;
      expect(sensor.matched, c.name).toBe(c.starts);
      if (!c.starts) continue;
      expect(sensor.created).toHaveLength(1);
      const run = sensor.created![0]!;
      expect(run["kind"]).toBe("Workflow");
      expect(run["spec"]["workflowTemplateRef"]).toEqual({ name: template.metadata.name });
      const params = run["spec"]["arguments"]["parameters"] as { name: string; value: string }[];
      expect(params).toEqual([{ name: "logical-date", value: c.record.eventTime }]);
      // Argo's own substitution of the WorkflowTemplate with the run's parameter: the logical date every job sees.
      const rendered = tools.argo([o.file], ["--param", `logical-date=${params[0]!.value}`]);
      expect(rendered.files[0]!.errors).toEqual([]);
      const wt = (rendered.files[0]!.parsed as { kind: string; rendered?: { env: Record<string, string> }[] }[]).find((p) => p.kind === "WorkflowTemplate")!;
      for (const container of wt.rendered!) expect(container.env["KFM_LOGICAL_DATE"], c.name).toBe(ts(c.record.eventTime));
    }
  });

  it("refuses an EventSource and a Sensor Argo Events' validation rejects (the check can fail)", () => {
    const o = argoOutputs[0]!;
    const docs = parseYamlStream(readFileSync(o.file, "utf8")) as Record<string, any>[];
    const source = docs.find((d) => d["kind"] === "EventSource")!;
    source["spec"]["webhook"]["s3-file-arrival"]["port"] = "twelve thousand";
    const sensor = docs.find((d) => d["kind"] === "Sensor")!;
    sensor["spec"]["triggers"][0]["template"]["k8s"]["operation"] = "submit";
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, toYamlStream(docs));
    const errors = argoEvents([broken]).files[0]!.errors.join("\n");
    expect(errors).toMatch(/EventSource/);
    expect(errors).toMatch(/Sensor/);
  });
});

describe("Tekton Triggers: the listener's objects pass its validation, and a new object's event creates a PipelineRun dated by the event", () => {
  it("has event-triggered specs to check", () => expect(tektonOutputs.length).toBeGreaterThan(0));

  it.each(tektonOutputs.map((o) => [o.spec, o] as const))("%s", (_spec, o: Compiled) => {
    const e = o.ir.schedule as EventSchedule;
    const pipeline = (parseYamlStream(readFileSync(o.file, "utf8")) as { kind: string; metadata: { name: string } }[]).find((d) => d.kind === "Pipeline")!;
    for (const c of cases(e)) {
      const event = join(dir, "body.json");
      writeFileSync(event, JSON.stringify({ Records: [c.record] }));
      const v = tektonTriggers([o.file], event).files[0]!;
      expect(v.errors, c.name).toEqual([]);
      const parsed = v.parsed as { kind: string; fired?: { matched: boolean; created?: Record<string, any>[] }[] }[];
      expect(parsed.map((p) => p.kind)).toEqual(["TriggerBinding", "TriggerTemplate", "EventListener"]);
      const fired = parsed[2]!.fired!;
      expect(fired).toHaveLength(1);
      expect(fired[0]!.matched, c.name).toBe(c.starts);
      if (!c.starts) continue;
      expect(fired[0]!.created).toHaveLength(1);
      const run = fired[0]!.created![0]!;
      expect(run["kind"]).toBe("PipelineRun");
      expect(run["spec"]["pipelineRef"]).toEqual({ name: pipeline.metadata.name });
      const date = (run["spec"]["params"] as { name: string; value: unknown }[]).find((p) => p.name === "logical-date")?.value;
      // The record's time in whole seconds, UTC, `Z`: the form kfm-context accepts (targets/tekton/README.md "Runtime values").
      expect(date, c.name).toBe(`${c.record.eventTime.slice(0, 19)}Z`);
      const runFile = join(dir, "run.yaml");
      writeFileSync(runFile, toYamlStream([run]));
      expect(tools.tekton([runFile]).files[0]!.errors, c.name).toEqual([]);
    }
  });

  it("refuses objects Tekton Triggers' validation rejects (the check can fail)", () => {
    const o = tektonOutputs[0]!;
    const docs = parseYamlStream(readFileSync(o.file, "utf8")) as Record<string, any>[];
    const listener = docs.find((d) => d["kind"] === "EventListener")!;
    delete listener["spec"]["triggers"][0]["bindings"][0]["kind"];
    const template = docs.find((d) => d["kind"] === "TriggerTemplate")!;
    template["spec"]["resourcetemplates"][0]["spec"]["params"][0]["value"] = "$(tt.params.logical_date_missing)";
    const broken = join(dir, "broken-tekton.yaml");
    writeFileSync(broken, toYamlStream(docs));
    const errors = tektonTriggers([broken]).files[0]!.errors.join("\n");
    expect(errors).toMatch(/EventListener/);
    expect(errors).toMatch(/TriggerTemplate/);
  });
});
