import { VIRTIO_CONFIG_S_DRIVER_OK as DRIVER_OK, VIRTIO_ID_NET } from '@vdpa-kit/virtio-spec';
import { VIRTIO_CONFIG_S_NEEDS_RESET as NEEDS_RESET } from '@vdpa-kit/virtio-spec';
import { Iotlb, type GuestMemory, type VringError } from '@vdpa-kit/vring';
import { VdpaError, type VdpaCallback, type VdpaConfigOps, type VdpaVqState } from '@vdpa-kit/core-bus';
import type { Logger, VendorStat, WorkQueue } from '@vdpa-kit/core-bus';
import * as C from './constants.js';
import { mvnetConfig, mvnetMac } from './mvnet-config.js';
import { MvnetLoopback, MvnetVq, mvnetStats } from './mvnet-datapath.js';

/** Options of {@link MvnetDevice}: name, `mac` (default `mvnetMac(name)`), `mtu` (default 1500), services. */
export interface MvnetDeviceOptions {
  readonly name: string;
  readonly mac?: Uint8Array;
  readonly mtu?: number;
  readonly mem: GuestMemory;
  readonly workQueue: WorkQueue;
  readonly logger: Logger;
}

/** The mvnet device, a loopback virtio-net: its config ops, in the kernel's `vdpa_config_ops` order. */
export class MvnetDevice implements VdpaConfigOps {
  /** Datapath counters, as `getVendorVqStats` reports them. */
  readonly stats = mvnetStats();
  private readonly vqs = [new MvnetVq(), new MvnetVq()];
  /** No on-chip IOMMU (no `setMap`, `dmaMap`): ring addresses are guest-physical. */
  private readonly iotlb = Iotlb.identity();
  private readonly config: Uint8Array;
  private readonly loopback: MvnetLoopback;
  private status = 0;
  private features = 0n;
  private generation = 0;
  private configCb: VdpaCallback | null = null;
  constructor(private readonly options: MvnetDeviceOptions) {
    this.config = mvnetConfig(options.mac ?? mvnetMac(options.name), options.mtu ?? C.MVNET_DEFAULT_MTU);
    this.loopback = new MvnetLoopback(this.vqs[C.MVNET_RX_VQ], this.vqs[C.MVNET_TX_VQ], this.stats, {
      running: () => (this.status & (DRIVER_OK | NEEDS_RESET)) === DRIVER_OK,
      guestError: (err, queue) => this.guestError(err, queue),
    });
  }

