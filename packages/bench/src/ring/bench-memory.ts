/**
 * The memory of the ring benchmark's vring loops: guest memory with a DMA allocator whose device
 * addresses are offset from the physical ones, and an IOTLB mapping them back, so every ring and
 * buffer access of the device side is translated.
 */
import { DmaAllocator, GuestMemory, Iotlb } from '@vdpa-kit/vring';
import { VHOST_ACCESS_RW } from '@vdpa-kit/virtio-spec';

/** IOVA = physical address + this offset: translation cannot be skipped. */
export const IOVA_OFFSET = 0x1000_0000;
const MEM_BYTES = 8 << 20;

/** Guest memory, its DMA allocator and the device's IOTLB. */
export interface BenchMemory {
  readonly mem: GuestMemory;
  readonly dma: DmaAllocator;
  readonly iotlb: Iotlb;
}

/** Creates fresh benchmark memory (8 MiB, identity-offset IOTLB). */
export function benchMemory(): BenchMemory {
  const mem = GuestMemory.create({ size: MEM_BYTES });
  const dma = new DmaAllocator(mem, { dmaOffset: IOVA_OFFSET });
  const iotlb = new Iotlb();
  iotlb.addRange(BigInt(IOVA_OFFSET), BigInt(IOVA_OFFSET + MEM_BYTES - 1), 0n, VHOST_ACCESS_RW);
  return { mem, dma, iotlb };
}
