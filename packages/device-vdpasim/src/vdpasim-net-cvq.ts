import type { Work } from '@vdpa-kit/core-bus';
import {
  ETH_ALEN,
  VIRTIO_NET_CTRL_ACK_SIZE,
  VIRTIO_NET_CTRL_HDR_SIZE,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_PAIRS_SIZE,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_ONOFF_SIZE,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_ERR,
  VIRTIO_NET_OK,
} from '@vdpa-kit/virtio-spec';
import type { Iov } from '@vdpa-kit/vring';
import type { VdpasimNetStats } from './vdpasim-net-stats.js';
import type { VdpasimVirtqueue } from './vdpasim-vq.js';

/** Bit shift of the high byte of a little-endian u16. */
const BYTE_SHIFT = 8;

/** What the control-queue work needs from its `vdpasim_net` device. */
export interface VdpasimNetControl {
  /** Running with DRIVER_OK. */
  datapathEnabled(): boolean;
  /** The control queue (its index depends on the negotiated MQ), or undefined when CTRL_VQ is not negotiated. */
  controlVq(): VdpasimVirtqueue | undefined;
  /** Negotiated `VIRTIO_NET_F_CTRL_RX`. */
  readonly ctrlRx: boolean;
  /** Negotiated `VIRTIO_NET_F_MQ`. */
  readonly mq: boolean;
  /** The device's counters. */
  readonly stats: VdpasimNetStats;
  /** Requests per pass before the work requeues itself. */
  readonly workBudget: number;
  /** `MAC_ADDR_SET`: copies the 6 bytes into the config space's MAC. */
  setMac(mac: Uint8Array): void;
  /** `RX_PROMISC` / `RX_ALLMULTI`. */
  setRxMode(cmd: number, on: boolean): void;
  /** `VQ_PAIRS_SET`. @returns false when `pairs` is not in 1..max_vqp */
  setQueuePairs(pairs: number): boolean;
  /** Reports bad guest input on `vq` (stops it, sets NEEDS_RESET, calls the config callback). */
  guestError(vq: VdpasimVirtqueue, err: unknown): void;
  /** Calls the used-buffer callback of `vq`. */
  callVqCb(vq: VdpasimVirtqueue): void;
}

/**
 * The control virtqueue of `vdpasim_net` (`vdpasim_handle_cvq`, vdpa_sim_net.c): each request is a
 * `{u8 class, u8 cmd}` header and its data (device-readable) followed by a `u8 ack` (device-writable).
 *
 * Handled: `MAC / MAC_ADDR_SET` (6 bytes; like `vdpasim_handle_ctrl_mac()` it needs only CTRL_VQ);
 * beyond the kernel `MQ / VQ_PAIRS_SET` (le16 in 1..max_vqp, with MQ) and `RX / PROMISC`,
 * `RX / ALLMULTI` (1 byte on/off, with CTRL_RX). Every other class or command, a short header or
 * short data is answered `VIRTIO_NET_ERR`. Counters: `cvq requests`, `cvq successes`, `cvq errors`.
 * The used length is the ack bytes written (1, or 0 without room). After each request the queue's
 * callback runs, whatever the ring's suppression flags say, as `vdpasim_handle_cvq()` calls it.
 *
 * Kept out of the kernel's function (docs/kernel-differences.md): it answers a request with an unknown
 * class with the previous request's status, leaks a request with a short header, and writes the bytes
 * of a short MAC into the config space; here those are answered ERR and change nothing.
 *
 * A pass handles at most `workBudget` requests. Bad guest input stops the queue until reset, counted in
 * `cvq errors`.
 */
export class VdpasimNetCvq implements Work {
  private readonly hdr = new Uint8Array(VIRTIO_NET_CTRL_HDR_SIZE);
  private readonly arg = new Uint8Array(ETH_ALEN);
  private readonly ack = new Uint8Array(VIRTIO_NET_CTRL_ACK_SIZE);

  /** @param ctl the device */
  constructor(private readonly ctl: VdpasimNetControl) {}

  /** One pass. @returns true when the budget ran out (more may be pending) */
  run(): boolean {
    const ctl = this.ctl;
    if (!ctl.datapathEnabled()) return false;
    const vq = ctl.controlVq();
    if (vq === undefined || !vq.ready || vq.broken) return false;
    const stats = ctl.stats;
    let budget = ctl.workBudget;
    let more = false;
    try {
      for (;;) {
        if (budget === 0) {
          more = true;
          break;
        }
        const head = vq.vring.getdesc(vq.riov, vq.wiov);
        if (head < 0) break;
        budget--;
        stats.cvqRequests++;
        const status = this.handle(vq.riov);
        this.ack[0] = status;
        vq.vring.complete(head, vq.wiov.push(this.ack));
        if (status === VIRTIO_NET_OK) stats.cvqSuccesses++;
        else stats.cvqErrors++;
        // vdpasim_handle_cvq() calls the callback after each answer without asking vringh_need_notify:
        // the driver's suppression flags are not read.
        ctl.callVqCb(vq);
        // The callback may have reset the device or stopped the queue: look again before the next one.
        if (!ctl.datapathEnabled() || !vq.ready || vq.broken) break;
      }
    } catch (err) {
      more = false;
      this.fail(vq, err);
    }
    return more;
  }

  private handle(riov: Iov): number {
    const ctl = this.ctl;
    if (riov.pull(this.hdr) !== VIRTIO_NET_CTRL_HDR_SIZE) return VIRTIO_NET_ERR;
    const cls = this.hdr[0];
    const cmd = this.hdr[1];
    const arg = this.arg;
    if (cls === VIRTIO_NET_CTRL_MAC && cmd === VIRTIO_NET_CTRL_MAC_ADDR_SET) {
      if (riov.pull(arg, 0, ETH_ALEN) !== ETH_ALEN) return VIRTIO_NET_ERR;
      ctl.setMac(arg);
      return VIRTIO_NET_OK;
    }
    if (
      cls === VIRTIO_NET_CTRL_RX &&
      (cmd === VIRTIO_NET_CTRL_RX_PROMISC || cmd === VIRTIO_NET_CTRL_RX_ALLMULTI) &&
      ctl.ctrlRx
    ) {
      if (riov.pull(arg, 0, VIRTIO_NET_CTRL_RX_ONOFF_SIZE) !== VIRTIO_NET_CTRL_RX_ONOFF_SIZE)
        return VIRTIO_NET_ERR;
      ctl.setRxMode(cmd, arg[0] !== 0);
      return VIRTIO_NET_OK;
    }
    if (cls === VIRTIO_NET_CTRL_MQ && cmd === VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET && ctl.mq) {
      if (riov.pull(arg, 0, VIRTIO_NET_CTRL_MQ_PAIRS_SIZE) !== VIRTIO_NET_CTRL_MQ_PAIRS_SIZE)
        return VIRTIO_NET_ERR;
      return ctl.setQueuePairs(arg[0] | (arg[1] << BYTE_SHIFT)) ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_ERR;
  }

  private fail(vq: VdpasimVirtqueue, err: unknown): void {
    if (vq.broken) return;
    this.ctl.stats.cvqErrors++;
    this.ctl.guestError(vq, err);
  }
}
