import { FNV1A_OFFSET_BASIS, FNV1A_PRIME } from '../constants.js';

/** The FNV-1a 32-bit offset basis, to start a hash. */
export const FNV1A_INIT = FNV1A_OFFSET_BASIS;

/**
 * Continues a 32-bit FNV-1a hash over `bytes[start, end)`.
 *
 * @param hash the running hash (start with {@link FNV1A_INIT})
 * @returns the new hash, an unsigned 32-bit number
 * @example
 * fnv1a(FNV1A_INIT, new TextEncoder().encode('a'), 0, 1); // 0xe40c292c
 */
export function fnv1a(hash: number, bytes: Uint8Array, start: number, end: number): number {
  let h = hash;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], FNV1A_PRIME);
  return h >>> 0;
}
