// include/linux/vdpa.h: get_iova_range returns struct vdpa_iova_range { u64 first; u64 last; }, and
// dma_map / dma_unmap take u64 iova, size and pa; vdpa_sim.c: vdpasim_get_iova_range() answers
// last = ULLONG_MAX. A session recorded on vdpasim_net keeps those values exact through the trace file.
import { VHOST_ACCESS_RW } from '@vdpa-kit/virtio-spec';
import { FakeTransport } from '@vdpa-kit/core-bus/testing';
import { parseTrace, serializeRecord, verifyTrace } from '@vdpa-kit/trace';
import { recordSession } from '@vdpa-kit/trace/testing';
import { describe, expect, it } from 'vitest';
import { composeCliStack } from '../src/compose.js';

const U64_MAX = (1n << 64n) - 1n;
const TOP_PAGE = 0xffff_ffff_ffff_f000n;
const PAGE = 0x1000n;

describe('vdpasim_net get_iova_range and dma_map, recorded, written, read and verified', () => {
  it('vdpasim_get_iova_range() last = 2^64-1 and vdpasim_dma_map() at 0xfffffffffffff000 verify exactly', async () => {
    const { bus } = composeCliStack({ clock: 'logical' });
    const seen: unknown[] = [];
    const vhost = new FakeTransport('vhost_vdpa', ['vhost'], {
      onProbe: (h) => {
        seen.push(h.getIovaRange());
        h.dmaMap(0, TOP_PAGE, PAGE, 0x8000n, VHOST_ACCESS_RW);
        h.dmaUnmap(0, TOP_PAGE, PAGE);
        h.resetMap(0);
      },
    });
    const trace = await recordSession(bus, () => {
      bus.registerDriver(vhost);
      bus.devAdd('vdpasim_net', 'vdpa0');
      bus.devDel('vdpa0');
    });
    expect(seen).toEqual([{ first: 0n, last: U64_MAX }]);
    const text = [trace.header, ...trace.records].map((r) => serializeRecord(r)).join('\n') + '\n';
    expect(text).toContain('"ret":{"first":"0x0","last":"0xffffffffffffffff"}');
    expect(text).toContain(
      '"op":"dmaMap","phase":"call","args":[0,"0xfffffffffffff000","0x1000","0x8000",3]',
    );
    const replay = composeCliStack({ clock: 'logical' });
    const report = verifyTrace(parseTrace(text, 'iova.jsonl'), { bus: replay.bus, mgmtdev: 'vdpasim_net' });
    expect(report.divergence).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.compared).toBeGreaterThan(3);
  });
});
