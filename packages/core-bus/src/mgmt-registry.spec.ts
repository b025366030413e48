import { describe, expect, it } from 'vitest';
import { LogicalClock } from './clock.js';
import {
  VDPA_ATTR_DEV_FEATURES,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
  VDPA_ATTR_DEV_NET_CFG_MTU,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VdpaError } from './errors.js';
import type { MgmtEvent } from './events.js';
import type { MgmtDevice } from './mgmt-device.js';
import { FakeDevice } from './testing/fake-device.js';
import { FakeMgmtDevice, type FakeMgmtDeviceOptions } from './testing/fake-mgmt-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { collectEvents } from './testing/collect-events.js';
import { VdpaBus } from './vdpa-bus.js';

const MAC = new Uint8Array([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
const NET_FEATURES =
  bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_MTU);

function setup(options: FakeMgmtDeviceOptions = {}): { bus: VdpaBus; mgmt: FakeMgmtDevice } {
  const bus = new VdpaBus(new LogicalClock());
  const mgmt = new FakeMgmtDevice(bus, { device: { deviceFeatures: NET_FEATURES }, ...options });
  bus.registerMgmtDevice(mgmt);
  return { bus, mgmt };
}

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VdpaError);
    return { code: (err as VdpaError).code, message: (err as VdpaError).message };
  }
  throw new Error('expected a refusal, nothing thrown');
}

