import {
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  bit,
} from '@vdpa-kit/virtio-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtioError } from './errors.js';
import {
  VIRTIO_TRANSPORT_OPTIONAL_FEATURES,
  VIRTIO_TRANSPORT_REQUIRED_FEATURES,
  hasFeature,
  negotiateFeatures,
} from './features.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('negotiateFeatures', () => {
  it('never accepts a feature that was not offered or not wanted', () => {
    fc.assert(
      fc.property(u64, u64, (offered, wanted) => {
        const withRequired = offered | VIRTIO_TRANSPORT_REQUIRED_FEATURES;
        const accepted = negotiateFeatures('vdpa0', withRequired, wanted);
        expect(accepted & ~withRequired).toBe(0n);
        expect(
          accepted & ~(wanted | VIRTIO_TRANSPORT_REQUIRED_FEATURES | VIRTIO_TRANSPORT_OPTIONAL_FEATURES),
        ).toBe(0n);
        expect(accepted & VIRTIO_TRANSPORT_REQUIRED_FEATURES).toBe(VIRTIO_TRANSPORT_REQUIRED_FEATURES);
      }),
    );
  });

  it('refuses with ENODEV unless VERSION_1 and ACCESS_PLATFORM are offered', () => {
    fc.assert(
      fc.property(u64, fc.constantFrom(VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM), (offered, missing) => {
        expect(() => negotiateFeatures('vdpa0', offered & ~bit(missing), 0n)).toThrow(VirtioError);
      }),
    );
    const err = (() => {
      try {
        negotiateFeatures('vdpa7', bit(VIRTIO_NET_F_MAC), 0n);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toMatchObject({ code: 'ENODEV', reason: 'features', dev: 'vdpa7' });
    expect(String((err as Error).message)).toMatch(/VERSION_1 and ACCESS_PLATFORM/);
  });

  it('keeps wanted device features that are offered', () => {
    const offered = VIRTIO_TRANSPORT_REQUIRED_FEATURES | bit(VIRTIO_NET_F_MAC);
    const accepted = negotiateFeatures('vdpa0', offered, bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_MQ));
    expect(hasFeature(accepted, VIRTIO_NET_F_MAC)).toBe(true);
    expect(hasFeature(accepted, VIRTIO_NET_F_MQ)).toBe(false);
  });
});
