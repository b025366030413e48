// A device side for the driver-side specs, written straight from virtio 1.2 §2.7 and independent of
// vringh, so that the driver side is tested against a second reading of the spec.
import type { GuestMemory } from '../src/guest-memory.js';
import type { SplitRingLayout } from '../src/split-ring-layout.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '@vdpa-kit/virtio-spec';

const U16 = 0x10000;

export interface Seg {
  addr: number;
  len: number;
}

export interface Chain {
  head: number;
  indirect: boolean;
  readable: Seg[];
  writable: Seg[];
}

/**
 * A tiny device side written straight from §2.7, independent of vringh: reads the descriptor table and
 * available ring and writes the used ring through a DataView over guest memory (region at gpa 0).
 */
export class FakeDevice {
  private readonly view: DataView;
  lastAvail: number;
  usedIdx: number;

  constructor(
    mem: GuestMemory,
    readonly layout: SplitRingLayout,
    start = 0,
  ) {
    this.view = mem.regionOf(0, 1).view;
    this.lastAvail = start;
    this.usedIdx = start;
  }

  private u16(addr: number): number {
    return this.view.getUint16(addr, true);
  }

  availIdx(): number {
    return this.u16(this.layout.availAddr + 2);
  }

  availFlags(): number {
    return this.u16(this.layout.availAddr);
  }

  usedEvent(): number {
    return this.u16(this.layout.availAddr + 4 + 2 * this.layout.num);
  }

  setAvailEvent(idx: number): void {
    this.view.setUint16(this.layout.usedAddr + 4 + 8 * this.layout.num, idx % U16, true);
  }

  setUsedFlags(flags: number): void {
    this.view.setUint16(this.layout.usedAddr, flags, true);
  }

  /** Reads the next available chain, or undefined. */
  pop(): Chain | undefined {
    const { num, descAddr, availAddr } = this.layout;
    if (this.availIdx() === this.lastAvail) return undefined;
    const head = this.u16(availAddr + 4 + 2 * (this.lastAvail % num));
    this.lastAvail = (this.lastAvail + 1) % U16;
    if (head >= num) throw new Error(`device: head ${head} out of range`);
    const chain: Chain = { head, indirect: false, readable: [], writable: [] };
    let table = descAddr;
    let size = num;
    let i = head;
    if (this.u16(descAddr + 16 * head + 12) & VIRTQ_DESC_F_INDIRECT) {
      const d = descAddr + 16 * head;
      table = this.view.getUint32(d, true) + this.view.getUint32(d + 4, true) * 2 ** 32;
      const len = this.view.getUint32(d + 8, true);
      if (len % 16 !== 0) throw new Error(`device: indirect len ${len}`);
      size = len / 16;
      i = 0;
      chain.indirect = true;
    }
    for (let steps = 0; ; steps++) {
      if (steps >= size || i >= size) throw new Error(`device: bad chain at ${i}`);
      const d = table + 16 * i;
      const addr = this.view.getUint32(d, true) + this.view.getUint32(d + 4, true) * 2 ** 32;
      const len = this.view.getUint32(d + 8, true);
      const flags = this.u16(d + 12);
      if (chain.indirect && flags & VIRTQ_DESC_F_INDIRECT) throw new Error('device: nested indirect');
      if (flags & VIRTQ_DESC_F_WRITE) chain.writable.push({ addr, len });
      else if (chain.writable.length > 0) throw new Error('device: readable after writable');
      else chain.readable.push({ addr, len });
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      i = this.u16(d + 14);
    }
    return chain;
  }

  /** Writes a used element `{id, len}` and publishes it. */
  use(id: number, len: number): void {
    const elem = this.layout.usedAddr + 4 + 8 * (this.usedIdx % this.layout.num);
    this.view.setUint32(elem, id, true);
    this.view.setUint32(elem + 4, len, true);
    this.usedIdx = (this.usedIdx + 1) % U16;
    this.view.setUint16(this.layout.usedAddr + 2, this.usedIdx, true);
  }
}
