import { VringError, type VringErrno } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { VdpaError, isVdpaErrno } from './errors.js';

describe('VdpaError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const err = new VdpaError('EBUSY', 'device vdpa0 is busy', { cause });
    expect(err).toBeInstanceOf(Error);
    expect([err.name, err.code, err.message, err.cause]).toEqual([
      'VdpaError',
      'EBUSY',
      'device vdpa0 is busy',
      cause,
    ]);
  });

  it('from() keeps a VdpaError, wraps a VringError with its code, and maps the rest to EIO', () => {
    const own = new VdpaError('EINVAL', 'x');
    expect(VdpaError.from(own)).toBe(own);
    const vring = new VringError('ELOOP', 'descriptor chain loops at 3');
    const wrapped = VdpaError.from(vring);
    expect([wrapped.code, wrapped.message, wrapped.cause]).toEqual([
      'ELOOP',
      'descriptor chain loops at 3',
      vring,
    ]);
    const sys = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(VdpaError.from(sys).code).toBe('ENOENT');
    const odd = Object.assign(new Error('odd'), { code: 'EWEIRD' });
    expect(VdpaError.from(odd).code).toBe('EIO');
    const type = new TypeError('x is not a function');
    expect([VdpaError.from(type).code, VdpaError.from(type).cause]).toEqual(['EIO', type]);
    expect(VdpaError.from('text').message).toBe('unexpected non-error value thrown: text');
  });

  it('from() never throws, even for a thrown value that String() cannot convert', () => {
    const bare: unknown = Object.create(null);
    const hostile = {
      toString(): string {
        throw new Error('no string for you');
      },
    };
    for (const value of [bare, hostile]) {
      const err = VdpaError.from(value);
      expect([err.code, err.cause]).toEqual(['EIO', value]);
      expect(err.message).toMatch(/^unexpected non-error value thrown: /);
    }
  });

  it('has every vring code, so a VringError crossing the bus keeps its code', () => {
    // A Record over VringErrno: a vring code missing here fails to compile.
    const vring: Record<VringErrno, true> = {
      EINVAL: true,
      EPERM: true,
      EFAULT: true,
      ELOOP: true,
      EPROTO: true,
      ENOMEM: true,
      ERANGE: true,
      EEXIST: true,
      ENOENT: true,
      ENOSPC: true,
      ENOBUFS: true,
      EBUSY: true,
      ECANCELED: true,
      EIO: true,
    };
    for (const code of Object.keys(vring) as VringErrno[]) {
      expect(isVdpaErrno(code)).toBe(true);
      expect(VdpaError.from(new VringError(code, 'x')).code).toBe(code);
    }
  });

  it('recognises errno strings', () => {
    expect(isVdpaErrno('EOPNOTSUPP')).toBe(true);
    expect(isVdpaErrno('ENOTTY')).toBe(false);
    expect(isVdpaErrno(22)).toBe(false);
  });
});
