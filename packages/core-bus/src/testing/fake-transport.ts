import type { DeviceHandle } from '../device-handle.js';
import { VdpaError, type VdpaErrno } from '../errors.js';
import type { VdpaClassId } from '../vdpa-device.js';
import type { VdpaDriver } from '../vdpa-driver.js';

/** One probe or remove seen by a {@link FakeTransport}. */
export interface FakeTransportRecord {
  readonly event: 'probe' | 'remove';
  readonly dev: string;
}

/** Options of {@link FakeTransport}. */
export interface FakeTransportOptions {
  /** Runs inside `probe` (after the refusal check); throw to refuse. */
  readonly onProbe?: (handle: DeviceHandle) => void;
  /** Runs inside `remove`. */
  readonly onRemove?: (handle: DeviceHandle) => void;
}

/**
 * A `VdpaDriver` for tests: records probes and removes, keeps the handle of every device it holds,
 * and refuses probes while `failProbeWith` is set.
 *
 * @example
 * const t = new FakeTransport('virtio_vdpa', ['virtio']);
 * bus.registerDriver(t);
 * t.handle('vdpa0').getStatus();
 */
export class FakeTransport implements VdpaDriver {
  /** Probes and removes, in order. */
  readonly log: FakeTransportRecord[] = [];
  /** When set, `probe` throws `VdpaError(failProbeWith)`. */
  failProbeWith: VdpaErrno | undefined;
  private readonly held = new Map<string, DeviceHandle>();

  constructor(
    readonly name = 'fake_transport',
    readonly idTable: readonly VdpaClassId[] = ['virtio'],
    private readonly options: FakeTransportOptions = {},
  ) {}

  probe(handle: DeviceHandle): void {
    this.log.push({ event: 'probe', dev: handle.name });
    if (this.failProbeWith !== undefined) {
      throw new VdpaError(this.failProbeWith, `fake transport ${this.name} refuses device ${handle.name}`);
    }
    this.options.onProbe?.(handle);
    this.held.set(handle.name, handle);
  }

  remove(handle: DeviceHandle): void {
    this.log.push({ event: 'remove', dev: handle.name });
    this.options.onRemove?.(handle);
    this.held.delete(handle.name);
  }

  /**
   * The handle of a device this transport holds.
   * @throws VdpaError `ENODEV` if it does not hold `devName`
   */
  handle(devName: string): DeviceHandle {
    const h = this.held.get(devName);
    if (h === undefined)
      throw new VdpaError('ENODEV', `fake transport ${this.name} does not hold device ${devName}`);
    return h;
  }

  /** Names of the devices it holds. */
  get bound(): string[] {
    return [...this.held.keys()];
  }
}
