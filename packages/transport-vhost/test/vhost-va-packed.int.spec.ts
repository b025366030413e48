// VA-mode parents (vhost_vdpa_va_map(), vhost_vdpa_bind_mm()) and packed-ring bases
// (vhost_vdpa_vring_ioctl() VHOST_SET_VRING_BASE / VHOST_GET_VRING_BASE with VIRTIO_F_RING_PACKED).
import { GUEST_MEMORY, composeStack } from '@vdpa-kit/core-bus';
import { FakeDevice, collectEvents } from '@vdpa-kit/core-bus/testing';
import {
  VHOST_ACCESS_RW,
  VHOST_IOTLB_UPDATE,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_VERSION_1,
  bit,
} from '@vdpa-kit/virtio-spec';
import type { GuestMemory } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { TRANSPORT_VHOST_BUS, type VhostBus, transportVhostModule } from '../src/index.js';
import { TEST_BACKEND_FEATURES, driverCalls } from './harness.js';

const MIB = 1 << 20;

function stack(fake: FakeDevice, useVa: boolean) {
  const { container, bus } = composeStack([transportVhostModule()], {
    clock: 'logical',
    memorySize: 4 * MIB,
  });
  const log = collectEvents(bus);
  fake.register(bus, { classIds: ['vhost'], name: 'vdpa0', useVa });
  return {
    log,
    mem: container.get<GuestMemory>(GUEST_MEMORY),
    vhost: container.get<VhostBus>(TRANSPORT_VHOST_BUS).open('vdpa0'),
  };
}

describe('VA mode (useVa parents)', () => {
  it('SET_OWNER binds the address space, UPDATE maps one chunk per region with its file, close unbinds', () => {
    const { log, mem, vhost } = stack(new FakeDevice(), true);
    // A second region right after the first: one userspace range over both.
    mem.addRegion(4 * MIB, new ArrayBuffer(MIB));
    log.clear();
    vhost.setOwner();
    vhost.setBackendFeatures(TEST_BACKEND_FEATURES);
    vhost.processIotlbMsg({
      type: VHOST_IOTLB_UPDATE,
      asid: 0,
      iova: 0x1000_0000n,
      size: BigInt(2 * MIB),
      uaddr: BigInt(3 * MIB),
      perm: VHOST_ACCESS_RW,
    });
    vhost.close();
    expect(driverCalls(log.events)).toEqual([
      ['bindMm', true],
      [
        'dmaMap',
        0,
        '0x10000000',
        '0x100000',
        '0x300000',
        VHOST_ACCESS_RW,
        { file: 'guest-memory@0x0', offset: 3 * MIB },
      ],
      [
        'dmaMap',
        0,
        '0x10100000',
        '0x100000',
        '0x400000',
        VHOST_ACCESS_RW,
        { file: 'guest-memory@0x400000', offset: 0 },
      ],
      ['compatReset', 1],
      ['unbindMm'],
      ['dmaUnmap', 0, '0x10000000', '0x100000'],
      ['dmaUnmap', 0, '0x10100000', '0x100000'],
      ['resetMap', 0],
    ]);
  });

  it('a userspace address in no region is EINVAL (find_vma() finds none); what was mapped is unmapped again', () => {
    const { log, vhost } = stack(new FakeDevice(), true);
    vhost.setOwner();
    log.clear();
    expect(() =>
      vhost.processIotlbMsg({
        type: VHOST_IOTLB_UPDATE,
        iova: 0x1000n,
        size: BigInt(2 * MIB),
        uaddr: BigInt(3 * MIB),
        perm: VHOST_ACCESS_RW,
      }),
    ).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(driverCalls(log.events).map((c) => c[0])).toEqual(['dmaMap', 'dmaUnmap', 'setMap']);
    expect(vhost.iotlbEntries(0)).toEqual([]);
  });
});

describe('packed rings', () => {
  it('SET_VRING_BASE splits num into avail | used << 16 with wrap counters in bit 15; GET_VRING_BASE joins them', () => {
    const features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) | bit(VIRTIO_F_RING_PACKED);
    const { log, vhost } = stack(new FakeDevice({ deviceFeatures: features }), false);
    vhost.setOwner();
    vhost.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    vhost.setFeatures(features);
    log.clear();
    vhost.setVringBase({ index: 0, num: (0x8005 | (0x0003 << 16)) >>> 0 });
    expect(driverCalls(log.events).at(-1)).toEqual([
      'setVqState',
      0,
      { kind: 'packed', lastAvailIdx: 5, lastAvailCounter: 1, lastUsedIdx: 3, lastUsedCounter: 0 },
    ]);
    expect(vhost.getVringBase(0)).toEqual({ index: 0, num: (0x8005 | (0x0003 << 16)) >>> 0 });
  });
});
