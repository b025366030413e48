/**
 * The ring benchmark's general vring loop: {@link Virtqueue} driver rings (any chain, a free list and
 * tokens; buffers posted with `addOutbufs` / `addInbufs`, reaped with `getBufs`) and the `Vringh`
 * loopback device of {@link BenchLoopbackDevice}, IOTLB translation on.
 */
import type { BenchLoop } from './bench-loop.js';
import { PayloadCheck, fillPayloads } from './payload.js';
import { type MemoryRegion, Virtqueue } from '@vdpa-kit/vring';
import { IOVA_OFFSET, benchMemory } from './bench-memory.js';
import { BenchLoopbackDevice } from './loopback-device.js';

const NUM = 256;
const BUF = 2048;

/** The general loopback, set up once and run in slices; `run` takes its fields into locals first. */
class VirtqueueLoop implements BenchLoop {
  private readonly tx: Virtqueue<number>;
  private readonly rx: Virtqueue<number>;
  private readonly dev: BenchLoopbackDevice;
  private readonly txBufs: number;
  private readonly rxBufs: number;
  private readonly rxRegion: MemoryRegion;
  private readonly done = new Array<number>(NUM).fill(0);
  private readonly doneLens = new Uint32Array(NUM);
  // The driver's batches: addresses, lengths and tokens (slot numbers) of the buffers to post.
  private readonly addrs = new Float64Array(NUM);
  private readonly txSizes: Uint32Array;
  private readonly rxSizes = new Uint32Array(NUM).fill(BUF);
  private readonly slots = new Array<number>(NUM).fill(0);
  /** The TX buffer the next frame goes out of. */
  private slot = 0;
  private readonly payloads: PayloadCheck;

  constructor(
    private readonly size: number,
    private readonly batch: number,
  ) {
    this.payloads = new PayloadCheck('virtqueue', NUM, size);
    const { mem, dma, iotlb } = benchMemory();
    // The device is polled, so a kick has nothing to wake.
    const notify = (): void => undefined;
    const tx = Virtqueue.create<number>(mem, dma, {
      index: 1,
      num: NUM,
      eventIdx: true,
      indirect: false,
      notify,
    });
    const rx = Virtqueue.create<number>(mem, dma, {
      index: 0,
      num: NUM,
      eventIdx: true,
      indirect: false,
      notify,
    });
    const txBufs = dma.alloc(NUM * BUF, 64);
    const rxBufs = dma.alloc(NUM * BUF, 64);
    const txRegion = mem.regionOf(txBufs, NUM * BUF);
    this.rxRegion = mem.regionOf(rxBufs, NUM * BUF);
    fillPayloads(txRegion.bytes, txBufs - txRegion.gpa, BUF, NUM, size);
    this.tx = tx;
    this.rx = rx;
    this.txBufs = txBufs;
    this.rxBufs = rxBufs;
    this.dev = new BenchLoopbackDevice(mem, iotlb, tx.deviceLayout, rx.deviceLayout);
    this.txSizes = new Uint32Array(NUM).fill(size);
    // Post every RX buffer once; each completion reposts it.
    for (let i = 0; i < NUM; i++) {
      this.addrs[i] = rxBufs + i * BUF + IOVA_OFFSET;
      this.slots[i] = i;
    }
    rx.addInbufs(this.addrs, this.rxSizes, this.slots, NUM);
    rx.kick();
  }

  run(packets: number): number {
    const { tx, rx, dev, txBufs, rxBufs, done, doneLens, addrs, txSizes, rxSizes, slots, batch } = this;
    let slot = this.slot;
    let sent = 0;
    let received = 0;
    let dropped = 0;
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    while (received + dropped < packets) {
      let n = 0;
      while (n < batch && sent < packets && n < tx.numFree) {
        addrs[n] = txBufs + slot * BUF + IOVA_OFFSET;
        slots[n] = slot;
        slot = (slot + 1) & (NUM - 1);
        sent++;
        n++;
      }
      tx.addOutbufs(addrs, txSizes, slots, n);
      tx.kick();
      dropped += dev.drain();
      if (dev.txNeedNotify()) tx.interrupt();
      if (dev.rxNeedNotify()) rx.interrupt();
      // Driver: reap in batches, reposting each RX buffer.
      while (tx.getBufs(done, doneLens) > 0);
      for (let got = rx.getBufs(done, doneLens); got > 0; got = rx.getBufs(done, doneLens)) {
        for (let k = 0; k < got; k++) {
          bytes += doneLens[k];
          addrs[k] = rxBufs + done[k] * BUF + IOVA_OFFSET;
        }
        rx.addInbufs(addrs, rxSizes, done, got);
        received += got;
      }
      rx.kick();
    }
    const ns = Number(process.hrtime.bigint() - t0);
    this.slot = slot;
    const size = this.size;
    if (bytes !== packets * size) throw new Error(`virtqueue loop lost data: ${bytes} != ${packets * size}`);
    this.payloads.moved(packets);
    return ns;
  }

  verify(): void {
    this.payloads.checkAndPoison(this.rxRegion.bytes, this.rxBufs - this.rxRegion.gpa, BUF);
  }
}

/**
 * Sets up the general loopback for packets of `size` bytes (1..2048) in batches of `batch`. Its `run`
 * throws if data was lost.
 */
export function createVirtqueueLoop(size: number, batch = 64): BenchLoop {
  return new VirtqueueLoop(size, batch);
}
