import {
  TRANSPORT_FEATURE_NAMES,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
  VIRTIO_TRANSPORT_F_START,
} from '@vdpa-kit/virtio-spec';
import type { VdpaPrinter } from './printer.js';

/** Number of feature bits iproute2 walks (`print_features`: 0..63). */
const FEATURE_BITS = 64;

/**
 * iproute2's own `VIRTIO_TRANSPORT_F_END` (its copy of `virtio_config.h`): it looks bits 28..38 up in
 * the transport table and every other bit in the device table. The printed result is the same with
 * the kernel's range: neither table names bits 39..41. The tables are `@vdpa-kit/virtio-spec`'s.
 */
export const IPROUTE2_TRANSPORT_F_END = 38;

/**
 * The name iproute2 prints for feature bit `i`, or undefined when it prints `bit_<i>` (text) / `<i>`
 * (JSON).
 */
export function featureName(
  i: number,
  deviceTable: ReadonlyMap<number, string> | undefined,
): string | undefined {
  if (i >= VIRTIO_TRANSPORT_F_START && i <= IPROUTE2_TRANSPORT_F_END) return TRANSPORT_FEATURE_NAMES.get(i);
  return deviceTable?.get(i);
}

/**
 * `print_features`: an array `name` with one element per set bit, ascending: the bit's name, or
 * `bit_N` in text and the bare number N in JSON.
 *
 * @param printer where to print
 * @param name array name (`dev_features`, `negotiated_features`)
 * @param features the 64-bit mask
 * @param deviceTable `deviceFeatureTable` (`@vdpa-kit/virtio-spec`) of the device class, if any
 */
export function printFeatures(
  printer: VdpaPrinter,
  name: string,
  features: bigint,
  deviceTable: ReadonlyMap<number, string> | undefined,
): void {
  printer.arrayStart(name);
  for (let i = 0; i < FEATURE_BITS; i++) {
    if (((features >> BigInt(i)) & 1n) === 0n) continue;
    const label = featureName(i, deviceTable);
    if (label === undefined) printer.arrayNumber(`bit_${i}`, i);
    else printer.arrayString(label);
  }
  printer.arrayEnd();
}

/** `class_map` + `parse_class`: names of supported-class bits (bit 0 is never examined). */
export function className(bitIndex: number): string {
  if (bitIndex === VIRTIO_ID_NET) return 'net';
  if (bitIndex === VIRTIO_ID_BLOCK) return 'block';
  return '< unknown class >';
}

/** `device_type_name`: the `type` of `dev show`. */
export function deviceTypeName(deviceId: number): string {
  if (deviceId === VIRTIO_ID_NET) return 'network';
  if (deviceId === VIRTIO_ID_BLOCK) return 'block';
  return '<unknown type>';
}
