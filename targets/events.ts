/**
 * What the backends share for event triggers (contract 7.1, `s3_file_arrival`): the S3
 * event notification a run starts from, and how its bucket, key and time are matched and
 * read. Not a backend: no `Target` here, and the core (src/) does not import it.
 *
 * The event is an S3 event notification record as the object stores post it to an HTTP
 * endpoint, `{"Records":[{"eventName","eventTime","s3":{"bucket":{"name"},"object":{"key"}}}]}`
 * (docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html;
 * MinIO's webhook target posts the same records with `EventName` and `Key` beside them,
 * minio/minio internal/event/target/webhook.go; Ceph RGW's HTTP endpoint posts `Records`).
 * The run's logical date is `Records[0].eventTime` (ISO 8601 in UTC, such as
 * 2024-01-01T02:03:04.567Z); an object store posts one record per notification.
 */
import type { EventSchedule } from "../src/ir.js";

/**
 * The record's `eventName` of a new object: AWS writes `ObjectCreated:Put` (and `:Post`,
 * `:Copy`, `:CompleteMultipartUpload`), MinIO `s3:ObjectCreated:Put`.
 */
export const OBJECT_CREATED_PATTERN = "^(s3:)?ObjectCreated:";

/** Escapes a string for a Go RE2 / JavaScript regular expression. */
export function regexEscape(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => (c === "/" || c === "-" ? c : `\\${c}`));
}

/** The record's bucket name, matched whole. */
export function bucketPattern(event: EventSchedule): string {
  return `^${regexEscape(event.bucket)}$`;
}

/**
 * The record's object key, matched by prefix. Object stores URL-encode the key in the
 * record (AWS: "The s3 key provided in the event notification is URL encoded", so `/`
 * stays; MinIO escapes it with url.QueryEscape, so `/` is `%2F`): each `/` of the prefix
 * matches either.
 */
export function keyPattern(event: EventSchedule): string {
  return `^${event.prefix
    .split("/")
    .map((part) => regexEscape(part))
    .join("(/|%2F)")}`;
}

/** The bucket and prefix a keyPattern/bucketPattern pair was made from (lift), or null. */
export function locationFromPatterns(bucket: string, key: string): { bucket: string; prefix: string } | null {
  const b = /^\^([a-z0-9.-]+)\$$/.exec(bucket.replace(/\\\./g, "."));
  if (b === null || !key.startsWith("^")) return null;
  const prefix = key
    .slice(1)
    .split("(/|%2F)")
    .map((part) => part.replace(/\\(.)/g, "$1"))
    .join("/");
  return { bucket: b[1]!, prefix };
}

/** `s3://<bucket>/<prefix>`, as the spec wrote it (lift). */
export function s3Source(bucket: string, prefix: string): string {
  return `s3://${bucket}/${prefix}`;
}
