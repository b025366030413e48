/**
 * The ring benchmark's main vring loop: {@link PooledVirtqueue} driver rings (a fixed pool of buffers,
 * descriptor i bound to buffer i, as the reference loop's driver) and the `Vringh` loopback device of
 * {@link BenchLoopbackDevice}, every check on and IOTLB translation on.
 */
import type { BenchLoop } from './bench-loop.js';
import { PayloadCheck, fillPayloads } from './payload.js';
import { PooledVirtqueue } from '@vdpa-kit/vring';
import { benchMemory } from './bench-memory.js';
import { BenchLoopbackDevice } from './loopback-device.js';

const NUM = 256;
const BUF = 2048;

/** The pooled loopback, set up once and run in slices; `run` takes its fields into locals first. */
class PooledLoop implements BenchLoop {
  private readonly tx: PooledVirtqueue;
  private readonly rx: PooledVirtqueue;
  private readonly dev: BenchLoopbackDevice;
  private readonly txLens: Uint32Array;
  private readonly slots = new Uint16Array(NUM);
  private readonly lens = new Uint32Array(NUM);
  private readonly payloads: PayloadCheck;

  constructor(
    private readonly size: number,
    private readonly batch: number,
  ) {
    this.payloads = new PayloadCheck('pooled', NUM, size);
    const { mem, dma, iotlb } = benchMemory();
    // The device is polled, so a kick has nothing to wake.
    const notify = (): void => undefined;
    const tx = PooledVirtqueue.create(mem, dma, {
      index: 1,
      num: NUM,
      eventIdx: true,
      bufSize: BUF,
      writable: false,
      notify,
    });
    const rx = PooledVirtqueue.create(mem, dma, {
      index: 0,
      num: NUM,
      eventIdx: true,
      bufSize: BUF,
      writable: true,
      notify,
    });
    fillPayloads(tx.bytes, tx.bufferOffset(0), tx.bufStride, NUM, size);
    this.tx = tx;
    this.rx = rx;
    this.dev = new BenchLoopbackDevice(mem, iotlb, tx.deviceLayout, rx.deviceLayout);
    this.txLens = new Uint32Array(batch).fill(size);
    rx.post(NUM);
    rx.kick();
  }

  run(packets: number): number {
    const { tx, rx, dev, txLens, slots, lens, batch } = this;
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
      dropped += dev.drain();
      if (dev.txNeedNotify()) tx.interrupt();
      if (dev.rxNeedNotify()) rx.interrupt();
      // Driver: take back the sent buffers; receive, and give the receive buffers back. One call
      // each takes all that is used (up to the ring size): the device runs in this thread, so nothing
      // is used between its pass and these calls, and the reference loop too reads each used index
      // once a pass.
      tx.reclaim();
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
 * Sets up the pooled loopback for packets of `size` bytes (1..2048) in batches of `batch`. Its `run`
 * throws if data was lost.
 */
export function createPooledLoop(size: number, batch = 64): BenchLoop {
  return new PooledLoop(size, batch);
}
