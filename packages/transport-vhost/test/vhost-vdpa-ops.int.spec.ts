// The vhost-vdpa ioctls op by op against the kernel's rules (drivers/vhost/vdpa.c, drivers/vhost/vhost.c),
// on vdpasim_net and on core-bus's FakeDevice where a parent without an op is needed.
import { composeStack } from '@vdpa-kit/core-bus';
import { FakeDevice, collectEvents } from '@vdpa-kit/core-bus/testing';
import {
  U64_LIMIT,
  VHOST_ACCESS_RW,
  VHOST_IOTLB_UPDATE,
  VHOST_BACKEND_F_DESC_ASID,
  VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
  VHOST_BACKEND_F_IOTLB_ASID,
  VHOST_BACKEND_F_IOTLB_PERSIST,
  VHOST_BACKEND_F_RESUME,
  VHOST_BACKEND_F_SUSPEND,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_SIZE,
  bit,
} from '@vdpa-kit/virtio-spec';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  InProcessEventfd,
  TRANSPORT_VHOST_BUS,
  type VhostBus,
  type VhostVdpaDevice,
  transportVhostModule,
} from '../src/index.js';
import {
  TEST_BACKEND_FEATURES,
  TEST_FEATURES,
  addVdpasim,
  driverCalls,
  errno,
  vhostStack,
} from './harness.js';

const ACK_DRIVER = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
const FEATURES_OK = ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
const DRIVER_OK = FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

function openSim(): { s: ReturnType<typeof vhostStack>; vhost: VhostVdpaDevice } {
  const s = vhostStack();
  addVdpasim(s);
  const vhost = s.vhostBus.open('vdpa0');
  s.log.clear();
  return { s, vhost };
}

/** Owner, features negotiated up to FEATURES_OK. */
function negotiated(vhost: VhostVdpaDevice): void {
  vhost.setOwner();
  vhost.setBackendFeatures(TEST_BACKEND_FEATURES);
  vhost.setStatus(ACK_DRIVER);
  vhost.setFeatures(TEST_FEATURES);
  vhost.setStatus(FEATURES_OK);
}

function fakeStack(fake: FakeDevice, options: { ngroups?: number; nas?: number } = {}) {
  const { container, bus } = composeStack([transportVhostModule()], { clock: 'logical' });
  const log = collectEvents(bus);
  fake.register(bus, { classIds: ['vhost'], name: 'vdpa0', ...options });
  return { bus, log, vhostBus: container.get<VhostBus>(TRANSPORT_VHOST_BUS) };
}

