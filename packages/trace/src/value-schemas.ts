import {
  HEX_BYTES,
  OP_NAMES,
  OP_TABLE,
  PACKED_VQ_IDX_MAX,
  type OpName,
  type ValueKind,
} from '@vdpa-kit/core-bus';
import { Iotlb } from '@vdpa-kit/vring';
import { z } from 'zod';
import { compileValidator, type SchemaValidator } from './schema-validator.js';
import { U16_MAX, U32_MAX } from '@vdpa-kit/virtio-spec';

const HEX_BIGINT = /^0x[0-9a-f]+$/i;
/** A u64 as `encodeValue` writes a bigint: at most 16 significant hex digits. */
const HEX_U64 = /^0x0*[0-9a-f]{1,16}$/i;

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * Error parameter of a schema whose every failure reads `trace value <json> is not a <what>`, or
 * `missing <what>` for an absent field of a value.
 */
function notA(what: string): { readonly error: (issue: { readonly input?: unknown }) => string } {
  return {
    error: (issue) =>
      issue.input === undefined ? `missing ${what}` : `trace value ${describe(issue.input)} is not a ${what}`,
  };
}

/** An integer in `[0, max]`. */
function index(max: number, what: string) {
  return z.int(notA(what)).min(0, notA(what)).max(max, notA(what));
}

/** A `number` result: any safe integer (`get_vq_irq()` answers a negative errno). */
const integer = z.int(notA('safe integer'));
/** A `number` argument: every kernel type of one (u8, u16, u32, u64 below 2^53) is a non-negative integer. */
const unsignedArg = index(Number.MAX_SAFE_INTEGER, 'non-negative integer');
const bigintHex = z.string(notA('bigint hex string')).regex(HEX_BIGINT, notA('bigint hex string'));
const hexBytes = z
  .string(notA('hex string'))
  .regex(HEX_BYTES, { error: (issue) => `hex string ${describe(issue.input)} is not whole bytes` });
const anything = z.unknown();

const u64Hex = z.string(notA('u64 hex string')).regex(HEX_U64, notA('u64 hex string'));

/**
 * One entry of an `Iotlb` as `encodeValue` writes it (`IotlbMap`: u64 bounds as hex strings, a u32
 * permission; `opaque` is free-form).
 */
const iotlbEntry = z.object(
  {
    start: u64Hex,
    last: u64Hex,
    addr: u64Hex,
    perm: index(U32_MAX, 'u32 permission'),
    opaque: anything.optional(),
  },
  notA('iotlb entry'),
);

/**
 * Builds the `Iotlb` of validated entries; `Iotlb.addRange` (vhost_iotlb_add_range_ctx()) decides
 * which ranges are acceptable.
 * @throws VdpaError naming the entry it refuses
 */
export function iotlbOf(entries: readonly z.infer<typeof iotlbEntry>[]): Iotlb {
  const tlb = new Iotlb();
  for (const m of entries) {
    try {
      tlb.addRange(BigInt(m.start), BigInt(m.last), BigInt(m.addr), m.perm, m.opaque);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`trace iotlb entry ${describe(m)} is invalid: ${why}`, { cause: err });
    }
  }
  return tlb;
}

/**
 * `struct vdpa_iova_range` as `encodeIovaRange` writes it: exactly `first` and `last`, each a u64 hex
 * string (`vdpasim_get_iova_range()` answers `last = ULLONG_MAX`, `"0xffffffffffffffff"`).
 */
const iovaRange = z.strictObject({ first: u64Hex, last: u64Hex }, notA('vdpa_iova_range'));

const iotlb = z.array(iotlbEntry, notA('iotlb entry list')).check((ctx) => {
  try {
    iotlbOf(ctx.value);
  } catch (err) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: (err as Error).message });
  }
});

/** `vdpa_vq_state_split` / `vdpa_vq_state_packed` (include/linux/vdpa.h), tagged by `kind`. */
const vqState = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('split'), availIndex: index(U16_MAX, 'u16 availIndex') }),
    z.object({
      kind: z.literal('packed'),
      lastAvailCounter: index(1, 'wrap counter'),
      lastAvailIdx: index(PACKED_VQ_IDX_MAX, '15-bit index'),
      lastUsedCounter: index(1, 'wrap counter'),
      lastUsedIdx: index(PACKED_VQ_IDX_MAX, '15-bit index'),
    }),
  ],
  notA('vq state'),
);

const stats = z.array(
  z.object({ name: z.string(notA('stat name')), value: bigintHex }, notA('vendor stat')),
  notA('vendor stats list'),
);

