// Arbitrary IOTLB message sequences (peer-controlled input): the file's per-ASID IOTLB and vdpasim_net's
// on-chip IOMMU never disagree, and every refusal is a VdpaError with an errno.
import { VdpaError, isVdpaErrno } from '@vdpa-kit/core-bus';
import {
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_ACCESS_WO,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_BATCH_END,
  VHOST_IOTLB_INVALIDATE,
  VHOST_IOTLB_UPDATE,
} from '@vdpa-kit/virtio-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VhostIotlbMsg } from '../src/index.js';
import { TEST_BACKEND_FEATURES, addVdpasim, vhostStack } from './harness.js';

const PAGE = 0x1000n;

const message: fc.Arbitrary<VhostIotlbMsg> = fc.record({
  type: fc.constantFrom(
    VHOST_IOTLB_UPDATE,
    VHOST_IOTLB_UPDATE,
    VHOST_IOTLB_INVALIDATE,
    VHOST_IOTLB_BATCH_BEGIN,
    VHOST_IOTLB_BATCH_END,
  ),
  asid: fc.constantFrom(0, 1, 2),
  // A small IOVA space so that updates overlap and invalidations hit; unaligned offsets now and then.
  iova: fc
    .tuple(fc.integer({ min: 0, max: 31 }), fc.constantFrom(0n, 0n, 0n, 0x10n))
    .map(([p, o]) => BigInt(p) * PAGE + o),
  size: fc.integer({ min: 0, max: 4 }).map((n) => BigInt(n) * PAGE),
  uaddr: fc.integer({ min: 0, max: 255 }).map((p) => BigInt(p) * PAGE),
  perm: fc.constantFrom(VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW),
});

function strip(entries: readonly { start: bigint; last: bigint; addr: bigint; perm: number }[]): string[] {
  return entries.map(
    (e) => `${e.start.toString(16)}-${e.last.toString(16)}>${e.addr.toString(16)}/${e.perm}`,
  );
}

describe('IOTLB message sequences against vdpasim_net (property)', () => {
  it('keep the device IOMMU equal to the file IOTLB of each address space; refusals are typed', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 40 }), (msgs) => {
        const s = vhostStack();
        const sim = addVdpasim(s);
        const vhost = s.vhostBus.open('vdpa0');
        vhost.setOwner();
        vhost.setBackendFeatures(TEST_BACKEND_FEATURES);
        for (const m of msgs) {
          try {
            vhost.processIotlbMsg(m);
          } catch (err) {
            expect(err).toBeInstanceOf(VdpaError);
            expect(isVdpaErrno((err as VdpaError).code)).toBe(true);
          }
          for (const asid of [0, 1]) {
            const file = strip(vhost.iotlbEntries(asid));
            if (sim.iommu.isPassthrough(asid)) expect(file).toEqual([]);
            else expect(strip(sim.iommu.iotlb(asid).entries())).toEqual(file);
          }
        }
        vhost.close();
        // Release: every address space back to the identity passthrough.
        expect([sim.iommu.isPassthrough(0), sim.iommu.isPassthrough(1)]).toEqual([true, true]);
      }),
      { numRuns: 150 },
    );
  });
});
