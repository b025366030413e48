import type { BusProjection, DeviceProjection } from '@vdpa-kit/trace';

const HEX_RADIX = 16;

function hex(value: number | undefined): string {
  return value === undefined ? '-' : `0x${value.toString(HEX_RADIX)}`;
}

function features(label: string, mask: string | undefined, names: readonly string[]): string {
  if (mask === undefined) return `  ${label} -`;
  return names.length === 0 ? `  ${label} ${mask}` : `  ${label} ${mask} ${names.join(' ')}`;
}

function deviceLines(d: DeviceProjection): string[] {
  const lines = [
    `${d.name}: mgmtdev ${d.mgmtdev ?? '-'} driver ${d.driver ?? '-'}`,
    `  status ${hex(d.status)}${d.statusNames.length === 0 ? '' : ` ${d.statusNames.join(' ')}`}`,
    features('device_features', d.deviceFeatures, d.deviceFeatureNames),
    features('driver_features', d.driverFeatures, d.driverFeatureNames) +
      (d.featuresOk ? ' (features ok)' : ''),
    `  config ${d.config.length === 0 ? '-' : d.config}${d.configGeneration === undefined ? '' : ` generation ${d.configGeneration}`}`,
    `  resets ${d.resets} errors ${d.errors}`,
  ];
  const vqs = Object.entries(d.vqs).sort(([a], [b]) => Number(a) - Number(b));
  for (const [idx, vq] of vqs) {
    const parts = [
      `  vq ${idx}:`,
      `num ${vq.num ?? '-'}`,
      `desc ${hex(vq.descArea)}`,
      `driver ${hex(vq.driverArea)}`,
      `device ${hex(vq.deviceArea)}`,
      vq.ready ? 'ready' : 'not-ready',
      vq.cb ? 'cb' : 'no-cb',
      ...(vq.state === undefined ? [] : [`state ${vq.state}`]),
      `kicks ${vq.kicks}`,
      `callbacks ${vq.callbacks}`,
    ];
    lines.push(parts.join(' '));
  }
  return lines;
}

/**
 * The text of `trace show --at SEQ`: the bus membership, then for each device its binding, decoded
 * status, features by name, config space and one line per virtqueue.
 *
 * @param p the projection (`projectTrace(records, { atSeq })`)
 * @returns lines without newlines
 * @example
 * formatProjection(projectTrace(trace.records, { atSeq: 42 })).join('\n');
 */
export function formatProjection(p: BusProjection): string[] {
  const lines = [
    `state at seq ${p.seq}`,
    `mgmtdevs ${p.mgmtdevs.length === 0 ? '-' : p.mgmtdevs.join(' ')}`,
    `drivers ${p.drivers.length === 0 ? '-' : p.drivers.join(' ')}`,
  ];
  const devices = Object.values(p.devices);
  if (devices.length === 0) lines.push('no devices');
  for (const d of devices) lines.push(...deviceLines(d));
  return lines;
}
