import { VdpaError } from '@vdpa-kit/core-bus';
import { describe, expect, it } from 'vitest';
import { kernelErrorLines } from './kernel-errors.js';

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

  it('prints dev set without a MAC as EOPNOTSUPP and falls back to the bus message', () => {
    expect(
      kernelErrorLines('dev set', new VdpaError('EINVAL', 'no attribute to set on device vdpa0'), false),
    ).toEqual(['kernel answers: Operation not supported']);
    expect(kernelErrorLines('dev add', new VdpaError('EINVAL', 'mtu 50 is not in [68, 65535]'))).toEqual([
      'Error: vdpa: mtu 50 is not in [68, 65535].',
      'kernel answers: Invalid argument',
    ]);
  });
});
