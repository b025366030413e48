import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ETH_ZLEN } from '@vdpa-kit/virtio-spec';
import { PKTGEN_CSUM_OFFSET } from '../constants.js';
import { CliError } from '../errors.js';
import { FNV1A_INIT, fnv1a } from './fnv1a.js';
import { FrameChecker } from './frame-checker.js';
import { PacketGenerator, checkFrameSize } from './packet-generator.js';

const MAC = new Uint8Array([0x52, 0x54, 0, 1, 2, 3]);

describe('fnv1a', () => {
  it('matches the published FNV-1a 32 test vectors', () => {
    const enc = new TextEncoder();
    const hash = (s: string): number => fnv1a(FNV1A_INIT, enc.encode(s), 0, s.length);
    expect(hash('')).toBe(0x811c9dc5);
    expect(hash('a')).toBe(0xe40c292c);
    expect(hash('foobar')).toBe(0xbf9cf968);
  });
});

describe('PacketGenerator + FrameChecker', () => {
  it('accepts generated frames in order and counts sequence gaps and late frames', () => {
    const gen = new PacketGenerator(64, MAC);
    const checker = new FrameChecker(64, 2);
    for (const [q, seq] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [0, 3],
      [0, 2],
      [1, 1],
    ]) {
      checker.check(gen.fill(q, seq), 0, 64);
    }
    expect(checker.received).toBe(6);
    expect(checker.intact).toBe(6);
    expect(checker.corrupt).toBe(0);
    expect(checker.queues[0].outOfOrder).toBe(2);
    expect(checker.queues[1].outOfOrder).toBe(0);
    expect(Array.from(gen.frame.subarray(0, 6))).toEqual(Array.from(MAC));
  });

  it('checks a frame where it lies inside a larger buffer', () => {
    const gen = new PacketGenerator(100, MAC);
    const buf = new Uint8Array(300);
    buf.set(gen.fill(0, 0), 123);
    const checker = new FrameChecker(100, 1);
    checker.check(buf, 123, 100);
    expect(checker.intact).toBe(1);
  });

  it('detects any single corrupted byte and any wrong length (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: ETH_ZLEN, max: 1514 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.nat({ max: 0xffff }),
        (size, at, flip, seq) => {
          const gen = new PacketGenerator(size, MAC);
          const frame = Uint8Array.from(gen.fill(0, seq));
          frame[at % size] ^= flip;
          const checker = new FrameChecker(size, 1);
          checker.check(frame, 0, size);
          expect(checker.corrupt).toBe(1);
          checker.check(gen.fill(0, seq), 0, size - 1);
          expect(checker.corrupt).toBe(2);
          expect(checker.intact).toBe(0);
        },
      ),
    );
  });

  it('counts a frame from a queue that does not send as corrupt', () => {
    const gen = new PacketGenerator(64, MAC);
    const checker = new FrameChecker(64, 1);
    checker.check(gen.fill(3, 0), 0, 64);
    expect(checker.corrupt).toBe(1);
    expect(PKTGEN_CSUM_OFFSET).toBeLessThan(ETH_ZLEN);
  });

  it('refuses frame sizes below 60 bytes', () => {
    expect(() => checkFrameSize(59)).toThrow(CliError);
    expect(() => new PacketGenerator(40, MAC)).toThrow('frame size 40');
  });
});
