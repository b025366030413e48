import { VdpaError, type VendorStat, type Work } from '@vdpa-kit/core-bus';
import {
  ETH_ALEN,
  U16_MAX,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_NET_CONFIG_STATUS,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_HDR_LEGACY_SIZE,
  VIRTIO_NET_HDR_V1_SIZE,
  VIRTIO_NET_MIN_MTU,
  VIRTIO_NET_S_LINK_UP,
  bit,
} from '@vdpa-kit/virtio-spec';
import {
  VDPASIM_CVQ_GROUP,
  VDPASIM_DATAVQ_GROUP,
  VDPASIM_NET_DEFAULT_MTU,
  VDPASIM_NET_MAX_VQP,
  VDPASIM_NET_NAS,
  VDPASIM_NET_BUFFER_SIZE,
  VDPASIM_NET_FEATURES,
  VDPASIM_NET_NGROUPS,
  VDPASIM_NET_SUPPORTED_FEATURES,
} from './constants.js';
import { type VdpasimDeps, Vdpasim } from './vdpasim.js';
import { VdpasimNetCvq, type VdpasimNetControl } from './vdpasim-net-cvq.js';
import { VdpasimNetFilter } from './vdpasim-net-filter.js';
import { VdpasimNetLoopback, type VdpasimNetDatapath } from './vdpasim-net-loopback.js';
import { VdpasimNetStats } from './vdpasim-net-stats.js';
import { type VdpasimOptions, resolveVdpasimOptions } from './vdpasim-options.js';
import type { VdpasimVirtqueue } from './vdpasim-vq.js';

/** Control-queue features whose commands need the control queue (virtio 1.2 §5.1.3.1). */
const NEEDS_CTRL_VQ = bit(VIRTIO_NET_F_MQ) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

/** Options of a {@link VdpasimNet} (what `dev add` provisions, plus the module's tuning). */
export interface VdpasimNetOptions extends VdpasimOptions {
  /** vDPA device name. */
  readonly name: string;
  /** MAC address, 6 bytes (default all zero, as the newest kernel). */
  readonly mac?: Uint8Array;
  /** MTU, 68..65535 (default 1500). */
  readonly mtu?: number;
  /** Queue pairs, 1..8 (default 1). */
  readonly maxVqPairs?: number;
  /** Provisioned device features, a subset of the supported ones (default: see {@link VdpasimNet}). */
  readonly deviceFeatures?: bigint;
}

/**
 * A `vdpasim_net` device (`vdpa_sim_net.c`): a virtio-net loopback with the receive
 * filter, the control queue, vendor statistics, 2 virtqueue groups and 2 address spaces, on the
 * generic {@link Vdpasim} core.
 *
 * Queues: with `maxVqPairs` N, receive queue i is vq 2i and transmit queue i is vq 2i+1 (i < N), and
 * the control queue is vq 2N when MQ is negotiated, else vq 2 (virtio 1.2 §5.1.2); `nvqs` = 2N+1, so
 * N = 1 keeps the kernel's RX 0 / TX 1 / CVQ 2. The control queue is group 1, every other vq group 0.
 * Each pair loops back on itself (TX of pair i to RX of pair i) and only the active pairs
 * (`VQ_PAIRS_SET`, 1 after reset) are processed.
 *
 * Offered features: the provisioned ones, else the kernel's `VDPASIM_NET_FEATURES` (0x308830028), with
 * MQ for more than one pair; CTRL_RX only when provisioned. MQ, CTRL_RX and CTRL_MAC_ADDR are only
 * offered with CTRL_VQ (a device must not offer a feature without the one it depends on).
 *
 * Config space (`virtio_net_config`, 24 bytes): MAC, status (`LINK_UP` while {@link linkUp},
 * rewritten on every read, as `vdpasim_net_get_config()` does), `max_virtqueue_pairs` (N when MQ is
 * offered) and MTU. `setConfig` stores whatever the driver writes (`vdpasim_set_config()`; vdpa_sim_net
 * has no `dev_attr.set_config`), so a written MAC is the filter's MAC and `dev config show` reports
 * it; a reset leaves the config space alone.
 *
 * @example
 * const net = new VdpasimNet({ name: 'vdpa0', maxVqPairs: 2 }, { mem, workQueue, logger });
 * bus.registerDevice(bus.allocDevice({ ops: net, name: 'vdpa0', ngroups: 2, nas: 2, classIds: ['virtio',
 * 'vhost'] }), net.attr.nvqs);
 */
