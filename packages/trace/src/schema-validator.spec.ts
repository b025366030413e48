import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OP_NAMES } from '@vdpa-kit/core-bus';
import { UnsupportedSchemaError, compileValidator } from './schema-validator.js';
import { busEventSchema, traceHeaderSchema, traceRecordSchema } from './trace-format.js';
import { OP_ARGS_SCHEMAS, VALUE_KIND_SCHEMAS } from './value-schemas.js';

/** Sets an own data property (as `JSON.parse` does, so `__proto__` is a plain key too). */
function withOwn(target: object, key: string, value: unknown): object {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Values near the edges of what the schemas below tell apart. */
const EDGES: readonly unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  0.5,
  2 ** 53 - 1,
  2 ** 53,
  Infinity,
  NaN,
  '',
  'a',
  '0',
  '01',
  '0x1f',
  'zz',
  [],
  [1],
  [1, 'a'],
  [1, 'a', true],
  {},
  { a: 1 },
  { a: 1, b: 'x' },
  { a: 1, extra: 2 },
  { a: undefined },
  { kind: 'x', n: 1 },
  { kind: 'y', s: 's' },
  { kind: 'z' },
  { '0': 1, '12': 2 },
  { x: 1 },
  withOwn({ '0': 1 }, '__proto__', 1),
  withOwn({ a: 1 }, '__proto__', 1),
  { [Symbol('s')]: 1 },
  Object.create({ inherited: 1 }) as object,
  new Date(0),
];

/** One schema of every construct the compiler models. */
const SCHEMAS: Record<string, z.ZodType> = {
  string: z.string(),
  number: z.number(),
  boolean: z.boolean(),
  null: z.null(),
  unknown: z.unknown(),
  literalNumber: z.literal(1),
  literals: z.literal(['a', 0, null, true]),
  enum: z.enum(['a', '0']),
  int: z.int(),
  intRange: z
    .int()
    .min(0)
    .max(2 ** 53 - 2),
  exclusive: z.number().gt(0).lt(1),
  int32: z.int32(),
  regex: z.string().regex(/^0x[0-9a-f]+$/i),
  optional: z.number().optional(),
  nullable: z.string().nullable(),
  array: z.array(z.int()),
  tuple: z.tuple([z.number(), z.string().optional(), z.boolean().optional()]),
  emptyTuple: z.tuple([]),
  strictObject: z.strictObject({ a: z.number(), b: z.string().optional() }),
  object: z.object({ a: z.number() }),
  looseObject: z.looseObject({ a: z.number() }),
  unknownField: z.strictObject({ a: z.unknown() }),
  record: z.record(z.string().regex(/^(?:0|[1-9][0-9]*)$/), z.int().positive()),
  union: z.union([z.string(), z.array(z.number())]),
  discriminated: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('x'), n: z.number() }),
    z.object({ kind: z.literal('y'), s: z.string() }),
  ]),
  refined: z.array(z.number()).refine((a) => a.length !== 1),
  checked: z.strictObject({ a: z.number() }).check((ctx) => {
    if (ctx.value.a === 1) ctx.issues.push({ code: 'custom', input: ctx.value, message: 'one' });
  }),
  pipe: z
    .unknown()
    .check((ctx) => {
      if (typeof ctx.value === 'object' && ctx.value !== null && Object.hasOwn(ctx.value, '__proto__'))
        ctx.issues.push({ code: 'custom', input: ctx.value, message: 'proto' });
    })
    .pipe(z.record(z.string(), z.number())),
};

