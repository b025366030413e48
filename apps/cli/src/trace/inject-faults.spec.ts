import { type DeviceHandle, type VdpaDriver, VdpaError } from '@vdpa-kit/core-bus';
import { describe, expect, it } from 'vitest';
import { composeCliStack } from '../compose.js';
import { CliError } from '../errors.js';
import { installFaults, parseInjectOptions } from './inject-faults.js';

function boundHandle(): {
  handle: DeviceHandle;
  dispose(): void;
  bus: ReturnType<typeof composeCliStack>['bus'];
} {
  const { bus } = composeCliStack();
  let handle: DeviceHandle | undefined;
  const driver: VdpaDriver = {
    name: 'spec_driver',
    idTable: ['virtio'],
    probe: (h) => {
      handle = h;
    },
    remove: () => undefined,
  };
  bus.registerDriver(driver);
  bus.devAdd('mvnet', 'vdpa0');
  if (handle === undefined) throw new Error('vdpa0 did not bind');
  return { handle, bus, dispose: () => bus.dispose() };
}

function errnoOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return VdpaError.from(err).code;
  }
}

describe('parseInjectOptions', () => {
  it('parses every spec into an interceptor, in order', () => {
    expect(
      parseInjectOptions(['setVqNum:1:EIO', 'getStatus:2+:EBUSY', 'getVqNumMax:1:corrupt']),
    ).toHaveLength(3);
    expect(parseInjectOptions([])).toEqual([]);
  });

  it('refuses a bad spec with one CliError naming it', () => {
    let error: unknown;
    try {
      parseInjectOptions(['setVqNum:1:EIO', 'setVqNum:zero:EIO']);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/^inject spec "setVqNum:zero:EIO": call number "zero"/);
  });
});

describe('installFaults', () => {
  it('fails the nth call on the bus until removed', () => {
    const { handle, dispose, bus } = boundHandle();
    try {
      const remove = installFaults(bus, parseInjectOptions(['setVqNum:2:EIO']));
      expect(errnoOf(() => handle.setVqNum(0, 64))).toBeUndefined();
      expect(errnoOf(() => handle.setVqNum(0, 64))).toBe('EIO');
      expect(errnoOf(() => handle.setVqNum(0, 64))).toBeUndefined();
      remove();
      const again = installFaults(bus, parseInjectOptions(['getStatus:1+:EBUSY']));
      expect([errnoOf(() => handle.getStatus()), errnoOf(() => handle.getStatus())]).toEqual([
        'EBUSY',
        'EBUSY',
      ]);
      again();
      expect(errnoOf(() => handle.getStatus())).toBeUndefined();
    } finally {
      dispose();
    }
  });
});
