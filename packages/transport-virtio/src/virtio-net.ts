import { type Logger, VdpaError, formatMac, isValidEtherAddr, nullLogger } from '@vdpa-kit/core-bus';
import {
  ETH_ADDR_MULTICAST,
  ETH_ALEN,
  ETH_FRAME_LEN,
  ETH_HLEN,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MAC_ADDR_SET,
  VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_MQ_PAIRS_SIZE,
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
  VIRTIO_NET_CTRL_RX,
  VIRTIO_NET_CTRL_RX_ALLMULTI,
  VIRTIO_NET_CTRL_RX_ONOFF_SIZE,
  VIRTIO_NET_CTRL_RX_PROMISC,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_LEGACY_SIZE,
  VIRTIO_NET_HDR_V1_SIZE,
  VIRTIO_NET_VQS_PER_PAIR,
} from '@vdpa-kit/virtio-spec';
import { PooledVirtqueue, Virtqueue, VringError } from '@vdpa-kit/vring';
import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import { NET_BUF_ALIGN } from './constants.js';
import { VirtioError, type VirtioErrorReason } from './errors.js';
import type { NetConfigSnapshot, NetInterface, NetQueueStats, RxBatch } from './net-interface.js';
import type { VirtioDevice } from './virtio-device.js';
import {
  type NetConfig,
  generateMac,
  netConfigSnapshot,
  readNetProbeConfig,
  readNetStatus,
} from './virtio-net-config.js';
import { NetControlQueue } from './virtio-net-cvq.js';
import { NetRxQueue } from './virtio-net-rx.js';
import { NetTxQueue } from './virtio-net-tx.js';
import type { PooledVirtqueueInfo, VirtqueueInfo } from './virtio-vq-setup.js';

/** Options of {@link VirtioNet}. */
export interface VirtioNetOptions {
  /** Requested ring size of every queue. */
  readonly queueSize: number;
  /** Milliseconds a control command waits for its ack. */
  readonly cvqTimeoutMs: number;
  readonly logger?: Logger;
}

type NetState = 'new' | 'open' | 'broken' | 'closed';

/**
 * The virtio-net driver instance of one device (the kernel's `virtnet_info`), implementing
 * {@link NetInterface}: receive and transmit queues per pair, the control queue, link state from
 * config, counters. The datapath (send, flush, reclaim, the RX NAPI loop) allocates nothing per frame
 * and emits on RxJS once per batch at most.
 *
 * Errors: a device that breaks the ring protocol or fails a datapath op marks the device FAILED (a
 * `VirtioError` on the device's `errors$`); inside a device callback nothing is thrown, in a user call
 * the `VirtioError` is thrown after the device was marked. On a broken or closed interface `send`
 * throws and `flush`, `reclaim` and `poll` do nothing.
 *
 * @example
 * const net = container.get<VirtioBus>(VIRTIO_BUS).netDevice('vdpa0')!;
 * const off = net.onReceive((b) => console.log(`${b.count} frames on queue ${b.queue}`));
 * net.send(frame);
 * net.flush();
 * await net.setRxMode('promisc', true);
 */
export class VirtioNet implements NetInterface {
  readonly name: string;
  readonly receive$: Observable<RxBatch>;
  readonly config$: Observable<NetConfigSnapshot>;

  private readonly vdev: VirtioDevice;
  private readonly options: VirtioNetOptions;
  private readonly logger: Logger;
  private readonly receiveSubject = new Subject<RxBatch>();
  private readonly configSubject: BehaviorSubject<NetConfigSnapshot>;
  private state: NetState = 'new';
  private mac_: Uint8Array;
  private config: NetConfig;
  private queuePairs_ = 1;
  private rx: NetRxQueue[] = [];
  private tx: NetTxQueue[] = [];
  private cvq: NetControlQueue | undefined;
  private released = false;
  private handlers: readonly ((batch: RxBatch) => void)[] = [];
  private readonly sink = (batch: RxBatch): boolean => this.deliver(batch);