describe('the vhost_vdpa driver and its char devices', () => {
  it('vhost_vdpa_probe(): binds a vhost-class device whatever its virtio id, minors from 0, reused', () => {
    const s = vhostStack();
    addVdpasim(s, 'a');
    addVdpasim(s, 'b');
    expect(s.bus.driverOf('a')).toBe('vhost_vdpa');
    expect(s.vhostBus.list().map((i) => [i.device, i.chardev, i.virtioId, i.nvqs, i.opened])).toEqual([
      ['a', 'vhost-vdpa-0', VIRTIO_ID_NET, 3, false],
      ['b', 'vhost-vdpa-1', VIRTIO_ID_NET, 3, false],
    ]);
    s.bus.devDel('a');
    addVdpasim(s, 'c');
    expect(s.vhostBus.list().map((i) => i.chardev)).toEqual(['vhost-vdpa-0', 'vhost-vdpa-1']);
    expect(s.vhostBus.list()[0].device).toBe('c');
  });

  it('devices$ gives the char devices now and after each bind, open, close and removal', () => {
    const s = vhostStack();
    const seen: string[][] = [];
    const sub = s.vhostBus.devices$.subscribe((list) =>
      seen.push(list.map((i) => `${i.chardev}:${i.opened}`)),
    );
    addVdpasim(s);
    s.vhostBus.open('vdpa0').close();
    s.bus.devDel('vdpa0');
    sub.unsubscribe();
    expect(seen).toEqual([[], ['vhost-vdpa-0:false'], ['vhost-vdpa-0:true'], ['vhost-vdpa-0:false'], []]);
  });

  it('vhost_vdpa_probe(): a parent without set_map / dma_map and more than one group or AS is EOPNOTSUPP', () => {
    const { bus, log } = fakeStack(new FakeDevice({ without: ['setMap', 'dmaMap', 'dmaUnmap'] }), {
      ngroups: 2,
    });
    expect(bus.driverOf('vdpa0')).toBeUndefined();
    expect(log.events.find((e) => e.kind === 'bus' && e.op === 'probe_failed')).toMatchObject({
      err: 'EOPNOTSUPP',
    });
  });

  it('a virtio-only device is not offered to vhost_vdpa (class-id matching)', () => {
    const { bus } = composeStack([transportVhostModule()]);
    new FakeDevice().register(bus, { classIds: ['virtio'], name: 'vdpa0' });
    expect(bus.driverOf('vdpa0')).toBeUndefined();
  });

  it('vhost_vdpa_open(): exclusive (EBUSY), resets the device; unknown names are ENODEV', () => {
    const { s, vhost } = openSim();
    expect(errno(() => s.vhostBus.open('vdpa0'))).toBe('EBUSY');
    expect(errno(() => s.vhostBus.open('nope'))).toBe('ENODEV');
    expect(s.vhostBus.list()[0].opened).toBe(true);
    vhost.close();
    expect(s.vhostBus.list()[0].opened).toBe(false);
    s.log.clear();
    s.vhostBus.open('vdpa0');
    // Open resets without CLEAN_MAP (the vqs do not exist yet) and caches the IOVA range.
    expect(driverCalls(s.log.events)).toEqual([['reset'], ['getIovaRange']]);
  });

  it('an open file of a parent with neither set_map nor dma_map is EOPNOTSUPP (no platform IOMMU here)', () => {
    const { vhostBus } = fakeStack(new FakeDevice({ without: ['setMap', 'dmaMap', 'dmaUnmap'] }));
    expect(errno(() => vhostBus.open('vdpa0'))).toBe('EOPNOTSUPP');
  });

  it('vhost_vdpa_release(): reset with CLEAN_MAP, or without it once IOTLB_PERSIST is negotiated', () => {
    const { s, vhost } = openSim();
    vhost.close();
    expect(driverCalls(s.log.events)).toEqual([['compatReset', 1]]);
    expect(errno(() => vhost.getStatus())).toBe('ENODEV');
    const again = s.vhostBus.open('vdpa0');
    again.setBackendFeatures(TEST_BACKEND_FEATURES | bit(VHOST_BACKEND_F_IOTLB_PERSIST));
    s.log.clear();
    again.close();
    expect(driverCalls(s.log.events)).toEqual([['reset']]);
  });

  it('vhost_vdpa_remove() while open: the file is released now and answers ENODEV afterwards', async () => {
    const { s, vhost } = openSim();
    const released = firstValueFrom(vhost.released$);
    s.bus.unbind('vdpa0');
    expect(await released).toBe('removed');
    expect(vhost.isOpen).toBe(false);
    expect(errno(() => vhost.getFeatures())).toBe('ENODEV');
    expect(s.vhostBus.list()).toEqual([]);
    expect(driverCalls(s.log.events)).toEqual([['compatReset', 1]]);
    // Bound again, the device gets a char device (minor 0 again) that opens afresh.
    s.bus.bind('vdpa0', 'vhost_vdpa');
    expect(s.vhostBus.list().map((i) => i.chardev)).toEqual(['vhost-vdpa-0']);
    expect(s.vhostBus.open('vdpa0').isOpen).toBe(true);
  });
});

