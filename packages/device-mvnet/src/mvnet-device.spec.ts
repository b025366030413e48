import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_RING_F_EVENT_IDX,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VdpaError } from '@vdpa-kit/core-bus';
import { describe, expect, it } from 'vitest';
import { mvnetStack } from '../test/mvnet-stack.js';
import { MVNET_FEATURES } from './constants.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof VdpaError ? err.code : `not a VdpaError: ${String(err)}`;
  }
  return undefined;
}

/** A bound mvnet device and the handle its (fake) virtio transport holds. */
function bound() {
  const stack = mvnetStack();
  stack.bus.devAdd('mvnet', 'vdpa0');
  return { ...stack, handle: stack.virtio.handle('vdpa0') };
}

describe('MvnetDevice ops', () => {
  it('describes a virtio-net with 2 vqs of 256, page-aligned', () => {
    const { handle } = bound();
    expect(handle.getDeviceId()).toBe(1);
    expect(handle.getVendorId()).toBe(0);
    expect(handle.getVqNumMax()).toBe(256);
    expect(handle.getVqAlign()).toBe(4096);
    expect(handle.getConfigSize()).toBe(VIRTIO_NET_CONFIG_SIZE);
    expect(handle.getDeviceFeatures()).toBe(MVNET_FEATURES);
    expect(handle.has('setMap') || handle.has('dmaMap') || handle.has('suspend')).toBe(false);
  });

  it('refuses driver features without ACCESS_PLATFORM and keeps the offered subset', () => {
    const { handle } = bound();
    expect(codeOf(() => handle.setDriverFeatures(bit(VIRTIO_F_VERSION_1)))).toBe('EINVAL');
    const accepted = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);
    handle.setDriverFeatures(accepted | bit(VIRTIO_RING_F_EVENT_IDX));
    expect(handle.getDriverFeatures()).toBe(accepted);
  });

  it('reads config and refuses a range past its 24 bytes', () => {
    const { handle } = bound();
    const mtu = new Uint8Array(2);
    handle.getConfig(VIRTIO_NET_CONFIG_MTU, mtu);
    expect(new DataView(mtu.buffer).getUint16(0, true)).toBe(1500);
    expect(codeOf(() => handle.getConfig(20, new Uint8Array(8)))).toBe('EINVAL');
    expect(codeOf(() => handle.setConfig(-1, new Uint8Array(1)))).toBe('EINVAL');
    handle.setConfig(VIRTIO_NET_CONFIG_MTU, new Uint8Array([0xff, 0xff]));
    handle.getConfig(VIRTIO_NET_CONFIG_MTU, mtu);
    expect(new DataView(mtu.buffer).getUint16(0, true)).toBe(1500);
  });

  it('checks vq indices and sizes', () => {
    const { handle } = bound();
    expect(codeOf(() => handle.getVqReady(2))).toBe('EINVAL');
    expect(codeOf(() => handle.kickVq(5))).toBe('EINVAL');
    expect(codeOf(() => handle.setVqNum(0, 512))).toBe('EINVAL');
    handle.setVqNum(0, 3);
    handle.setVqAddress(0, 0x1000, 0x2000, 0x3000);
    expect(codeOf(() => handle.setVqReady(0, true))).toBe('EINVAL');
    expect(handle.getVqReady(0)).toBe(false);
  });

  it('stores the split vq state and refuses a packed one', () => {
    const { handle } = bound();
    handle.setVqState(1, { kind: 'split', availIndex: 77 });
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 77 });
    handle.setVqNum(1, 8);
    handle.setVqAddress(1, 0x1000, 0x1100, 0x1200);
    handle.setVqReady(1, true);
    expect(handle.getVqState(1)).toEqual({ kind: 'split', availIndex: 77 });
    const packed = {
      kind: 'packed',
      lastAvailCounter: 1,
      lastAvailIdx: 0,
      lastUsedCounter: 1,
      lastUsedIdx: 0,
    } as const;
    expect(codeOf(() => handle.setVqState(1, packed))).toBe('EOPNOTSUPP');
    expect(codeOf(() => handle.setVqState(1, { kind: 'split', availIndex: 70000 }))).toBe('ERANGE');
  });

  it('reset clears status, features and vqs and bumps the generation', () => {
    const { handle } = bound();
    const generation = handle.getGeneration();
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    handle.setDriverFeatures(MVNET_FEATURES);
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    handle.setVqNum(0, 8);
    handle.setVqAddress(0, 0x1000, 0x1100, 0x1200);
    handle.setVqState(0, { kind: 'split', availIndex: 5 });
    handle.setVqReady(0, true);
    handle.setStatus(handle.getStatus() | VIRTIO_CONFIG_S_DRIVER_OK);
    handle.reset();
    expect(handle.getStatus()).toBe(0);
    expect(handle.getDriverFeatures()).toBe(0n);
    expect(handle.getVqReady(0)).toBe(false);
    expect(handle.getVqState(0)).toEqual({ kind: 'split', availIndex: 0 });
    expect(handle.getGeneration()).toBe(generation + 1);
  });

  it('treats a status write of 0 as a reset', () => {
    const { handle } = bound();
    handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    const generation = handle.getGeneration();
    handle.setStatus(0);
    expect(handle.getStatus()).toBe(0);
    expect(handle.getGeneration()).toBe(generation + 1);
  });

  it('reports vendor stats only for its two queues', () => {
    const { handle } = bound();
    expect(handle.getVendorVqStats(0).map((s) => s.name)).toEqual([
      'rx packets',
      'rx bytes',
      'rx errors',
      'rx overruns',
      'rx drops',
    ]);
    expect(handle.getVendorVqStats(1).map((s) => s.name)).toEqual([
      'tx packets',
      'tx bytes',
      'tx errors',
      'tx drops',
    ]);
    expect(handle.getVendorVqStats(1).every((s) => s.value === 0n)).toBe(true);
    expect(codeOf(() => handle.getVendorVqStats(2))).toBe('EINVAL');
  });
});