  /** `set_vq_address`: stores the three ring areas (IOVAs), used when the queue becomes ready. */
  readonly setVqAddress = (idx: number, descArea: number, driverArea: number, deviceArea: number): void => {
    Object.assign(this.vq(idx), { descArea, driverArea, deviceArea });
  };
  /** `set_vq_num`: the ring size the driver allocated. @throws VdpaError `EINVAL` outside 1..256 */
  readonly setVqNum = (idx: number, num: number): void => {
    const vq = this.vq(idx);
    if (!Number.isInteger(num) || num < 1 || num > C.MVNET_QUEUE_MAX)
      throw new VdpaError('EINVAL', `vq ${idx} size ${num} is not in 1..${C.MVNET_QUEUE_MAX}`);
    vq.num = num;
  };
  /** `kick_vq`: the driver made buffers available; on a ready queue this schedules the loopback. */
  readonly kickVq = (idx: number): void => {
    if (this.vq(idx).ready) this.options.workQueue.queue(this.loopback);
  };
  /** `set_vq_cb`: the used-buffer interrupt, called after a pass that used buffers of this queue. */
  readonly setVqCb = (idx: number, cb: VdpaCallback | null): void => {
    this.vq(idx).cb = cb;
  };
  /** `set_vq_ready`: enabling (0 → 1) sets the ring up. @throws VringError `EINVAL` for a bad size */
  readonly setVqReady = (idx: number, ready: boolean): void => {
    const vq = this.vq(idx);
    if (ready && !vq.ready) vq.start(this.options.mem, this.iotlb);
    vq.ready = ready;
  };
  /** `get_vq_ready`: whether the queue is enabled (a driver refuses to set up one that is). */
  readonly getVqReady = (idx: number): boolean => this.vq(idx).ready;
  /** `set_vq_state`: next avail index to read (migration); split only. @throws `EOPNOTSUPP`, `ERANGE` */
  readonly setVqState = (idx: number, state: VdpaVqState): void => {
    const vq = this.vq(idx);
    if (state.kind !== 'split')
      throw new VdpaError('EOPNOTSUPP', `vq ${idx} state ${state.kind}: rings are split`);
    vq.vring.lastAvailIdx = state.availIndex;
  };
  /** `get_vq_state`: the avail index the device reads next. */
  readonly getVqState = (idx: number): VdpaVqState => ({
    kind: 'split',
    availIndex: this.vq(idx).vring.lastAvailIdx,
  });
  /** `get_vendor_vq_stats` (`vdpa dev vstats show`), vdpasim_net's names. @throws VdpaError `EINVAL` */
  readonly getVendorVqStats = (idx: number): VendorStat[] => {
    const counters = idx === C.MVNET_RX_VQ ? this.stats.rx : idx === C.MVNET_TX_VQ ? this.stats.tx : null;
    if (counters === null)
      throw new VdpaError('EINVAL', `vq ${idx} has no stats: mvnet has ${C.MVNET_NVQS} vqs`);
    return Object.entries(counters).map(([name, value]) => ({ name, value: BigInt(value) }));
  };
  /** `get_vq_align`: `PAGE_SIZE`, what the driver aligns a legacy-layout vring to. */
  readonly getVqAlign = (): number => C.MVNET_QUEUE_ALIGN;
  /** `get_device_features`: a fixed set; `dev add` cannot provision features on mvnet. */
  readonly getDeviceFeatures = (): bigint => C.MVNET_FEATURES;
  /** `set_driver_features`: keeps the accepted subset. @throws VdpaError `EINVAL` without ACCESS_PLATFORM */
  readonly setDriverFeatures = (features: bigint): void => {
    if ((features & C.MVNET_REQUIRED_FEATURES) === 0n)
      throw new VdpaError('EINVAL', `driver features 0x${features.toString(16)} lack ACCESS_PLATFORM`);
    this.features = features & C.MVNET_FEATURES;
  };
  /** `get_driver_features`: what was negotiated. */
  readonly getDriverFeatures = (): bigint => this.features;
  /** `set_config_cb`: the config-change interrupt; mvnet only uses it to report NEEDS_RESET. */
  readonly setConfigCb = (cb: VdpaCallback | null): void => {
    this.configCb = cb;
  };
  /** `get_vq_num_max`: 256; the bus checks it is not below the minimum (1). */
  readonly getVqNumMax = (): number => C.MVNET_QUEUE_MAX;
  /** `get_device_id`: 1, a network card (a driver refuses id 0). */
  readonly getDeviceId = (): number => VIRTIO_ID_NET;
  /** `get_vendor_id`: 0, no vendor. */
  readonly getVendorId = (): number => C.MVNET_VENDOR_ID;
  /** `get_status`: the status byte, with NEEDS_RESET if the device set it. */
  readonly getStatus = (): number => this.status;
  /** `set_status`: keeps a device-set NEEDS_RESET; 0 resets; DRIVER_OK runs the kicks sent before it. */
  readonly setStatus = (status: number): void => {
    if (status === 0) return this.reset();
    this.status = status | (this.status & NEEDS_RESET);
    if ((status & DRIVER_OK) !== 0) this.options.workQueue.queue(this.loopback);
  };
  /** `reset`: status and features 0, vqs unprogrammed, callbacks dropped, generation bumped. */
  readonly reset = (): void => {
    this.options.workQueue.cancel(this.loopback);
    for (const vq of this.vqs) vq.reset();
    this.status = 0;
    this.features = 0n;
    this.configCb = null;
    this.generation++;
  };
  /** `get_config_size`: 24, a whole `virtio_net_config`. */
  readonly getConfigSize = (): number => this.config.length;
  /** `get_config`: copies config bytes. @throws VdpaError `EINVAL` for a range past the config */
  readonly getConfig = (offset: number, buf: Uint8Array): void => {
    this.checkConfigRange(offset, buf.length);
    buf.set(this.config.subarray(offset, offset + buf.length));
  };
  /** `set_config`: ignored, virtio-net config is device-owned (§5.1.4). @throws as `getConfig` */
  readonly setConfig = (offset: number, buf: Uint8Array): void => this.checkConfigRange(offset, buf.length);
  /** `get_generation`: bumped by reset, so a driver re-reads config it read before. */
  readonly getGeneration = (): number => this.generation;
  /** `free`: the bus released the device; no pass may run any more. */
  readonly free = (): void => this.options.workQueue.cancel(this.loopback);

  private vq(idx: number): MvnetVq {
    const vq = this.vqs[idx];
    if (vq === undefined)
      throw new VdpaError('EINVAL', `vq index ${idx} is out of range: mvnet has ${C.MVNET_NVQS} vqs`);
    return vq;
  }
  private checkConfigRange(offset: number, len: number): void {
    const size = this.config.length;
    if (!Number.isInteger(offset) || offset < 0 || offset + len > size)
      throw new VdpaError('EINVAL', `config range ${offset}+${len} is outside the ${size} bytes`);
  }
  /** A ring broke the protocol: count it, log it, set NEEDS_RESET and tell the driver. */
  private guestError(err: VringError, queue: number): void {
    if (queue === C.MVNET_RX_VQ) this.stats.rx['rx errors']++;
    else this.stats.tx['tx errors']++;
    this.status |= NEEDS_RESET;
    const fields = { dev: this.options.name, vq: queue, code: err.code, message: err.message };
    this.options.logger.warn('guest ring error: device needs reset', fields);
    this.configCb?.();
  }
}