describe('features and status', () => {
  it('VHOST_GET_FEATURES / VHOST_SET_FEATURES (vhost_vdpa_set_features()): EBUSY after FEATURES_OK, EINVAL on refusal', () => {
    const { vhost } = openSim();
    expect(vhost.getFeatures() & TEST_FEATURES).toBe(TEST_FEATURES);
    // vdpa_sim refuses features without ACCESS_PLATFORM: vhost_vdpa answers -EINVAL.
    expect(errno(() => vhost.setFeatures(bit(VIRTIO_F_VERSION_1)))).toBe('EINVAL');
    vhost.setStatus(ACK_DRIVER);
    vhost.setFeatures(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM));
    vhost.setStatus(FEATURES_OK);
    expect(errno(() => vhost.setFeatures(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM)))).toBe(
      'EBUSY',
    );
  });

  it('VHOST_GET_BACKEND_FEATURES: the base three, SUSPEND / RESUME / IOTLB_PERSIST the parent backs, its own bits', () => {
    const { vhost } = openSim();
    expect(vhost.getBackendFeatures()).toBe(
      TEST_BACKEND_FEATURES |
        bit(VHOST_BACKEND_F_SUSPEND) |
        bit(VHOST_BACKEND_F_RESUME) |
        bit(VHOST_BACKEND_F_IOTLB_PERSIST) |
        bit(VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK),
    );
  });

  it('VHOST_SET_BACKEND_FEATURES: unknown bits and unbacked SUSPEND are EOPNOTSUPP, DESC_ASID without IOTLB_ASID EINVAL', () => {
    const { vhost } = openSim();
    expect(errno(() => vhost.setBackendFeatures(bit(20)))).toBe('EOPNOTSUPP');
    expect(errno(() => vhost.setBackendFeatures(bit(VHOST_BACKEND_F_DESC_ASID)))).toBe('EINVAL');
    // vdpa_sim has no get_vq_desc_group.
    expect(
      errno(() => vhost.setBackendFeatures(bit(VHOST_BACKEND_F_DESC_ASID) | bit(VHOST_BACKEND_F_IOTLB_ASID))),
    ).toBe('EOPNOTSUPP');
    const { vhostBus } = fakeStack(new FakeDevice({ without: ['suspend', 'resume'] }));
    const fake = vhostBus.open('vdpa0');
    expect(errno(() => fake.setBackendFeatures(bit(VHOST_BACKEND_F_SUSPEND)))).toBe('EOPNOTSUPP');
    expect(errno(() => fake.setBackendFeatures(bit(VHOST_BACKEND_F_RESUME)))).toBe('EOPNOTSUPP');
    fake.setBackendFeatures(bit(VHOST_BACKEND_F_DESC_ASID) | bit(VHOST_BACKEND_F_IOTLB_ASID));
  });

  it('VHOST_VDPA_SET_STATUS (vhost_vdpa_set_status()): no clearing bits except by 0, which resets with CLEAN_MAP', () => {
    const { s, vhost } = openSim();
    expect(vhost.getDeviceId()).toBe(VIRTIO_ID_NET);
    vhost.setStatus(ACK_DRIVER);
    expect(errno(() => vhost.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE))).toBe('EINVAL');
    expect(errno(() => vhost.setStatus(256))).toBe('EINVAL');
    expect(vhost.getStatus()).toBe(ACK_DRIVER);
    s.log.clear();
    vhost.setStatus(0);
    expect(driverCalls(s.log.events)).toEqual([['getStatus'], ['compatReset', 1]]);
    expect(vhost.getStatus()).toBe(0);
  });
});

describe('config space (vhost_vdpa_config_validate())', () => {
  it('reads and writes in bounds; len 0, offset past the size, or running past it are EINVAL', () => {
    const { vhost } = openSim();
    const size = vhost.getConfigSize();
    expect(size).toBe(VIRTIO_NET_CONFIG_SIZE);
    vhost.setConfig(0, Uint8Array.of(2, 0, 0, 0, 0, 1));
    expect(vhost.getConfig(0, 6)).toEqual(Uint8Array.of(2, 0, 0, 0, 0, 1));
    expect(vhost.getConfig(size - 1, 1).length).toBe(1);
    expect(errno(() => vhost.getConfig(0, 0))).toBe('EINVAL');
    expect(errno(() => vhost.getConfig(size + 1, 1))).toBe('EINVAL');
    // -E2BIG from the validator, answered as -EINVAL by the ioctl.
    expect(errno(() => vhost.getConfig(size, 1))).toBe('EINVAL');
    expect(errno(() => vhost.setConfig(size - 2, new Uint8Array(3)))).toBe('EINVAL');
  });
});

