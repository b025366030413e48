import { ETH_ALEN, U16_MAX, U32_MAX, U64_LIMIT } from '@vdpa-kit/virtio-spec';

/** Largest value of one lladdr group. */
const BYTE_MAX = 0xff;
const DECIMAL = 10;
const HEX = 16;

/** `isspace` of the C locale. */
const LEADING_SPACE = /^[ \t\n\v\f\r]*/;

/**
 * `strtoull(arg, &end, base)` with the checks of iproute2's `get_u16/u32/u64`: optional leading
 * whitespace and sign, `0x` allowed for base 16, the whole word consumed, not empty, no overflow. A
 * minus sign negates modulo 2^64 as C does (so `-1` is 2^64-1 and fails every range but u64's).
 *
 * @returns the value, or undefined when iproute2 would fail (silently)
 */
export function parseUnsigned(
  arg: string,
  base: typeof DECIMAL | typeof HEX,
  max: bigint,
): bigint | undefined {
  let rest = arg.replace(LEADING_SPACE, '');
  let negative = false;
  if (rest.startsWith('+') || rest.startsWith('-')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (base === HEX && /^0[xX][0-9a-fA-F]/.test(rest)) rest = rest.slice(2);
  const digits = base === HEX ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/;
  if (!digits.test(rest)) return undefined;
  const magnitude = BigInt(base === HEX ? `0x${rest}` : rest);
  if (magnitude >= U64_LIMIT) return undefined;
  const value = negative && magnitude !== 0n ? U64_LIMIT - magnitude : magnitude;
  return value > max ? undefined : value;
}

/** `get_u16(arg, 10)`: undefined on failure. */
export function parseU16(arg: string): number | undefined {
  const v = parseUnsigned(arg, DECIMAL, BigInt(U16_MAX));
  return v === undefined ? undefined : Number(v);
}

/** `get_u32(arg, 10)`: undefined on failure. */
export function parseU32(arg: string): number | undefined {
  const v = parseUnsigned(arg, DECIMAL, BigInt(U32_MAX));
  return v === undefined ? undefined : Number(v);
}

/** `get_u64(arg, 16)` (`device_features`): hex with optional `0x`; undefined on failure. */
export function parseHexU64(arg: string): bigint | undefined {
  return parseUnsigned(arg, HEX, U64_LIMIT - 1n);
}

/**
 * `ll_addr_a2n(mac, 6, arg)` of the current iproute2 `lib/ll_addr.c`: up to 6 `:`-separated groups,
 * each starting with a hex digit, read as `strtoul(…, 16)` (so `0x1` is accepted) and at most 255;
 * fewer groups are zero-padded. More than 6 groups, an empty group, a trailing `:` or any other
 * separator fail.
 *
 * @returns 6 bytes, or undefined when iproute2 prints `"<arg>" is invalid lladdr.`
 */
export function parseLladdr(arg: string): Uint8Array | undefined {
  const out = new Uint8Array(ETH_ALEN);
  const groups = arg.split(':');
  if (groups.length > ETH_ALEN) return undefined;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (!/^[0-9a-fA-F]/.test(g)) return undefined;
    const hex = /^0[xX][0-9a-fA-F]/.test(g) ? g.slice(2) : g;
    if (!/^[0-9a-fA-F]+$/.test(hex)) return undefined;
    const value = BigInt(`0x${hex}`);
    if (value > BigInt(BYTE_MAX)) return undefined;
    out[i] = Number(value);
  }
  return out;
}
