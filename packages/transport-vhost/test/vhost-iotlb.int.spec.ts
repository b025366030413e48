// IOTLB messages v2 as drivers/vhost/vdpa.c handles them (vhost_vdpa_process_iotlb_msg(),
// vhost_vdpa_process_iotlb_update(), vhost_vdpa_map(), vhost_vdpa_unmap()) and as vhost.c's
// vhost_chr_write_iter() reads and answers them.
import { type VdpaIovaRange, composeStack } from '@vdpa-kit/core-bus';
import { FakeDevice, collectEvents } from '@vdpa-kit/core-bus/testing';
import {
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_BACKEND_F_IOTLB_MSG_V2,
  VHOST_IOTLB_ACCESS_FAIL,
  VHOST_IOTLB_BATCH_BEGIN,
  VHOST_IOTLB_BATCH_END,
  VHOST_IOTLB_INVALIDATE,
  VHOST_IOTLB_MISS,
  VHOST_IOTLB_MSG,
  VHOST_IOTLB_UPDATE,
  VHOST_MSG_V2_SIZE,
  bit,
} from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import {
  TRANSPORT_VHOST_BUS,
  type VhostBus,
  type VhostIotlbMsg,
  type VhostVdpaDevice,
  encodeVhostMsgV2,
  transportVhostModule,
} from '../src/index.js';
import { TEST_BACKEND_FEATURES, addVdpasim, driverCalls, errno, vhostStack } from './harness.js';

const PAGE = 0x1000n;

function msg(
  type: number,
  asid: number,
  iova = 0n,
  size = 0n,
  uaddr = 0n,
  perm = VHOST_ACCESS_RW,
): VhostIotlbMsg {
  return { type, asid, iova, size, uaddr, perm };
}

/** vdpasim_net opened, owned, with v2 + batch + ASID messages negotiated. */
function openSim(): { s: ReturnType<typeof vhostStack>; vhost: VhostVdpaDevice } {
  const s = vhostStack();
  addVdpasim(s);
  const vhost = s.vhostBus.open('vdpa0');
  vhost.setOwner();
  vhost.setBackendFeatures(TEST_BACKEND_FEATURES);
  s.log.clear();
  return { s, vhost };
}

/** A FakeDevice of 2 groups / 2 address spaces on a vhost-only stack, opened and owned. */
function openFake(fake: FakeDevice): { vhost: VhostVdpaDevice; calls: () => unknown[][] } {
  const { container, bus } = composeStack([transportVhostModule()], { clock: 'logical' });
  fake.register(bus, { classIds: ['vhost'], ngroups: 2, nas: 2, name: 'vdpa0' });
  const vhost = container.get<VhostBus>(TRANSPORT_VHOST_BUS).open('vdpa0');
  vhost.setOwner();
  vhost.setBackendFeatures(TEST_BACKEND_FEATURES);
  const log = collectEvents(bus);
  return { vhost, calls: () => driverCalls(log.events) };
}

