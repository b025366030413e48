/**
 * The datapath's byte copies, calling the typed-array methods through module constants: a
 * `bytes.copyWithin(...)` call loads the method from the prototype chain per copy, which the
 * optimising compiler does not fold away; a constant held here (not exported: an exported binding is
 * read through its module cell) lets it call the builtin directly. Figures in docs/performance.md,
 * "Copy calls".
 */

const COPY_WITHIN = Uint8Array.prototype.copyWithin;
const SET = Uint8Array.prototype.set;
const SUBARRAY = Uint8Array.prototype.subarray;

/**
 * `bytes[d, d + n) = bytes[s, s + n)` with `memmove` semantics (the ranges may overlap), clamped to
 * the view as `copyWithin` clamps.
 */
export function copyWithinBytes(bytes: Uint8Array, d: number, s: number, n: number): void {
  COPY_WITHIN.call(bytes, d, s, s + n);
}

/**
 * `dst[d, d + n) = src[s, s + n)` with `memmove` semantics: one `copyWithin` when both are the same
 * view (the usual case: one guest-memory region), else a `set` of a subarray (which throws
 * `RangeError` rather than write past `dst`).
 */
export function copyBytes(dst: Uint8Array, d: number, src: Uint8Array, s: number, n: number): void {
  if (dst === src) COPY_WITHIN.call(dst, d, s, s + n);
  else SET.call(dst, SUBARRAY.call(src, s, s + n), d);
}
