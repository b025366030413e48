/**
 * The ring benchmark's general vring loop: {@link Virtqueue} driver rings (any chain, a free list and
 * tokens; buffers posted with `addOutbufs` / `addInbufs`, reaped with `getBufs`) and the `Vringh`
 * loopback device of {@link BenchLoopbackDevice}, IOTLB translation on.
 */
import type { BenchLoop } from './bench-loop.js';
import { checkPayloads, fillPayloads } from './payload.js';
import { Virtqueue } from '../virtqueue.js';
import { IOVA_OFFSET, benchMemory } from './bench-memory.js';
import { BenchLoopbackDevice } from './loopback-device.js';

const NUM = 256;
const BUF = 2048;

/**
 * Sets up the general loopback for packets of `size` bytes (1..2048) in batches of `batch`. Its `run`
 * throws if data was lost.
 */
export function createVirtqueueLoop(size: number, batch = 64): BenchLoop {
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
  const rxRegion = mem.regionOf(rxBufs, NUM * BUF);
  fillPayloads(txRegion.bytes, txBufs - txRegion.gpa, BUF, NUM, size);
  const dev = new BenchLoopbackDevice(mem, iotlb, tx.deviceLayout, rx.deviceLayout);
  const done = new Array<number>(NUM).fill(0);
  const doneLens = new Uint32Array(NUM);
  // The driver's batches: addresses, lengths and tokens (slot numbers) of the buffers to post.
  const addrs = new Float64Array(NUM);
  const txSizes = new Uint32Array(NUM).fill(size);
  const rxSizes = new Uint32Array(NUM).fill(BUF);
  const slots = new Array<number>(NUM).fill(0);
  // Post every RX buffer once; each completion reposts it.
  for (let i = 0; i < NUM; i++) {
    addrs[i] = rxBufs + i * BUF + IOVA_OFFSET;
    slots[i] = i;
  }
  rx.addInbufs(addrs, rxSizes, slots, NUM);
  rx.kick();
  let slot = 0;
  let total = 0;
  return {
    run(packets: number): number {
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
      if (bytes !== packets * size)
        throw new Error(`virtqueue loop lost data: ${bytes} != ${packets * size}`);
      total += packets;
      return ns;
    },
    verify(): void {
      checkPayloads('virtqueue', rxRegion.bytes, rxBufs - rxRegion.gpa, BUF, Math.min(total, NUM), size);
    },
  };
}
