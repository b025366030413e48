/**
 * The ring benchmark's main vring loop: the classes the virtio-net driver and vdpasim_net run. The
 * driver side is two `PooledVirtqueue`s as `NetTxQueue` and `NetRxQueue` use them (a fixed pool of
 * buffers, descriptor i bound to buffer i, as the reference loop's driver; posted and reaped in
 * batches, one `avail->idx` store per post; no EVENT_IDX, which vdpasim_net does not offer), the
 * device side vdpasim_net's pair work ({@link BenchLoopbackDevice}), every check on and IOTLB
 * translation on. Its buffers are 2 KiB apart, as the reference loop's (the driver's are 1536 bytes at
 * MTU 1500).
 */
import { PooledVirtqueue } from '@vdpa-kit/vring';
import type { BenchLoop } from './bench-loop.js';
import { benchMemory } from './bench-memory.js';
import { BENCH_MIN_FRAME, BenchLoopbackDevice, frameTooSmall } from './loopback-device.js';
import { PayloadCheck, fillPayloads } from './payload.js';

const NUM = 256;
const BUF = 2048;
/** The virtio-net driver's negotiation with vdpasim_net: no `VIRTIO_RING_F_EVENT_IDX`. */
const EVENT_IDX = false;

/** The pooled loopback, set up once and run in slices; `run` takes its fields into locals first. */
class PooledLoop implements BenchLoop {
  private readonly tx: PooledVirtqueue;
  private readonly rx: PooledVirtqueue;
  private readonly dev: BenchLoopbackDevice;
  private readonly txLens: Uint32Array;
  private readonly slots = new Uint16Array(NUM);
  private readonly lens = new Uint32Array(NUM);
  /** Where the TX reap leaves its slots and lengths (as `NetTxQueue.reclaim` reaps). */
  private readonly txSlots = new Uint16Array(NUM);
  private readonly txUsedLens = new Uint32Array(NUM);
  private readonly payloads: PayloadCheck;

  constructor(
    private readonly size: number,
    private readonly batch: number,
  ) {
    this.payloads = new PayloadCheck('pooled', NUM, size);
    const { mem, dma, iotlb } = benchMemory();
    // The device runs in the kick's caller here (the inline work queue), so a kick has nothing to wake.
    const notify = (): void => undefined;
    const tx = PooledVirtqueue.create(mem, dma, {
      index: 1,
      num: NUM,
      eventIdx: EVENT_IDX,
      bufSize: BUF,
      writable: false,
      notify,
    });
    const rx = PooledVirtqueue.create(mem, dma, {
      index: 0,
      num: NUM,
      eventIdx: EVENT_IDX,
      bufSize: BUF,
      writable: true,
      notify,
    });
    fillPayloads(tx.bytes, tx.bufferOffset(0), tx.bufStride, NUM, size);
    this.tx = tx;
    this.rx = rx;
    this.dev = new BenchLoopbackDevice(mem, iotlb, tx.deviceLayout, rx.deviceLayout, {
      eventIdx: EVENT_IDX,
      txInterrupt: () => tx.interrupt(),
      rxInterrupt: () => rx.interrupt(),
    });
    this.txLens = new Uint32Array(batch).fill(size);
    rx.post(NUM);
    rx.kick();
  }

  run(packets: number): number {
    const { tx, rx, dev, txLens, slots, lens, txSlots, txUsedLens, batch } = this;
    let sent = 0;
    let received = 0;
    let dropped = 0;
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    while (received + dropped < packets) {
      // Driver: the next batch of frames (their payload is already in the buffers).
      const free = tx.freeRun();
      const want = packets - sent < batch ? packets - sent : batch;
      const n = free < want ? free : want;
      tx.post(n, txLens);
      sent += n;
      tx.kick();
      // Device: vdpasim_net's work for the kick, its interrupts included.
      dropped += dev.drain();
      // Driver: take back the sent buffers (with their slots, as NetTxQueue does to count bytes);
      // receive, and give the receive buffers back. One call each takes all that is used (up to the
      // ring size): the device runs in this thread, so nothing is used between its pass and these
      // calls, and the reference loop too reads each used index once a pass.
      tx.reap(txSlots, txUsedLens);
      const got = rx.reap(slots, lens);
      for (let k = 0; k < got; k++) bytes += lens[k];
      received += got;
      rx.post(rx.freeRun());
      rx.kick();
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const size = this.size;
    if (bytes !== packets * size) throw new Error(`pooled loop lost data: ${bytes} != ${packets * size}`);
    this.payloads.moved(packets);
    return ns;
  }

  verify(): void {
    this.payloads.checkAndPoison(this.rx.bytes, this.rx.bufferOffset(0), this.rx.bufStride);
  }
}

/**
 * Sets up the pooled loopback for packets of `size` bytes (18..2048: vdpasim_net drops a frame shorter
 * than a virtio-net header and a destination address) in batches of `batch`. Its `run` throws if data
 * was lost.
 * @throws BenchError for a size below 18
 */
export function createPooledLoop(size: number, batch = 64): BenchLoop {
  if (size < BENCH_MIN_FRAME) throw frameTooSmall(size);
  return new PooledLoop(size, batch);
}