describe('IOTLB UPDATE / INVALIDATE on a dma_map parent (vdpasim_net)', () => {
  it('vhost_vdpa_map(): each UPDATE is one dmaMap, page-aligned as vhost_vdpa_pa_map() pins it', () => {
    const { s, vhost } = openSim();
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x10_0000n, 0x2000n, 0x4000n));
    // An unaligned update maps the whole pages it touches (iova & PAGE_MASK, PFN_UP(size + offset)).
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x20_0010n, 0x10n, 0x8010n, VHOST_ACCESS_RO));
    expect(driverCalls(s.log.events)).toEqual([
      ['dmaMap', 0, '0x100000', '0x2000', '0x4000', VHOST_ACCESS_RW],
      ['dmaMap', 0, '0x200000', '0x1000', '0x8000', VHOST_ACCESS_RO],
    ]);
    expect(vhost.iotlbEntries(0)).toEqual([
      { start: 0x10_0000n, last: 0x10_1fffn, addr: 0x4000n, perm: VHOST_ACCESS_RW },
      { start: 0x20_0000n, last: 0x20_0fffn, addr: 0x8000n, perm: VHOST_ACCESS_RO },
    ]);
  });

  it('vhost_vdpa_unmap(): INVALIDATE removes every overlapping entry whole with dmaUnmap, then setMap', () => {
    const { s, vhost } = openSim();
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x10_0000n, 0x2000n, 0x4000n));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x10_2000n, 0x1000n, 0x9000n));
    s.log.clear();
    vhost.processIotlbMsg(msg(VHOST_IOTLB_INVALIDATE, 0, 0x10_1000n, 0x1001n));
    expect(driverCalls(s.log.events)).toEqual([
      ['dmaUnmap', 0, '0x100000', '0x2000'],
      ['dmaUnmap', 0, '0x102000', '0x1000'],
      // vdpa_sim has set_map too: vhost_vdpa_unmap() calls it outside a batch, dma_map or not.
      ['setMap', 0, []],
    ]);
    expect(vhost.iotlbEntries(0)).toEqual([]);
  });

  it('vhost_vdpa_process_iotlb_update(): EEXIST on overlap, EINVAL outside the range or wrapping', () => {
    const { vhost } = openSim();
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x10_0000n, 0x2000n, 0x4000n));
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x10_1fffn, 0x10n, 0x4000n)))).toBe(
      'EEXIST',
    );
    // iova > U64_MAX - size + 1: the end wraps past 2^64.
    expect(
      errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 2n ** 64n - PAGE, 2n * PAGE, 0n))),
    ).toBe('EINVAL');
    // The last page of the u64 space is fine (vdpasim's range is [0, ULLONG_MAX]) if the memory is there.
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 2n ** 64n - PAGE, PAGE, 0x4000n));
    expect(vhost.iotlbEntries(0).at(-1)).toEqual({
      start: 2n ** 64n - PAGE,
      last: 2n ** 64n - 1n,
      addr: 0x4000n,
      perm: VHOST_ACCESS_RW,
    });
  });

  it('vhost_vdpa_pa_map(): a userspace range outside guest memory is EFAULT (first page) or ENOMEM (later page)', () => {
    const { s, vhost } = openSim();
    const end = BigInt(s.mem.regions().at(-1)?.gpa ?? 0) + BigInt(s.mem.regions().at(-1)?.size ?? 0);
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, end)))).toBe('EFAULT');
    expect(
      errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, 2n * PAGE, end - PAGE))),
    ).toBe('ENOMEM');
    expect(vhost.iotlbEntries(0)).toEqual([]);
    // Nothing was dma-mapped; the failed update's unmap still calls set_map (vhost_vdpa_unmap()).
    expect(driverCalls(s.log.events).map((c) => c[0])).toEqual(['setMap', 'setMap']);
  });

  it('vhost_vdpa_process_iotlb_msg(): MISS / ACCESS_FAIL from userspace and unknown types are EINVAL', () => {
    const { vhost } = openSim();
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, 0x4000n));
    for (const type of [VHOST_IOTLB_MISS, VHOST_IOTLB_ACCESS_FAIL, 9])
      expect(errno(() => vhost.processIotlbMsg(msg(type, 0, 0x1000n, PAGE)))).toBe('EINVAL');
  });

  it('vhost_dev_check_owner(): without SET_OWNER a message is EPERM', () => {
    const s = vhostStack();
    addVdpasim(s);
    const vhost = s.vhostBus.open('vdpa0');
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, 0x4000n)))).toBe(
      'EPERM',
    );
  });
});

describe('IOTLB batching (VHOST_IOTLB_BATCH_BEGIN / _END)', () => {
  it('a set_map-only parent gets one setMap per update outside a batch and one at BATCH_END inside', () => {
    const { vhost, calls } = openFake(new FakeDevice({ without: ['dmaMap', 'dmaUnmap'] }));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, 0x4000n));
    expect(calls().map((c) => c[0])).toEqual(['setMap']);
    vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_BEGIN, 0));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x2000n, PAGE, 0x5000n));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x3000n, PAGE, 0x6000n));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_INVALIDATE, 0, 0x1000n, PAGE));
    expect(calls().map((c) => c[0])).toEqual(['setMap']);
    vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_END, 0));
    expect(calls()).toEqual([
      ['setMap', 0, [{ start: '0x1000', last: '0x1fff', addr: '0x4000', perm: VHOST_ACCESS_RW }]],
      [
        'setMap',
        0,
        [
          { start: '0x2000', last: '0x2fff', addr: '0x5000', perm: VHOST_ACCESS_RW },
          { start: '0x3000', last: '0x3fff', addr: '0x6000', perm: VHOST_ACCESS_RW },
        ],
      ],
    ]);
  });

  it('a dma_map parent gets dmaMap per update inside a batch too, and BATCH_END setMap only if it has set_map', () => {
    const { vhost, calls } = openFake(new FakeDevice({ without: ['setMap'] }));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_BEGIN, 1));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 1, 0x2000n, PAGE, 0x5000n));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_END, 1));
    expect(calls()).toEqual([['dmaMap', 1, '0x2000', '0x1000', '0x5000', VHOST_ACCESS_RW]]);
  });

  it('inside a batch a message for another ASID is EINVAL; BATCH_END without a batch is harmless', () => {
    const { vhost, calls } = openFake(new FakeDevice({ without: ['dmaMap', 'dmaUnmap'] }));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_BEGIN, 0));
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 1, 0x1000n, PAGE, 0x4000n)))).toBe(
      'EINVAL',
    );
    vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_END, 0));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_END, 0));
    expect(calls()).toEqual([['setMap', 0, []]]);
  });
});