  /**
   * Reads the config (features are final); {@link start} brings the device up.
   * @throws VirtioError from the config read
   */
  constructor(vdev: VirtioDevice, options: VirtioNetOptions) {
    this.vdev = vdev;
    this.name = vdev.name;
    this.options = options;
    this.logger = options.logger ?? nullLogger;
    const probed = readNetProbeConfig(vdev);
    // With VIRTIO_NET_F_STATUS the link is down until the first status read (virtnet_probe() turns the
    // carrier off and reads the status when the interface is opened).
    this.config = { ...probed, linkUp: !vdev.hasFeature(VIRTIO_NET_F_STATUS), announce: false };
    // Like Linux, an absent config MAC gives way to a generated one; so does an invalid one here.
    const configMac = this.config.mac;
    this.mac_ = configMac !== undefined && isValidEtherAddr(configMac) ? configMac : generateMac(vdev.name);
    this.configSubject = new BehaviorSubject(netConfigSnapshot(this.mac_, this.config));
    this.receive$ = this.receiveSubject.asObservable();
    this.config$ = this.configSubject.asObservable();
  }

  /** The interface's MAC address (a copy). */
  get mac(): Uint8Array {
    return this.mac_.slice();
  }
  /** Link status from the last config read. */
  get linkUp(): boolean {
    return this.config.linkUp;
  }
  /** MTU read at probe. */
  get mtu(): number {
    return this.config.mtu;
  }
  /** Queue pairs the device has. */
  get maxQueuePairs(): number {
    return this.config.maxQueuePairs;
  }
  /** Queue pairs currently enabled (1 until `VQ_PAIRS_SET` is acked). */
  get queuePairs(): number {
    return this.queuePairs_;
  }
  /** Negotiated features. */
  get features(): bigint {
    return this.vdev.features;
  }
  /** True once the device broke; see the device's `errors$`. */
  get broken(): boolean {
    return this.state === 'broken';
  }
  /** True once {@link close}d or removed. */
  get closed(): boolean {
    return this.state === 'closed';
  }
  /** Header length in every buffer: 12 with VERSION_1 (always here), else 10. */
  get hdrLen(): number {
    return this.vdev.hasFeature(VIRTIO_F_VERSION_1) || this.vdev.hasFeature(VIRTIO_NET_F_MRG_RXBUF)
      ? VIRTIO_NET_HDR_V1_SIZE
      : VIRTIO_NET_HDR_LEGACY_SIZE;
  }

