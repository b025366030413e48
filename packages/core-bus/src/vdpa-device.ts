import type { VdpaConfigOps } from './config-ops.js';
import { VdpaError } from './errors.js';
import { MANDATORY_OPS } from './op-table.js';

/**
 * The transport classes a device can be served by: `virtio` (transport-virtio, the `virtio_vdpa`
 * analogue) and `vhost` (transport-vhost, the `vhost_vdpa` analogue).
 */
export const VDPA_CLASS_IDS = ['virtio', 'vhost'] as const;

/** A transport class id. */
export type VdpaClassId = (typeof VDPA_CLASS_IDS)[number];

/** True when `value` is a {@link VdpaClassId}. */
export function isVdpaClassId(value: unknown): value is VdpaClassId {
  return value === 'virtio' || value === 'vhost';
}

/**
 * A vDPA device on the bus (`struct vdpa_device`, include/linux/vdpa.h): created by
 * `bus.allocDevice`, made visible by `bus.registerDevice`. The device plugin keeps this record; the
 * bus owns the bus-side state (binding, `features_valid`). Transports never see it: they get a
 * `DeviceHandle`.
 */
export interface VdpaDevice {
  /** Bus name: the given name or `vdpa<index>`. */
  readonly name: string;
  /** Index from the bus's allocator (lowest free, reused after release). */
  readonly index: number;
  /** Transport classes this device can be served by. */
  readonly classIds: readonly VdpaClassId[];
  /** Number of virtqueues; 0 until registered. */
  readonly nvqs: number;
  /** Number of virtqueue groups. */
  readonly ngroups: number;
  /** Number of address spaces. */
  readonly nas: number;
  /** Name of the management device that created it, or undefined (not user-managed). */
  readonly mgmtdev: string | undefined;
  /** The device's config ops. */
  readonly ops: VdpaConfigOps;
  /** The device consumes user virtual addresses (IOTLB `addr` = owner VA). */
  readonly useVa: boolean;
  /** Name of the only driver allowed to bind it (`driver_override`), or undefined. */
  readonly driverOverride: string | undefined;
}

/** Options of `bus.allocDevice` (`__vdpa_alloc_device`). */
export interface VdpaAllocOptions {
  /** The device's ops. */
  readonly ops: VdpaConfigOps;
  /** Bus name; default `vdpa<index>`. */
  readonly name?: string;
  /** Number of virtqueue groups (default 1). */
  readonly ngroups?: number;
  /** Number of address spaces (default 1). */
  readonly nas?: number;
  /** Transport classes this device can be served by (at least one). */
  readonly classIds: readonly VdpaClassId[];
  /** Creating management device name (set it in `MgmtDevice.devAdd`). */
  readonly mgmtdev?: string;
  /** VA mode (requires `setMap` or `dmaMap`). */
  readonly useVa?: boolean;
  /** Initial `driver_override`. */
  readonly driverOverride?: string;
}

/** `VdpaDevice` with the fields the bus updates (internal). */
export type MutableVdpaDevice = { -readonly [K in keyof VdpaDevice]: VdpaDevice[K] };

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new VdpaError('EINVAL', `${what} ${String(value)} is not a positive integer`);
  return value;
}

/**
 * Checks allocation options the way `__vdpa_alloc_device` does, plus what a typed userspace API can
 * check: every mandatory op is a function, class ids are known.
 *
 * @throws VdpaError `EINVAL` when ops are missing, a mandatory op is not a function, exactly one of
 * `dmaMap`/`dmaUnmap` is present, `useVa` is set without `setMap` or `dmaMap`, the class list is empty
 * or unknown, a name is empty, or `ngroups`/`nas` are not positive integers
 */
export function checkAllocOptions(options: VdpaAllocOptions): void {
  const ops = options.ops as VdpaConfigOps | undefined;
  if (typeof ops !== 'object' || ops === null)
    throw new VdpaError('EINVAL', `device ops ${String(ops)} are not an object`);
  const table = ops as unknown as Record<string, unknown>;
  for (const name of MANDATORY_OPS) {
    if (typeof table[name] !== 'function')
      throw new VdpaError('EINVAL', `device ops lack mandatory op ${name}`);
  }
  const hasMap = typeof ops.dmaMap === 'function';
  const hasUnmap = typeof ops.dmaUnmap === 'function';
  if (hasMap !== hasUnmap) {
    throw new VdpaError(
      'EINVAL',
      `device ops have ${hasMap ? 'dmaMap' : 'dmaUnmap'} without ${hasMap ? 'dmaUnmap' : 'dmaMap'}`,
    );
  }
  if (options.useVa === true && !hasMap && typeof ops.setMap !== 'function') {
    throw new VdpaError('EINVAL', 'useVa device has neither setMap nor dmaMap');
  }
  if (!Array.isArray(options.classIds) || options.classIds.length === 0) {
    throw new VdpaError('EINVAL', `class id list ${JSON.stringify(options.classIds)} is empty`);
  }
  for (const id of options.classIds) {
    if (!isVdpaClassId(id))
      throw new VdpaError('EINVAL', `class id ${JSON.stringify(id)} is not virtio or vhost`);
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
    throw new VdpaError('EINVAL', `device name ${JSON.stringify(options.name)} is empty`);
  }
  positiveInteger(options.ngroups ?? 1, 'ngroups');
  positiveInteger(options.nas ?? 1, 'nas');
}
