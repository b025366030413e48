import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '@vdpa-kit/virtio-spec';
import { DmaAllocator, GuestMemory } from '@vdpa-kit/vring';
import { ContainerModule, inject, injectable } from 'inversify';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  CLOCK,
  CORE_BUS_OPTIONS,
  DEFAULT_GUEST_MEMORY_SIZE,
  DMA_ALLOCATOR,
  GUEST_MEMORY,
  LOGGER,
  LogicalClock,
  MGMT_DEVICE,
  VDPA_BUS,
  VDPA_DRIVER,
  type VdpaBus,
  WORK_QUEUE,
  composeStack,
  type Clock,
  type LogFields,
  type Logger,
  type ResolvedCoreBusOptions,
  type WorkQueue,
} from '../src/index.js';
import { FakeMgmtDevice, FakeTransport, collectEvents } from '../src/testing/index.js';

@injectable()
class PluginMgmt extends FakeMgmtDevice {
  constructor(@inject(VDPA_BUS) bus: VdpaBus) {
    super(bus, { name: 'plugin_net', classIds: ['virtio', 'vhost'] });
  }
}

@injectable()
class PluginVirtio extends FakeTransport {
  constructor() {
    super('plugin_virtio', ['virtio']);
  }
}

/** A fake plugin package: contributes a management device and two transports. */
const pluginModule = new ContainerModule(({ bind }) => {
  bind(MGMT_DEVICE).to(PluginMgmt).inSingletonScope();
  bind(VDPA_DRIVER).to(PluginVirtio).inSingletonScope();
  bind(VDPA_DRIVER).toConstantValue(new FakeTransport('plugin_vhost', ['vhost']));
});

describe('composeStack and coreBusModule', () => {
  it('loads the core and plugin modules and registers every mgmtdev and driver on the bus', () => {
    const { container, bus } = composeStack([pluginModule], { clock: 'logical' });
    expect(container.get<VdpaBus>(VDPA_BUS)).toBe(bus);
    expect(bus.mgmtdevs().map((m) => m.name)).toEqual(['plugin_net']);
    expect(bus.drivers().map((d) => d.name)).toEqual(['plugin_virtio', 'plugin_vhost']);
  });

  it('runs a management + transport session on the composed bus', async () => {
    const { bus } = composeStack([pluginModule], { clock: 'logical' });
    const first = firstValueFrom(bus.events$);
    const log = collectEvents(bus);
    const dev = bus.devAdd('plugin_net', 'vdpa0', { net: { mtu: 1500 } });
    expect(await first).toMatchObject({ v: 1, kind: 'bus', op: 'device_registered', dev: 'vdpa0' });
    expect(bus.driverOf(dev.name)).toBe('plugin_virtio');
    const virtio = bus.driver('plugin_virtio') as FakeTransport;
    const h = virtio.handle('vdpa0');
    h.reset();
    h.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    h.setDriverFeatures(h.getDeviceFeatures());
    h.setStatus(h.getStatus() | VIRTIO_CONFIG_S_FEATURES_OK);
    expect(bus.devConfig('vdpa0').negotiatedFeatures).toBe(h.getDeviceFeatures());
    bus.unbind('vdpa0');
    bus.bind('vdpa0', 'plugin_vhost');
    expect(bus.driverOf('vdpa0')).toBe('plugin_vhost');
    bus.devDel('vdpa0');
    expect(bus.devices()).toEqual([]);
    const seqs = log.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
    expect(log.events.map((e) => e.ts)).toEqual(seqs);
    expect(log.events.filter((e) => e.kind === 'mgmt').map((e) => e.op)).toEqual(['dev_add', 'dev_del']);
  });

  it('composes a bare core without plugins', () => {
    const { bus, container } = composeStack([]);
    expect(bus.drivers()).toEqual([]);
    expect(bus.mgmtdevs()).toEqual([]);
    expect(container.get<GuestMemory>(GUEST_MEMORY).regions()[0].size).toBe(DEFAULT_GUEST_MEMORY_SIZE);
  });

  it('fails on a duplicate management device name', () => {
    const twice = new ContainerModule(({ bind }) => {
      bind(MGMT_DEVICE).to(PluginMgmt).inSingletonScope();
      bind(MGMT_DEVICE).to(PluginMgmt).inSingletonScope();
    });
    expect(() => composeStack([twice])).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });

  it('binds the core services with the given options', async () => {
    const records: Array<[string, LogFields | undefined]> = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (m, f) => void records.push([m, f]),
    };
    const { container } = composeStack([], {
      memorySize: 1 << 16,
      workQueue: 'microtask',
      clock: 'logical',
      logger,
    });
    const mem = container.get<GuestMemory>(GUEST_MEMORY);
    expect(mem).toBeInstanceOf(GuestMemory);
    expect(container.get<GuestMemory>(GUEST_MEMORY)).toBe(mem);
    mem.writeU32(0xfffc, 7);
    expect(() => mem.writeU32(0x10000, 7)).toThrow();
    // One DMA allocator over all of the memory, shared: two users never get overlapping blocks.
    const dma = container.get<DmaAllocator>(DMA_ALLOCATOR);
    expect(dma).toBeInstanceOf(DmaAllocator);
    expect(container.get<DmaAllocator>(DMA_ALLOCATOR)).toBe(dma);
    expect(dma.range()).toEqual({ base: 0, limit: 1 << 16 });
    const a = dma.alloc(4096, 4096);
    const b = container.get<DmaAllocator>(DMA_ALLOCATOR).alloc(4096, 4096);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(4096);
    expect(container.get<Clock>(CLOCK)).toBeInstanceOf(LogicalClock);
    expect(container.get<Logger>(LOGGER)).toBe(logger);
    expect(container.get<ResolvedCoreBusOptions>(CORE_BUS_OPTIONS)).toMatchObject({
      memorySize: 1 << 16,
      workQueue: 'microtask',
    });
    const wq = container.get<WorkQueue>(WORK_QUEUE);
    expect(wq.mode).toBe('microtask');
    wq.queue({
      run: () => {
        throw new Error('work broke');
      },
    });
    wq.flush();
    expect(records.map((r) => r[0])).toEqual(['work failed']);
  });

  it('gives each composed stack its own bus', () => {
    const a = composeStack([pluginModule]);
    const b = composeStack([pluginModule]);
    expect(a.bus).not.toBe(b.bus);
    // Identity compared directly: `not.toBe` deep-compares the two for its hint (64 MiB of memory).
    expect(a.container.get(GUEST_MEMORY) === b.container.get(GUEST_MEMORY)).toBe(false);
    expect(a.container.get(DMA_ALLOCATOR) === b.container.get(DMA_ALLOCATOR)).toBe(false);
    a.bus.devAdd('plugin_net', 'vdpa0');
    expect(b.bus.devices()).toEqual([]);
  });
});
