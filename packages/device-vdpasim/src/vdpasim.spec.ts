import {
  VDPA_RESET_F_CLEAN_MAP,
  VHOST_ACCESS_RW,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  bit,
} from '@vdpa-kit/virtio-spec';
import type { VdpaError } from '@vdpa-kit/core-bus';
import { IOVA_MAX } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { simStack } from '../test/stack.js';
import { SimNetDriver, ethFrame } from '../test/sim-net-driver.js';
import { VDPASIM_NET_FEATURES, VDPASIM_NET_SUPPORTED_FEATURES } from './constants.js';

const MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const BASE = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as VdpaError).code;
  }
  return undefined;
}

describe('vdpasim core ops', () => {
  it('reports the simulator constants', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    expect(handle.getVqAlign()).toBe(4096);
    expect(handle.getVqNumMax()).toBe(256);
    expect(handle.getVendorId()).toBe(0);
    // vdpa_sim.c: vdpasim_get_iova_range() answers { .first = 0, .last = ULLONG_MAX }.
    expect(handle.getIovaRange()).toEqual({ first: 0n, last: 0xffff_ffff_ffff_ffffn });
    expect(handle.getBackendFeatures()).toBe(1n << 6n);
    expect(handle.getConfigSize()).toBe(24);
    expect(handle.getVqGroup(0)).toBe(0);
    expect(handle.getVqGroup(1)).toBe(0);
    expect(handle.getVqGroup(2)).toBe(1);
  });

  // vdpa_sim.c: vdpasim_bind_mm() / vdpasim_unbind_mm() are in both ops tables; vhost_vdpa calls
  // bind_mm after VHOST_SET_OWNER on a use_va device and unbind_mm at release, and both succeed.
  it('vdpasim_bind_mm() binds the owner address space and vdpasim_unbind_mm() drops it', () => {
    const { add, mem } = simStack();
    const { handle, sim } = add('vdpa0');
    expect([handle.has('bindMm'), handle.has('unbindMm')]).toEqual([true, true]);
    handle.bindMm(mem);
    expect(sim.boundMm).toBe(mem);
    // vdpasim_do_reset() leaves mm_bound alone.
    handle.reset();
    expect(sim.boundMm).toBe(mem);
    handle.unbindMm();
    expect(sim.boundMm).toBeUndefined();
  });

  it('goes through the status and feature handshake', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    handle.reset();
    expect(handle.getStatus()).toBe(0);
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    expect(codeOf(() => handle.setDriverFeatures(bit(VIRTIO_F_VERSION_1)))).toBe('EINVAL');
    handle.setDriverFeatures(BASE | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_CSUM));
    // Only offered features stick.
    expect(handle.getDriverFeatures()).toBe(BASE | bit(VIRTIO_NET_F_MAC));
    const ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    handle.setStatus(ok);
    expect(handle.getStatus()).toBe(ok);
    expect(codeOf(() => handle.setStatus(0x100))).toBe('EINVAL');
  });

  it('reports vq size 256 before DRIVER_OK and the programmed size after', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0');
    expect(handle.getVqSize(0)).toBe(256);
    new SimNetDriver(handle, mem, { num: 32 });
    expect(handle.getVqSize(0)).toBe(32);
    expect(handle.getVqSize(2)).toBe(32);
  });

  it('refuses bad vq indices, sizes and states', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    expect(codeOf(() => handle.kickVq(3))).toBe('EINVAL');
    expect(codeOf(() => handle.getVqReady(-1))).toBe('EINVAL');
    // set_vq_num takes a u32 (vdpa_config_ops); anything else cannot be one.
    expect(codeOf(() => handle.setVqNum(0, -1))).toBe('EINVAL');
    expect(codeOf(() => handle.setVqNum(0, 2 ** 32))).toBe('EINVAL');
    expect(codeOf(() => handle.setVqNum(0, 1.5))).toBe('EINVAL');
    expect(codeOf(() => handle.setVqState(0, { kind: 'split', availIndex: 0x10000 }))).toBe('EINVAL');
    expect(
      codeOf(() =>
        handle.setVqState(0, {
          kind: 'packed',
          lastAvailCounter: 1,
          lastAvailIdx: 0,
          lastUsedCounter: 1,
          lastUsedIdx: 0,
        }),
      ),
    ).toBe('EOPNOTSUPP');
    expect(codeOf(() => handle.setVqAddress(0, IOVA_MAX + 1, 0, 0))).toBe('ERANGE');
    expect(codeOf(() => handle.setGroupAsid(2, 0))).toBe('EINVAL');
    expect(codeOf(() => handle.setGroupAsid(0, 2))).toBe('EINVAL');
  });

  // vdpa_sim.c: vdpasim_set_vq_num() stores any size; get_vq_num_max stays VDPASIM_QUEUE_MAX (256)
  it('vdpasim_set_vq_num() stores any size, and a 1024-entry ring carries frames', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    for (const num of [0, 300, 512, 0x10000, 2 ** 32 - 1])
      expect(codeOf(() => handle.setVqNum(0, num))).toBeUndefined();
    const drv = new SimNetDriver(handle, mem, { num: 1024 });
    expect(handle.getVqNumMax()).toBe(256);
    expect(handle.getVqSize(0)).toBe(1024);
    const frames = [1, 2, 3].map((seed) => ethFrame(MAC, 46, seed));
    for (const f of frames) drv.send(f);
    expect(drv.received[0]).toEqual(frames);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
  });

  // vdpa_sim.c: vdpasim_queue_ready() ignores what vringh_init_iotlb() returns; vringh.c:
  // vringh_init_kern() refuses 0, more than 0xffff and a size that is not a power of two before it
  // touches the vring, so the vring keeps its size, areas and indices, and last_used_idx is set to
  // last_avail_idx all the same.
  it('vdpasim_queue_ready() ignores a size vringh_init_kern() refuses: the vq is ready on the ring it had', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const drv = new SimNetDriver(handle, mem, { num: 16 });
    drv.send(ethFrame(MAC, 46, 1));
    for (const bad of [0, 100, 0x10000]) {
      handle.setVqReady(1, false);
      handle.setVqNum(1, bad);
      expect(codeOf(() => handle.setVqReady(1, true))).toBeUndefined();
      expect(handle.getVqReady(1)).toBe(true);
    }
    // get_vq_size answers the stored size as a u16 (vdpasim_get_vq_size()).
    expect(handle.getVqSize(1)).toBe(0);
    drv.send(ethFrame(MAC, 46, 2));
    expect(drv.received[0]).toEqual([ethFrame(MAC, 46, 1), ethFrame(MAC, 46, 2)]);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 2 });
    expect(drv.reclaimTx()).toBe(2);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
  });

  // vdpa_sim.c: vdpasim_vq_reset() leaves vq->num alone, so a reset keeps the programmed size
  it('vdpasim_vq_reset() keeps the size set_vq_num gave', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0');
    new SimNetDriver(handle, mem, { num: 32 });
    handle.reset();
    handle.setStatus(
      VIRTIO_CONFIG_S_ACKNOWLEDGE |
        VIRTIO_CONFIG_S_DRIVER |
        VIRTIO_CONFIG_S_FEATURES_OK |
        VIRTIO_CONFIG_S_DRIVER_OK,
    );
    expect(handle.getVqSize(0)).toBe(32);
  });

  it('gets and sets the split vq state', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    handle.setVqState(1, { kind: 'split', availIndex: 0xfffe });
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 0xfffe });
    expect(handle.getVqState(0)).toEqual({ kind: 'split', availIndex: 0 });
  });

  it('starts a queue at the state it was given and reports the state it reached', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const drv = new SimNetDriver(handle, mem, { num: 16 });
    for (let i = 0; i < 5; i++) drv.send(ethFrame(MAC));
    expect(drv.received[0]).toHaveLength(5);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 5 });
    // Five RX chains taken; the reposted ones are still available.
    expect(handle.getVqState(0)).toEqual({ kind: 'split', availIndex: 5 });
  });

  it('reset clears status, features, vqs and callbacks and bumps the generation', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const drv = new SimNetDriver(handle, mem);
    drv.send(ethFrame(MAC));
    const generation = handle.getGeneration();
    handle.reset();
    expect(handle.getStatus()).toBe(0);
    expect(handle.getDriverFeatures()).toBe(0n);
    expect(handle.getGeneration()).toBe(generation + 1);
    for (let idx = 0; idx < 3; idx++) {
      expect(handle.getVqReady(idx)).toBe(false);
      expect(handle.getVqState(idx)).toEqual({ kind: 'split', availIndex: 0 });
    }
    expect(handle.getVqSize(0)).toBe(256);
    // The device is usable again from scratch.
    const again = new SimNetDriver(handle, mem);
    again.send(ethFrame(MAC));
    expect(again.received[0]).toHaveLength(1);
  });

  // vdpa_sim.c: vdpasim_set_driver_features() takes a u64: a bigint no u64 holds is refused, not masked.
  it('vdpasim_set_driver_features() refuses a negative bigint and one beyond 2^64 - 1 (ERANGE)', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0');
    handle.setDriverFeatures(BASE);
    expect(codeOf(() => handle.setDriverFeatures(-1n))).toBe('ERANGE');
    expect(codeOf(() => handle.setDriverFeatures((1n << 64n) | BASE))).toBe('ERANGE');
    expect(handle.getDriverFeatures()).toBe(BASE);
  });

  // vdpa_sim.c: vdpasim_queue_ready() hands the driver's areas to vringh_init_iotlb(); an area this
  // implementation cannot address (its end beyond 2^53) must not leave the vq on the reset ring at 0.
  it('vdpasim_queue_ready(): a ring ending beyond 2^53 stops the vq with NEEDS_RESET, not the reset ring', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0');
    handle.reset();
    const FEATURES_OK = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    handle.setDriverFeatures(BASE);
    handle.setStatus(FEATURES_OK);
    handle.setVqNum(0, 256);
    handle.setVqAddress(0, 0x30000, 0x40000, 0x50000);
    handle.setVqReady(0, true);
    handle.setVqNum(1, 256);
    handle.setVqAddress(1, 2 ** 53 - 16, 0x10000, 0x20000);
    handle.setVqReady(1, true);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    handle.setStatus(FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    // A chain published in the driver's avail ring: the stopped vq takes nothing from the ring at 0.
    mem.write(0x10000, new Uint8Array([0, 0, 1, 0, 0, 0]));
    handle.kickVq(1);
    const stat = (name: string) => handle.getVendorVqStats(1).find((s) => s.name === name)?.value;
    expect(stat('tx packets')).toBe(0n);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 0 });
  });

  // vdpa_sim.c: vdpasim_set_status() stores the status and sets running to its DRIVER_OK bit; the
  // reset is the reset op (vdpasim_reset() → vdpasim_compat_reset() → vdpasim_do_reset()), which
  // vdpa_reset() calls
  it('vdpasim_set_status(0) stores 0 and stops the datapath; only the reset op resets', () => {
    const { add, mem } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const drv = new SimNetDriver(handle, mem);
    const features = handle.getDriverFeatures();
    const generation = handle.getGeneration();
    handle.setStatus(0);
    expect(handle.getStatus()).toBe(0);
    for (let idx = 0; idx < 3; idx++) expect(handle.getVqReady(idx)).toBe(true);
    expect(handle.getDriverFeatures()).toBe(features);
    expect(handle.getGeneration()).toBe(generation);
    drv.send(ethFrame(MAC, 46, 1));
    expect(drv.received[0]).toHaveLength(0);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 0 });
    // DRIVER_OK again: running again; the frame waits for the next kick (vdpasim_kick_vq()).
    handle.setStatus(
      VIRTIO_CONFIG_S_ACKNOWLEDGE |
        VIRTIO_CONFIG_S_DRIVER |
        VIRTIO_CONFIG_S_FEATURES_OK |
        VIRTIO_CONFIG_S_DRIVER_OK,
    );
    handle.kickVq(1);
    expect(drv.received[0]).toEqual([ethFrame(MAC, 46, 1)]);
    handle.reset();
    expect(handle.getStatus()).toBe(0);
    expect(handle.getVqReady(0)).toBe(false);
    expect(handle.getDriverFeatures()).toBe(0n);
    expect(handle.getGeneration()).toBe(generation + 1);
  });

  it('keeps mappings across reset unless CLEAN_MAP is given', () => {
    const { add } = simStack();
    const { handle, sim } = add('vdpa0');
    handle.dmaMap(1, 0x1000n, 0x1000n, 0x8000n, VHOST_ACCESS_RW);
    handle.reset();
    expect(sim.iommu.isPassthrough(1)).toBe(false);
    expect(sim.iommu.iotlb(1).entries()).toEqual([
      { start: 0x1000n, last: 0x1fffn, addr: 0x8000n, perm: VHOST_ACCESS_RW },
    ]);
    handle.reset(VDPA_RESET_F_CLEAN_MAP);
    expect(sim.iommu.isPassthrough(1)).toBe(true);
    expect(sim.iommu.iotlb(1).isIdentity()).toBe(true);
  });

  it('ignores config reads and writes outside the config space', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    const buf = new Uint8Array(8).fill(0x5a);
    handle.getConfig(20, buf);
    expect(buf).toEqual(new Uint8Array(8).fill(0x5a));
    handle.getConfig(-1, buf);
    expect(buf).toEqual(new Uint8Array(8).fill(0x5a));
    const mac = new Uint8Array(6);
    handle.getConfig(0, mac);
    expect([...mac]).toEqual(MAC);
    handle.setConfig(20, new Uint8Array(8));
    handle.getConfig(0, mac);
    expect([...mac]).toEqual(MAC);
  });

  // vdpa_sim.c: vdpasim_set_config() copies the write into the config space (vdpa_sim_net has no
  // dev_attr.set_config); vdpasim_net_get_config() rewrites only the status on a read
  it('vdpasim_set_config() stores what any driver writes, and dev config show reports it', () => {
    const { add, bus } = simStack();
    const { handle, sim } = add('vdpa0', { net: { mac: new Uint8Array(MAC) } });
    handle.setDriverFeatures(BASE);
    const generation = handle.getGeneration();
    handle.setConfig(0, new Uint8Array([2, 2, 2, 2, 2, 2]));
    handle.setConfig(10, new Uint8Array([0x28, 0x23])); // MTU 9000
    handle.setConfig(6, new Uint8Array([0, 0])); // status: rewritten on the next read
    expect([...sim.mac]).toEqual([2, 2, 2, 2, 2, 2]);
    const mtu = new Uint8Array(2);
    handle.getConfig(10, mtu);
    expect(new DataView(mtu.buffer).getUint16(0, true)).toBe(9000);
    const status = new Uint8Array(2);
    handle.getConfig(6, status);
    expect([...status]).toEqual([1, 0]);
    expect(handle.getGeneration()).toBe(generation);
    const shown = bus.devConfig('vdpa0');
    expect([...(shown.net?.mac ?? [])]).toEqual([2, 2, 2, 2, 2, 2]);
    expect(shown.net?.mtu).toBe(9000);
    // A legacy driver writes the same way, and the config space survives reset (vdpasim_do_reset()).
    handle.reset();
    handle.setDriverFeatures(bit(VIRTIO_F_ACCESS_PLATFORM));
    handle.setConfig(2, new Uint8Array([9, 9, 9, 9]));
    expect([...sim.mac]).toEqual([2, 2, 9, 9, 9, 9]);
    handle.getConfig(10, mtu);
    expect(new DataView(mtu.buffer).getUint16(0, true)).toBe(9000);
  });

  it('rewrites the link status on every read and signals link changes', () => {
    const { add, mem } = simStack();
    const { handle, sim } = add('vdpa0');
    const drv = new SimNetDriver(handle, mem);
    const status = new Uint8Array(2);
    handle.getConfig(6, status);
    expect(status[0]).toBe(1);
    sim.setLinkUp(false);
    expect(drv.configChanges).toBe(1);
    handle.getConfig(6, status);
    expect(status[0]).toBe(0);
    sim.setLinkUp(false);
    expect(drv.configChanges).toBe(1);
    sim.setLinkUp(true);
    expect(drv.configChanges).toBe(2);
  });

  it('keeps DEVICE_NEEDS_RESET whatever the driver writes', () => {
    const { add, mem } = simStack();
    const { handle, sim } = add('vdpa0');
    new SimNetDriver(handle, mem);
    const vq = sim.vqs[1];
    sim.guestError(vq, new Error('test'));
    const ok =
      VIRTIO_CONFIG_S_ACKNOWLEDGE |
      VIRTIO_CONFIG_S_DRIVER |
      VIRTIO_CONFIG_S_FEATURES_OK |
      VIRTIO_CONFIG_S_DRIVER_OK;
    expect(handle.getStatus()).toBe(ok | VIRTIO_CONFIG_S_NEEDS_RESET);
    handle.setStatus(ok);
    expect(handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    handle.reset();
    expect(handle.getStatus()).toBe(0);
  });

  it('offers the kernel features and MQ when max_vqp provisions pairs, and CTRL_RX only when provisioned', () => {
    const { add } = simStack();
    const { handle } = add('vdpa0', { net: { maxVqPairs: 2 } });
    expect(handle.getDeviceFeatures()).toBe(VDPASIM_NET_FEATURES | bit(VIRTIO_NET_F_MQ));
    const provisioned = add('vdpa1', {
      deviceFeatures: VDPASIM_NET_SUPPORTED_FEATURES,
      net: { maxVqPairs: 2 },
    });
    expect(provisioned.handle.getDeviceFeatures()).toBe(VDPASIM_NET_SUPPORTED_FEATURES);
  });
});