export class VdpasimNet extends Vdpasim implements VdpasimNetDatapath, VdpasimNetControl {
  /** Queue pairs the device has (`max_vqp`). */
  readonly maxVqPairs: number;
  /** Counters behind the vendor statistics. */
  readonly stats: VdpasimNetStats;
  /** The receive filter and RX mode. */
  readonly filter: VdpasimNetFilter;
  /** Packets (or control requests) per pass and queue. */
  readonly workBudget: number;
  /** Negotiated virtio-net header length. */
  hdrLen = VIRTIO_NET_HDR_LEGACY_SIZE;
  /** Negotiated CTRL_MAC_ADDR. */
  ctrlMacAddr = false;
  /** Negotiated CTRL_RX. */
  ctrlRx = false;
  /** Negotiated MQ. */
  mq = false;
  private ctrlVq = false;
  private activePairs_ = 1;
  private linkUp_ = true;
  private readonly mqOffered: boolean;
  private readonly pairWorks: readonly VdpasimNetLoopback[];
  private readonly cvqWork: VdpasimNetCvq;
  private readonly allWorks: readonly Work[];

  /**
   * @param options provisioning and tuning
   * @param deps memory, work queue and logger
   * @throws VdpaError `EINVAL` for provisioned features that are not a subset of the supported ones or
   * lack CTRL_VQ for a control-queue feature, `max_vqp` outside 1..8 or above 1 without MQ, a MAC that
   * is not 6 bytes, an MTU outside 68..65535, or a budget / IOTLB limit that is not a positive /
   * non-negative integer
   */
  constructor(options: VdpasimNetOptions, deps: VdpasimDeps) {
    const resolved = resolveOptions(options);
    super(
      {
        name: options.name,
        deviceId: VIRTIO_ID_NET,
        supportedFeatures: resolved.features,
        nvqs: 2 * resolved.pairs + 1,
        ngroups: VDPASIM_NET_NGROUPS,
        nas: VDPASIM_NET_NAS,
        configSize: VIRTIO_NET_CONFIG_SIZE,
        maxIotlbEntries: resolved.maxIotlbEntries,
        bufferSize: VDPASIM_NET_BUFFER_SIZE,
      },
      deps,
    );
    this.maxVqPairs = resolved.pairs;
    this.workBudget = resolved.workBudget;
    this.mqOffered = (resolved.features & bit(VIRTIO_NET_F_MQ)) !== 0n;
    this.stats = new VdpasimNetStats(resolved.pairs);
    if (options.mac !== undefined) this.config.set(options.mac, VIRTIO_NET_CONFIG_MAC);
    this.configView.setUint16(VIRTIO_NET_CONFIG_MTU, resolved.mtu, true);
    if (this.mqOffered) this.configView.setUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, resolved.pairs, true);
    this.filter = new VdpasimNetFilter(
      this.config.subarray(VIRTIO_NET_CONFIG_MAC, VIRTIO_NET_CONFIG_MAC + ETH_ALEN),
    );
    const works: VdpasimNetLoopback[] = [];
    for (let pair = 0; pair < resolved.pairs; pair++) {
      works.push(new VdpasimNetLoopback(pair, this.vqs[2 * pair], this.vqs[2 * pair + 1], this));
    }
    this.pairWorks = works;
    this.cvqWork = new VdpasimNetCvq(this);
    this.allWorks = [...works, this.cvqWork];
  }

  /** Whether the link is up (config status `LINK_UP`). */
  get linkUp(): boolean {
    return this.linkUp_;
  }

  /** Queue pairs processed now (1 after reset; `VQ_PAIRS_SET` changes it). */
  get activePairs(): number {
    return this.activePairs_;
  }

  /** A copy of the MAC in the config space. */
  get mac(): Uint8Array {
    return this.config.slice(VIRTIO_NET_CONFIG_MAC, VIRTIO_NET_CONFIG_MAC + ETH_ALEN);
  }

  /** Index of the control queue: 2·max_vqp when MQ is negotiated, else 2. */
  cvqIndex(): number {
    return this.mq ? 2 * this.maxVqPairs : 2;
  }

  /**
   * Sets the link state; a change bumps the config generation and calls the config-change callback
   * (beyond the kernel, whose link is always up).
   */
  setLinkUp(up: boolean): void {
    if (this.linkUp_ === up) return;
    this.linkUp_ = up;
    this.bumpGeneration();
    this.configChanged();
  }

  /**
   * The management device's `dev set mac` (`dev_set_attr`): changes the config MAC, bumps the config
   * generation and calls the config-change callback.
   * @throws VdpaError `EINVAL` unless 6 bytes
   */
  setAttrMac(mac: Uint8Array): void {
    checkMac(mac);
    this.config.set(mac, VIRTIO_NET_CONFIG_MAC);
    this.bumpGeneration();
    this.configChanged();
  }

  /** @inheritdoc Also records which net features the datapath must honour. */
  override setDriverFeatures(features: bigint): void {
    super.setDriverFeatures(features);
    this.updateNegotiated();
  }

  // ---- VdpasimNetDatapath / VdpasimNetControl --------------------------------------------

  /** Whether pair `pair` is active. */
  pairActive(pair: number): boolean {
    return pair < this.activePairs_;
  }

  /** The control queue, when CTRL_VQ is negotiated. */
  controlVq(): VdpasimVirtqueue | undefined {
    return this.ctrlVq ? this.vqs[this.cvqIndex()] : undefined;
  }

  /**
   * `MAC_ADDR_SET` from the control queue (`vdpasim_handle_ctrl_mac()`): the driver's own change, so no
   * config callback, and the generation does not move (the kernel's moves only on reset).
   */
  setMac(mac: Uint8Array): void {
    this.config.set(mac.subarray(0, ETH_ALEN), VIRTIO_NET_CONFIG_MAC);
  }

  /** `RX_PROMISC` / `RX_ALLMULTI`. */
  setRxMode(cmd: number, on: boolean): void {
    if (cmd === VIRTIO_NET_CTRL_RX_PROMISC) this.filter.promisc = on;
    else this.filter.allmulti = on;
  }

  /** `VQ_PAIRS_SET`: newly active pairs get their pending transmissions processed. */
  setQueuePairs(pairs: number): boolean {
    if (!Number.isInteger(pairs) || pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > this.maxVqPairs)
      return false;
    const old = this.activePairs_;
    this.activePairs_ = pairs;
    for (let pair = old; pair < pairs; pair++) this.workQueue.queue(this.pairWorks[pair]);
    return true;
  }

  // ---- Vdpasim hooks ----------------------------------------------------------------------

  protected override workOf(idx: number): Work | undefined {
    if (idx === this.cvqIndex()) return this.cvqWork;
    return idx < 2 * this.maxVqPairs ? this.pairWorks[idx >> 1] : undefined;
  }

  protected override works(): readonly Work[] {
    return this.allWorks;
  }

  protected override vqGroup(idx: number): number {
    return idx === this.cvqIndex() ? VDPASIM_CVQ_GROUP : VDPASIM_DATAVQ_GROUP;
  }

  protected override vqStats(idx: number): VendorStat[] {
    if (idx === this.cvqIndex()) return this.stats.cvqStats();
    if (idx < 2 * this.maxVqPairs)
      return idx % 2 === 0 ? this.stats.rxStats(idx >> 1) : this.stats.txStats(idx >> 1);
    throw new VdpaError('EINVAL', `vq index ${idx} of device ${this.attr.name} has no statistics`);
  }

  // vdpasim_net_get_config(): only the status is rewritten before a read.
  protected override refreshConfig(): void {
    this.configView.setUint16(VIRTIO_NET_CONFIG_STATUS, this.linkUp_ ? VIRTIO_NET_S_LINK_UP : 0, true);
  }

  protected override onReset(): void {
    this.activePairs_ = 1;
    this.filter.reset();
    this.updateNegotiated();
  }

  private updateNegotiated(): void {
    const f = this.features;
    this.hdrLen = (f & bit(VIRTIO_F_VERSION_1)) !== 0n ? VIRTIO_NET_HDR_V1_SIZE : VIRTIO_NET_HDR_LEGACY_SIZE;
    this.ctrlVq = (f & bit(VIRTIO_NET_F_CTRL_VQ)) !== 0n;
    this.ctrlMacAddr = (f & bit(VIRTIO_NET_F_CTRL_MAC_ADDR)) !== 0n;
    this.ctrlRx = (f & bit(VIRTIO_NET_F_CTRL_RX)) !== 0n;
    this.mq = (f & bit(VIRTIO_NET_F_MQ)) !== 0n;
  }
}