describe('compileValidator', () => {
  it.each(Object.entries(SCHEMAS))('gives the verdict of the schema: %s', (_name, schema) => {
    const valid = compileValidator(schema);
    for (const value of EDGES) {
      const expected = schema.safeParse(value).success;
      if (valid(value) !== expected)
        expect.fail(`${String(value)}: compiled ${!expected}, schema ${expected}`);
    }
  });

  it('gives the verdict of the schema on arbitrary JSON, for every schema above', () => {
    const validators = Object.values(SCHEMAS).map((schema) => [schema, compileValidator(schema)] as const);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (json) => {
        for (const [schema, valid] of validators) expect(valid(json)).toBe(schema.safeParse(json).success);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the verdict of every value kind and op argument schema on arbitrary values', () => {
    const schemas: z.ZodType[] = [
      ...Object.values(VALUE_KIND_SCHEMAS),
      ...OP_NAMES.map((op) => OP_ARGS_SCHEMAS[op]),
    ];
    const validators = schemas.map((schema) => [schema, compileValidator(schema)] as const);
    const value = fc.oneof(
      fc.constantFrom(...EDGES),
      fc.jsonValue({ maxDepth: 2 }),
      fc.array(fc.oneof(fc.nat(), fc.constantFrom('0x1', 'ab', 'abc', true, null)), { maxLength: 6 }),
      fc.record({
        kind: fc.constantFrom('split', 'packed'),
        availIndex: fc.integer({ min: -1, max: 70000 }),
      }),
      fc.array(fc.record({ start: fc.nat(), last: fc.nat(), addr: fc.nat(), perm: fc.nat({ max: 3 }) }), {
        maxLength: 3,
      }),
      fc.array(
        fc.record({
          start: fc.constantFrom('0x0', '0x1000', '0xffffffffffffffff', '0x10000000000000000', '12'),
          last: fc.constantFrom('0xfff', '0x0', '0x1fff'),
          addr: fc.constantFrom('0x0', '0x8000'),
          perm: fc.integer({ min: -1, max: 4 }),
        }),
        { maxLength: 3 },
      ),
    );
    fc.assert(
      fc.property(value, (v) => {
        for (const [schema, valid] of validators) expect(valid(v)).toBe(schema.safeParse(v).success);
      }),
      { numRuns: 300 },
    );
  });

  it('compiles the record schemas; the header, with its recursive stack description, is parsed instead', () => {
    expect(() => compileValidator(traceRecordSchema)).not.toThrow();
    expect(() => compileValidator(busEventSchema)).not.toThrow();
    expect(() => compileValidator(traceHeaderSchema)).toThrow(UnsupportedSchemaError);
  });

  it('gives the verdict of the schema, or refuses to compile, for shape keys that objects inherit', () => {
    // zod reads `input[key]`, which finds Object.prototype's member when the key is absent.
    for (const key of ['toString', 'constructor', 'valueOf', 'hasOwnProperty', 'isPrototypeOf']) {
      const values: unknown[] = [{}, JSON.parse(`{"${key}":"x"}`), { other: 1 }];
      for (const make of [z.object, z.strictObject]) {
        for (const field of [z.string(), z.string().optional(), z.unknown(), z.unknown().optional()]) {
          const schema = make({ [key]: field });
          let valid: ((value: unknown) => boolean) | undefined;
          try {
            valid = compileValidator(schema);
          } catch (err) {
            expect(err).toBeInstanceOf(UnsupportedSchemaError);
            continue;
          }
          for (const value of values) {
            const expected = schema.safeParse(value).success;
            if (valid(value) !== expected)
              expect.fail(`${key} ${JSON.stringify(value)}: compiled ${!expected}, schema ${expected}`);
          }
        }
      }
    }
  });

  it('refuses, when compiling, what it does not model', () => {
    const refused: z.ZodType[] = [
      z.string().transform((s) => s.length),
      z.number().default(1),
      z.coerce.number(),
      z.lazy(() => z.string()),
      z.tuple([z.number()], z.string()),
      z.string().pipe(z.string()),
      z.record(z.enum(['a']), z.number()),
      z.xor([z.string(), z.string()]),
      z.date(),
    ];
    for (const schema of refused) expect(() => compileValidator(schema)).toThrow(UnsupportedSchemaError);
  });
});