  /**
   * `virtio_net.c: virtnet_probe()` after the config reads: finds the vqs (receiveq/transmitq per pair
   * as pooled queues with their buffers, then the control queue), defers config changes until
   * {@link open}, sets DRIVER_OK (`virtio_device_ready()`), enables every pair with `VQ_PAIRS_SET` when
   * MQ was negotiated (`virtnet_set_queues()`), tells the device a generated MAC with `MAC_ADDR_SET`
   * when it has no `VIRTIO_NET_F_MAC` but `CTRL_MAC_ADDR`, and with `VIRTIO_NET_F_STATUS` leaves a
   * status read pending (`virtio_config_changed()`). On failure everything is undone (reset, vqs and
   * their buffers freed).
   *
   * @throws VirtioError from `findVqs`; VringError `ENOMEM` when the pools do not fit
   */
  start(): void {
    if (this.state !== 'new') throw new VdpaError('EBUSY', `net interface ${this.name} was already started`);
    const vdev = this.vdev;
    const pairs = this.config.maxQueuePairs;
    const hdrLen = this.hdrLen;
    const maxFrame = Math.max(this.config.mtu + ETH_HLEN, ETH_FRAME_LEN);
    // One buffer per ring entry, header and largest frame rounded up to a cache line, allocated with
    // the ring and bound to its descriptor: the receive and transmit rings are pooled queues.
    const bufSize = Math.ceil((hdrLen + maxFrame) / NET_BUF_ALIGN) * NET_BUF_ALIGN;
    const infos: (VirtqueueInfo | PooledVirtqueueInfo)[] = [];
    for (let p = 0; p < pairs; p++) {
      infos.push({
        name: `input.${p}`,
        pool: { bufSize, writable: true, bufAlign: NET_BUF_ALIGN },
        callback: () => this.rxInterrupt(p),
      });
      infos.push({
        name: `output.${p}`,
        pool: { bufSize, writable: false, bufAlign: NET_BUF_ALIGN },
        callback: () => this.txInterrupt(p),
      });
    }
    const hasCvq = vdev.hasFeature(VIRTIO_NET_F_CTRL_VQ);
    if (hasCvq) infos.push({ name: 'control', callback: () => this.cvqInterrupt() });
    const vqs = vdev.findVqs(infos, { queueSize: this.options.queueSize });
    try {
      const { mem, dma } = vdev;
      for (let p = 0; p < pairs; p++) {
        this.rx.push(
          NetRxQueue.create({
            vq: pooled(vqs[VIRTIO_NET_VQS_PER_PAIR * p]),
            pair: p,
            hdrLen,
            sink: this.sink,
          }),
        );
        this.tx.push(
          NetTxQueue.create({ vq: pooled(vqs[VIRTIO_NET_VQS_PER_PAIR * p + 1]), hdrLen, maxFrame }),
        );
      }
      if (hasCvq) {
        this.cvq = NetControlQueue.create({
          dev: this.name,
          vq: general(vqs[VIRTIO_NET_VQS_PER_PAIR * pairs]),
          mem,
          dma,
          timeoutMs: this.options.cvqTimeoutMs,
          logger: this.logger,
          onError: (err) => this.failDevice(err, 'ring', 'control queue failed'),
        });
      }
      vdev.configDriverDisable();
      vdev.ready();
      this.state = 'open';
    } catch (err) {
      this.state = 'closed';
      this.release();
      throw err;
    }
    if (vdev.hasFeature(VIRTIO_NET_F_MQ)) {
      this.setQueuePairs(pairs).catch((err: unknown) =>
        this.logger.warn('enabling all queue pairs failed', { dev: this.name, pairs, message: String(err) }),
      );
    }
    if (!vdev.hasFeature(VIRTIO_NET_F_MAC) && vdev.hasFeature(VIRTIO_NET_F_CTRL_MAC_ADDR)) {
      this.setMac(this.mac_).catch((err: unknown) =>
        this.logger.warn('telling the device its mac failed', { dev: this.name, message: String(err) }),
      );
    }
    if (vdev.hasFeature(VIRTIO_NET_F_STATUS)) vdev.configChanged();
  }

  /**
   * `virtio_net.c: virtnet_open()`: posts every receive buffer of each pair and kicks it
   * (`try_fill_recv()`), then lets config changes through (`virtio_config_driver_enable()`), which
   * reads the link status left pending by {@link start}. The virtio bus calls it once the probe
   * completed. Does nothing unless the interface is open.
   * @throws VirtioError when the device broke a receive ring (the device is marked FAILED first)
   */
  open(): void {
    if (this.state !== 'open') return;
    for (let p = 0; p < this.rx.length; p++) {
      try {
        this.rx[p].refill();
      } catch (err) {
        throw this.failDevice(err, 'ring', `receive refill on queue ${p} failed`);
      }
    }
    this.vdev.configDriverEnable();
  }

  /**
   * See {@link NetInterface.send}.
   * @throws VdpaError `EINVAL` for an inactive queue or a frame of 0 bytes or longer than the MTU allows;
   * VirtioError `EIO` on a broken interface, `ENODEV` on a closed one, or the error that broke the device
   */
  send(frame: Uint8Array, queue = 0): boolean {
    if (this.state !== 'open') throw this.unusable();
    if (!(queue >= 0 && queue < this.queuePairs_ && Number.isInteger(queue))) {
      throw new VdpaError(
        'EINVAL',
        `queue ${queue} is not an active queue pair of ${this.name} (0..${this.queuePairs_ - 1})`,
      );
    }
    const tx = this.tx[queue];
    const len = frame.length;
    if (len === 0 || len > tx.maxFrame)
      throw new VdpaError('EINVAL', `frame of ${len} bytes is not in 1..${tx.maxFrame}`);
    try {
      return tx.send(frame);
    } catch (err) {
      throw this.failDevice(err, 'ring', `send on queue ${queue} failed`);
    }
  }

