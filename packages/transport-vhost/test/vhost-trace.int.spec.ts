// A vhost session records, verifies and diffs like a virtio one: every op the vhost-vdpa layer issues
// crosses the bus as an event, and replaying them against a fresh vdpasim_net gives the same answers.
import type { BusEvent } from '@vdpa-kit/core-bus';
import { type Trace, diffTraces, formatDiff, formatDivergence, verifyTrace } from '@vdpa-kit/trace';
import { recordSession } from '@vdpa-kit/trace/testing';
import { describe, expect, it } from 'vitest';
import { addVdpasim, bringUp, driverCalls, driverRegion, vhostStack, writeFrame } from './harness.js';

const IOVA = 0x2_0000_0000;

/** Records, on a fresh stack, a vhost session: bring-up, one frame looped, suspend, base read, close. */
async function session(): Promise<Trace> {
  const s = vhostStack();
  return recordSession(
    s.bus,
    () => {
      addVdpasim(s);
      const vhost = s.vhostBus.open('vdpa0');
      const region = driverRegion(s, IOVA);
      const [rx, tx] = bringUp(vhost, s.mem, region);
      const rxBuf = region.dma.alloc(2048, 64);
      rx.vq.addInbuf(region.dma.dmaAddress(rxBuf), 2048, 0);
      rx.vq.kick();
      const txBuf = region.dma.alloc(2048, 64);
      const frame = writeFrame(s.mem, txBuf, 100, 7);
      tx.vq.addOutbuf(region.dma.dmaAddress(txBuf), frame.length, 1);
      tx.vq.kick();
      expect(rx.vq.getBuf()).toBe(0);
      vhost.suspend();
      expect(vhost.getVringBase(1)).toEqual({ index: 1, num: 1 });
      vhost.close();
      s.bus.devDel('vdpa0');
    },
    { datapath: 'full' },
  );
}

function busEvents(trace: Trace): BusEvent[] {
  return trace.records.filter((r): r is BusEvent => r.kind !== 'dp');
}

describe('a vhost-vdpa session against vdpasim_net', () => {
  it('records every op as an event and verifies against a fresh vdpasim_net with no divergence', async () => {
    const trace = await session();
    const calls = driverCalls(busEvents(trace));
    // The session's own ops are all there: the IOTLB batch became one dma_map plus set_map at the end.
    const ops = calls.map((c) => c[0]);
    expect(ops).toContain('dmaMap');
    expect(ops).toContain('setMap');
    expect(ops).toContain('kickVq');
    // Probe reads the id; open resets without CLEAN_MAP; close resets with it, then unmaps each
    // address space and resets its map.
    expect(calls.slice(0, 3)).toEqual([['getDeviceId'], ['reset'], ['getIovaRange']]);
    expect(calls.slice(-4)).toEqual([
      ['getVqState', 1],
      ['compatReset', 1],
      ['dmaUnmap', 0, '0x200000000', '0x100000'],
      ['resetMap', 0],
    ]);

    const fresh = vhostStack();
    const report = verifyTrace(trace, { bus: fresh.bus, mgmtdev: 'vdpasim_net' });
    expect(report.divergence === undefined ? 'no divergence' : formatDivergence(report.divergence)).toBe(
      'no divergence',
    );
    expect(report.ok).toBe(true);
    expect(report.replayed).toBeGreaterThan(30);
  });

  it('two recordings of the same session diff empty', async () => {
    const diff = diffTraces(await session(), await session());
    expect(formatDiff(diff).filter((line) => /^[-+] /.test(line))).toEqual([]);
  });
});
