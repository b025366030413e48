import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DmaAllocator } from './dma-allocator.js';
import { GuestMemory } from './guest-memory.js';
import { VHOST_ACCESS_RW } from '@vdpa-kit/virtio-spec';
import { Iotlb } from './iotlb.js';
import { Iov } from './iov.js';
import { Virtqueue } from './virtqueue.js';
import { BufferList } from './virtqueue-buffer-list.js';
import { Vringh } from './vringh.js';

// Driver side (Virtqueue) and device side (Vringh) over one memory, the device seeing it through an
// IOTLB whose IOVAs are offset from the physical addresses, so every access is translated.
const MEM = 1 << 20;
const IOVA = 0x4000_0000;

interface Chain {
  out: number[];
  in: number[];
  seed: number;
}

const chainArb: fc.Arbitrary<Chain> = fc
  .record({
    // At most 4 buffers: every chain must fit the smallest queue (4) even without indirect tables.
    out: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 0, maxLength: 2 }),
    in: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 0, maxLength: 2 }),
    seed: fc.integer({ min: 0, max: 255 }),
  })
  .filter((c) => c.out.length + c.in.length > 0);

function setup(num: number, eventIdx: boolean, indirect: boolean, initialIdx: number) {
  const mem = GuestMemory.create({ size: MEM });
  const dma = new DmaAllocator(mem, { dmaOffset: IOVA });
  const tlb = new Iotlb();
  tlb.addRange(BigInt(IOVA), BigInt(IOVA + MEM - 1), 0n, VHOST_ACCESS_RW);
  let kicks = 0;
  const vq = Virtqueue.create<number>(mem, dma, {
    index: 0,
    num,
    eventIdx,
    indirect,
    initialIdx,
    notify: () => kicks++,
  });
  const vrh = new Vringh();
  const l = vq.deviceLayout;
  vrh.init({
    num,
    descAddr: l.descAddr,
    availAddr: l.availAddr,
    usedAddr: l.usedAddr,
    eventIdx,
    mem,
    iotlb: tlb,
  });
  vrh.lastAvailIdx = initialIdx;
  vrh.lastUsedIdx = initialIdx;
  return { mem, dma, vq, vrh, kicks: () => kicks };
}

describe('driver side -> device side round trip', () => {
  it('random chains arrive byte for byte, device writes come back byte for byte, every token once', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 8, 16, 64),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 65530, 32767),
        fc.array(chainArb, { minLength: 1, maxLength: 40 }),
        (num, eventIdx, indirect, initialIdx, chains) => {
          const { mem, dma, vq, vrh } = setup(num, eventIdx, indirect, initialIdx);
          const out = new BufferList();
          const inb = new BufferList();
          const riov = new Iov();
          const wiov = new Iov();
          const returned: number[] = [];
          const pending = new Map<number, { chain: Chain; inAddrs: number[] }>();
          let next = 0;
          let consumed = 0;
          let rounds = 0;
          while (returned.length < chains.length) {
            // Every round completes at least one chain; a bound turns a bug into a failure, not a hang.
            if (++rounds > chains.length + 1) throw new Error(`no progress after ${rounds} rounds`);
            // Add as many chains as fit, then let the device consume them all.
            while (next < chains.length) {
              const c = chains[next];
              const need = indirect && c.out.length + c.in.length > 1 ? 1 : c.out.length + c.in.length;
              if (vq.numFree < need) break;
              out.clear();
              inb.clear();
              const inAddrs: number[] = [];
              let k = 0;
              for (const len of c.out) {
                const a = dma.alloc(len, 1);
                const bytes = mem.view(a, len);
                for (let i = 0; i < len; i++) bytes[i] = (c.seed + k++) & 0xff;
                out.push(a + IOVA, len);
              }
              for (const len of c.in) {
                const a = dma.alloc(len, 1);
                mem.fill(a, len, 0);
                inAddrs.push(a);
                inb.push(a + IOVA, len);
              }
              vq.add(out, inb, next);
              pending.set(next, { chain: c, inAddrs });
              next++;
            }
            vq.kick();
            for (let head = vrh.getdesc(riov, wiov); head >= 0; head = vrh.getdesc(riov, wiov)) {
              const outLen = riov.totalLength;
              const inLen = wiov.totalLength;
              const got = new Uint8Array(outLen);
              expect(vrh.pull(riov, got)).toBe(outLen);
              // The device answers with the readable bytes reversed, repeated to fill the writable part.
              const reply = new Uint8Array(inLen);
              for (let i = 0; i < inLen; i++)
                reply[i] = outLen > 0 ? got[outLen - 1 - (i % outLen)] : i & 0xff;
              expect(vrh.push(wiov, reply)).toBe(inLen);
              // The device consumes chains in the order they were made available.
              const c = chains[consumed++];
              for (let i = 0; i < outLen; i++) {
                const want = (c.seed + i) & 0xff;
                if (got[i] !== want) expect(`read byte ${i} = ${got[i]}`).toBe(`read byte ${i} = ${want}`);
              }
              expect(outLen).toBe(c.out.reduce((a, b) => a + b, 0));
              expect(inLen).toBe(c.in.reduce((a, b) => a + b, 0));
              vrh.complete(head, inLen);
            }
            vrh.needNotify();
            for (let t = vq.getBuf(); t !== undefined; t = vq.getBuf()) {
              const p = pending.get(t);
              expect(p).toBeDefined();
              if (!p) continue;
              const { chain, inAddrs } = p;
              const outLen = chain.out.reduce((a, b) => a + b, 0);
              const inLen = chain.in.reduce((a, b) => a + b, 0);
              expect(vq.lastLen).toBe(inLen);
              // Readable bytes as the device saw them:
              const expectOut = new Uint8Array(outLen);
              for (let i = 0; i < outLen; i++) expectOut[i] = (chain.seed + i) & 0xff;
              // Writable bytes as the driver sees them:
              const backIn = new Uint8Array(inLen);
              let o = 0;
              for (let j = 0; j < inAddrs.length; j++) {
                backIn.set(mem.view(inAddrs[j], chain.in[j]), o);
                o += chain.in[j];
              }
              for (let i = 0; i < inLen; i++) {
                const want = outLen > 0 ? expectOut[outLen - 1 - (i % outLen)] : i & 0xff;
                if (backIn[i] !== want) expect(`byte ${i} = ${backIn[i]}`).toBe(`byte ${i} = ${want}`);
              }
              pending.delete(t);
              returned.push(t);
            }
          }
          expect([...returned].sort((a, b) => a - b)).toEqual(chains.map((_, i) => i));
          expect(vq.numFree).toBe(num);
        },
      ),
      { numRuns: 150 },
    );
  });
});
