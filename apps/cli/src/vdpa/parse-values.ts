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

/** Bytes of an IPv4 address (`get_addr_ipv4`). */
const IPV4_LEN = 4;
/** glibc's `int` of a `%x` conversion: the low 32 bits of the `unsigned long`. */
const INT_BITS = 32;

/** `strtoul`'s result on a 64-bit `unsigned long`: an overflow is `ULONG_MAX`, a minus sign negates modulo 2^64. */
function toUlong(magnitude: bigint, negative: boolean): bigint {
  if (magnitude >= U64_LIMIT) return U64_LIMIT - 1n;
  return negative ? (U64_LIMIT - magnitude) % U64_LIMIT : magnitude;
}

/** Splits off the C-locale leading blanks and an optional sign (`strtoul`, `scanf`). */
function sign(s: string): { readonly negative: boolean; readonly rest: string } {
  const rest = s.replace(LEADING_SPACE, '');
  return /^[+-]/.test(rest)
    ? { negative: rest.startsWith('-'), rest: rest.slice(1) }
    : { negative: false, rest };
}

/**
 * glibc `strtoul(s, &end, 0)`: `0x` followed by a hex digit is hex, another leading `0` octal, else
 * decimal.
 *
 * @returns the value and the text after the digits, or undefined when there are no digits (`end == s`)
 */
function strtoulBase0(s: string): { readonly value: bigint; readonly rest: string } | undefined {
  const { negative, rest } = sign(s);
  const hex = /^0[xX]([0-9a-fA-F]+)/.exec(rest);
  if (hex !== null)
    return { value: toUlong(BigInt(`0x${hex[1]}`), negative), rest: rest.slice(hex[0].length) };
  const octal = /^0[0-7]*/.exec(rest);
  if (octal !== null)
    return { value: toUlong(BigInt(`0o${octal[0]}`), negative), rest: rest.slice(octal[0].length) };
  const decimal = /^[0-9]+/.exec(rest);
  if (decimal === null) return undefined;
  return { value: toUlong(BigInt(decimal[0]), negative), rest: rest.slice(decimal[0].length) };
}

/**
 * glibc `sscanf(group, "%x", &temp)` into an `int`: the longest prefix that reads as a hex number
 * (trailing garbage is ignored), through `strtoul(…, 16)`, truncated to the `int`'s 32 bits.
 *
 * @returns `temp`, or undefined when `sscanf` converts nothing (it does not return 1)
 */
function scanHexInt(group: string): number | undefined {
  const { negative, rest } = sign(group);
  // glibc consumes a `0x` even when no hex digit follows it; the number read is then the `0`.
  const digits = /^[0-9a-fA-F]+/.exec(/^0[xX]/.test(rest) ? `0${rest.slice(2)}` : rest);
  if (digits === null) return undefined;
  return Number(BigInt.asIntN(INT_BITS, toUlong(BigInt(`0x${digits[0]}`), negative)));
}

/**
 * `get_addr_1(&pfx, arg, AF_INET)` of iproute2's `lib/utils.c` for an argument containing a `.`: no `:`
 * (that is IPv6), then `get_addr_ipv4`: up to four `.`-separated `strtoul(…, 0)` numbers (decimal, `0x`
 * hex or `0` octal, each at most 255), fewer parts leaving the rest 0 (`10.8` is 10.8.0.0).
 */
function getAddrIpv4(arg: string): Uint8Array | undefined {
  if (arg.includes(':')) return undefined;
  const out = new Uint8Array(IPV4_LEN);
  let cp = arg;
  for (let i = 0; i < IPV4_LEN; i++) {
    const n = strtoulBase0(cp);
    if (n === undefined || n.value > BigInt(BYTE_MAX)) return undefined;
    out[i] = Number(n.value);
    if (n.rest.length === 0) break;
    if (i === IPV4_LEN - 1 || !n.rest.startsWith('.')) return undefined;
    cp = n.rest.slice(1);
  }
  return out;
}

/** What {@link parseLladdr} made of a MAC argument. */
export type LladdrResult =
  /** The 6 bytes iproute2 sends. */
  | { readonly mac: Uint8Array }
  /** The text iproute2 quotes in `"<invalid>" is invalid lladdr.` */
  | { readonly invalid: string };

/**
 * `ll_addr_a2n(mac, ETH_ALEN, arg)` of iproute2's `lib/ll_addr.c`, writing over the bytes of an earlier
 * `mac` argument (iproute2's `opts->mac`, zero at first) as it does:
 * - an argument with a `.` is an IPv4 address (`get_addr_1`): its 4 bytes replace the first 4, the last
 *   2 stay; a failure quotes the whole argument;
 * - otherwise up to 6 `:`-separated groups, each read by `sscanf("%x")` into an `int` (leading blanks,
 *   a sign, `0x`, trailing garbage all accepted) and refused unless 0–255; the bytes of the groups
 *   given replace the first ones, and whatever follows a sixth group is ignored. A failure quotes the
 *   group alone (ll_addr_a2n() cuts the argument at each `:`).
 *
 * @param arg the word after `mac`
 * @param previous the bytes of an earlier `mac` on the same command line, if any
 * @example
 * parseLladdr('00:11:22:33:44:55'); // { mac: Uint8Array [0, 0x11, 0x22, 0x33, 0x44, 0x55] }
 * parseLladdr('1.2.3.4');           // { mac: Uint8Array [1, 2, 3, 4, 0, 0] }
 * parseLladdr('00:zz:22');          // { invalid: 'zz' }
 */
export function parseLladdr(arg: string, previous?: Uint8Array): LladdrResult {
  const mac = new Uint8Array(ETH_ALEN);
  if (previous !== undefined) mac.set(previous.subarray(0, ETH_ALEN));
  if (arg.includes('.')) {
    const ipv4 = getAddrIpv4(arg);
    if (ipv4 === undefined) return { invalid: arg };
    mac.set(ipv4);
    return { mac };
  }
  let rest = arg;
  for (let i = 0; i < ETH_ALEN; i++) {
    const colon = rest.indexOf(':');
    const group = colon < 0 ? rest : rest.slice(0, colon);
    const temp = scanHexInt(group);
    if (temp === undefined || temp < 0 || temp > BYTE_MAX) return { invalid: group };
    mac[i] = temp;
    if (colon < 0) break;
    rest = rest.slice(colon + 1);
  }
  return { mac };
}
