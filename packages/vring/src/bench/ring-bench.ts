/**
 * Ring benchmark (`npm run bench -w @vdpa-kit/vring`): the driver side (`Virtqueue`) and the device side
 * (`Vringh`) in one thread, TX chain -> device copies into an RX chain (loopback), with IOTLB translation
 * on (IOVAs are offset from physical addresses, so every ring and buffer access is translated). In the
 * same process it measures the in-run ceilings of {@link referenceLoop} and {@link copyCeiling}, and
 * prints one JSON line per packet size: `{"size","mpps","referenceMpps","ratio","copyMops", ...}`.
 * Each figure is the median of several runs. Goals (../shared/reference/performance.md): ratio >= 0.6 at
 * 64 B and >= 0.8 at 1500 B.
 */
import { DmaAllocator } from '../dma-allocator.js';
import { GuestMemory } from '../guest-memory.js';
import { Iotlb, VHOST_MAP_RW } from '../iotlb.js';
import { Virtqueue } from '../virtqueue.js';
import { Vringh } from '../vringh.js';
import { VringhBatch } from '../vringh-batch.js';
import { VRINGH_LOOPBACK_SLOW, VringhLoopback } from '../vringh-loopback.js';
import { copyCeiling, referenceLoop } from './reference-loop.js';
import { validatedLoop } from './validated-loop.js';

/** IOVA = physical address + this offset: translation cannot be skipped. */
const IOVA_OFFSET = 0x1000_0000;
const NUM = 256;
const BUF = 2048;

/**
 * Runs the vring loopback for `packets` packets of `size` bytes. @returns packets per second
 */
export function vringLoop(size: number, packets: number, batch = 64): number {
  const mem = GuestMemory.create({ size: 8 << 20 });
  const dma = new DmaAllocator(mem, { dmaOffset: IOVA_OFFSET });
  const tlb = new Iotlb();
  tlb.addRange(IOVA_OFFSET, IOVA_OFFSET + (8 << 20) - 1, 0, VHOST_MAP_RW);
  let kicks = 0;
  const tx = Virtqueue.create<number>(mem, dma, {
    index: 1,
    num: NUM,
    eventIdx: true,
    indirect: false,
    notify: () => kicks++,
  });
  const rx = Virtqueue.create<number>(mem, dma, {
    index: 0,
    num: NUM,
    eventIdx: true,
    indirect: false,
    notify: () => kicks++,
  });
  const txBufs = dma.alloc(NUM * BUF, 64);
  const rxBufs = dma.alloc(NUM * BUF, 64);
  mem.fill(txBufs, NUM * BUF, 0x5a);
  const dev = (vq: Virtqueue<number>): Vringh => {
    const v = new Vringh();
    const l = vq.deviceLayout;
    v.init({
      num: NUM,
      descAddr: l.descAddr,
      availAddr: l.availAddr,
      usedAddr: l.usedAddr,
      eventIdx: true,
      mem,
      iotlb: tlb,
    });
    return v;
  };
  const dtx = dev(tx);
  const drx = dev(rx);
  const loopback = new VringhLoopback();
  const txBatch = new VringhBatch({ capacity: NUM, writable: false });
  const rxBatch = new VringhBatch({ capacity: NUM, readable: false });
  const txLens = new Uint32Array(NUM);
  const rxLens = new Uint32Array(NUM);
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
    // Device: loop TX chains into RX chains (as vdpasim_net does): the one-pass fast path, and the
    // per-chain batch path for what it does not handle (a TX chain without an RX chain is dropped,
    // which the byte count at the end would report).
    for (;;) {
      const stop = loopback.run(dtx, drx, NUM);
      if (stop !== VRINGH_LOOPBACK_SLOW) break;
      const txN = dtx.getdescBatch(txBatch, 1);
      const rxN = drx.getdescBatch(rxBatch, txN);
      if (rxN > 0) rxLens[0] = txBatch.copyChain(0, rxBatch, 0);
      dropped += txN - rxN;
      dtx.completeMany(txBatch.heads, txLens, txN);
      drx.completeMany(rxBatch.heads, rxLens, rxN);
    }
    if (dtx.needNotify()) tx.interrupt();
    if (drx.needNotify()) rx.interrupt();
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
  if (bytes !== packets * size) throw new Error(`vring loop lost data: ${bytes} != ${packets * size}`);
  return (packets * 1e9) / ns;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const USAGE = `usage: ring-bench [--size BYTES] [--runs N] [--packets N]

Runs vring's loopback (driver side and device side in one thread, IOTLB translation on), the
reference loop, the validated loop and the copyWithin ceiling, interleaved, in this process, and
prints one JSON line per packet size (64 and 1500 unless --size is given): medians of --runs runs
(default 5) of --packets packets (default 1000000).`;

/** The value after `flag` in `argv` as a positive integer, or `fallback` when the flag is absent. */
function intOption(argv: readonly string[], flag: string, fallback: number): number {
  const at = argv.indexOf(flag);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${flag} ${String(argv[at + 1])} is not a positive integer`);
  }
  return value;
}

/**
 * Runs the benchmark and prints one JSON line per size: `mpps` (vring), `referenceMpps` and `ratio`
 * (the goal's measure), `validatedMpps` and `validatedRatio` (see `validated-loop.ts`: the checks
 * without vring's structure), `copyMops` (the copy ceiling), `gbps`, `goal`, `meetsGoal`.
 * @returns the process exit code: 0, or 2 for bad arguments
 */
export function main(argv: readonly string[] = process.argv.slice(2)): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let sizes: number[];
  let runs: number;
  let packets: number;
  try {
    sizes = argv.includes('--size') ? [intOption(argv, '--size', 64)] : [64, 1500];
    runs = intOption(argv, '--runs', 5);
    packets = intOption(argv, '--packets', 1_000_000);
    if (sizes[0] > BUF) throw new Error(`--size ${sizes[0]} is larger than the ${BUF}-byte buffers`);
  } catch (err) {
    console.error(`ring-bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  for (const size of sizes) {
    // Warm up every loop so the JIT has compiled them before measuring.
    vringLoop(size, 100_000);
    referenceLoop(size, 100_000);
    validatedLoop(size, 100_000);
    const v: number[] = [];
    const r: number[] = [];
    const w: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Interleave the runs so machine-load swings hit every loop alike.
      v.push(vringLoop(size, packets));
      r.push(referenceLoop(size, packets));
      w.push(validatedLoop(size, packets));
      c.push(copyCeiling(size, packets));
    }
    const mpps = median(v) / 1e6;
    const referenceMpps = median(r) / 1e6;
    const validatedMpps = median(w) / 1e6;
    const goal = size <= 64 ? 0.6 : 0.8;
    console.log(
      JSON.stringify({
        size,
        mpps: Number(mpps.toFixed(3)),
        referenceMpps: Number(referenceMpps.toFixed(3)),
        ratio: Number((mpps / referenceMpps).toFixed(3)),
        validatedMpps: Number(validatedMpps.toFixed(3)),
        validatedRatio: Number((validatedMpps / referenceMpps).toFixed(3)),
        copyMops: Number((median(c) / 1e6).toFixed(3)),
        gbps: Number(((mpps * size * 8) / 1e3).toFixed(2)),
        goal,
        meetsGoal: mpps / referenceMpps >= goal,
        runs,
        packets,
      }),
    );
  }
  return 0;
}

if (process.argv[1]?.endsWith('ring-bench.js')) process.exitCode = main();
