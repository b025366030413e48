import {
  ETH_ALEN,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CTRL_ACK_SIZE,
  VIRTIO_NET_CTRL_HDR_CMD_OFF,
  VIRTIO_NET_CTRL_HDR_SIZE,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_PAIRS_SIZE,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_ONOFF_SIZE,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_ERR,
  VIRTIO_NET_OK,
} from '@vdpa-kit/virtio-spec';
import type { Iov } from '@vdpa-kit/vring';

/** Largest control request the loopback device reads (header + data). */
const CTRL_REQUEST_MAX = 64;

/** One control command a {@link LoopbackControl} received. */
export interface LoopbackCommand {
  readonly cls: number;
  readonly cmd: number;
  readonly data: Uint8Array;
}

/**
 * The control-queue command handler of the loopback test device (§5.1.6.5): RX PROMISC / ALLMULTI,
 * MAC ADDR_SET (written to the config MAC) and MQ VQ_PAIRS_SET; anything else is answered ERR.
 */
export class LoopbackControl {
  /** Every command received, in order. */
  readonly commands: LoopbackCommand[] = [];
  promisc = false;
  allmulti = false;
  queuePairs = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN;
  private readonly request = new Uint8Array(CTRL_REQUEST_MAX);
  private readonly ack = new Uint8Array(VIRTIO_NET_CTRL_ACK_SIZE);

  /**
   * @param maxPairs the device's `max_virtqueue_pairs`
   * @param config the device's config space (MAC_ADDR_SET writes its `mac`)
   */
  constructor(
    private readonly maxPairs: number,
    private readonly config: Uint8Array,
  ) {}

  /**
   * Reads one request from `riov`, records it and decides the ack.
   * @param response `ok` handles the command, `err` answers ERR, `none` does not answer
   * @param mq whether `VIRTIO_NET_F_MQ` was negotiated
   * @returns the ack byte to push, or `undefined` for no answer
   */
  handle(riov: Iov, response: 'ok' | 'err' | 'none', mq: boolean): Uint8Array | undefined {
    const n = riov.pull(this.request);
    const cls = n > 0 ? this.request[0] : -1;
    const cmd = n > VIRTIO_NET_CTRL_HDR_CMD_OFF ? this.request[VIRTIO_NET_CTRL_HDR_CMD_OFF] : -1;
    const data = this.request.slice(Math.min(n, VIRTIO_NET_CTRL_HDR_SIZE), n);
    this.commands.push({ cls, cmd, data });
    if (response === 'none') return undefined;
    this.ack[0] =
      response === 'err' || n < VIRTIO_NET_CTRL_HDR_SIZE ? VIRTIO_NET_ERR : this.apply(cls, cmd, data, mq);
    return this.ack;
  }

  /** Back to the state after device reset. */
  reset(): void {
    this.promisc = false;
    this.allmulti = false;
    this.queuePairs = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN;
  }

  private apply(cls: number, cmd: number, data: Uint8Array, mq: boolean): number {
    if (cls === VIRTIO_NET_CTRL_RX && data.length === VIRTIO_NET_CTRL_RX_ONOFF_SIZE) {
      if (cmd === VIRTIO_NET_CTRL_RX_PROMISC) this.promisc = data[0] !== 0;
      else if (cmd === VIRTIO_NET_CTRL_RX_ALLMULTI) this.allmulti = data[0] !== 0;
      else return VIRTIO_NET_ERR;
      return VIRTIO_NET_OK;
    }
    if (cls === VIRTIO_NET_CTRL_MAC && cmd === VIRTIO_NET_CTRL_MAC_ADDR_SET && data.length === ETH_ALEN) {
      this.config.set(data, VIRTIO_NET_CONFIG_MAC);
      return VIRTIO_NET_OK;
    }
    if (
      cls === VIRTIO_NET_CTRL_MQ &&
      cmd === VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
      mq &&
      data.length === VIRTIO_NET_CTRL_MQ_PAIRS_SIZE
    ) {
      const pairs = new DataView(data.buffer, data.byteOffset, data.length).getUint16(0, true);
      if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > this.maxPairs) return VIRTIO_NET_ERR;
      this.queuePairs = pairs;
      return VIRTIO_NET_OK;
    }
    return VIRTIO_NET_ERR;
  }
}
