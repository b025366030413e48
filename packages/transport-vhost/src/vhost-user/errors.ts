/**
 * Why a vhost-user message or session was refused. Every check of the codec, the framer, the memory
 * table and the session names one of these; tests and logs compare codes, not messages.
 */
export const VU_ERROR_CODES = [
  /** Header `flags` carry a version other than 1 (vhost-user.rst "Header"). */
  'BAD_VERSION',
  /** Header `size` exceeds the largest payload any request takes. */
  'PAYLOAD_TOO_LARGE',
  /** A request id the protocol does not define. */
  'UNKNOWN_REQUEST',
  /** A defined request this back-end does not implement (its protocol feature is not offered). */
  'UNSUPPORTED_REQUEST',
  /** The payload size does not match the request's layout. */
  'BAD_PAYLOAD_SIZE',
  /** A payload field holds a value its layout forbids (a reserved value, a count above its limit). */
  'BAD_PAYLOAD',
  /** More fds than the request takes, or more than one message can carry. */
  'TOO_MANY_FDS',
  /** Fds on a request that takes none. */
  'UNEXPECTED_FDS',
  /** Fewer fds than the request takes. */
  'MISSING_FDS',
  /** A ring index at or above the number of rings the device has. */
  'QUEUE_OUT_OF_RANGE',
  /** Feature or protocol-feature bits the back-end did not offer. */
  'BAD_FEATURES',
  /** A memory table the back-end cannot accept (count, zero size, overlap, wrap, size limit). */
  'BAD_MEMORY_TABLE',
  /** An address inside no memory region (or a span crossing a region's end). */
  'ADDRESS_NOT_MAPPED',
  /** An address or size at or above 2^53, which this layer does not represent as a number. */
  'ADDRESS_TOO_LARGE',
  /** A config access outside the device's config space. */
  'BAD_CONFIG_ACCESS',
  /** The layer below refused the operation (its error is the `cause`). */
  'BACKEND_FAILED',
  /** The peer closed the connection (possibly in the middle of a message). */
  'DISCONNECTED',
  /** The session is closed; no further input is accepted. */
  'SESSION_CLOSED',
] as const;

/** Machine-readable code of a {@link VhostUserError}. */
export type VhostUserErrorCode = (typeof VU_ERROR_CODES)[number];

/**
 * The error of the vhost-user layer: a stable `code`, the name of the request it concerns
 * (`'SET_MEM_TABLE'`, `'request 99'` for an unknown id, `''` when no message is involved) and a
 * lower-case message naming the offending value.
 *
 * @example
 * throw new VhostUserError('QUEUE_OUT_OF_RANGE', 'SET_VRING_NUM', 'vring index 9 is out of range (2 rings)');
 */
export class VhostUserError extends Error {
  override readonly name = 'VhostUserError';
  /** The message without the request prefix. */
  readonly detail: string;

  /**
   * @param code what kind of refusal
   * @param request the request's name, as {@link vhostUserRequestName} gives it
   * @param message lower-case description naming the offending value
   * @param options optional `cause`
   */
  constructor(
    readonly code: VhostUserErrorCode,
    readonly request: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(request === '' ? message : `${request}: ${message}`, options);
    this.detail = message;
  }
}
