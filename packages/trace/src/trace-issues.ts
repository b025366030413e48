import type { z } from 'zod';
import { TRACE_FORMAT_VERSION, traceVersionSchema } from './trace-format.js';
import { inexactNumberProblem } from './trace-numbers.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** `a.b.0` of a zod issue path. */
function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

/** The issue about top-level field `key`, if the schema raised one. */
function issueAt(issues: readonly z.core.$ZodIssue[], key: string): z.core.$ZodIssue | undefined {
  return issues.find((issue) => issue.path.length === 1 && issue.path[0] === key);
}

function unsupportedVersion(v: unknown): string {
  return `unsupported trace version ${describe(v)} (this reader reads version ${TRACE_FORMAT_VERSION})`;
}

/**
 * One issue as `bad field "x" <value>: <what>`, `missing field "x": <what>`, `unknown field "x"` or
 * `bad key "k" in field "x"`; a check's issue (`custom`) is its own message.
 */
function issueProblem(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'unrecognized_keys') return `unknown field ${describe(issue.keys[0])}`;
  if (issue.code === 'invalid_key') {
    const key = issue.path[issue.path.length - 1];
    return `bad key ${describe(String(key))} in field "${issuePath(issue.path.slice(0, -1))}"`;
  }
  let got: unknown = value;
  for (const key of issue.path)
    got = isObject(got) || Array.isArray(got) ? (got as Record<PropertyKey, unknown>)[key] : undefined;
  const path = issuePath(issue.path);
  const field = path.length > 0 ? `field "${path}"` : 'record';
  return got === undefined
    ? `missing ${field}: ${issue.message.toLowerCase()}`
    : `bad ${field} ${describe(got)}: ${issue.message.toLowerCase()}`;
}

/**
 * What is wrong with a record after the header that `traceRecordSchema` (or `busEventSchema`)
 * rejected, naming the offending value. What a record is comes before what is wrong in it: a
 * value that is no object, then its version, its kind, its op, then a number beyond 2^53-1 (which
 * the schema would show rounded), then the schema's first issue.
 * @param error the schema's error for `value`
 * @param value the parsed line
 * @param text the line's text, to quote a number as written
 */
export function recordProblem(error: z.ZodError, value: unknown, text?: string): string {
  if (!isObject(value)) return `record ${describe(value)} is not an object`;
  const issues = error.issues;
  // Asked of the version schema itself: the record schema checks no field of an unknown kind.
  if (!traceVersionSchema.safeParse(value.v).success) return unsupportedVersion(value.v);
  if (issueAt(issues, 'kind') !== undefined)
    return value.kind === 'header'
      ? 'header is not the first record'
      : `unknown record kind ${describe(value.kind)}`;
  if (issueAt(issues, 'op')?.code === 'invalid_value') return `unknown op ${describe(value.op)}`;
  return inexactNumberProblem(value, text) ?? issueProblem(issues[0], value);
}

/**
 * What is wrong with a first line that `traceHeaderSchema` rejected: not a header at all, an
 * unsupported version, else `header <problem>`: a number beyond 2^53-1, or the schema's first issue.
 * @param error the schema's error for `value`
 * @param value the parsed line
 * @param text the line's text, to quote a number as written
 */
export function headerProblem(error: z.ZodError, value: unknown, text?: string): string {
  if (!isObject(value) || issueAt(error.issues, 'kind') !== undefined) {
    const kind = isObject(value) ? describe(value.kind) : describe(value);
    return `missing header: the first record has kind ${kind}, not "header"`;
  }
  if (issueAt(error.issues, 'v') !== undefined) return unsupportedVersion(value.v);
  return `header ${inexactNumberProblem(value, text) ?? issueProblem(error.issues[0], value)}`;
}
