import {
  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_MIN_MTU,
  bit,
} from '@vdpa-kit/virtio-spec';
import { isValidEtherAddr } from '@vdpa-kit/core-bus';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addFakeNet, answerConfig, busEvent, makeStack } from '../test/harness.js';
import { NET_CONFIG_READ_SIZE } from './constants.js';
import { generateMac } from './virtio-net-config.js';

const OPTIONAL = [VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MTU, VIRTIO_NET_F_MQ];

describe('readNetProbeConfig', () => {
  it('binds with sane values or refuses with an errno, whatever the config bytes say', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: NET_CONFIG_READ_SIZE, maxLength: NET_CONFIG_READ_SIZE }),
        fc.subarray(OPTIONAL),
        (config, dropped) => {
          // FakeDevice never answers the VQ_PAIRS_SET sent at bring-up with MQ: time it out at once.
          const s = makeStack({ queueSize: 8, cvqTimeoutMs: 1 }, { memorySize: 4 << 20 });
          s.bus.addInterceptor(answerConfig(config));
          const without = dropped.reduce((m, n) => m | bit(n), 0n);
          addFakeNet(s, { maxQueuePairs: 2, withoutFeatures: without });
          const net = s.vbus.netDevice('vdpa0');
          if (net === undefined) {
            // virtio_vdpa stays bound; the virtio device keeps the probe's error.
            expect(s.vbus.device('vdpa0')?.probeError).toMatchObject({ code: expect.any(String) });
            expect(busEvent(s.events, 'bind')).toBeDefined();
            return;
          }
          expect(net.mtu).toBeGreaterThanOrEqual(VIRTIO_NET_MIN_MTU);
          expect(net.maxQueuePairs).toBeGreaterThanOrEqual(1);
          expect(net.maxQueuePairs).toBeLessThanOrEqual(VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX);
          expect(net.mac).toHaveLength(6);
          const configMac = config.slice(0, 6);
          if (!dropped.includes(VIRTIO_NET_F_MAC) && isValidEtherAddr(configMac))
            expect(net.mac).toEqual(configMac);
          else expect(net.mac).toEqual(generateMac('vdpa0'));
          if (dropped.includes(VIRTIO_NET_F_STATUS)) expect(net.linkUp).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('generateMac', () => {
  it('is a stable locally administered unicast address', () => {
    fc.assert(
      fc.property(fc.string(), (seed) => {
        const mac = generateMac(seed);
        expect(mac).toHaveLength(6);
        expect(mac[0] & 0x01).toBe(0);
        expect(mac[0] & 0x02).toBe(0x02);
        expect(generateMac(seed)).toEqual(mac);
      }),
    );
  });
});
