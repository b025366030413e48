import type { VdpaErrno, VdpaError } from '@vdpa-kit/core-bus';
import { POLICY_RANGE_ACK_LEN, POLICY_RANGE_MESSAGE } from './netlink-layout.js';

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

/** What iproute2 needs to know about the request beyond the error (see {@link kernelErrorLines}). */
export interface KernelErrorContext {
  /**
   * Offset of the attribute a netlink policy refused, in the request iproute2 sent (`dev add`'s MTU:
   * see `devAddMtuOffset`).
   */
  readonly policyAttrOffset?: number;
}

/** The kernel's `NL_SET_ERR_MSG_MOD` prefix. */
const MOD = 'vdpa: ';

/** iproute2's `lib/libnetlink.c: nl_dump_ext_ack()` for an offset beyond the error message it got. */
const INVALID_OFFSET = 'Invalid offset for NLMSGERR_ATTR_OFFS';

/**
 * One extack the kernel attaches to a refusal: the errno, a pattern of the bus's message where the
 * errno alone does not tell the kernel's check, and the message (module prefix included), or
 * `undefined` where the kernel attaches none.
 */
interface ExtackRule {
  readonly code: VdpaErrno;
  readonly match?: RegExp;
  readonly text: string | undefined | ((m: RegExpMatchArray) => string);
}

/** The registry's refusal of a device not created by a management device (`!vdev->mdev`). */
const UNMANAGED = /is not managed by a management device$/;

/** vdpa.c: every doit after `bus_find_device()` says "device not found". */
const DEVICE_NOT_FOUND: ExtackRule = { code: 'ENODEV', text: `${MOD}device not found` };
/** vdpa_nl_cmd_dev_config_get_doit(), _stats_get_doit(), _attr_set_doit(): `!vdev->mdev`. */
const UNMANAGED_DEVICE: ExtackRule = {
  code: 'EINVAL',
  match: UNMANAGED,
  text: `${MOD}unmanaged vdpa device`,
};

/**
 * The extacks per request, from drivers/vdpa/vdpa.c; the fallback applies to every other error:
 * `undefined` where the error can only come from the management device's callback (`dev_add` and
 * `dev_set_attr` get no extack to write to), `null` where the bus refused something the kernel has
 * no such refusal for (its own message is printed then).
 */
const RULES: Readonly<Record<VdpaRequest, { rules: readonly ExtackRule[]; fallback: undefined | null }>> = {
  // vdpa_nl_cmd_mgmtdev_get_doit()
  'mgmtdev show': {
    rules: [{ code: 'ENODEV', text: `${MOD}Fail to find the specified mgmt device` }],
    fallback: null,
  },
  // vdpa_nl_cmd_dev_get_doit(): an unmanaged device is a bare -EINVAL
  'dev show': {
    rules: [DEVICE_NOT_FOUND, { code: 'EINVAL', match: UNMANAGED, text: undefined }],
    fallback: null,
  },
  // vdpa_nl_cmd_dev_add_set_doit(); EEXIST is _vdpa_register_device()'s, without extack
  'dev add': {
    rules: [
      { code: 'ENODEV', text: `${MOD}Fail to find the specified management device` },
      { code: 'EEXIST', text: undefined },
      {
        code: 'EINVAL',
        match: /at least one pair of vqs is required/i,
        text: `${MOD}At least one pair of VQs is required`,
      },
      {
        code: 'EINVAL',
        match: /^missing features (0x[0-9a-f]+)/i,
        text: (m) => `${MOD}Missing features ${m[1]} for provided attributes`,
      },
      {
        code: 'EOPNOTSUPP',
        match: /^some provided attributes are not supported: (0x[0-9a-f]+)/i,
        text: (m) => `${MOD}Some provided attributes are not supported: ${m[1]}`,
      },
      {
        code: 'EINVAL',
        match: /^network class attributes provided/i,
        text: `${MOD}Network class attributes provided on unsupported management device`,
      },
      {
        code: 'EINVAL',
        match: /supports multiple classes/i,
        text: `${MOD}Management device supports multi-class while device features specified are ambiguous`,
      },
    ],
    fallback: undefined,
  },
  // vdpa_nl_cmd_dev_del_set_doit()
  'dev del': {
    rules: [
      DEVICE_NOT_FOUND,
      { code: 'EINVAL', match: UNMANAGED, text: `${MOD}Only user created device can be deleted by user` },
    ],
    fallback: null,
  },
  // vdpa_nl_cmd_dev_attr_set_doit() and vdpa_dev_net_device_attr_set(), whose err starts at -EOPNOTSUPP
  'dev set': {
    rules: [
      DEVICE_NOT_FOUND,
      UNMANAGED_DEVICE,
      { code: 'EOPNOTSUPP', match: /is not a valid unicast address$/, text: `${MOD}Invalid MAC address` },
      {
        code: 'EOPNOTSUPP',
        match: /^operation not supported by management device/,
        text: `${MOD}Operation not supported by the device.`,
      },
    ],
    fallback: undefined,
  },
  // vdpa_nl_cmd_dev_config_get_doit(); a class other than net and blk is a bare -EOPNOTSUPP
  'dev config show': {
    rules: [DEVICE_NOT_FOUND, UNMANAGED_DEVICE, { code: 'EOPNOTSUPP', text: undefined }],
    fallback: null,
  },
  // vdpa_nl_cmd_dev_stats_get_doit(), vdpa_dev_vendor_stats_fill(), vdpa_fill_stats_rec(); a missing
  // QUEUE_INDEX, a class other than net, no get_vendor_vq_stats and the device's own refusal carry none
  'dev vstats show': {
    rules: [
      DEVICE_NOT_FOUND,
      UNMANAGED_DEVICE,
      { code: 'EINVAL', text: undefined },
      { code: 'EAGAIN', text: `${MOD}feature negotiation not complete` },
      { code: 'ERANGE', text: `${MOD}queue index exceeds max value` },
      { code: 'EOPNOTSUPP', text: undefined },
    ],
    fallback: null,
  },
};