  /**
   * See {@link NetInterface.flush}; does nothing on a broken or closed interface.
   * @throws VdpaError `EINVAL` for a queue beyond `maxQueuePairs`; VirtioError when the kick fails
   */
  flush(queue = 0): void {
    const q = this.queueIndex(queue);
    if (this.state !== 'open') return;
    try {
      this.tx[q].flush();
    } catch (err) {
      // A ring error is the post (the queue broke); anything else is the kick op.
      if (err instanceof VringError) throw this.failDevice(err, 'ring', `send on queue ${q} failed`);
      throw this.failDevice(err, 'device-op', `kick of queue ${q} failed`);
    }
  }

  /**
   * See {@link NetInterface.reclaim}; 0 on a broken or closed interface.
   * @throws VdpaError `EINVAL` for a queue beyond `maxQueuePairs`; VirtioError when the device broke the ring
   */
  reclaim(queue = 0): number {
    const q = this.queueIndex(queue);
    if (this.state !== 'open') return 0;
    try {
      return this.tx[q].reclaim();
    } catch (err) {
      throw this.failDevice(err, 'ring', `reclaim on queue ${q} failed`);
    }
  }

  /**
   * See {@link NetInterface.poll}; 0 on a broken or closed interface.
   * @returns frames delivered
   * @throws VdpaError `EINVAL` for a queue beyond `maxQueuePairs`; VirtioError when the device broke the ring
   */
  poll(queue = 0): number {
    const q = this.queueIndex(queue);
    if (this.state !== 'open') return 0;
    try {
      return this.rx[q].poll();
    } catch (err) {
      throw this.failDevice(err, 'ring', `receive on queue ${q} failed`);
    }
  }