interface ResolvedNetOptions {
  readonly features: bigint;
  readonly pairs: number;
  readonly mtu: number;
  readonly workBudget: number;
  readonly maxIotlbEntries: number;
}

function resolveOptions(options: VdpasimNetOptions): ResolvedNetOptions {
  const pairs = options.maxVqPairs ?? 1;
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > VDPASIM_NET_MAX_VQP) {
    throw new VdpaError('EINVAL', `max_vqp ${String(pairs)} is not in 1..${VDPASIM_NET_MAX_VQP}`);
  }
  let features = options.deviceFeatures;
  if (features === undefined) {
    // The kernel's offer (vdpa_sim_net.c: VDPASIM_NET_FEATURES), and MQ for more than one pair; CTRL_RX
    // is offered only when provisioned.
    features = pairs > 1 ? VDPASIM_NET_FEATURES | bit(VIRTIO_NET_F_MQ) : VDPASIM_NET_FEATURES;
  } else {
    if (typeof features !== 'bigint')
      throw new VdpaError('EINVAL', `device features ${String(features)} are not a bigint`);
    const unsupported = features & ~VDPASIM_NET_SUPPORTED_FEATURES;
    if (features < 0n || unsupported !== 0n) {
      throw new VdpaError(
        'EINVAL',
        `device features 0x${features.toString(16)} are not supported: 0x${unsupported.toString(16)}`,
      );
    }
    if ((features & NEEDS_CTRL_VQ) !== 0n && (features & bit(VIRTIO_NET_F_CTRL_VQ)) === 0n) {
      throw new VdpaError(
        'EINVAL',
        `device features 0x${features.toString(16)} need CTRL_VQ for their control-queue features`,
      );
    }
    if (pairs > 1 && (features & bit(VIRTIO_NET_F_MQ)) === 0n) {
      throw new VdpaError(
        'EINVAL',
        `max_vqp ${pairs} needs MQ in device features 0x${features.toString(16)}`,
      );
    }
  }
  if (options.mac !== undefined) checkMac(options.mac);
  const mtu = options.mtu ?? VDPASIM_NET_DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < VIRTIO_NET_MIN_MTU || mtu > U16_MAX) {
    throw new VdpaError('EINVAL', `mtu ${String(mtu)} is not in ${VIRTIO_NET_MIN_MTU}..${U16_MAX}`);
  }
  const { workBudget, maxIotlbEntries } = resolveVdpasimOptions(options);
  return { features, pairs, mtu, workBudget, maxIotlbEntries };
}

function checkMac(mac: Uint8Array): void {
  if (!(mac instanceof Uint8Array) || mac.length !== ETH_ALEN) {
    throw new VdpaError(
      'EINVAL',
      `mac of ${mac instanceof Uint8Array ? mac.length : typeof mac} bytes is not ${ETH_ALEN} bytes`,
    );
  }
}
