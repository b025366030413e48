import { VdpaError } from '@vdpa-kit/core-bus';
import { describe, expect, it } from 'vitest';
import { kernelErrorLines } from './kernel-errors.js';
import { POLICY_RANGE_ACK_LEN } from './netlink-layout.js';

describe('kernelErrorLines (cli-formats.md §1.6)', () => {
  it('prints the kernel extack for a missing device and mgmtdev', () => {
    const enodev = new VdpaError('ENODEV', 'vdpa device nope not found');
    expect(kernelErrorLines('dev show', enodev)).toEqual([
      'Error: vdpa: device not found.',
      'kernel answers: No such device',
    ]);
    expect(kernelErrorLines('dev del', enodev)).toEqual([
      'Error: vdpa: device not found.',
      'kernel answers: No such device',
    ]);
    expect(kernelErrorLines('mgmtdev show', enodev)).toEqual([
      'Error: vdpa: Fail to find the specified mgmt device.',
      'kernel answers: No such device',
    ]);
    expect(kernelErrorLines('dev add', enodev)).toEqual([
      'Error: vdpa: Fail to find the specified management device.',
      'kernel answers: No such device',
    ]);
  });

  it('prints only strerror for a duplicate name', () => {
    expect(kernelErrorLines('dev add', new VdpaError('EEXIST', 'device name vdpa0 already exists'))).toEqual([
      'kernel answers: File exists',
    ]);
  });

  it('maps vstats failures', () => {
    expect(
      kernelErrorLines('dev vstats show', new VdpaError('EAGAIN', 'x: feature negotiation not complete')),
    ).toEqual([
      'Error: vdpa: feature negotiation not complete.',
      'kernel answers: Resource temporarily unavailable',
    ]);
    expect(kernelErrorLines('dev vstats show', new VdpaError('EOPNOTSUPP', 'net only'))).toEqual([
      'kernel answers: Operation not supported',
    ]);
    expect(kernelErrorLines('dev vstats show', new VdpaError('ERANGE', 'too big'))).toEqual([
      'Error: vdpa: queue index exceeds max value.',
      'kernel answers: Numerical result out of range',
    ]);
  });

  it('maps core-bus dev add validation to the kernel texts', () => {
    expect(
      kernelErrorLines('dev add', new VdpaError('EINVAL', 'max_vqp 0: at least one pair of vqs is required')),
    ).toEqual(['Error: vdpa: At least one pair of VQs is required.', 'kernel answers: Invalid argument']);
    expect(
      kernelErrorLines('dev add', new VdpaError('EINVAL', 'missing features 0x20 for provided attributes')),
    ).toEqual([
      'Error: vdpa: Missing features 0x20 for provided attributes.',
      'kernel answers: Invalid argument',
    ]);
    expect(
      kernelErrorLines(
        'dev add',
        new VdpaError('EOPNOTSUPP', 'some provided attributes are not supported: 0x1000'),
      ),
    ).toEqual([
      'Error: vdpa: Some provided attributes are not supported: 0x1000.',
      'kernel answers: Operation not supported',
    ]);
  });

  it('prints dev set without a MAC as a bare EOPNOTSUPP and falls back to the bus message', () => {
    // vdpa_dev_net_device_attr_set(): err starts at -EOPNOTSUPP, no extack without a MAC attribute.
    expect(
      kernelErrorLines('dev set', new VdpaError('EOPNOTSUPP', 'no attribute to set on device vdpa0')),
    ).toEqual(['kernel answers: Operation not supported']);
    // A refusal only the bus has (the kernel's dev_del cannot fail) keeps the bus's message.
    expect(kernelErrorLines('dev del', new VdpaError('EIO', 'devDel of x failed'))).toEqual([
      'Error: vdpa: devDel of x failed.',
      'kernel answers: Input/output error',
    ]);
  });

  // vdpa.c: vdpa_nl_policy has NLA_POLICY_MIN(NLA_U16, 68) for the MTU; lib/nlattr.c:
  // nla_validate_range_unsigned() sets "integer out of range" (no module prefix) and -ERANGE.
  it('prints the netlink policy refusal of an MTU below 68', () => {
    const erange = new VdpaError('ERANGE', 'mtu 50 is below 68: integer out of range');
    expect(kernelErrorLines('dev add', erange, { policyAttrOffset: 48 })).toEqual([
      'Error: integer out of range.',
      'kernel answers: Numerical result out of range',
    ]);
    // lib/libnetlink.c: nl_dump_ext_ack() complains when NLMSGERR_ATTR_OFFS exceeds the ack's length.
    expect(kernelErrorLines('dev add', erange, { policyAttrOffset: POLICY_RANGE_ACK_LEN })).toHaveLength(2);
    expect(kernelErrorLines('dev add', erange, { policyAttrOffset: POLICY_RANGE_ACK_LEN + 4 })).toEqual([
      'Invalid offset for NLMSGERR_ATTR_OFFS',
      'Error: integer out of range.',
      'kernel answers: Numerical result out of range',
    ]);
  });

  // vdpa_nl_cmd_dev_add_set_doit() calls mdev->ops->dev_add(mdev, name, config), which has no extack:
  // vdpasim_create() refusing device_features 0x1 is a bare -EINVAL.
  it('prints no Error line for a refusal of the management device dev_add', () => {
    expect(
      kernelErrorLines('dev add', new VdpaError('EINVAL', 'device features 0x1 are not supported: 0x1')),
    ).toEqual(['kernel answers: Invalid argument']);
    expect(kernelErrorLines('dev set', new VdpaError('EIO', 'the device refused'))).toEqual([
      'kernel answers: Input/output error',
    ]);
  });

  // vdpa_dev_net_device_attr_set(): "Invalid MAC address" and "Operation not supported by the device."
  it('prints the dev set extacks of an invalid MAC and of a mgmtdev without dev_set_attr', () => {
    expect(
      kernelErrorLines(
        'dev set',
        new VdpaError('EOPNOTSUPP', 'mac address 01:00:00:00:00:00 is not a valid unicast address'),
      ),
    ).toEqual(['Error: vdpa: Invalid MAC address.', 'kernel answers: Operation not supported']);
    expect(
      kernelErrorLines(
        'dev set',
        new VdpaError('EOPNOTSUPP', 'operation not supported by management device mvnet'),
      ),
    ).toEqual([
      'Error: vdpa: Operation not supported by the device.',
      'kernel answers: Operation not supported',
    ]);
  });

  // `!vdev->mdev` in each doit of vdpa.c: dev_get is a bare -EINVAL, dev_del, config_get, stats_get and
  // attr_set explain it.
  it('prints the kernel texts for a device not created by a management device', () => {
    const unmanaged = new VdpaError('EINVAL', 'vdpa device plain is not managed by a management device');
    const answer = 'kernel answers: Invalid argument';
    expect(kernelErrorLines('dev show', unmanaged)).toEqual([answer]);
    expect(kernelErrorLines('dev del', unmanaged)).toEqual([
      'Error: vdpa: Only user created device can be deleted by user.',
      answer,
    ]);
    for (const request of ['dev set', 'dev config show', 'dev vstats show'] as const) {
      expect(kernelErrorLines(request, unmanaged)).toEqual(['Error: vdpa: unmanaged vdpa device.', answer]);
    }
  });

  // vdpa_dev_config_fill(): a class other than net and blk is a bare -EOPNOTSUPP.
  it('prints no Error line for config show of a device class without a config reply', () => {
    expect(
      kernelErrorLines('dev config show', new VdpaError('EOPNOTSUPP', 'device c has virtio id 3')),
    ).toEqual(['kernel answers: Operation not supported']);
  });
});
