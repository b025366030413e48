import { describe, expect, it } from 'vitest';
import { POLICY_RANGE_ACK_LEN, devAddMtuOffset } from './netlink-layout.js';

describe('netlink sizes of a policy refusal (af_netlink.c: netlink_ack(), vdpa.c: vdpa_opts_put())', () => {
  it('sizes the capped ack with MSG, OFFS and the u16 policy nest: 108 bytes', () => {
    // 16 nlmsghdr + 20 nlmsgerr + 28 "integer out of range\0" + 8 offset + 36 (nest, min, max, type)
    expect(POLICY_RANGE_ACK_LEN).toBe(108);
  });

  it('places the MTU after the mgmtdev handle, the name and the MAC, each aligned to 4', () => {
    expect(devAddMtuOffset({ mgmtdev: 'vdpasim_net', name: 'vdpa0', hasMac: false })).toBe(20 + 16 + 12);
    expect(devAddMtuOffset({ mgmtdev: 'vdpasim_net', name: 'vdpa0', hasMac: true })).toBe(20 + 16 + 12 + 12);
    // `pci/0000:65:00.2` is sent as a bus name and a device name.
    expect(devAddMtuOffset({ mgmtdev: 'pci/0000:65:00.2', name: 'v', hasMac: false })).toBe(20 + 8 + 20 + 8);
    expect(devAddMtuOffset({ mgmtdev: 'vdpasim_net', name: 'v'.repeat(67), hasMac: false })).toBe(108);
    expect(devAddMtuOffset({ mgmtdev: 'vdpasim_net', name: 'v'.repeat(68), hasMac: false })).toBe(112);
    // C strings count bytes.
    expect(devAddMtuOffset({ mgmtdev: 'm', name: 'é', hasMac: false })).toBe(20 + 8 + 8);
  });
});
