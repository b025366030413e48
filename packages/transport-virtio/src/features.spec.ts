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
  checkTransportFeatures,
  hasFeature,
  negotiateFeatures,
} from './features.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('negotiateFeatures (virtio_dev_probe, vring_transport_features)', () => {
  it('never accepts a feature that was not offered or not wanted', () => {
    fc.assert(
      fc.property(u64, u64, (offered, wanted) => {
        const accepted = negotiateFeatures(offered, wanted);
        expect(accepted & ~offered).toBe(0n);
        expect(
          accepted & ~(wanted | VIRTIO_TRANSPORT_REQUIRED_FEATURES | VIRTIO_TRANSPORT_OPTIONAL_FEATURES),
        ).toBe(0n);
        expect(accepted & VIRTIO_TRANSPORT_REQUIRED_FEATURES).toBe(
          offered & VIRTIO_TRANSPORT_REQUIRED_FEATURES,
        );
      }),
    );
  });

  it('refuses nothing: a device without VERSION_1 or ACCESS_PLATFORM gets what it offers of the rest', () => {
    // virtio_dev_probe() writes the features and lets the device refuse them (set_driver_features).
    expect(negotiateFeatures(bit(VIRTIO_NET_F_MAC), bit(VIRTIO_NET_F_MAC))).toBe(bit(VIRTIO_NET_F_MAC));
  });

  it('keeps wanted device features that are offered', () => {
    const offered = VIRTIO_TRANSPORT_REQUIRED_FEATURES | bit(VIRTIO_NET_F_MAC);
    const accepted = negotiateFeatures(offered, bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_MQ));
    expect(hasFeature(accepted, VIRTIO_NET_F_MAC)).toBe(true);
    expect(hasFeature(accepted, VIRTIO_NET_F_MQ)).toBe(false);
  });
});

describe('checkTransportFeatures (virtio_features_ok with restricted memory access)', () => {
  it('refuses with ENODEV unless VERSION_1 and ACCESS_PLATFORM were negotiated', () => {
    fc.assert(
      fc.property(u64, fc.constantFrom(VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM), (features, missing) => {
        expect(() => checkTransportFeatures('vdpa0', features & ~bit(missing))).toThrow(VirtioError);
        expect(() =>
          checkTransportFeatures('vdpa0', features | VIRTIO_TRANSPORT_REQUIRED_FEATURES),
        ).not.toThrow();
      }),
    );
    const err = (() => {
      try {
        checkTransportFeatures('vdpa7', bit(VIRTIO_NET_F_MAC));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toMatchObject({ code: 'ENODEV', reason: 'features', dev: 'vdpa7' });
    expect(String((err as Error).message)).toMatch(/VERSION_1 and ACCESS_PLATFORM/);
  });
});
