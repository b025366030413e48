import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LogicalClock, VdpaBus } from '@vdpa-kit/core-bus';
import { FakeMgmtDevice } from '@vdpa-kit/core-bus/testing';
import { serializeRecord } from '../trace-writer.js';
import { loadTraceFixture } from './load-trace-fixture.js';
import { recordSession } from './record-session.js';

const dirs: string[] = [];

function tempFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vdpa-trace-'));
  dirs.push(dir);
  const path = join(dir, 'fixture.jsonl');
  writeFileSync(path, text);
  return path;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function text(): Promise<{ text: string; records: number }> {
  const bus = new VdpaBus(new LogicalClock());
  bus.registerMgmtDevice(new FakeMgmtDevice(bus));
  const trace = await recordSession(bus, () => {
    bus.devAdd('fake_mgmt', 'vdpa0');
  });
  const lines = [trace.header, ...trace.records].map(serializeRecord);
  return { text: lines.join('\n') + '\n', records: trace.records.length };
}

describe('loadTraceFixture', () => {
  it('reads a trace file by path or file URL', async () => {
    const { text: t, records } = await text();
    const path = tempFile(t);
    const trace = loadTraceFixture(path);
    expect(trace.records).toHaveLength(records);
    expect(trace.header.kind).toBe('header');
    expect(loadTraceFixture(pathToFileURL(path))).toEqual(trace);
  });

  it('names the line of a corrupted record', async () => {
    const { text: t } = await text();
    const lines = t.split('\n');
    lines[2] = lines[2].slice(0, 10);
    const path = tempFile(lines.join('\n'));
    expect(() => loadTraceFixture(path)).toThrow(`${path} line 3: corrupted line`);
  });
});