/**
 * What a recorded value of each {@link ValueKind} may be: exactly the encodings `encodeValue` /
 * `encodeArgs` / `encodeResult` write, and what `decodeValue` accepts. `outBytes` is the length of
 * the output buffer in a call (a `u32`, as `vhost_vdpa_config.len`) or its contents (hex) in a
 * return; `handle`, `json` and `void` values are not interpreted. A failure's message names the
 * value: `trace value 1 is not a bigint hex string`.
 */
export const VALUE_KIND_SCHEMAS: { readonly [K in ValueKind]: z.ZodType } = Object.freeze({
  number: integer,
  boolean: z.boolean(notA('boolean')),
  string: z.string(notA('string')),
  bigint: bigintHex,
  u64: u64Hex,
  bytes: hexBytes,
  outBytes: z.union([hexBytes, index(U32_MAX, 'buffer length')], notA('buffer length')),
  callback: z.union([z.null(), z.literal(true)], notA('callback marker')),
  handle: anything,
  iotlb,
  iovaRange,
  vqState,
  stats,
  json: anything,
  void: anything,
});

/**
 * The argument list of a call of `op`: one value per `OP_TABLE[op].args` kind, at least
 * `OP_TABLE[op].minArgs` of them (only `dmaMap`'s opaque may be left out), no more than the op takes.
 */
function argsSchema(op: OpName) {
  const meta = OP_TABLE[op];
  const items: z.ZodType[] = meta.args.map((kind, i) => {
    const schema = kind === 'number' ? unsignedArg : VALUE_KIND_SCHEMAS[kind];
    return i < meta.minArgs ? schema : schema.optional();
  });
  return z.tuple(
    // An op without arguments has the empty tuple; the overloads only type a non-empty one.
    items as [z.ZodType, ...z.ZodType[]],
    {
      error: (issue) =>
        (issue.code === 'too_big' || issue.code === 'too_small') && Array.isArray(issue.input)
          ? `trace call of ${op} has ${issue.input.length} arguments`
          : undefined,
    },
  );
}

/** A schema per op, made by `schemaOf`. */
function perOp(schemaOf: (op: OpName) => z.ZodType): Record<OpName, z.ZodType> {
  const out = {} as Record<OpName, z.ZodType>;
  for (const op of OP_NAMES) out[op] = schemaOf(op);
  return out;
}

/** Per op: the schema of the `args` of its call records (see {@link VALUE_KIND_SCHEMAS}). */
export const OP_ARGS_SCHEMAS: { readonly [K in OpName]: z.ZodType } = Object.freeze(perOp(argsSchema));

/**
 * Per op: the schema of the `ret` of its return records (`OP_TABLE[op].ret`). A return without
 * `ret`, or with `null` (a device returning nothing from a non-void op), is accepted before it.
 */
export const OP_RESULT_SCHEMAS: { readonly [K in OpName]: z.ZodType } = Object.freeze(
  perOp((op) => VALUE_KIND_SCHEMAS[OP_TABLE[op].ret]),
);

/** The message of the first issue `schema` finds in `value` (which it rejects). */
function firstProblem(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  return result.success ? undefined : result.error.issues[0].message;
}

/** Compiled validators of the schemas above (`compileValidator`), each made on first use. */
const validators = new Map<z.ZodType, SchemaValidator>();

/** What is wrong with `value` for `schema` (one of the schemas above), if anything. */
function problem(schema: z.ZodType, value: unknown): string | undefined {
  let valid = validators.get(schema);
  if (valid === undefined) {
    valid = compileValidator(schema);
    validators.set(schema, valid);
  }
  return valid(value) ? undefined : firstProblem(schema, value);
}

/**
 * What is wrong with `json` as a value of `kind` (the message of {@link VALUE_KIND_SCHEMAS}'s first
 * issue), or undefined when it is valid. A valid value is told by the schema's compiled validator,
 * without allocating.
 */
export function valueProblem(kind: ValueKind, json: unknown): string | undefined {
  return problem(VALUE_KIND_SCHEMAS[kind], json);
}

/** What is wrong with `args` as the arguments of a call of `op` ({@link OP_ARGS_SCHEMAS}), if anything. */
export function argsProblem(op: OpName, args: unknown): string | undefined {
  return problem(OP_ARGS_SCHEMAS[op], args);
}

/** What is wrong with `ret` as the result of `op` ({@link OP_RESULT_SCHEMAS}), if anything. */
export function resultProblem(op: OpName, ret: unknown): string | undefined {
  return problem(OP_RESULT_SCHEMAS[op], ret);
}
