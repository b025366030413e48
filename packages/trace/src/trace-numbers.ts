/**
 * The largest magnitude of a JSON number in a trace: `JSON.parse` reads every integer up to 2^53-1
 * exactly and rounds larger ones (2^53+1 reads as 2^53), so 64-bit values are `"0x…"` hex strings.
 */
export const TRACE_NUMBER_MAX = Number.MAX_SAFE_INTEGER;

/** Why a number beyond {@link TRACE_NUMBER_MAX} is refused, after the offending value. */
const NOT_SAFE = 'not a safe integer';
/** What to write instead, at the end of the message. */
const HINT = '(64-bit values are written as "0x…" hex strings)';
/** `String(n)` switches to exponent notation from here on (ECMA-262 Number::toString). */
const POSITIONAL_MAX = 1e21;

/**
 * True when a trace carries `n` exactly as a JSON number: its magnitude is at most 2^53-1
 * ({@link TRACE_NUMBER_MAX}). False for NaN and ±Infinity, which JSON cannot carry at all, and for a
 * float beyond 2^53-1, which has no fraction left and is an integer JSON may have rounded.
 * @param n any number
 */
export function isTraceNumber(n: number): boolean {
  return n <= TRACE_NUMBER_MAX && n >= -TRACE_NUMBER_MAX;
}

/** A number {@link isTraceNumber} refuses, and where it sits. */
export interface InexactNumber {
  /** Keys from the record down to the number (array indices as decimal strings). */
  readonly path: readonly string[];
  readonly value: number;
}

/**
 * True when a JSON value holds a number that {@link isTraceNumber} refuses, at any depth. Walks
 * without allocating; {@link findInexactNumber} says where.
 * @param value a JSON value
 */
export function hasInexactNumber(value: unknown): boolean {
  if (typeof value === 'number') return !isTraceNumber(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasInexactNumber(value[i])) return true;
    return false;
  }
  const fields = value as Record<string, unknown>;
  for (const key in fields) if (hasInexactNumber(fields[key])) return true;
  return false;
}

/**
 * The first number that {@link isTraceNumber} refuses in a JSON value (a parsed line, or a record
 * about to be written), in the order `for…in` visits fields (integer-like keys first).
 * @param value a JSON value
 * @returns the number and its path, or undefined when every number is exact
 */
export function findInexactNumber(value: unknown): InexactNumber | undefined {
  const path: string[] = [];
  const found = inexactIn(value, path);
  return found === undefined ? undefined : { path, value: found };
}

/** The refused number in `value`, leaving its path in `path`; undefined (and `path` as given) if none. */
function inexactIn(value: unknown, path: string[]): number | undefined {
  if (typeof value === 'number') return isTraceNumber(value) ? undefined : value;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(String(i));
      const found = inexactIn(value[i], path);
      if (found !== undefined) return found;
      path.pop();
    }
    return undefined;
  }
  const fields = value as Record<string, unknown>;
  for (const key in fields) {
    path.push(key);
    const found = inexactIn(fields[key], path);
    if (found !== undefined) return found;
    path.pop();
  }
  return undefined;
}

/** A JSON number token (RFC 8259 §6) at the start of the sticky search. */
const NUMBER_TOKEN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** One open container of the JSON text being scanned. */
interface Frame {
  readonly array: boolean;
  /** The current element's index (array) or key (object). */
  at: string;
  /** Object: the next string is a key. */
  expectKey: boolean;
}

/** Index just past the JSON string that starts (with its quote) at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    // An escape takes the next character with it (`\"`, `\\`); `\uXXXX` has no quote or backslash after it.
    i += c === BACKSLASH ? 2 : 1;
  }
}

function samePath(stack: readonly Frame[], path: readonly string[]): boolean {
  if (stack.length !== path.length) return false;
  for (let i = 0; i < path.length; i++) if (stack[i].at !== path[i]) return false;
  return true;
}

/**
 * The source text of the number at `path` in a JSON text that `JSON.parse` accepted: the last number
 * token there, which is the one `JSON.parse` kept when a key is repeated. Strings (keys and values,
 * escapes included) are skipped, so digits inside them are never numbers.
 * @param text one line of valid JSON
 * @param path keys from the top-level value down to the number (see {@link InexactNumber})
 * @returns the token, or undefined when no number sits at `path`
 */
export function numberTokenAt(text: string, path: readonly string[]): string | undefined {
  const stack: Frame[] = [];
  let token: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const top = stack.length > 0 ? stack[stack.length - 1] : undefined;
    if (c === '"') {
      const end = stringEnd(text, i);
      if (top !== undefined && top.expectKey) {
        top.at = JSON.parse(text.slice(i, end)) as string;
        top.expectKey = false;
      }
      i = end;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER_TOKEN.lastIndex = i;
      const m = NUMBER_TOKEN.exec(text);
      const t = m === null ? c : m[0];
      if (samePath(stack, path)) token = t;
      i += t.length;
      continue;
    }
    if (c === '{') stack.push({ array: false, at: '', expectKey: true });
    else if (c === '[') stack.push({ array: true, at: '0', expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top !== undefined) {
      if (top.array) top.at = String(Number(top.at) + 1);
      else top.expectKey = true;
    }
    i++;
  }
  return token;
}

/**
 * `n` as the exact integer it is when `String` would round its digits (`2 ** 60` prints as
 * `1152921504606847000` but is 1152921504606846976); else as `String` prints it (`1e+300`, `Infinity`).
 */
function exactDigits(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < POSITIONAL_MAX ? BigInt(n).toString() : String(n);
}

/**
 * The message for a number a trace cannot carry exactly, or undefined when `value` has none:
 * `bad field "args.1" 9007199254740993: not a safe integer, JSON reads it as 9007199254740992 (…)`.
 * With the line's text the value is quoted as written; without it, as the number it is.
 * @param value the parsed line (or a record)
 * @param text the line `value` was parsed from, when there is one
 */
export function inexactNumberProblem(value: unknown, text?: string): string | undefined {
  const found = findInexactNumber(value);
  if (found === undefined) return undefined;
  const read = exactDigits(found.value);
  const written = text === undefined ? undefined : numberTokenAt(text, found.path);
  const field = found.path.length > 0 ? `field "${found.path.join('.')}"` : 'record';
  return written === undefined || written === read
    ? `bad ${field} ${read}: ${NOT_SAFE} ${HINT}`
    : `bad ${field} ${written}: ${NOT_SAFE}, JSON reads it as ${read} ${HINT}`;
}
