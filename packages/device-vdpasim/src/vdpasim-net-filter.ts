import { ETH_ADDR_MULTICAST, ETH_ALEN } from '@vdpa-kit/virtio-spec';

/** The all-ones byte of the broadcast address. */
const BROADCAST_OCTET = 0xff;
/** Module-local copy of `ETH_ADDR_MULTICAST`, bit 0 of the first destination octet (per-packet test). */
const MULTICAST_BIT = ETH_ADDR_MULTICAST;

/**
 * The receive filter of `vdpasim_net` (`receive_filter`, vdpa_sim_net.c) with the RX-mode state the
 * control queue sets (beyond the kernel, virtio 1.2 §5.1.6.5.1): a frame is accepted when it holds at
 * least a virtio-net header and a destination address, and the destination is broadcast, multicast
 * (while `allmulti` is on), the device's own MAC, or anything while `promisc` is on.
 *
 * After reset `promisc` is off and `allmulti` on, which is the kernel's filter (it accepts every
 * multicast frame); turning `allmulti` off drops multicast frames other than broadcast.
 *
 * @example
 * const filter = new VdpasimNetFilter(macBytes);
 * filter.accepts(frame, frame.length, 12); // header 12 bytes with VERSION_1
 */
export class VdpasimNetFilter {
  /** Accept every frame (`VIRTIO_NET_CTRL_RX_PROMISC`). */
  promisc = false;
  /** Accept every multicast frame (`VIRTIO_NET_CTRL_RX_ALLMULTI`). */
  allmulti = true;

  /** @param mac the device's MAC: a live 6-byte view of its config space */
  constructor(readonly mac: Uint8Array) {}

  /** RX mode back to its reset state: not promiscuous, all multicast. */
  reset(): void {
    this.promisc = false;
    this.allmulti = true;
  }

  /**
   * Whether the frame in `buf[0, len)` (virtio-net header first) passes the filter. Reads only the
   * destination address; allocates nothing.
   * @param buf the header and at least the destination address of the frame
   * @param len how many bytes of `buf` are valid (the whole chain may be longer)
   * @param hdrLen virtio-net header length (12 with VERSION_1, else 10)
   */
  accepts(buf: Uint8Array, len: number, hdrLen: number): boolean {
    if (len < hdrLen + ETH_ALEN) return false;
    return this.acceptsDest(buf, hdrLen);
  }

  /**
   * Whether a frame whose destination address is `buf[at, at + 6)` passes the filter: the test of
   * {@link accepts} once the frame is known to be long enough, reading the address where it lies (for
   * example in guest memory) rather than from a copy. Allocates nothing.
   * @param buf bytes holding the destination address
   * @param at offset of its first byte; `at + 6` must not exceed `buf.length`
   */
  acceptsDest(buf: Uint8Array, at: number): boolean {
    if (this.promisc) return true;
    if ((buf[at] & MULTICAST_BIT) !== 0) {
      return this.allmulti || isBroadcast(buf, at);
    }
    const mac = this.mac;
    for (let i = 0; i < ETH_ALEN; i++) if (buf[at + i] !== mac[i]) return false;
    return true;
  }
}

function isBroadcast(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (buf[at + i] !== BROADCAST_OCTET) return false;
  return true;
}
