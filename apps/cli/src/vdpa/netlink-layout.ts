/**
 * Sizes of the netlink messages behind one `vdpa` failure, where they decide what iproute2 prints: a
 * netlink policy failure carries the offset of the bad attribute in the request
 * (`NLMSGERR_ATTR_OFFS`), and iproute2's `lib/libnetlink.c: nl_dump_ext_ack()` prints
 * `Invalid offset for NLMSGERR_ATTR_OFFS` when that offset exceeds the length of the error message
 * it received, which happens when long names precede the attribute.
 */

/** `NLMSG_HDRLEN`: `struct nlmsghdr`. */
const NLMSG_HDRLEN = 16;
/** `GENL_HDRLEN`: `struct genlmsghdr`. */
const GENL_HDRLEN = 4;
/** `NLA_HDRLEN`: `struct nlattr`. */
const NLA_HDRLEN = 4;
/** `NLA_ALIGNTO` (and `MNL_ALIGNTO`). */
const NLA_ALIGNTO = 4;
/** `struct nlmsgerr`: the error and the request's header (capped: `NETLINK_CAP_ACK`). */
const NLMSGERR_LEN = 4 + NLMSG_HDRLEN;
const U32_LEN = 4;
const U64_LEN = 8;
/** `ETH_ALEN`: iproute2 always sends the whole 6-byte MAC attribute. */
const MAC_LEN = 6;

/** The extack text of `lib/nlattr.c: nla_validate_range_unsigned()` for an integer out of range. */
export const POLICY_RANGE_MESSAGE = 'integer out of range';

/** `nla_total_size(payload)`: header and payload, aligned. */
function nlaTotalSize(payload: number): number {
  return Math.ceil((NLA_HDRLEN + payload) / NLA_ALIGNTO) * NLA_ALIGNTO;
}

/** `mnl_attr_put_strz(nlh, type, s)`: a NUL-terminated string attribute. */
function strzAttrSize(s: string): number {
  return nlaTotalSize(Buffer.byteLength(s, 'utf8') + 1);
}

/**
 * Length of the `NLMSG_ERROR` the kernel answers a request refused by a `NLA_U16` range policy, on a
 * socket with `NETLINK_CAP_ACK` and `NETLINK_EXT_ACK` (iproute2's `mnlu_socket_open()`), as
 * `af_netlink.c: netlink_ack()` builds it: header, `struct nlmsgerr` with the capped request header,
 * then `netlink_ack_tlv_fill()`: `NLMSGERR_ATTR_MSG`, `NLMSGERR_ATTR_OFFS` and `NLMSGERR_ATTR_POLICY`
 * (`net/netlink/policy.c: __netlink_policy_dump_write_attr()`: a nest of the u64 minimum, the u64 maximum
 * and the u32 type; no padding attributes on architectures with efficient unaligned access, such as
 * x86-64 and arm64).
 */
export const POLICY_RANGE_ACK_LEN =
  NLMSG_HDRLEN +
  NLMSGERR_LEN +
  nlaTotalSize(POLICY_RANGE_MESSAGE.length + 1) +
  nlaTotalSize(U32_LEN) +
  NLA_HDRLEN +
  2 * nlaTotalSize(U64_LEN) +
  nlaTotalSize(U32_LEN);

/** The attributes iproute2's `vdpa dev add` puts before `VDPA_ATTR_DEV_NET_CFG_MTU`. */
export interface DevAddAttrs {
  /** The mgmtdev handle, `name` or `bus/name`. */
  readonly mgmtdev: string;
  /** The device name. */
  readonly name: string;
  /** Whether a `mac` is sent. */
  readonly hasMac: boolean;
}

/**
 * Offset of `VDPA_ATTR_DEV_NET_CFG_MTU` in iproute2's `VDPA_CMD_DEV_NEW` request, in the attribute order
 * of `vdpa/vdpa.c: vdpa_opts_put()`: the mgmtdev's bus name (when the handle has one) and name, the
 * device name, the MAC, then the MTU.
 *
 * @example
 * devAddMtuOffset({ mgmtdev: 'vdpasim_net', name: 'vdpa0', hasMac: false }); // 48
 */
export function devAddMtuOffset(attrs: DevAddAttrs): number {
  const slash = attrs.mgmtdev.indexOf('/');
  const handle =
    slash < 0
      ? strzAttrSize(attrs.mgmtdev)
      : strzAttrSize(attrs.mgmtdev.slice(0, slash)) + strzAttrSize(attrs.mgmtdev.slice(slash + 1));
  return (
    NLMSG_HDRLEN +
    GENL_HDRLEN +
    handle +
    strzAttrSize(attrs.name) +
    (attrs.hasMac ? nlaTotalSize(MAC_LEN) : 0)
  );
}