/** The kernel's extack for this refusal: a message, `undefined` for none, `null` for the bus's message. */
function extack(request: VdpaRequest, err: VdpaError): string | undefined | null {
  const { rules, fallback } = RULES[request];
  for (const rule of rules) {
    if (rule.code !== err.code) continue;
    const m = rule.match === undefined ? [] : err.message.match(rule.match);
    if (m === null) continue;
    return typeof rule.text === 'function' ? rule.text(m as RegExpMatchArray) : rule.text;
  }
  return fallback;
}

/** `NETLINK_MAX_FMTMSG_LEN`: the buffer `NL_SET_ERR_MSG_FMT()` formats into, its NUL included. */
const NETLINK_MAX_FMTMSG_LEN = 80;

/**
 * A message set with `NL_SET_ERR_MSG_FMT_MOD()`: the module prefix and the text, cut as `snprintf()` into
 * `NETLINK_MAX_FMTMSG_LEN` bytes cuts it (the kernel only logs "truncated extack").
 */
export function fmtExtack(text: string): string {
  const bytes = Buffer.from(`${MOD}${text}`, 'utf8');
  return bytes.subarray(0, NETLINK_MAX_FMTMSG_LEN - 1).toString('utf8');
}

/** iproute2's `print_ext_ack_msg()`: `Error: ` or `Warning: `, the message, a `.` unless it ends in one. */
export function extackLine(kind: 'Error' | 'Warning', message: string): string {
  return `${kind}: ${message}${message.endsWith('.') ? '' : '.'}`;
}

/**
 * How iproute2 prints a kernel NACK for `request`: `mnlu_cb_error()` hands the answer to
 * `nl_dump_ext_ack()`, which prints `Error: <extack>.` when the kernel attached a message, then
 * `mnlu_gen_socket_sndrcv()` prints `kernel answers: <strerror>`. The bus's `VdpaError` plays the
 * kernel: refusals the kernel explains print its exact extack (`Error: vdpa: device not found.`), those
 * it does not (a management device's `dev_add` failing, a missing queue index) print no `Error:` line,
 * and refusals only the bus has print its message with the module prefix.
 *
 * A `dev add` whose MTU is below 68 is refused by the netlink policy before vdpa.c runs
 * (`NLA_POLICY_MIN(NLA_U16, 68)`): `Error: integer out of range.` without the module prefix, preceded by
 * iproute2's `Invalid offset for NLMSGERR_ATTR_OFFS` when the names before the MTU attribute push its
 * offset beyond the error message's length.
 *
 * @param request the command that failed
 * @param err the bus error
 * @param context where the policy-refused attribute sits in the request
 * @returns the stderr lines
 * @example
 * kernelErrorLines('dev del', new VdpaError('ENODEV', 'vdpa device nope not found'));
 * // ['Error: vdpa: device not found.', 'kernel answers: No such device']
 */
export function kernelErrorLines(
  request: VdpaRequest,
  err: VdpaError,
  context: KernelErrorContext = {},
): string[] {
  const answer = `kernel answers: ${STRERROR[err.code]}`;
  if (request === 'dev add' && err.code === 'ERANGE') {
    const offset = context.policyAttrOffset ?? 0;
    return [
      ...(offset > POLICY_RANGE_ACK_LEN ? [INVALID_OFFSET] : []),
      extackLine('Error', POLICY_RANGE_MESSAGE),
      answer,
    ];
  }
  const ack = extack(request, err);
  const message = ack === null ? `${MOD}${err.message}` : ack;
  return message === undefined || message.length === 0 ? [answer] : [extackLine('Error', message), answer];
}