describe('devAdd validation (vdpa.c: vdpa_nl_cmd_dev_add_set_doit())', () => {
  it('requires a device name', () => {
    const { bus } = setup();
    expect(refusal(() => bus.devAdd('fake_mgmt', ''))).toEqual({
      code: 'EINVAL',
      message: 'device name is required',
    });
  });

  it('requires at least one vq pair', () => {
    const { bus } = setup();
    expect(refusal(() => bus.devAdd('fake_mgmt', 'vdpa0', { net: { maxVqPairs: 0 } }))).toEqual({
      code: 'EINVAL',
      message: 'max_vqp 0: at least one pair of vqs is required',
    });
  });

  it('requires the features matching provided net attributes', () => {
    const { bus } = setup();
    const base = bit(VIRTIO_F_VERSION_1);
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { deviceFeatures: base, net: { mac: MAC } }))).toEqual({
      code: 'EINVAL',
      message: 'missing features 0x20 for provided attributes',
    });
    expect(
      refusal(() =>
        bus.devAdd('fake_mgmt', 'a', { deviceFeatures: base, net: { mtu: 1500, maxVqPairs: 2 } }),
      ),
    ).toEqual({
      code: 'EINVAL',
      message: 'missing features 0x400008 for provided attributes',
    });
    // max_vqp 1 needs no MQ.
    expect(bus.devAdd('fake_mgmt', 'b', { deviceFeatures: base, net: { maxVqPairs: 1 } }).name).toBe('b');
  });

  it('refuses an unknown management device with ENODEV', () => {
    const { bus } = setup();
    expect(refusal(() => bus.devAdd('nope', 'vdpa0'))).toEqual({
      code: 'ENODEV',
      message: 'management device nope not found',
    });
  });

  it('refuses attributes outside configAttrMask with EOPNOTSUPP naming the bits', () => {
    const { bus } = setup({ configAttrMask: bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) });
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { net: { mac: MAC, mtu: 1500 } }))).toEqual({
      code: 'EOPNOTSUPP',
      message: `some provided attributes are not supported: 0x${bit(VDPA_ATTR_DEV_NET_CFG_MTU).toString(16)}`,
    });
  });

  it('refuses net attributes on a mgmtdev without the net class', () => {
    const { bus } = setup({ name: 'vdpasim_blk', idTable: [VIRTIO_ID_BLOCK] });
    const r = refusal(() => bus.devAdd('vdpasim_blk', 'a', { net: { mtu: 1500 } }));
    expect(r.code).toBe('EINVAL');
    expect(r.message).toContain('vdpasim_blk');
  });

  it('refuses device-specific features without net attrs on a multi-class mgmtdev', () => {
    const { bus } = setup({ idTable: [VIRTIO_ID_NET, VIRTIO_ID_BLOCK] });
    const r = refusal(() =>
      bus.devAdd('fake_mgmt', 'a', { deviceFeatures: bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_MAC) }),
    );
    expect(r.code).toBe('EINVAL');
    expect(r.message).toContain('ambiguous');
    // Transport bits only are not ambiguous; with net attrs the class is clear.
    expect(bus.devAdd('fake_mgmt', 'b', { deviceFeatures: bit(VIRTIO_F_VERSION_1) }).name).toBe('b');
    expect(bus.devAdd('fake_mgmt', 'c', { deviceFeatures: NET_FEATURES, net: { mtu: 1500 } }).name).toBe('c');
  });

  it('applies attribute policy first: mtu >= 68, 6-byte mac, u16 and u64 ranges', () => {
    const { bus } = setup();
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { net: { mtu: 67 } })).code).toBe('ERANGE');
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { net: { mtu: 0x10000 } })).code).toBe('EINVAL');
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { net: { mac: MAC.subarray(1) } })).message).toBe(
      'mac address of 5 bytes is not 6 bytes',
    );
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { net: { maxVqPairs: -1 } })).code).toBe('EINVAL');
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { deviceFeatures: 1n << 64n })).code).toBe('EINVAL');
    // Policy precedes the name check, which precedes the mgmtdev lookup.
    expect(refusal(() => bus.devAdd('nope', '', { net: { mtu: 10 } })).message).toContain('mtu 10');
    expect(refusal(() => bus.devAdd('nope', '')).message).toBe('device name is required');
    expect(refusal(() => bus.devAdd('nope', 'a', { net: { maxVqPairs: 0 } })).code).toBe('EINVAL');
    expect(bus.devAdd('fake_mgmt', 'ok', { net: { mtu: 68 } }).name).toBe('ok');
  });

  // vdpa.c: vdpa_nl_policy has NLA_POLICY_MIN(NLA_U16, 68) for VDPA_ATTR_DEV_NET_CFG_MTU, and
  // lib/nlattr.c: nla_validate_range_unsigned() answers -ERANGE ("integer out of range").
  it('refuses an mtu below 68 with ERANGE, as the netlink policy does', () => {
    const { bus } = setup();
    for (const mtu of [0, 10, 67]) {
      expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { net: { mtu } }))).toEqual({
        code: 'ERANGE',
        message: `mtu ${mtu} is below ${68}: integer out of range`,
      });
    }
    // Policy runs before the handler: ERANGE wins over max_vqp 0 and an unknown mgmtdev.
    expect(refusal(() => bus.devAdd('nope', 'a', { net: { mtu: 67, maxVqPairs: 0 } })).code).toBe('ERANGE');
    // A value that is not a u16 cannot be sent at all: EINVAL.
    expect(refusal(() => bus.devAdd('fake_mgmt', 'a', { net: { mtu: 0x10000 } })).code).toBe('EINVAL');
  });

  it('passes the config with its mask to devAdd and records one mgmt event', () => {
    const { bus, mgmt } = setup();
    const t = new FakeTransport();
    bus.registerDriver(t);
    const log = collectEvents(bus);
    const dev = bus.devAdd('fake_mgmt', 'vdpa0', {
      deviceFeatures: NET_FEATURES,
      net: { mac: MAC, mtu: 9000 },
    });
    expect(dev).toMatchObject({ name: 'vdpa0', mgmtdev: 'fake_mgmt', nvqs: 3 });
    expect(bus.driverOf('vdpa0')).toBe('fake_transport');
    expect(mgmt.devices.get('vdpa0')?.config.subarray(0, 6)).toEqual(MAC);
    const mgmtEvents = log.events.filter((e): e is MgmtEvent => e.kind === 'mgmt');
    expect(mgmtEvents).toEqual([
      expect.objectContaining({
        kind: 'mgmt',
        dev: 'vdpa0',
        op: 'dev_add',
        phase: 'return',
        args: {
          mgmtdev: 'fake_mgmt',
          name: 'vdpa0',
          deviceFeatures: `0x${NET_FEATURES.toString(16)}`,
          mac: '001122334455',
          mtu: 9000,
        },
        ret: { index: 0, nvqs: 3 },
      }),
    ]);
    expect(log.events.at(-1)).toBe(mgmtEvents[0]);
    expect(log.events[0].op).toBe('device_registered');
  });

  it('records refused commands as mgmt error events', () => {
    const { bus } = setup();
    const log = collectEvents(bus);
    expect(() => bus.devAdd('fake_mgmt', 'a', { net: { maxVqPairs: 0 } })).toThrow(VdpaError);
    expect(log.events).toEqual([
      expect.objectContaining({
        kind: 'mgmt',
        op: 'dev_add',
        phase: 'error',
        err: 'EINVAL',
        args: { mgmtdev: 'fake_mgmt', name: 'a', maxVqPairs: 0 },
      }),
    ]);
  });

  it('surfaces EEXIST for a duplicate name and leaks no index', () => {
    const { bus } = setup();
    bus.devAdd('fake_mgmt', 'vdpa0');
    expect(refusal(() => bus.devAdd('fake_mgmt', 'vdpa0')).code).toBe('EEXIST');
    expect(bus.devAdd('fake_mgmt', 'x').index).toBe(1);
  });
});