  /** See {@link NetInterface.onReceive}. A handler that throws is logged and skipped for that batch. */
  onReceive(handler: (batch: RxBatch) => void): () => void {
    this.handlers = [...this.handlers, handler];
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  /**
   * `VIRTIO_NET_CTRL_MAC_ADDR_SET`; on OK the interface's MAC changes and `config$` emits.
   * @throws (rejects) VdpaError `EINVAL` for a non-unicast or non-6-byte MAC, `EOPNOTSUPP` without
   * `CTRL_MAC_ADDR`; VirtioError `EIO` (`cvq`, `cvq-timeout`) from the control queue
   */
  setMac(mac: Uint8Array): Promise<void> {
    if (!(mac instanceof Uint8Array) || mac.length !== ETH_ALEN || (mac[0] & ETH_ADDR_MULTICAST) !== 0) {
      const shown = mac instanceof Uint8Array ? formatMac(mac) : String(mac);
      return Promise.reject(new VdpaError('EINVAL', `mac ${shown} is not a unicast ethernet address`));
    }
    const copy = Uint8Array.from(mac);
    return this.command(
      VIRTIO_NET_F_CTRL_MAC_ADDR,
      VIRTIO_NET_CTRL_MAC,
      VIRTIO_NET_CTRL_MAC_ADDR_SET,
      copy,
      `mac address set ${formatMac(copy)}`,
      () => {
        this.mac_ = copy;
        this.emitConfig();
      },
    );
  }

  /**
   * `VIRTIO_NET_CTRL_RX_PROMISC` / `_ALLMULTI`.
   * @throws (rejects) VdpaError `EINVAL` for another mode, `EOPNOTSUPP` without `CTRL_RX`; VirtioError
   * `EIO` from the control queue
   */
  setRxMode(mode: 'promisc' | 'allmulti', on: boolean): Promise<void> {
    let cmd: number;
    if (mode === 'promisc') cmd = VIRTIO_NET_CTRL_RX_PROMISC;
    else if (mode === 'allmulti') cmd = VIRTIO_NET_CTRL_RX_ALLMULTI;
    else return Promise.reject(new VdpaError('EINVAL', `rx mode ${String(mode)} is not promisc or allmulti`));
    const data = new Uint8Array(VIRTIO_NET_CTRL_RX_ONOFF_SIZE);
    data[0] = on ? 1 : 0;
    return this.command(
      VIRTIO_NET_F_CTRL_RX,
      VIRTIO_NET_CTRL_RX,
      cmd,
      data,
      `rx ${mode} ${on ? 'on' : 'off'}`,
    );
  }

  /**
   * `VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET`; on OK `queuePairs` becomes `n`.
   * @throws (rejects) VdpaError `EINVAL` unless 1 ≤ n ≤ `maxQueuePairs`, `EOPNOTSUPP` without `MQ`;
   * VirtioError `EIO` from the control queue
   */
  setQueuePairs(n: number): Promise<void> {
    const max = this.config.maxQueuePairs;
    if (!Number.isInteger(n) || n < 1 || n > max) {
      return Promise.reject(new VdpaError('EINVAL', `queue pairs ${n} is not in 1..${max}`));
    }
    const data = new Uint8Array(VIRTIO_NET_CTRL_MQ_PAIRS_SIZE);
    new DataView(data.buffer).setUint16(0, n, true);
    return this.command(
      VIRTIO_NET_F_MQ,
      VIRTIO_NET_CTRL_MQ,
      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
      data,
      `queue pairs set ${n}`,
      () => {
        this.queuePairs_ = n;
      },
    );
  }

  /** Counters per virtqueue in index order (rx0, tx0, rx1, tx1, …, cvq). */
  stats(): NetQueueStats[] {
    const out: NetQueueStats[] = [];
    for (let p = 0; p < this.rx.length; p++) {
      out.push(this.rx[p].counters.snapshot());
      out.push(this.tx[p].counters.snapshot());
    }
    if (this.cvq !== undefined) out.push(this.cvq.counters.snapshot());
    return out;
  }

  /**
   * Closes the interface: pending control commands reject, the device is reset, its vqs deleted and
   * every buffer freed; `receive$` and `config$` complete. Idempotent; also what removing the driver
   * does.
   */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cvq?.failAll(new VirtioError('ENODEV', 'closed', this.name, `net interface ${this.name} is closed`));
    this.release();
    this.receiveSubject.complete();
    this.configSubject.complete();
  }

  /**
   * The driver's `config_changed` hook (`virtio_net.c: virtnet_config_changed_work()`): with
   * `VIRTIO_NET_F_STATUS` reads the status and emits on `config$`; without it reads nothing. MAC, MTU
   * and queue pairs keep their probe-time values, which the buffers and queues were sized for.
   * @throws VirtioError from the config read
   */
  configChanged(): void {
    if (this.state !== 'open' || !this.vdev.hasFeature(VIRTIO_NET_F_STATUS)) return;
    this.config = { ...this.config, ...readNetStatus(this.vdev) };
    this.emitConfig();
  }

  /** The driver's `broken` hook: the device was marked FAILED; stop using it. */
  deviceBroken(error: VirtioError): void {
    if (this.state === 'closed') return;
    this.state = 'broken';
    this.cvq?.failAll(error);
  }

  private queueIndex(queue: number): number {
    if (!(queue >= 0 && queue < this.config.maxQueuePairs && Number.isInteger(queue))) {
      throw new VdpaError(
        'EINVAL',
        `queue ${queue} is not a queue pair of ${this.name} (0..${this.config.maxQueuePairs - 1})`,
      );
    }
    return queue;
  }

  private unusable(): VirtioError {
    return this.state === 'broken'
      ? new VirtioError('EIO', 'closed', this.name, `net interface ${this.name} is broken: its device failed`)
      : new VirtioError(
          'ENODEV',
          'closed',
          this.name,
          `net interface ${this.name} is ${this.state === 'new' ? 'not started' : 'closed'}`,
        );
  }

