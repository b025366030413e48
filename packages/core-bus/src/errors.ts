import { VringError } from '@vdpa-kit/vring';

/**
 * Every errno-style code a config op, the bus or a management command can fail with. The `vring`
 * codes are included so that a `VringError` crossing the bus keeps its code.
 */
export const VDPA_ERRNOS = [
  'EINVAL',
  'ENODEV',
  'EOPNOTSUPP',
  'EPERM',
  'EFAULT',
  'EBUSY',
  'EEXIST',
  'ENOENT',
  'ERANGE',
  'EAGAIN',
  'ENOBUFS',
  'EIO',
  'ENOMEM',
  'ELOOP',
  'EPROTO',
  'ENOSPC',
  'ECANCELED',
] as const;

/** Errno-style code of a {@link VdpaError}; compares across implementations and traces. */
export type VdpaErrno = (typeof VDPA_ERRNOS)[number];

const ERRNO_SET: ReadonlySet<string> = new Set(VDPA_ERRNOS);

/** True when `value` is one of {@link VDPA_ERRNOS}. */
export function isVdpaErrno(value: unknown): value is VdpaErrno {
  return typeof value === 'string' && ERRNO_SET.has(value);
}

/**
 * `String(value)` for an error message (internal), or what kind of value it is when `String` throws:
 * an object without a prototype or with a throwing `toString` has no string form.
 */
export function describeValue(value: unknown): string {
  try {
    return String(value);
  } catch {
    return `${typeof value} without a string form`;
  }
}

/**
 * The one error class of `@vdpa-kit/core-bus`. Config ops that return `int` in the kernel return
 * `void` here and throw a `VdpaError` whose `code` is the errno the kernel would have returned.
 *
 * @example
 * throw new VdpaError('EINVAL', `vq index ${idx} is out of range`);
 */
export class VdpaError extends Error {
  override readonly name = 'VdpaError';

  /**
   * @param code errno-style code
   * @param message lower-case description naming the offending value
   * @param options optional `cause`
   */
  constructor(
    readonly code: VdpaErrno,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * Converts anything thrown into a `VdpaError`: a `VdpaError` is returned as is, a `VringError`
   * (or any error with a known errno `code`) keeps its code and message and becomes the `cause`, and
   * anything else becomes `EIO` with the original as `cause`.
   *
   * @param err the thrown value
   * @returns a `VdpaError` (never throws)
   */
  static from(err: unknown): VdpaError {
    if (err instanceof VdpaError) return err;
    if (err instanceof VringError) {
      return new VdpaError(isVdpaErrno(err.code) ? err.code : 'EIO', err.message, { cause: err });
    }
    if (err instanceof Error) {
      const code: unknown = (err as Error & { code?: unknown }).code;
      return new VdpaError(isVdpaErrno(code) ? code : 'EIO', err.message, { cause: err });
    }
    return new VdpaError('EIO', `unexpected non-error value thrown: ${describeValue(err)}`, { cause: err });
  }
}