describe('devDel and devSetAttr', () => {
  it('deletes only known, mgmt-created devices', () => {
    const { bus, mgmt } = setup();
    bus.devAdd('fake_mgmt', 'vdpa0');
    expect(refusal(() => bus.devDel('nope')).code).toBe('ENODEV');
    const plain = bus.allocDevice({ ops: new FakeDevice(), name: 'plain', classIds: ['virtio'] });
    bus.registerDevice(plain, 1);
    expect(refusal(() => bus.devDel('plain')).code).toBe('EINVAL');
    bus.devDel('vdpa0');
    expect(bus.device('vdpa0')).toBeUndefined();
    expect(mgmt.devices.size).toBe(0);
  });

  it('sets a valid unicast MAC through devSetAttr and refuses the rest with kernel errnos', () => {
    const { bus, mgmt } = setup();
    bus.devAdd('fake_mgmt', 'vdpa0');
    expect(refusal(() => bus.devSetAttr('nope', { mac: MAC })).code).toBe('ENODEV');
    expect(refusal(() => bus.devSetAttr('vdpa0', { mac: new Uint8Array([1, 0, 0, 0, 0, 1]) }))).toEqual({
      code: 'EOPNOTSUPP',
      message: 'mac address 01:00:00:00:00:01 is not a valid unicast address',
    });
    expect(refusal(() => bus.devSetAttr('vdpa0', { mac: new Uint8Array(6) })).code).toBe('EOPNOTSUPP');
    expect(refusal(() => bus.devSetAttr('vdpa0', { mac: MAC.subarray(2) })).code).toBe('EINVAL');
    expect(refusal(() => bus.devSetAttr('vdpa0', {})).code).toBe('EOPNOTSUPP');
    bus.devSetAttr('vdpa0', { mac: MAC });
    expect(mgmt.setAttrs).toEqual([{ net: { mac: MAC }, mask: bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) }]);
    expect(mgmt.devices.get('vdpa0')?.config.subarray(0, 6)).toEqual(MAC);
  });

  it('refuses devSetAttr on a mgmtdev without the op (EOPNOTSUPP)', () => {
    const noop = setup({ withSetAttr: false });
    noop.bus.devAdd('fake_mgmt', 'n0');
    expect(refusal(() => noop.bus.devSetAttr('n0', { mac: MAC }))).toEqual({
      code: 'EOPNOTSUPP',
      message: 'operation not supported by management device fake_mgmt',
    });
  });
});

