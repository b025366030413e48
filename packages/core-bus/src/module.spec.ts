import 'reflect-metadata';
import { DmaAllocator, GuestMemory } from '@vdpa-kit/vring';
import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { composeStack } from './compose-stack.js';
import { DEFAULT_GUEST_MEMORY_SIZE } from './constants.js';
import type { MgmtDevice } from './mgmt-device.js';
import { FakeMgmtDevice } from './testing/fake-mgmt-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { DMA_ALLOCATOR, GUEST_MEMORY, MGMT_DEVICE, VDPA_BUS, VDPA_DRIVER } from './tokens.js';
import type { VdpaBus } from './vdpa-bus.js';
import type { VdpaDriver } from './vdpa-driver.js';

describe('coreBusModule', () => {
  it('binds one guest memory of the configured size, and one DMA allocator over all of it', () => {
    const { container } = composeStack([], { memorySize: 1 << 20 });
    const mem = container.get<GuestMemory>(GUEST_MEMORY);
    expect(mem).toBeInstanceOf(GuestMemory);
    expect(mem.regions().map((r) => [r.gpa, r.size])).toEqual([[0, 1 << 20]]);
    expect(container.get(GUEST_MEMORY)).toBe(mem);
    const dma = container.get<DmaAllocator>(DMA_ALLOCATOR);
    expect(dma).toBeInstanceOf(DmaAllocator);
    expect(container.get(DMA_ALLOCATOR)).toBe(dma);
    expect(dma.range()).toEqual({ base: 0, limit: 1 << 20 });
    // Two users of the shared allocator never get overlapping ranges.
    const a = dma.alloc(4096, 4096);
    const b = container.get<DmaAllocator>(DMA_ALLOCATOR).alloc(4096, 4096);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(4096);
    expect(mem.findRegion(b, 4096)).toBeDefined();
  });

  it('defaults to 64 MiB of guest memory', () => {
    const { container } = composeStack([]);
    expect(container.get<GuestMemory>(GUEST_MEMORY).regions()[0].size).toBe(DEFAULT_GUEST_MEMORY_SIZE);
  });

  it('gives each composed stack its own memory and allocator', () => {
    const one = composeStack([], { memorySize: 1 << 16 });
    const two = composeStack([], { memorySize: 1 << 16 });
    expect(one.container.get(GUEST_MEMORY)).not.toBe(two.container.get(GUEST_MEMORY));
    expect(one.container.get(DMA_ALLOCATOR)).not.toBe(two.container.get(DMA_ALLOCATOR));
    expect(one.bus).not.toBe(two.bus);
  });
});

describe('composeStack', () => {
  it('registers every bound management device and driver on the bus, in binding order', () => {
    const transport = new FakeTransport('t1', ['virtio']);
    const plugin = new ContainerModule(({ bind }) => {
      bind<MgmtDevice>(MGMT_DEVICE)
        .toDynamicValue((ctx) => new FakeMgmtDevice(ctx.get<VdpaBus>(VDPA_BUS), { name: 'm1' }))
        .inSingletonScope();
      bind<MgmtDevice>(MGMT_DEVICE)
        .toDynamicValue((ctx) => new FakeMgmtDevice(ctx.get<VdpaBus>(VDPA_BUS), { name: 'm2' }))
        .inSingletonScope();
      bind<VdpaDriver>(VDPA_DRIVER).toConstantValue(transport);
    });
    const { bus } = composeStack([plugin]);
    expect(bus.mgmtdevShow('m1').name).toBe('m1');
    expect(bus.mgmtdevShow('m2').name).toBe('m2');
    expect(bus.drivers().map((d) => d.name)).toEqual(['t1']);
    // A device added through a registered mgmtdev binds to the registered driver.
    bus.devAdd('m1', 'vdpa0');
    expect(transport.log).toEqual([{ event: 'probe', dev: 'vdpa0' }]);
  });

  it('fails on a duplicate management device name', () => {
    const plugin = new ContainerModule(({ bind }) => {
      for (let i = 0; i < 2; i++) {
        bind<MgmtDevice>(MGMT_DEVICE)
          .toDynamicValue((ctx) => new FakeMgmtDevice(ctx.get<VdpaBus>(VDPA_BUS), { name: 'same' }))
          .inSingletonScope();
      }
    });
    expect(() => composeStack([plugin])).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });
});