describe('address spaces', () => {
  it('are created on demand by UPDATE / BATCH_BEGIN below nas; INVALIDATE of a missing one is EINVAL', () => {
    const { vhost } = openSim();
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_INVALIDATE, 1, 0x1000n, PAGE)))).toBe('EINVAL');
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 2, 0x1000n, PAGE, 0x4000n)))).toBe(
      'EINVAL',
    );
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_BATCH_BEGIN, 2)))).toBe('EINVAL');
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 1, 0x1000n, PAGE, 0x4000n));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_INVALIDATE, 1, 0x1000n, PAGE));
    expect(vhost.iotlbEntries(1)).toEqual([]);
    expect(vhost.iotlbEntries(0)).toEqual([]);
  });

  it('without IOTLB_ASID negotiated the asid of a message is ignored (address space 0)', () => {
    const s = vhostStack();
    addVdpasim(s);
    const vhost = s.vhostBus.open('vdpa0');
    vhost.setOwner();
    vhost.setBackendFeatures(bit(VHOST_BACKEND_F_IOTLB_MSG_V2));
    s.log.clear();
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 1, 0x1000n, PAGE, 0x4000n));
    expect(driverCalls(s.log.events)).toEqual([['dmaMap', 0, '0x1000', '0x1000', '0x4000', VHOST_ACCESS_RW]]);
  });

  it('close (vhost_vdpa_release()) unmaps every address space and resets each map', () => {
    const { s, vhost } = openSim();
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, 0x4000n));
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 1, 0x9000n, PAGE, 0x5000n));
    s.log.clear();
    vhost.close();
    expect(driverCalls(s.log.events)).toEqual([
      ['compatReset', 1],
      ['dmaUnmap', 0, '0x1000', '0x1000'],
      ['resetMap', 0],
      ['dmaUnmap', 1, '0x9000', '0x1000'],
      ['resetMap', 1],
    ]);
  });
});

describe('write() (vhost_chr_write_iter())', () => {
  it('takes a 72-byte vhost_msg_v2 and returns 72', () => {
    const { s, vhost } = openSim();
    expect(vhost.write(encodeVhostMsgV2(msg(VHOST_IOTLB_UPDATE, 1, 0x1000n, PAGE, 0x4000n)))).toBe(
      VHOST_MSG_V2_SIZE,
    );
    expect(driverCalls(s.log.events)).toEqual([['dmaMap', 1, '0x1000', '0x1000', '0x4000', VHOST_ACCESS_RW]]);
  });

  it('takes a v1 vhost_msg too (its asid is 0) and answers 72', () => {
    const { s, vhost } = openSim();
    const bytes = encodeVhostMsgV2(msg(VHOST_IOTLB_UPDATE, 1, 0x1000n, PAGE, 0x4000n));
    new DataView(bytes.buffer).setUint32(0, VHOST_IOTLB_MSG, true);
    expect(vhost.write(bytes)).toBe(VHOST_MSG_V2_SIZE);
    expect(driverCalls(s.log.events)).toEqual([['dmaMap', 0, '0x1000', '0x1000', '0x4000', VHOST_ACCESS_RW]]);
  });

  it('answers EINVAL to a size-0 UPDATE / INVALIDATE and a short buffer, EFAULT to anything the handler refuses', () => {
    const { vhost } = openSim();
    expect(errno(() => vhost.write(encodeVhostMsgV2(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, 0n, 0x4000n))))).toBe(
      'EINVAL',
    );
    expect(errno(() => vhost.write(encodeVhostMsgV2(msg(VHOST_IOTLB_INVALIDATE, 0, 0x1000n, 0n))))).toBe(
      'EINVAL',
    );
    expect(errno(() => vhost.write(new Uint8Array(20)))).toBe('EINVAL');
    vhost.write(encodeVhostMsgV2(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, 0x4000n)));
    // EEXIST, EINVAL (asid 2 ≥ nas) and the like all surface as -EFAULT from write().
    expect(
      errno(() => vhost.write(encodeVhostMsgV2(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, 0x4000n)))),
    ).toBe('EFAULT');
    expect(
      errno(() => vhost.write(encodeVhostMsgV2(msg(VHOST_IOTLB_UPDATE, 2, 0x1000n, PAGE, 0x4000n)))),
    ).toBe('EFAULT');
  });

  it('without an owner the handler refuses: EFAULT', () => {
    const s = vhostStack();
    addVdpasim(s);
    const vhost = s.vhostBus.open('vdpa0');
    expect(
      errno(() => vhost.write(encodeVhostMsgV2(msg(VHOST_IOTLB_UPDATE, 0, 0x1000n, PAGE, 0x4000n)))),
    ).toBe('EFAULT');
  });
});

describe('a parent with a narrower IOVA range', () => {
  class NarrowDevice extends FakeDevice {
    override getIovaRange(): VdpaIovaRange {
      return { first: 0x1000n, last: 0xf_ffffn };
    }
  }

  it('refuses updates below first or past last (vhost_vdpa_process_iotlb_update()), using the range cached at open', () => {
    const { vhost } = openFake(new NarrowDevice());
    expect(vhost.getIovaRange()).toEqual({ first: 0x1000n, last: 0xf_ffffn });
    expect(errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0n, PAGE, 0x4000n)))).toBe('EINVAL');
    expect(
      errno(() => vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0xf_f000n, 2n * PAGE, 0x4000n))),
    ).toBe('EINVAL');
    vhost.processIotlbMsg(msg(VHOST_IOTLB_UPDATE, 0, 0xf_f000n, PAGE, 0x4000n));
  });
});