describe('devSetAttr in the order of vdpa_nl_cmd_dev_attr_set_doit()', () => {
  // vdpa.c: vdpa_dev_net_device_attr_set() starts from err = -EOPNOTSUPP: without a MAC attribute, or
  // with one that is not is_valid_ether_addr() ("Invalid MAC address"), the answer is EOPNOTSUPP.
  it('refuses a missing or invalid MAC with EOPNOTSUPP', () => {
    const { bus, mgmt } = setup();
    bus.devAdd('fake_mgmt', 'vdpa0');
    expect(refusal(() => bus.devSetAttr('vdpa0', {})).code).toBe('EOPNOTSUPP');
    for (const bad of [new Uint8Array([1, 0, 0, 0, 0, 1]), new Uint8Array(6)]) {
      expect(refusal(() => bus.devSetAttr('vdpa0', { mac: bad })).code).toBe('EOPNOTSUPP');
    }
    expect(mgmt.setAttrs).toEqual([]);
  });

  // vdpa_nl_cmd_dev_attr_set_doit(): a device whose mgmtdev lacks the net class only gets a warning
  // extack ("%s device not supported"); err stays 0, so the command succeeds and nothing is set.
  it('answers success without calling devSetAttr for a mgmtdev without the net class', () => {
    const blk = setup({ name: 'blk', idTable: [VIRTIO_ID_BLOCK] });
    blk.bus.devAdd('blk', 'b0');
    const log = collectEvents(blk.bus);
    expect(() => blk.bus.devSetAttr('b0', { mac: MAC })).not.toThrow();
    expect(() => blk.bus.devSetAttr('b0', {})).not.toThrow();
    expect(blk.mgmt.setAttrs).toEqual([]);
    expect(log.events.filter((e) => e.kind === 'mgmt').map((e) => e.phase)).toEqual(['return', 'return']);
    // The lookup and the unmanaged check come first.
    expect(refusal(() => blk.bus.devSetAttr('nope', { mac: MAC })).code).toBe('ENODEV');
  });
});

describe('management device registry', () => {
  it('validates registration', () => {
    const bus = new VdpaBus(new LogicalClock());
    bus.registerMgmtDevice(new FakeMgmtDevice(bus));
    expect(refusal(() => bus.registerMgmtDevice(new FakeMgmtDevice(bus))).code).toBe('EEXIST');
    const broken = {
      name: 'broken',
      idTable: [1],
      configAttrMask: 0n,
      supportedFeatures: 0n,
      maxSupportedVqs: 1,
    } as unknown as MgmtDevice;
    expect(refusal(() => bus.registerMgmtDevice(broken)).code).toBe('EINVAL');
    expect(bus.mgmtdevs().map((m) => m.name)).toEqual(['fake_mgmt']);
  });

  it('shows a mgmtdev with its classes, handle parts, max vqs and features', () => {
    const { bus } = setup({
      name: 'pci/0000:03:00.0',
      idTable: [VIRTIO_ID_NET, VIRTIO_ID_BLOCK, 99],
      maxSupportedVqs: 5,
    });
    expect(bus.mgmtdevShow('pci/0000:03:00.0')).toEqual({
      name: 'pci/0000:03:00.0',
      busName: 'pci',
      devName: '0000:03:00.0',
      supportedClasses: bit(VIRTIO_ID_NET) | bit(VIRTIO_ID_BLOCK),
      classIds: [VIRTIO_ID_NET, VIRTIO_ID_BLOCK, 99],
      maxSupportedVqs: 5,
      supportedFeatures: NET_FEATURES,
    });
    expect(refusal(() => bus.mgmtdevShow('nope')).code).toBe('ENODEV');
  });

  it('deletes its devices when it unregisters', () => {
    const { bus, mgmt } = setup();
    bus.devAdd('fake_mgmt', 'a');
    bus.devAdd('fake_mgmt', 'b');
    const log = collectEvents(bus);
    bus.unregisterMgmtDevice('fake_mgmt');
    expect(bus.devices()).toEqual([]);
    expect(mgmt.devices.size).toBe(0);
    expect(log.events.filter((e) => e.kind !== 'op').map((e) => e.op)).toEqual([
      'device_unregistered',
      'device_unregistered',
      'mgmtdev_unregistered',
    ]);
    expect(
      log.events.filter((e) => e.kind === 'op' && e.phase === 'call').map((e) => `${e.dev}:${e.op}`),
    ).toEqual(['a:free', 'b:free']);
    expect(refusal(() => bus.unregisterMgmtDevice('fake_mgmt')).code).toBe('ENODEV');
  });
});

