import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { beyondSafe, rawJson } from '../test/raw-json.js';
import {
  TRACE_NUMBER_MAX,
  findInexactNumber,
  hasInexactNumber,
  inexactNumberProblem,
  isTraceNumber,
  numberTokenAt,
} from './trace-numbers.js';

describe('isTraceNumber', () => {
  it('is true within ±(2^53-1), fractions and -0 included, and false beyond, for NaN and ±Infinity', () => {
    expect(TRACE_NUMBER_MAX).toBe(2 ** 53 - 1);
    for (const n of [0, -0, 1, -1, 0.5, 1e-300, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53 - 1.5])
      expect(isTraceNumber(n)).toBe(true);
    for (const n of [2 ** 53, -(2 ** 53), 2 ** 60, 1e300, Infinity, -Infinity, NaN])
      expect(isTraceNumber(n)).toBe(false);
  });
});

describe('findInexactNumber / hasInexactNumber', () => {
  it('finds the first refused number with its path, at any depth', () => {
    expect(findInexactNumber({ a: 1, b: [0, { c: 2 ** 53 }], d: 2 ** 60 })).toEqual({
      path: ['b', '1', 'c'],
      value: 2 ** 53,
    });
    expect(findInexactNumber(-Infinity)).toEqual({ path: [], value: -Infinity });
    expect(findInexactNumber({ a: [1, '9007199254740993', null, true, { b: -0 }] })).toBeUndefined();
    expect(hasInexactNumber({ a: [1, { b: [NaN] }] })).toBe(true);
    expect(hasInexactNumber({ a: [1, { b: ['1e400'] }] })).toBe(false);
  });

  it('sees a __proto__ key JSON.parse made an own field', () => {
    const value: unknown = JSON.parse('{"__proto__":{"x":9007199254740993}}');
    expect(findInexactNumber(value)).toEqual({ path: ['__proto__', 'x'], value: 2 ** 53 });
  });
});

describe('numberTokenAt', () => {
  it('returns the token as written at a path, skipping strings, escapes and keys', () => {
    const text = '{"a\\"1":"[9007199254740993]","b":[ "\\\\", 1e400 , {"\\u0063":-0.50}],"a\\"1":7}';
    expect(numberTokenAt(text, ['b', '1'])).toBe('1e400');
    expect(numberTokenAt(text, ['b', '2', 'c'])).toBe('-0.50');
    expect(numberTokenAt(text, ['a"1'])).toBe('7');
    expect(numberTokenAt(text, ['b', '0'])).toBeUndefined();
    expect(numberTokenAt('-12.5E+3', [])).toBe('-12.5E+3');
  });

  it('finds every number token of random JSON texts at its path (property)', () => {
    fc.assert(
      fc.property(rawJson, (raw) => {
        for (const n of raw.numbers) expect(numberTokenAt(raw.text, n.path)).toBe(n.token);
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees with the parsed value on which numbers are beyond 2^53-1 (property)', () => {
    fc.assert(
      fc.property(rawJson, (raw) => {
        const value: unknown = JSON.parse(raw.text);
        const unsafe = raw.numbers.filter((n) => beyondSafe(n.token));
        expect(hasInexactNumber(value)).toBe(unsafe.length > 0);
        const found = findInexactNumber(value);
        expect(found === undefined).toBe(unsafe.length === 0);
        if (found !== undefined)
          expect(unsafe.map((n) => n.path.join('\u0000'))).toContain(found.path.join('\u0000'));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('inexactNumberProblem', () => {
  it('quotes the number as written and as JSON reads it, or as it is without the text', () => {
    const text = '{"x":[9007199254740993]}';
    const value: unknown = JSON.parse(text);
    const hint = '(64-bit values are written as "0x…" hex strings)';
    expect(inexactNumberProblem(value, text)).toBe(
      `bad field "x.0" 9007199254740993: not a safe integer, JSON reads it as 9007199254740992 ${hint}`,
    );
    expect(inexactNumberProblem(value)).toBe(`bad field "x.0" 9007199254740992: not a safe integer ${hint}`);
    expect(inexactNumberProblem(1e300)).toBe(`bad record 1e+300: not a safe integer ${hint}`);
    expect(inexactNumberProblem({ x: [1] }, '{"x":[1]}')).toBeUndefined();
  });
});
