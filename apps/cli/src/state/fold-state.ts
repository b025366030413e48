import { type VdpaDevAddRequest, fromHex } from '@vdpa-kit/core-bus';
import { StateError } from '../errors.js';
import type { StateEvent } from './state-event.js';

/** A device that exists according to the log. */
export interface FoldedDevice {
  readonly name: string;
  readonly mgmtdev: string;
  /** The `dev add` attributes, as given. */
  readonly request: VdpaDevAddRequest;
  /** The MAC of the last `dev set`, if any. */
  readonly setMac: Uint8Array | undefined;
  /** 1-based line of its `dev_add` event. */
  readonly line: number;
}

/** The projection of the state log: live devices in the order they were added. */
export interface FoldedState {
  readonly devices: ReadonlyMap<string, FoldedDevice>;
  /** The events folded (for appending after them). */
  readonly events: readonly StateEvent[];
}

/** The `dev add` request recorded in a `dev_add` event. */
export function devAddRequest(event: StateEvent & { op: 'dev_add' }): VdpaDevAddRequest {
  const net =
    event.mac === undefined && event.mtu === undefined && event.maxVqp === undefined
      ? undefined
      : {
          ...(event.mac === undefined ? {} : { mac: fromHex(event.mac) }),
          ...(event.mtu === undefined ? {} : { mtu: event.mtu }),
          ...(event.maxVqp === undefined ? {} : { maxVqPairs: event.maxVqp }),
        };
  return {
    ...(event.deviceFeatures === undefined ? {} : { deviceFeatures: BigInt(event.deviceFeatures) }),
    ...(net === undefined ? {} : { net }),
  };
}

/**
 * Folds the log into the set of live devices: `dev_add` creates, `dev_del` removes, `dev_set_attr`
 * records the new MAC. Pure: nothing is built.
 *
 * @param events the validated events, in file order (line i+1 is `events[i]`)
 * @param path the file, for messages
 * @throws StateError naming the line when an event contradicts the ones before it (an add of a live
 * name, a delete or set of an unknown one)
 */
export function foldState(events: readonly StateEvent[], path: string): FoldedState {
  const devices = new Map<string, FoldedDevice>();
  events.forEach((event, i) => {
    const line = i + 1;
    const existing = devices.get(event.name);
    const bad = (why: string): never => {
      throw new StateError(`state file ${path} line ${line} is inconsistent: ${why}`, { line });
    };
    switch (event.op) {
      case 'dev_add':
        if (existing !== undefined) bad(`dev_add of ${event.name}, which exists since line ${existing.line}`);
        devices.set(event.name, {
          name: event.name,
          mgmtdev: event.mgmtdev,
          request: devAddRequest(event),
          setMac: undefined,
          line,
        });
        break;
      case 'dev_del':
        if (existing === undefined) bad(`dev_del of ${event.name}, which does not exist`);
        devices.delete(event.name);
        break;
      case 'dev_set_attr':
        if (existing === undefined) bad(`dev_set_attr of ${event.name}, which does not exist`);
        else devices.set(event.name, { ...existing, setMac: fromHex(event.mac) });
        break;
    }
  });
  return { devices, events };
}