describe('devShow, devConfig and devVstats (read through the op channel)', () => {
  it('shows a device and reports reads as mgmt-origin op events', () => {
    const { bus } = setup();
    bus.devAdd('fake_mgmt', 'vdpa0');
    const log = collectEvents(bus);
    expect(bus.devShow('vdpa0')).toEqual({
      name: 'vdpa0',
      mgmtdev: 'fake_mgmt',
      deviceId: VIRTIO_ID_NET,
      vendorId: 0,
      maxVqs: 3,
      maxVqSize: 256,
      minVqSize: 1,
    });
    const ops = log.events.filter((e) => e.kind === 'op');
    expect(ops.length).toBe(8);
    expect(ops.every((e) => e.kind === 'op' && e.origin === 'mgmt')).toBe(true);
    expect(bus.devList().map((d) => d.name)).toEqual(['vdpa0']);
  });

  it('reports net config per offered feature and negotiated features only after FEATURES_OK', () => {
    const { bus, mgmt } = setup({
      device: { deviceFeatures: NET_FEATURES | bit(VIRTIO_NET_F_STATUS) | bit(VIRTIO_NET_F_MQ) },
    });
    bus.devAdd('fake_mgmt', 'vdpa0', { net: { mac: MAC, mtu: 9000, maxVqPairs: 1 } });
    const fake = mgmt.devices.get('vdpa0')!;
    fake.calls.length = 0;
    const before = bus.devConfig('vdpa0');
    expect(before).toEqual({
      name: 'vdpa0',
      deviceId: VIRTIO_ID_NET,
      net: {
        deviceFeatures: NET_FEATURES | bit(VIRTIO_NET_F_STATUS) | bit(VIRTIO_NET_F_MQ),
        mac: MAC,
        status: 0,
        maxVqPairs: 1,
        mtu: 9000,
      },
    });
    // The kernel reads the raw op: no implicit setDriverFeatures(0).
    expect(fake.callNames()).not.toContain('setDriverFeatures');
    fake.setDriverFeatures(NET_FEATURES);
    fake.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    expect(bus.devConfig('vdpa0').negotiatedFeatures).toBe(NET_FEATURES);
  });

  it('omits net fields whose feature is not offered and reports blk config', () => {
    const plain = setup({ device: { deviceFeatures: bit(VIRTIO_F_VERSION_1) } });
    plain.bus.devAdd('fake_mgmt', 'vdpa0');
    expect(plain.bus.devConfig('vdpa0').net).toEqual({ deviceFeatures: bit(VIRTIO_F_VERSION_1) });

    const blkConfig = new Uint8Array(60);
    const view = new DataView(blkConfig.buffer);
    view.setBigUint64(0, 0x20000n, true);
    view.setUint32(20, 4096, true);
    const blk = setup({
      name: 'vdpasim_blk',
      idTable: [VIRTIO_ID_BLOCK],
      device: {
        deviceId: VIRTIO_ID_BLOCK,
        deviceFeatures: bit(VIRTIO_F_VERSION_1) | bit(6) | bit(5),
        config: blkConfig,
      },
    });
    blk.bus.devAdd('vdpasim_blk', 'blk0');
    expect(blk.bus.devConfig('blk0').blk).toEqual({
      deviceFeatures: bit(VIRTIO_F_VERSION_1) | bit(6) | bit(5),
      capacity: 0x20000n,
      blkSize: 4096,
      readOnly: true,
      flush: false,
    });
    const other = setup({ device: { deviceId: 3 } });
    other.bus.devAdd('fake_mgmt', 'c0');
    expect(refusal(() => other.bus.devConfig('c0')).code).toBe('EOPNOTSUPP');
  });

  it('returns vendor stats only for a net device past FEATURES_OK, in the kernel check order', () => {
    const { bus, mgmt } = setup();
    const t = new FakeTransport();
    bus.registerDriver(t);
    bus.devAdd('fake_mgmt', 'vdpa0');
    const fake = mgmt.devices.get('vdpa0')!;
    fake.vqs[1].stats = [{ name: 'received_desc', value: 12n }];
    expect(refusal(() => bus.devVstats('vdpa0', 0x8001)).code).toBe('ERANGE');
    expect(refusal(() => bus.devVstats('vdpa0', 1))).toEqual({
      code: 'EAGAIN',
      message: 'device vdpa0 status 0x0: feature negotiation not complete',
    });
    t.handle('vdpa0').setDriverFeatures(NET_FEATURES);
    t.handle('vdpa0').setStatus(VIRTIO_CONFIG_S_FEATURES_OK);
    expect(bus.devVstats('vdpa0', 1)).toEqual({
      name: 'vdpa0',
      deviceId: VIRTIO_ID_NET,
      negotiatedFeatures: NET_FEATURES,
      queueIndex: 1,
      stats: [{ name: 'received_desc', value: 12n }],
    });
    expect(refusal(() => bus.devVstats('nope', 1)).code).toBe('ENODEV');

    const nostats = setup({ device: { without: ['getVendorVqStats'] } });
    nostats.bus.devAdd('fake_mgmt', 'v');
    expect(refusal(() => nostats.bus.devVstats('v', 0x8001)).code).toBe('ERANGE');
    expect(refusal(() => nostats.bus.devVstats('v', 0)).code).toBe('EOPNOTSUPP');

    const blk = setup({ name: 'blk', idTable: [VIRTIO_ID_BLOCK], device: { deviceId: VIRTIO_ID_BLOCK } });
    blk.bus.devAdd('blk', 'b');
    expect(refusal(() => blk.bus.devVstats('b', 0x8001)).code).toBe('EOPNOTSUPP');
  });

  it('refuses reads of devices not created by a management device', () => {
    const { bus } = setup();
    bus.devAdd('fake_mgmt', 'vdpa0');
    const dev = bus.allocDevice({ ops: new FakeDevice(), name: 'raw', classIds: ['virtio'] });
    bus.registerDevice(dev, 1);
    for (const fn of [() => bus.devShow('raw'), () => bus.devConfig('raw'), () => bus.devVstats('raw', 0)]) {
      expect(refusal(fn).code).toBe('EINVAL');
    }
    expect(bus.devList().map((d) => d.name)).toEqual(['vdpa0']);
  });
});

describe('VdpaDevSetConfig mask bits', () => {
  it('uses bit(VDPA_ATTR_*) numbers of the uapi enum', () => {
    expect([
      VDPA_ATTR_DEV_NET_CFG_MACADDR,
      VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
      VDPA_ATTR_DEV_NET_CFG_MTU,
      VDPA_ATTR_DEV_FEATURES,
    ]).toEqual([10, 12, 13, 20]);
  });
});
