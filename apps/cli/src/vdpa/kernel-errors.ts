import type { VdpaErrno, VdpaError } from '@vdpa-kit/core-bus';

/** The `vdpa` commands that reach the bus (the kernel in iproute2's picture). */
export type VdpaRequest =
  'mgmtdev show' | 'dev show' | 'dev add' | 'dev del' | 'dev set' | 'dev config show' | 'dev vstats show';

/** `strerror` texts (glibc) of the errno codes a bus error can carry. */
export const STRERROR: Readonly<Record<VdpaErrno, string>> = {
  EINVAL: 'Invalid argument',
  ENODEV: 'No such device',
  EOPNOTSUPP: 'Operation not supported',
  EPERM: 'Operation not permitted',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENOENT: 'No such file or directory',
  ERANGE: 'Numerical result out of range',
  EAGAIN: 'Resource temporarily unavailable',
  ENOBUFS: 'No buffer space available',
  EIO: 'Input/output error',
  ENOMEM: 'Cannot allocate memory',
  ELOOP: 'Too many levels of symbolic links',
  EPROTO: 'Protocol error',
  ENOSPC: 'No space left on device',
  ECANCELED: 'Operation canceled',
};

/** The kernel's `NL_SET_ERR_MSG_MOD` prefix. */
const MOD = 'vdpa: ';

/** `dev add` validation messages of core-bus, mapped to the kernel's extack texts. */
const DEV_ADD_EXTACK: readonly (readonly [RegExp, (m: RegExpMatchArray) => string])[] = [
  [/at least one pair of vqs is required/i, () => 'At least one pair of VQs is required'],
  [/^missing features (0x[0-9a-f]+)/i, (m) => `Missing features ${m[1]} for provided attributes`],
  [
    /^some provided attributes are not supported: (0x[0-9a-f]+)/i,
    (m) => `Some provided attributes are not supported: ${m[1]}`,
  ],
  [
    /^network class attributes provided/i,
    () => 'Network class attributes provided on unsupported management device',
  ],
  [
    /supports multiple classes/i,
    () => 'Management device supports multi-class while device features specified are ambiguous',
  ],
];

/**
 * The extack message the kernel attaches for this failure, or undefined when it attaches none (then
 * only `kernel answers:` is printed); `null` means "fall back to the bus's own message".
 */
function extack(request: VdpaRequest, err: VdpaError, hasMac: boolean): string | undefined | null {
  switch (err.code) {
    case 'ENODEV':
      if (request === 'mgmtdev show') return 'Fail to find the specified mgmt device';
      if (request === 'dev add') return 'Fail to find the specified management device';
      return 'device not found';
    case 'EEXIST':
      return request === 'dev add' ? undefined : null;
    case 'EAGAIN':
      return request === 'dev vstats show' ? 'feature negotiation not complete' : null;
    case 'ERANGE':
      return request === 'dev vstats show' ? 'queue index exceeds max value' : null;
    case 'EOPNOTSUPP':
      if (request === 'dev vstats show') return undefined;
      if (request === 'dev set') return 'Operation not supported by the device.';
      break;
    case 'EINVAL':
      // vstats without QUEUE_INDEX: the kernel's bare -EINVAL.
      if (request === 'dev vstats show') return undefined;
      if (request === 'dev set' && !hasMac) return undefined;
      break;
    default:
      break;
  }
  if (request === 'dev add') {
    for (const [re, text] of DEV_ADD_EXTACK) {
      const m = err.message.match(re);
      if (m !== null) return text(m);
    }
  }
  return null;
}

/**
 * How iproute2 prints a kernel NACK for `request` (`mnlu_gen_socket_sndrcv`): an optional
 * `Error: <extack>` line (a `.` appended unless it already ends with one), then
 * `kernel answers: <strerror>`. The bus's `VdpaError` plays the kernel: known situations print the
 * kernel's exact extack text (`Error: vdpa: device not found.`); others print the bus's message with
 * the module prefix.
 *
 * @param request the command that failed
 * @param err the bus error
 * @param hasMac whether the request carried a MAC (`dev set` without one is the kernel's EOPNOTSUPP)
 * @returns the stderr lines
 * @example
 * kernelErrorLines('dev del', new VdpaError('ENODEV', 'vdpa device nope not found'));
 * // ['Error: vdpa: device not found.', 'kernel answers: No such device']
 */
export function kernelErrorLines(request: VdpaRequest, err: VdpaError, hasMac = false): string[] {
  if (request === 'dev set' && err.code === 'EINVAL' && !hasMac)
    return [`kernel answers: ${STRERROR.EOPNOTSUPP}`];
  const ack = extack(request, err, hasMac);
  const message = ack === null ? err.message : ack;
  const lines: string[] = [];
  if (message !== undefined && message.length > 0) {
    const text = message.startsWith(MOD) ? message : `${MOD}${message}`;
    lines.push(`Error: ${text}${text.endsWith('.') ? '' : '.'}`);
  }
  lines.push(`kernel answers: ${STRERROR[err.code]}`);
  return lines;
}