  private command(
    feature: number,
    cls: number,
    cmd: number,
    data: Uint8Array,
    what: string,
    onOk?: () => void,
  ): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.unusable());
    if (this.cvq === undefined || !this.vdev.hasFeature(feature)) {
      return Promise.reject(
        new VirtioError(
          'EOPNOTSUPP',
          'unsupported',
          this.name,
          `${what}: device ${this.name} did not negotiate the needed feature bit ${feature}`,
        ),
      );
    }
    return this.cvq.submit(cls, cmd, data, what, onOk);
  }

  private emitConfig(): void {
    this.configSubject.next(netConfigSnapshot(this.mac_, this.config));
  }

  /** Hands a batch to every receiver; false when there is none. */
  private deliver(batch: RxBatch): boolean {
    const handlers = this.handlers;
    const observed = this.receiveSubject.observed;
    if (handlers.length === 0 && !observed) return false;
    for (let i = 0; i < handlers.length; i++) {
      try {
        handlers[i](batch);
      } catch (err) {
        this.logger.error('receive handler threw', {
          dev: this.name,
          queue: batch.queue,
          message: String(err),
        });
      }
    }
    if (observed) this.receiveSubject.next(batch);
    return true;
  }

  private rxInterrupt(pair: number): void {
    const rx = this.rx[pair];
    if (this.state !== 'open' || rx === undefined) return;
    rx.counters.interrupts++;
    try {
      rx.poll();
    } catch (err) {
      this.failDevice(err, 'ring', `receive on queue ${pair} failed`);
    }
  }

  private txInterrupt(pair: number): void {
    const tx = this.tx[pair];
    if (this.state !== 'open' || tx === undefined) return;
    tx.counters.interrupts++;
    try {
      tx.reclaim();
    } catch (err) {
      this.failDevice(err, 'ring', `reclaim on queue ${pair} failed`);
    }
  }

  private cvqInterrupt(): void {
    const cvq = this.cvq;
    if (this.state !== 'open' || cvq === undefined) return;
    cvq.counters.interrupts++;
    try {
      cvq.poll();
    } catch (err) {
      this.failDevice(err, 'ring', 'control queue failed');
    }
  }

  /**
   * Marks the device FAILED with a `VirtioError` for `err`, and returns that error. After a close (a
   * receiver closing the interface from its callback) the error is only returned.
   */
  private failDevice(err: unknown, reason: VirtioErrorReason, context: string): VirtioError {
    const error = VirtioError.wrap(err, reason, this.name, context);
    if (this.state === 'closed') return error;
    this.vdev.fail(error);
    // The device calls deviceBroken through the driver hook; make sure even without a driver.
    this.deviceBroken(error);
    return error;
  }

  /** Reset, vqs deleted, pools freed (`remove_vq_common`); the counters stay readable. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    const vdev = this.vdev;
    try {
      vdev.teardown();
    } catch (err) {
      this.logger.warn('teardown failed', { dev: this.name, message: String(err) });
    }
    // The receive and transmit buffers went with their vqs.
    for (const rx of this.rx) rx.destroy();
    for (const tx of this.tx) tx.destroy();
    this.cvq?.destroy(vdev.dma);
  }
}

/** The pooled queue `findVqs` made for a receive or transmit entry. */
function pooled(vq: Virtqueue<number> | PooledVirtqueue): PooledVirtqueue {
  if (!(vq instanceof PooledVirtqueue))
    throw new VringError('EINVAL', `vq ${vq.index} is not a pooled queue`);
  return vq;
}

/** The general queue `findVqs` made for the control entry. */
function general(vq: Virtqueue<number> | PooledVirtqueue): Virtqueue<number> {
  if (!(vq instanceof Virtqueue)) throw new VringError('EINVAL', `vq ${vq.index} is not a general queue`);
  return vq;
}
