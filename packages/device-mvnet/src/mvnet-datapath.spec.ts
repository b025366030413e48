import { VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_NET_HDR_V1_SIZE } from '@vdpa-kit/virtio-spec';
import { BufferList } from '@vdpa-kit/vring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoopbackDriver, testFrame } from '../test/loopback-driver.js';
import { mvnetStack } from '../test/mvnet-stack.js';
import { MVNET_WORK_BUDGET } from './constants.js';

const statsOf = (driver: LoopbackDriver, queue: number): Record<string, bigint> =>
  Object.fromEntries(driver.handle.getVendorVqStats(queue).map((s) => [s.name, s.value]));

describe('mvnet loopback', () => {
  it('returns every frame intact and in order, one interrupt per ring per pass', () => {
    const { addWithDriver } = mvnetStack();
    const driver = addWithDriver();
    const frames = [60, 64, 1514, 128, 1000].map((len, seq) => testFrame(seq, len));
    for (const frame of frames) expect(driver.send(frame)).toBe(true);
    driver.flush();
    expect(driver.received).toEqual(frames);
    expect(driver.rxLens).toEqual(frames.map((f) => f.length + VIRTIO_NET_HDR_V1_SIZE));
    expect(driver.vqCallbacks).toEqual([1, 1]);
    expect(driver.txAvailable).toBe(256);
  });

  it('moves frames kicked before DRIVER_OK once the driver sets it', () => {
    const { addWithDriver } = mvnetStack();
    const driver = addWithDriver('vdpa0', { driverOk: false });
    driver.send(testFrame(0, 60));
    driver.flush();
    expect(driver.received).toEqual([]);
    driver.setDriverOk();
    expect(driver.received).toEqual([testFrame(0, 60)]);
  });

  it('keeps order across passes when a kick carries more than the budget', () => {
    const { addWithDriver } = mvnetStack();
    const driver = addWithDriver();
    const count = MVNET_WORK_BUDGET * 3 + 5;
    const frames = Array.from({ length: count }, (_, seq) => testFrame(seq, 60 + (seq % 50)));
    for (const frame of frames) driver.send(frame);
    driver.flush();
    expect(driver.received).toEqual(frames);
    expect(driver.vqCallbacks).toEqual([4, 4]);
  });

  it('loops back any sequence of frames and batch sizes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 1514 }), { minLength: 1, maxLength: 20 }),
          {
            maxLength: 12,
          },
        ),
        (batches) => {
          const { addWithDriver } = mvnetStack();
          const driver = addWithDriver('vdpa0', { num: 32 });
          const sent: Uint8Array[] = [];
          for (const batch of batches) {
            for (const frame of batch) {
              if (driver.send(frame)) sent.push(frame);
            }
            driver.flush();
          }
          expect(driver.received).toEqual(sent);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('counts packets and bytes on both queues', () => {
    const { addWithDriver } = mvnetStack();
    const driver = addWithDriver();
    driver.send(testFrame(0, 100));
    driver.send(testFrame(1, 200));
    driver.flush();
    const wire = BigInt(300 + 2 * VIRTIO_NET_HDR_V1_SIZE);
    expect(statsOf(driver, 0)).toEqual({
      'rx packets': 2n,
      'rx bytes': wire,
      'rx errors': 0n,
      'rx overruns': 0n,
      'rx drops': 0n,
    });
    expect(statsOf(driver, 1)).toEqual({
      'tx packets': 2n,
      'tx bytes': wire,
      'tx errors': 0n,
      'tx drops': 0n,
    });
  });

  it('drops a frame and counts an overrun when no RX buffer is posted, then resumes on an RX kick', () => {
    const { addWithDriver } = mvnetStack();
    const driver = addWithDriver('vdpa0', { rxBuffers: 0 });
    driver.send(testFrame(0, 60));
    driver.send(testFrame(1, 60));
    driver.flush();
    expect(driver.received).toEqual([]);
    expect(statsOf(driver, 0)['rx overruns']).toBe(1n);
    expect(driver.txAvailable).toBe(255);
    driver.postRx(4);
    expect(driver.received).toEqual([testFrame(1, 60)]);
    expect(statsOf(driver, 1)['tx packets']).toBe(2n);
  });

  it('drops a frame longer than the RX buffer and gives the buffer to the next frame', () => {
    const { addWithDriver } = mvnetStack();
    const driver = addWithDriver('vdpa0', { rxBuffers: 1, rxBufferSize: VIRTIO_NET_HDR_V1_SIZE + 100 });
    driver.send(testFrame(0, 101));
    driver.send(testFrame(1, 100));
    driver.flush();
    expect(driver.received).toEqual([testFrame(1, 100)]);
    expect(statsOf(driver, 0)).toMatchObject({ 'rx packets': 1n, 'rx drops': 1n });
    expect(driver.txAvailable).toBe(256);
  });

  it('sets NEEDS_RESET, notifies a config change and stops on a bad TX chain', () => {
    const { addWithDriver, warnings } = mvnetStack();
    const driver = addWithDriver();
    driver.send(testFrame(0, 60));
    const scratch = driver.mem.regions()[0].size - 64;
    driver.sendChain(new BufferList().push(scratch, 16), new BufferList().push(scratch + 16, 16));
    driver.send(testFrame(2, 60));
    driver.flush();
    // Frame 0 reached the used ring, but the pass ended at the bad chain before any interrupt.
    expect(driver.received).toEqual([]);
    expect(driver.vqCallbacks).toEqual([0, 0]);
    expect(driver.handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(driver.configChanges).toBe(1);
    expect(statsOf(driver, 1)['tx errors']).toBe(1n);
    expect(warnings).toEqual([expect.objectContaining({ dev: 'vdpa0', vq: 1, code: 'EPROTO' })]);
    // A status write does not clear NEEDS_RESET, and nothing moves until reset.
    driver.handle.setStatus(driver.handle.getStatus() & ~VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(driver.handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    driver.send(testFrame(3, 60));
    driver.flush();
    expect(driver.received).toEqual([]);
    expect(statsOf(driver, 1)['tx packets']).toBe(1n);
  });

  it('charges a buffer outside guest memory on RX to rx errors', () => {
    const { addWithDriver } = mvnetStack();
    const driver = addWithDriver('vdpa0', { rxBuffers: 0 });
    const beyond = driver.mem.regions()[0].size + 4096;
    driver.rxq.addInbuf(beyond, 64, 999);
    driver.send(testFrame(0, 60));
    driver.flush();
    expect(driver.handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(statsOf(driver, 0)['rx errors']).toBe(1n);
  });

  it('works again after the driver resets and sets the device up anew', () => {
    const { bus, mem, virtio, addWithDriver } = mvnetStack();
    const broken = addWithDriver();
    broken.sendChain(new BufferList(), new BufferList().push(0, 16));
    broken.flush();
    expect(broken.handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    const driver = new LoopbackDriver(virtio.handle('vdpa0'), mem);
    expect(driver.handle.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
    driver.send(testFrame(7, 80));
    driver.flush();
    expect(driver.received).toEqual([testFrame(7, 80)]);
    expect(bus.devVstats('vdpa0', 1).stats.find((s) => s.name === 'tx errors')?.value).toBe(1n);
  });
});