describe('counts and ranges', () => {
  it('GET_VRING_NUM, GET_IOVA_RANGE, GET_AS_NUM, GET_VQS_COUNT, GET_GROUP_NUM need no owner', () => {
    const { vhost } = openSim();
    expect(vhost.getVringNum()).toBe(256);
    expect(vhost.getIovaRange()).toEqual({ first: 0n, last: U64_LIMIT - 1n });
    expect([vhost.getAsNum(), vhost.getVqsCount(), vhost.getGroupNum()]).toEqual([2, 3, 2]);
  });
});

describe('per-ring ioctls (vhost_vdpa_vring_ioctl(), vhost_vring_ioctl())', () => {
  it('need an owner (EPERM, vhost_dev_check_owner()) and an index below nvqs (ENOBUFS); SET_OWNER twice is EBUSY', () => {
    const { vhost } = openSim();
    expect(errno(() => vhost.setVringNum({ index: 0, num: 64 }))).toBe('EPERM');
    vhost.setOwner();
    expect(errno(() => vhost.setOwner())).toBe('EBUSY');
    expect(errno(() => vhost.setVringNum({ index: 3, num: 64 }))).toBe('ENOBUFS');
    expect(errno(() => vhost.getVringBase(3))).toBe('ENOBUFS');
    expect(errno(() => vhost.setVringEnable({ index: 3, num: 1 }))).toBe('ENOBUFS');
  });

  it('SET_VRING_NUM: a power of two in 1..65535 (vhost_vring_set_num())', () => {
    const { s, vhost } = openSim();
    vhost.setOwner();
    for (const num of [0, 3, 65536]) expect(errno(() => vhost.setVringNum({ index: 0, num }))).toBe('EINVAL');
    vhost.setVringNum({ index: 0, num: 128 });
    expect(driverCalls(s.log.events)).toEqual([['setVqNum', 0, 128]]);
  });

  it('SET_VRING_ADDR: LOG flag only, avail 2- / used 4-aligned (vhost_vring_set_addr()), not while running', () => {
    const { s, vhost } = openSim();
    negotiated(vhost);
    const a = { index: 0, flags: 0, desc: 0x1000n, avail: 0x2000n, used: 0x3000n, log: 0n };
    expect(errno(() => vhost.setVringAddr({ ...a, flags: 2 }))).toBe('EOPNOTSUPP');
    expect(errno(() => vhost.setVringAddr({ ...a, avail: 0x2001n }))).toBe('EINVAL');
    expect(errno(() => vhost.setVringAddr({ ...a, used: 0x3002n }))).toBe('EINVAL');
    expect(errno(() => vhost.setVringAddr({ ...a, desc: 2n ** 60n }))).toBe('ERANGE');
    s.log.clear();
    vhost.setVringAddr(a);
    expect(driverCalls(s.log.events)).toEqual([['getStatus'], ['setVqAddress', 0, 0x1000, 0x2000, 0x3000]]);
    vhost.setStatus(DRIVER_OK);
    expect(errno(() => vhost.setVringAddr(a))).toBe('EINVAL');
    vhost.suspend();
    vhost.setVringAddr(a);
  });

  it('SET_VRING_BASE / GET_VRING_BASE: a u16 for split rings, not while running unless suspended', () => {
    const { s, vhost } = openSim();
    negotiated(vhost);
    expect(errno(() => vhost.setVringBase({ index: 1, num: 0x10000 }))).toBe('EINVAL');
    vhost.setVringBase({ index: 1, num: 7 });
    expect(vhost.getVringBase(1)).toEqual({ index: 1, num: 7 });
    vhost.setStatus(DRIVER_OK);
    expect(errno(() => vhost.setVringBase({ index: 1, num: 9 }))).toBe('EINVAL');
    vhost.suspend();
    s.log.clear();
    vhost.setVringBase({ index: 1, num: 9 });
    expect(driverCalls(s.log.events)).toEqual([
      ['getStatus'],
      ['setVqState', 1, { kind: 'split', availIndex: 9 }],
    ]);
    vhost.resume();
  });

  it('SET_VRING_KICK: each signal kicks the vq; an eventfd already signalled kicks at once (vhost_poll_start())', () => {
    const { s, vhost } = openSim();
    vhost.setOwner();
    const kick = new InProcessEventfd();
    kick.signal();
    vhost.setVringKick(1, kick);
    kick.signal();
    vhost.setVringKick(1, null);
    kick.signal();
    expect(driverCalls(s.log.events)).toEqual([
      ['kickVq', 1],
      ['kickVq', 1],
    ]);
    expect(kick.pending).toBe(1);
  });

  it('a kick the device refuses stays an error event on the bus and does not escape signal() (handle_vq_kick())', () => {
    const fake = new FakeDevice({ nvqs: 2 });
    const { vhostBus, log } = fakeStack(fake);
    const vhost = vhostBus.open('vdpa0');
    vhost.setOwner();
    fake.failOp('kickVq', 'EIO');
    const kick = new InProcessEventfd();
    vhost.setVringKick(0, kick);
    expect(() => kick.signal()).not.toThrow();
    expect(
      log.events.filter((e) => e.kind === 'op' && e.op === 'kickVq' && e.phase === 'error'),
    ).toHaveLength(1);
  });

  it('close still releases the file when the device fails its reset (vhost_vdpa_release() ignores it)', () => {
    const fake = new FakeDevice({ nvqs: 2 });
    const { vhostBus, log } = fakeStack(fake);
    const vhost = vhostBus.open('vdpa0');
    vhost.setOwner();
    vhost.setBackendFeatures(TEST_BACKEND_FEATURES);
    vhost.processIotlbMsg({
      type: VHOST_IOTLB_UPDATE,
      asid: 0,
      iova: 0x1000n,
      size: 0x1000n,
      uaddr: 0x4000n,
      perm: VHOST_ACCESS_RW,
    });
    fake.failOp('compatReset', 'EIO');
    log.clear();
    vhost.close();
    // The failed reset, then the address space still unmapped and reset.
    expect(
      log.events.flatMap((e) => (e.kind === 'op' && e.phase !== 'call' ? [[e.op, e.phase]] : [])),
    ).toEqual([
      ['compatReset', 'error'],
      ['dmaUnmap', 'return'],
      ['resetMap', 'return'],
    ]);
    expect(vhost.isOpen).toBe(false);
    expect(vhostBus.list()[0].opened).toBe(false);
    vhostBus.open('vdpa0');
  });

  it('SET_VRING_CALL / SET_CONFIG_CALL: the device callbacks signal the eventfds; unbinding clears the vq callback', () => {
    const fake = new FakeDevice({ nvqs: 2 });
    const { vhostBus, log } = fakeStack(fake);
    const vhost = vhostBus.open('vdpa0');
    vhost.setOwner();
    const call = new InProcessEventfd();
    const config = new InProcessEventfd();
    vhost.setVringCall(1, call);
    vhost.setConfigCall(config);
    fake.triggerVq(1);
    fake.triggerVq(1);
    fake.triggerConfigChange();
    expect([call.signalled, config.signalled]).toEqual([2, 1]);
    log.clear();
    vhost.setVringCall(1, null);
    expect(driverCalls(log.events)).toEqual([['getStatus'], ['setVqCb', 1, null]]);
  });

  it('SET_VRING_ERR: kept per ring, owner and index checked like every ring ioctl, no device op', () => {
    const { s, vhost } = openSim();
    const err = new InProcessEventfd();
    expect(errno(() => vhost.setVringErr(0, err))).toBe('EPERM');
    vhost.setOwner();
    expect(errno(() => vhost.setVringErr(3, err))).toBe('ENOBUFS');
    vhost.setVringErr(0, err);
    vhost.setVringErr(0, null);
    expect(driverCalls(s.log.events)).toEqual([]);
  });

  it('SET_VRING_ENABLE: setVqReady(index, num != 0)', () => {
    const { s, vhost } = openSim();
    vhost.setOwner();
    vhost.setVringEnable({ index: 2, num: 5 });
    vhost.setVringEnable({ index: 2, num: 0 });
    expect(driverCalls(s.log.events)).toEqual([
      ['setVqReady', 2, true],
      ['setVqReady', 2, false],
    ]);
  });

  it('GET_VRING_GROUP / GET_VRING_DESC_GROUP / GET_VRING_SIZE: EOPNOTSUPP without the op, EIO for a bad group', () => {
    const { vhost } = openSim();
    vhost.setOwner();
    expect(vhost.getVringGroup(2)).toEqual({ index: 2, num: 1 });
    expect(errno(() => vhost.getVringDescGroup(0))).toBe('EOPNOTSUPP');
    expect(vhost.getVringSize(0)).toEqual({ index: 0, num: 256 });
    class BadGroups extends FakeDevice {
      override getVqGroup(): number {
        return 5;
      }
    }
    const { vhostBus } = fakeStack(new BadGroups({ without: ['getVqSize'] }), { ngroups: 2, nas: 2 });
    const bad = vhostBus.open('vdpa0');
    bad.setOwner();
    expect(errno(() => bad.getVringGroup(0))).toBe('EIO');
    expect(bad.getVringDescGroup(0)).toEqual({ index: 0, num: 0 });
    expect(errno(() => bad.getVringSize(0))).toBe('EOPNOTSUPP');
  });

  it('SET_GROUP_ASID: the group is checked against nvqs first (ENOBUFS), then ngroups / nas (EINVAL), EBUSY after DRIVER_OK', () => {
    const { s, vhost } = openSim();
    negotiated(vhost);
    expect(errno(() => vhost.setGroupAsid({ index: 3, num: 0 }))).toBe('ENOBUFS');
    expect(errno(() => vhost.setGroupAsid({ index: 2, num: 0 }))).toBe('EINVAL');
    expect(errno(() => vhost.setGroupAsid({ index: 1, num: 2 }))).toBe('EINVAL');
    s.log.clear();
    vhost.setGroupAsid({ index: 1, num: 1 });
    expect(driverCalls(s.log.events)).toEqual([['getStatus'], ['setGroupAsid', 1, 1]]);
    vhost.setStatus(DRIVER_OK);
    expect(errno(() => vhost.setGroupAsid({ index: 1, num: 0 }))).toBe('EBUSY');
  });
});

describe('SUSPEND / RESUME (vhost_vdpa_suspend(), vhost_vdpa_resume())', () => {
  it('do nothing before DRIVER_OK, call the op after, EOPNOTSUPP without it', () => {
    const { s, vhost } = openSim();
    negotiated(vhost);
    s.log.clear();
    vhost.suspend();
    expect(driverCalls(s.log.events)).toEqual([['getStatus']]);
    vhost.setStatus(DRIVER_OK);
    s.log.clear();
    vhost.suspend();
    vhost.resume();
    expect(driverCalls(s.log.events)).toEqual([['getStatus'], ['suspend'], ['getStatus'], ['resume']]);
    const { vhostBus } = fakeStack(new FakeDevice({ without: ['suspend', 'resume'] }));
    const fake = vhostBus.open('vdpa0');
    fake.setStatus(DRIVER_OK);
    expect(errno(() => fake.suspend())).toBe('EOPNOTSUPP');
    expect(errno(() => fake.resume())).toBe('EOPNOTSUPP');
  });
});
